//! The workspace: `snop.toml` and the agents' `pipelines/*.toml`.
//!
//! Each file is read into a raw spec (serde, `deny_unknown_fields`, spans kept), then resolved
//! into a validated plan the rest of the code can trust. Resolution collects every problem of
//! every file, each with its file, line and key, so `snop validate` reports them all at once.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::contract::{Column, Kind, Table};
use crate::sop::{Agent, Directory, ROLES};

/// One thing wrong in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ", key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a workspace's configuration.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "{n} problem{} in the workspace configuration", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// snop.toml

/// `snop.toml`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkspace {
    /// The company the workspace plans for.
    company: RawCompany,
    /// When the cycle's meetings happen.
    calendar: RawCalendar,
    /// Who holds each role: role name to person ids.
    #[serde(default)]
    roles: BTreeMap<String, Spanned<Vec<String>>>,
    /// The people, by id.
    #[serde(default)]
    people: BTreeMap<String, RawPerson>,
    /// The LLM that drafts narratives: any OpenAI-compatible server, or `base_url = "mock"` for
    /// the built-in mock LLM (see the README for OpenAI, Azure, Ollama, vLLM, llama.cpp).
    #[serde(default)]
    llm: crate::narrative::client::LlmConfig,
    /// What may leave the building in a prompt.
    #[serde(default)]
    narrative: RawNarrative,
    /// Where runs, drafts and signatures are kept.
    #[serde(default)]
    store: RawStore,
    /// The pre-S&OP reconciliation's rules.
    #[serde(default)]
    reconciliation: RawReconciliation,
    /// Who hears what, and how (e-mail, webhooks).
    #[serde(default)]
    notify: NotifyConfig,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawReconciliation {
    /// The cost, in the workspace currency, up to which the demand and supply leads close a gap
    /// with its recommended fixes without executives; costlier gaps go to the executive meeting
    /// as trade-offs. Default: 25000.
    #[serde(default)]
    leads_may_approve_up_to: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompany {
    /// The company's name, as it appears on artifacts.
    name: String,
    /// ISO currency code of all money amounts.
    #[serde(default = "default_currency")]
    currency: String,
}

fn default_currency() -> String {
    "EUR".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    /// IANA time zone the meetings are held in.
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    /// The working days of the week (default Monday to Friday).
    #[serde(default)]
    working_days: Option<Spanned<Vec<String>>>,
    /// Holidays, `YYYY-MM-DD` optionally followed by a name: "2026-12-25 Christmas Day".
    #[serde(default)]
    holidays: Vec<Spanned<String>>,
    /// When meetings start and end on their days, local time: "09:00-17:00".
    #[serde(default)]
    meeting_hours: Option<Spanned<String>>,
    /// When `snop nightly` runs, local time: "02:30".
    #[serde(default)]
    nightly_at: Option<Spanned<String>>,
    /// A rule per meeting, keyed by agent name, in planners' words.
    meetings: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerson {
    /// Full name, as it appears on signatures.
    name: String,
    /// E-mail address for notifications.
    #[serde(default)]
    email: Option<String>,
    /// The person's ed25519 public key (`ed25519:<hex>`, printed by `snop keys generate`): when
    /// set, they sign only with the matching private key, and `snop audit verify` checks their
    /// signatures against it.
    #[serde(default)]
    public_key: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNarrative {
    /// Fields whose values are masked before a prompt is sent (e.g. `["customer"]`), and
    /// restored in the draft.
    #[serde(default)]
    mask_fields: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    /// `sqlite://FILE` (relative to the workspace) or a `postgres://` URL.
    #[serde(default)]
    url: Option<Spanned<String>>,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    /// `ed25519:<hex>`, checked to be a valid key.
    pub public_key: Option<String>,
}

/// `[notify]` in `snop.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Remind the signers this many days before a meeting's last day.
    #[serde(default = "default_remind_days")]
    pub remind_days: i64,
    /// Where to look, said in every message (a share, an intranet page); the workspace path
    /// when not given.
    #[serde(default)]
    pub look_at: Option<String>,
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
}

fn default_remind_days() -> i64 {
    2
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default, port 587), `tls` (port 465) or `none` (loopback relays only).
    #[serde(default = "default_security")]
    pub security: String,
    /// The sender, e.g. `snop <snop@example.com>`.
    pub from: String,
    /// Environment variables holding the login, when the relay wants one.
    #[serde(default)]
    pub username_env: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
}

fn default_security() -> String {
    "starttls".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub name: String,
    /// The URL; better kept out of the file in `url_env` (the URL is the secret).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub url_env: Option<String>,
    /// `slack` (default: `{"text": ...}`) or `teams` (an Adaptive Card for a Workflows webhook).
    #[serde(default = "default_format")]
    pub format: String,
}

fn default_format() -> String {
    "slack".into()
}

/// A validated workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub company: String,
    pub currency: String,
    pub calendar: crate::calendar::Calendar,
    pub roles: BTreeMap<String, Vec<String>>,
    pub people: BTreeMap<String, Person>,
    pub llm: crate::narrative::client::LlmConfig,
    pub mask_fields: Vec<String>,
    pub store_url: String,
    pub reconciliation: crate::analysis::reconcile::ReconcileParams,
    pub pipelines: BTreeMap<Agent, Pipeline>,
    pub notify: NotifyConfig,
}

pub const WORKSPACE_FILE: &str = "snop.toml";

/// The environment variable that, when set, overrides `[store] url` (a team's PostgreSQL URL
/// with its password, kept out of `snop.toml`).
pub const STORE_URL_ENV: &str = "SNOP_STORE_URL";

/// Whether a store URL is one snop can open: `sqlite://FILE`, or a PostgreSQL URL naming a host
/// and a database.
fn check_store_url(url: &str) -> Result<(), String> {
    use crate::store::Backend;
    let shown = crate::store::dialect::redact(url);
    match Backend::of_url(url) {
        Backend::Sqlite if url.starts_with("sqlite://") && url.len() > "sqlite://".len() => Ok(()),
        Backend::Sqlite => Err(format!(
            "`{shown}` is not supported: use `sqlite://FILE` (a file in the workspace) or `postgres://USER@HOST/DATABASE`"
        )),
        Backend::Postgres => {
            let parsed: sqlx::postgres::PgConnectOptions =
                url.parse().map_err(|e| format!("`{shown}` is not a PostgreSQL URL snop can read: {e}"))?;
            match parsed.get_database() {
                Some(db) if !db.is_empty() => Ok(()),
                _ => Err(format!("`{shown}` names no database: use `postgres://USER@HOST/DATABASE`")),
            }
        }
    }
}

impl Workspace {
    /// Who holds which role, with people's names and keys: what the sign-off rules read.
    pub fn directory(&self) -> Directory {
        Directory {
            roles: self.roles.clone(),
            names: self.people.iter().map(|(id, p)| (id.clone(), p.name.clone())).collect(),
            public_keys: self.people.iter().filter_map(|(id, p)| Some((id.clone(), p.public_key.clone()?))).collect(),
        }
    }
    /// Reads and validates `snop.toml` and every `pipelines/*.toml` under `root`, and checks
    /// that every file a pipeline names is there.
    pub fn load(root: &Path) -> Result<Workspace, ConfigError> {
        Workspace::load_checking(root, Inputs::Required)
    }

    /// As [`Workspace::load`], for commands that read no input file (reviewing, signing, the
    /// calendar, the web): a reviewer on a team's shared store need not have the extracts.
    pub fn load_without_inputs(root: &Path) -> Result<Workspace, ConfigError> {
        Workspace::load_checking(root, Inputs::NotRead)
    }

    fn load_checking(root: &Path, inputs: Inputs) -> Result<Workspace, ConfigError> {
        let mut problems = Vec::new();
        let ws = load_workspace(root, inputs, &mut problems);
        problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        if problems.is_empty() { Ok(ws.expect("a workspace without problems")) } else { Err(ConfigError { problems }) }
    }

    pub fn pipeline(&self, agent: Agent) -> Result<&Pipeline, ConfigError> {
        self.pipelines.get(&agent).ok_or_else(|| ConfigError {
            problems: vec![Problem {
                file: self.root.join("pipelines"),
                line: None,
                key: String::new(),
                message: format!("no pipeline for agent `{agent}`: expected `pipelines/{agent}.toml`"),
            }],
        })
    }

    /// The people who hold a role.
    pub fn holders(&self, role: &str) -> &[String] {
        self.roles.get(role).map(Vec::as_slice).unwrap_or_default()
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Reads a TOML file into `T`, recording a problem (with its line) when it does not parse.
fn read_toml<T: for<'de> Deserialize<'de>>(
    path: &Path,
    rel: &Path,
    problems: &mut Vec<Problem>,
) -> Option<(T, String)> {
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem {
                file: rel.to_path_buf(),
                line: None,
                key: String::new(),
                message: format!("cannot be read: {}", e.kind()),
            });
            return None;
        }
    };
    match toml::from_str::<T>(&text) {
        Ok(v) => Some((v, text)),
        Err(e) => {
            problems.push(Problem {
                file: rel.to_path_buf(),
                line: e.span().map(|s| line_of(&text, s.start)),
                key: String::new(),
                message: e.message().trim().to_string(),
            });
            None
        }
    }
}

/// Whether the pipelines' input files must be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inputs {
    Required,
    NotRead,
}

fn load_workspace(root: &Path, inputs: Inputs, problems: &mut Vec<Problem>) -> Option<Workspace> {
    let rel = PathBuf::from(WORKSPACE_FILE);
    let path = root.join(WORKSPACE_FILE);
    if !path.exists() {
        problems.push(Problem {
            file: root.join(WORKSPACE_FILE),
            line: None,
            key: String::new(),
            message: "not found: this folder is not a snop workspace\nhint: create one with `snop init DIR` or `snop demo DIR`, or pass `--workspace DIR`".into(),
        });
        return None;
    }
    let raw: Option<(RawWorkspace, String)> = read_toml(&path, &rel, problems);
    let pipelines = load_pipelines(root, inputs, problems);
    let (raw, text) = raw?;
    let mut here = |span: std::ops::Range<usize>, key: &str, message: String| {
        problems.push(Problem { file: rel.clone(), line: Some(line_of(&text, span.start)), key: key.into(), message });
    };

    let calendar = resolve_calendar(&raw.calendar, &mut here);
    let mut roles = BTreeMap::new();
    for (role, holders) in &raw.roles {
        if !ROLES.contains(&role.as_str()) {
            here(
                holders.span(),
                &format!("roles.{role}"),
                format!("unknown role `{role}`: roles are {}", ROLES.join(", ")),
            );
            continue;
        }
        for h in holders.get_ref() {
            if !raw.people.contains_key(h) {
                here(holders.span(), &format!("roles.{role}"), format!("`{h}` is not in `[people]`"));
            }
        }
        roles.insert(role.clone(), holders.get_ref().clone());
    }
    let store_url = match &raw.store.url {
        None => "sqlite://snop.db".to_string(),
        Some(u) => match check_store_url(u.get_ref()) {
            Ok(()) => u.get_ref().clone(),
            Err(message) => {
                here(u.span(), "store.url", message);
                String::new()
            }
        },
    };
    let mut reconciliation = crate::analysis::reconcile::ReconcileParams::default();
    if let Some(limit) = &raw.reconciliation.leads_may_approve_up_to {
        let v = *limit.get_ref();
        if v.is_finite() && v >= 0.0 {
            reconciliation.leads_may_approve_up_to = v;
        } else {
            here(
                limit.span(),
                "reconciliation.leads_may_approve_up_to",
                format!("`{v}` must be an amount of 0 or more in the workspace currency"),
            );
        }
    }

    let mut people = BTreeMap::new();
    for (id, p) in raw.people {
        let public_key = p.public_key.and_then(|k| match crate::store::keys::parse_public(k.get_ref()) {
            Ok(_) => Some(k.into_inner()),
            Err(message) => {
                here(k.span(), &format!("people.{id}.public_key"), message);
                None
            }
        });
        people.insert(id.clone(), Person { id, name: p.name, email: p.email, public_key });
    }
    check_prompts(root, problems);
    // The environment wins over the file, so a team's password need not be written in it.
    let store_url = match std::env::var(STORE_URL_ENV) {
        Ok(url) if !url.is_empty() => match check_store_url(&url) {
            Ok(()) => url,
            Err(message) => {
                let file = PathBuf::from(format!("${STORE_URL_ENV}"));
                problems.push(Problem { file, line: None, key: String::new(), message });
                store_url
            }
        },
        _ => store_url,
    };
    let pipelines = pipelines?;
    Some(Workspace {
        root: root.to_path_buf(),
        company: raw.company.name,
        currency: raw.company.currency,
        calendar: calendar?,
        roles,
        people,
        llm: raw.llm,
        mask_fields: raw.narrative.mask_fields,
        store_url,
        reconciliation,
        pipelines,
        notify: raw.notify,
    })
}

/// The calendar's problems over the next 12 cycles from `today` and the cycles of every listed
/// holiday ([`crate::calendar::Calendar::check`]), each with the line and key of the rule.
pub fn calendar_problems(ws: &Workspace, today: chrono::NaiveDate) -> Vec<Problem> {
    use chrono::Datelike;
    let cal = &ws.calendar;
    let start = cal.upcoming(today);
    let mut months: Vec<crate::contract::Month> = (0..12).map(|i| start.plus(i)).collect();
    for h in cal.holidays.keys() {
        let m = crate::contract::Month(h.year() * 12 + h.month0() as i32);
        months.extend([m.plus(-1), m, m.plus(1)]);
    }
    months.retain(|m| *m >= start);
    months.sort();
    months.dedup();
    let text = fs_err::read_to_string(ws.root.join(WORKSPACE_FILE)).unwrap_or_default();
    let section = text.lines().position(|l| l.trim() == "[calendar.meetings]");
    let line_of_key = |key: &str| -> Option<usize> {
        let from = section?;
        text.lines()
            .enumerate()
            .skip(from + 1)
            .take_while(|(_, l)| !l.trim_start().starts_with('['))
            .find(|(_, l)| l.trim_start().trim_start_matches('"').starts_with(key))
            .map(|(i, _)| i + 1)
            .or(Some(from + 1))
    };
    cal.check(&months)
        .into_iter()
        .map(|p| {
            let key = p.artifact.map(|a| a.agent().name());
            Problem {
                file: PathBuf::from(WORKSPACE_FILE),
                line: key.map_or(section.map(|s| s + 1), line_of_key),
                key: key.map_or("calendar.meetings".into(), |k| format!("calendar.meetings.{k}")),
                message: p.message,
            }
        })
        .collect()
}

/// Resolves `[calendar]`: every rule, day and time parsed, the rules free of loops.
fn resolve_calendar(
    raw: &RawCalendar,
    here: &mut impl FnMut(std::ops::Range<usize>, &str, String),
) -> Option<crate::calendar::Calendar> {
    use crate::calendar::{Anchor, Calendar, Rule};
    use crate::sop::Artifact;
    let mut ok = true;
    let timezone = match &raw.timezone {
        None => chrono_tz::UTC,
        Some(t) => t.get_ref().parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
            here(
                t.span(),
                "calendar.timezone",
                format!("`{}` is not an IANA time zone such as `Europe/London`", t.get_ref()),
            );
            ok = false;
            chrono_tz::UTC
        }),
    };
    let mut working_days = [true, true, true, true, true, false, false];
    if let Some(days) = &raw.working_days {
        working_days = [false; 7];
        for d in days.get_ref() {
            match d.parse::<chrono::Weekday>() {
                Ok(w) => working_days[w.num_days_from_monday() as usize] = true,
                Err(_) => {
                    here(days.span(), "calendar.working_days", format!("`{d}` is not a day of the week"));
                    ok = false;
                }
            }
        }
    }
    let mut holidays = BTreeMap::new();
    for h in &raw.holidays {
        let text = h.get_ref().trim();
        let (date, name) = text.split_once(' ').unwrap_or((text, "holiday"));
        match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            Ok(d) => {
                holidays.insert(d, name.trim().to_string());
            }
            Err(_) => {
                here(h.span(), "calendar.holidays", format!("`{text}` does not start with a date `YYYY-MM-DD`"));
                ok = false;
            }
        }
    }
    let mut time = |value: Option<&Spanned<String>>, key: &str, default: &str| {
        let text = value.map_or(default, |v| v.get_ref().as_str());
        chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M").map_err(|_| {
            if let Some(v) = value {
                here(v.span(), key, format!("`{text}` is not a time `HH:MM`"));
            }
        })
    };
    let nightly_at = time(raw.nightly_at.as_ref(), "calendar.nightly_at", "02:30");
    let hours = match &raw.meeting_hours {
        None => Ok((
            chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
            chrono::NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
        )),
        Some(h) => match h.get_ref().split_once('-').map(|(a, b)| {
            (chrono::NaiveTime::parse_from_str(a.trim(), "%H:%M"), chrono::NaiveTime::parse_from_str(b.trim(), "%H:%M"))
        }) {
            Some((Ok(a), Ok(b))) if a < b => Ok((a, b)),
            _ => {
                here(h.span(), "calendar.meeting_hours", format!("`{}` is not a span like `09:00-17:00`", h.get_ref()));
                Err(())
            }
        },
    };
    let mut rules: [Option<Rule>; 5] = [None; 5];
    for (key, text) in &raw.meetings {
        let full = format!("calendar.meetings.{key}");
        let Some(i) = Agent::from_name(key).map(|a| Artifact::ALL.iter().position(|x| x.agent() == a).expect("listed"))
        else {
            here(
                text.span(),
                &full,
                format!("unknown meeting `{key}`: meetings are {}", Agent::ALL.map(Agent::name).join(", ")),
            );
            ok = false;
            continue;
        };
        match Rule::parse(text.get_ref()) {
            Ok(r) if i == 0 && r.anchor == Anchor::Next => {
                here(text.span(), &full, "the demand review opens the cycle: it cannot follow `next working day`; give it a rule like `first Monday of the month`".into());
                ok = false;
            }
            Ok(r) => rules[i] = Some(r),
            Err(m) => {
                here(text.span(), &full, m);
                ok = false;
            }
        }
    }
    let missing: Vec<&str> =
        Artifact::ALL.iter().zip(&rules).filter(|(_, r)| r.is_none()).map(|(a, _)| a.agent().name()).collect();
    if ok && !missing.is_empty() {
        let span = raw.meetings.values().next().map_or(0..0, |v| v.span());
        here(
            span,
            "calendar.meetings",
            format!(
                "no rule for {}: every meeting needs one, e.g. `executive = \"second Thursday\"`",
                missing.join(", ")
            ),
        );
        return None;
    }
    if !ok {
        return None;
    }
    let rules = rules.map(|r| r.expect("checked"));
    // Loops: `before` and `next` anchors must bottom out in a fixed one.
    let mut fixed = rules.map(|r| matches!(r.anchor, Anchor::Fixed(_)));
    for _ in 0..5 {
        for i in 0..5 {
            fixed[i] |= match rules[i].anchor {
                Anchor::Fixed(_) => true,
                Anchor::Next => i > 0 && fixed[i - 1],
                Anchor::Before(_, t) => fixed[Artifact::ALL.iter().position(|a| *a == t).expect("listed")],
            };
        }
    }
    if let Some(i) = fixed.iter().position(|f| !f) {
        let key = Artifact::ALL[i].agent().name();
        let span = raw.meetings.get(key).map_or(0..0, |v| v.span());
        here(span, &format!("calendar.meetings.{key}"), "this rule depends on itself through other meetings' rules: anchor one of them to a fixed day such as `second Thursday`".into());
        return None;
    }
    Some(Calendar { timezone, working_days, holidays, rules, hours: hours.ok()?, nightly_at: nightly_at.ok()? })
}

/// Parses every prompt template of each agent and renders it against that agent's sample facts
/// (`prompts/<agent>/sample-facts.json`), so a template naming a missing field is a
/// configuration error here, not a surprise at run time.
fn check_prompts(root: &Path, problems: &mut Vec<Problem>) {
    let dir = root.join("prompts");
    let Ok(entries) = fs_err::read_dir(&dir) else {
        problems.push(Problem {
            file: PathBuf::from("prompts"),
            line: None,
            key: String::new(),
            message: "folder not found: a workspace keeps its prompt templates there".into(),
        });
        return;
    };
    let mut agents: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    agents.sort();
    for agent_dir in agents {
        let rel = agent_dir.strip_prefix(root).unwrap_or(&agent_dir).to_path_buf();
        let sample = agent_dir.join("sample-facts.json");
        let facts = match fs_err::read_to_string(&sample)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
        {
            Ok(f) => f,
            Err(e) => {
                problems.push(Problem {
                    file: rel.join("sample-facts.json"),
                    line: None,
                    key: String::new(),
                    message: format!("the templates cannot be checked without sample facts: {e}"),
                });
                continue;
            }
        };
        for p in crate::narrative::check_templates(&agent_dir, &facts) {
            problems.push(Problem { file: rel.clone(), line: None, key: String::new(), message: p });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// pipelines/*.toml

/// `pipelines/<agent>.toml`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    /// The agent this pipeline runs: demand-review, supply-review, reconciliation, executive or commit-back.
    agent: Spanned<String>,
    /// What the pipeline is for, in a planner's words.
    #[serde(default)]
    description: String,
    /// How many months of history the agent reads, counted back from the cycle month.
    #[serde(default = "default_history_months")]
    history_months: u32,
    /// When bad rows stop a run.
    #[serde(default)]
    quarantine: RawQuarantine,
    /// The inputs, each mapped onto one contract table.
    #[serde(default)]
    sources: Vec<Spanned<RawSource>>,
    /// Settings of the demand review's analysis.
    #[serde(default)]
    demand: crate::analysis::demand::DemandParams,
    /// Settings of the supply review's analysis: costs of the options, OTIF, allocation.
    #[serde(default)]
    supply: crate::analysis::supply::SupplyParams,
    /// The executive agent's export of the signed plan, in the ERP's own column names.
    #[serde(default)]
    export: Option<Spanned<RawExport>>,
}

/// `[export]`: the signed plan as the ERP loads it back, as the `open_orders` table of the data
/// contract (`order_id`, `sku`, `customer`, `requested_month`, `qty`) with the ERP's columns:
/// the reverse of a source's mapping, so a source with the same `columns` reads it back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExport {
    /// The field separator of the CSV; one character. Default: `,`.
    #[serde(default)]
    delimiter: Option<String>,
    /// Numbers written `1.234,5` (comma for decimals).
    #[serde(default)]
    decimal_comma: bool,
    /// Contract column of `open_orders` to the ERP's column name; unmapped columns keep their name.
    #[serde(default)]
    columns: BTreeMap<String, String>,
}

/// The signed plan's export: the ERP's column name of each `open_orders` contract column.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub delimiter: u8,
    pub decimal_comma: bool,
    /// (contract column, ERP column) in the contract's order.
    pub columns: Vec<(String, String)>,
}

impl Default for Export {
    fn default() -> Self {
        Export {
            delimiter: b',',
            decimal_comma: false,
            columns: Table::OpenOrders
                .spec()
                .columns
                .iter()
                .map(|c| (c.name.to_string(), c.name.to_string()))
                .collect(),
        }
    }
}

fn default_history_months() -> u32 {
    36
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuarantine {
    /// The share of a source's rows, in percent, that may be quarantined before the run fails.
    #[serde(default = "default_max_percent")]
    max_percent: f64,
}

impl Default for RawQuarantine {
    fn default() -> Self {
        RawQuarantine { max_percent: default_max_percent() }
    }
}

fn default_max_percent() -> f64 {
    5.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    /// A name for the source in reports; defaults to the table name.
    #[serde(default)]
    name: Option<String>,
    /// The contract table the source fills.
    table: Spanned<String>,
    /// Where the data comes from: `csv`, `parquet`, `xlsx` or `http`.
    #[serde(rename = "type")]
    kind: Spanned<String>,
    /// A file path or glob, relative to the workspace (csv, parquet, xlsx).
    #[serde(default)]
    path: Option<Spanned<String>>,
    /// The sheet to read (xlsx).
    #[serde(default)]
    sheet: Option<Spanned<String>>,
    /// The row that holds the column names, counting from 1 (xlsx).
    #[serde(default)]
    header_row: Option<Spanned<u32>>,
    /// The field separator (csv, and http with format csv); one character.
    #[serde(default)]
    delimiter: Option<Spanned<String>>,
    /// The URL to pull (http).
    #[serde(default)]
    url: Option<Spanned<String>>,
    /// The body's format: `csv` or `parquet` (http).
    #[serde(default)]
    format: Option<Spanned<String>>,
    /// The HTTP header that carries the credential, e.g. `Authorization` (http).
    #[serde(default)]
    auth_header: Option<Spanned<String>>,
    /// The environment variable that holds the credential's value (http).
    #[serde(default)]
    auth_env: Option<Spanned<String>>,
    /// How long one attempt may take (http).
    #[serde(default)]
    timeout_seconds: Option<Spanned<u64>>,
    /// How many times a failed pull is tried again, with backoff (http).
    #[serde(default)]
    retries: Option<Spanned<u32>>,
    /// Numbers are written `1.234,5` (comma for decimals, dot for thousands).
    #[serde(default)]
    decimal_comma: bool,
    /// The default date format of the source's date columns (strftime), e.g. `%Y%m%d`.
    #[serde(default)]
    date_format: Option<String>,
    /// Overrides `[quarantine] max_percent` for this source.
    #[serde(default)]
    max_quarantined_percent: Option<f64>,
    /// No file matching `path` is not an error: the source then has no rows (spreadsheets people
    /// send back when they have something to say, such as returned commitment logs).
    #[serde(default)]
    optional: bool,
    /// Contract column to the source's own column name (or `{ column, format }` for dates).
    #[serde(default = "no_mapping")]
    columns: Spanned<BTreeMap<String, RawMapping>>,
}

fn no_mapping() -> Spanned<BTreeMap<String, RawMapping>> {
    Spanned::new(0..0, BTreeMap::new())
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawMapping {
    Name(String),
    Detailed {
        /// The source's column name.
        column: String,
        /// The date format of this column (strftime).
        #[serde(default)]
        format: Option<String>,
    },
}

/// A validated pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub agent: Agent,
    /// The file it was read from, relative to the workspace.
    pub file: PathBuf,
    /// The file's bytes, hashed into every run.
    pub text: String,
    pub description: String,
    pub history_months: u32,
    pub sources: Vec<Source>,
    pub demand: crate::analysis::demand::DemandParams,
    pub supply: crate::analysis::supply::SupplyParams,
    pub export: Export,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub table: Table,
    pub location: Location,
    pub columns: Vec<ColumnMap>,
    pub decimal_comma: bool,
    pub max_quarantined_percent: f64,
    /// No matching file means no rows, not an error.
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FileFormat {
    Csv { delimiter: u8 },
    Parquet,
    Xlsx { sheet: String, header_row: u32 },
}

#[derive(Debug, Clone)]
pub enum Location {
    /// A path or glob relative to the workspace.
    Files {
        pattern: String,
        format: FileFormat,
    },
    Http {
        url: String,
        format: FileFormat,
        auth: Option<(String, String)>,
        timeout_seconds: u64,
        retries: u32,
    },
}

/// One contract column and where it comes from in the source.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    pub column: Column,
    pub source: String,
    /// For date columns: the strftime format of the source's text.
    pub date_format: String,
}

fn load_pipelines(root: &Path, inputs: Inputs, problems: &mut Vec<Problem>) -> Option<BTreeMap<Agent, Pipeline>> {
    let dir = root.join("pipelines");
    let mut files: Vec<PathBuf> = match fs_err::read_dir(&dir) {
        Ok(rd) => {
            rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect()
        }
        Err(_) => {
            problems.push(Problem {
                file: PathBuf::from("pipelines"),
                line: None,
                key: String::new(),
                message: "folder not found: a workspace keeps one pipeline per agent there".into(),
            });
            return None;
        }
    };
    files.sort();
    let before = problems.len();
    let mut out = BTreeMap::new();
    for path in files {
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        // One agent per file: the file is named after its agent, so no agent is run twice.
        if let Some(p) = load_pipeline(root, &path, &rel, inputs, problems) {
            out.insert(p.agent, p);
        }
    }
    (problems.len() == before).then_some(out)
}

fn load_pipeline(
    root: &Path,
    path: &Path,
    rel: &Path,
    inputs: Inputs,
    problems: &mut Vec<Problem>,
) -> Option<Pipeline> {
    let (raw, text): (RawPipeline, String) = read_toml(path, rel, problems)?;
    let before = problems.len();
    let mut here = |span: std::ops::Range<usize>, key: String, message: String| {
        problems.push(Problem { file: rel.to_path_buf(), line: Some(line_of(&text, span.start)), key, message });
    };
    let agent = Agent::from_name(raw.agent.get_ref());
    if agent.is_none() {
        here(
            raw.agent.span(),
            "agent".into(),
            format!("unknown agent `{}`: agents are {}", raw.agent.get_ref(), Agent::ALL.map(Agent::name).join(", ")),
        );
    }
    if !(0.0..=100.0).contains(&raw.quarantine.max_percent) {
        here(0..0, "quarantine.max_percent".into(), "must be between 0 and 100".into());
    }
    if raw.history_months == 0 || raw.history_months > 120 {
        here(0..0, "history_months".into(), "must be between 1 and 120".into());
    }
    let mut sources = Vec::new();
    let mut names = BTreeMap::new();
    for (i, spanned) in raw.sources.iter().enumerate() {
        let key = |k: &str| format!("sources[{i}].{k}");
        let s = spanned.get_ref();
        let Some(table) = Table::from_name(s.table.get_ref()) else {
            here(
                s.table.span(),
                key("table"),
                format!("unknown table `{}`: tables are {}", s.table.get_ref(), Table::ALL.map(Table::name).join(", ")),
            );
            continue;
        };
        let name = s.name.clone().unwrap_or_else(|| table.name().to_string());
        if let Some(prev) = names.insert(name.clone(), i) {
            here(
                spanned.span(),
                key("name"),
                format!("source name `{name}` is also used by sources[{prev}]: give one a `name`"),
            );
        }
        let delimiter = match &s.delimiter {
            None => b',',
            Some(d) if d.get_ref().len() == 1 => d.get_ref().as_bytes()[0],
            Some(d) => {
                here(d.span(), key("delimiter"), format!("`{}` must be a single character", d.get_ref()));
                b','
            }
        };
        let kind = s.kind.get_ref().as_str();
        // Which keys belong to which kind: a key for another kind is a mistake worth naming.
        let allowed: &[&str] = match kind {
            "csv" => &["path", "delimiter"],
            "parquet" => &["path"],
            "xlsx" => &["path", "sheet", "header_row"],
            "http" => &["url", "format", "auth_header", "auth_env", "timeout_seconds", "retries", "delimiter"],
            other => {
                here(
                    s.kind.span(),
                    key("type"),
                    format!("unknown source type `{other}`: types are csv, parquet, xlsx, http"),
                );
                continue;
            }
        };
        let present: [(&str, Option<std::ops::Range<usize>>); 10] = [
            ("path", s.path.as_ref().map(Spanned::span)),
            ("sheet", s.sheet.as_ref().map(Spanned::span)),
            ("header_row", s.header_row.as_ref().map(Spanned::span)),
            ("delimiter", s.delimiter.as_ref().map(Spanned::span)),
            ("url", s.url.as_ref().map(Spanned::span)),
            ("format", s.format.as_ref().map(Spanned::span)),
            ("auth_header", s.auth_header.as_ref().map(Spanned::span)),
            ("auth_env", s.auth_env.as_ref().map(Spanned::span)),
            ("timeout_seconds", s.timeout_seconds.as_ref().map(Spanned::span)),
            ("retries", s.retries.as_ref().map(Spanned::span)),
        ];
        for (k, span) in present {
            if let Some(span) = span.filter(|_| !allowed.contains(&k)) {
                here(span, key(k), format!("`{k}` does not apply to a `{kind}` source"));
            }
        }
        let location = if kind == "http" {
            let Some(url) = &s.url else {
                here(spanned.span(), key("url"), "an http source needs a `url`".into());
                continue;
            };
            if !(url.get_ref().starts_with("http://") || url.get_ref().starts_with("https://")) {
                here(url.span(), key("url"), format!("`{}` is not an http(s) URL", url.get_ref()));
            }
            let format = match s.format.as_ref().map(|f| f.get_ref().as_str()) {
                None | Some("csv") => FileFormat::Csv { delimiter },
                Some("parquet") => FileFormat::Parquet,
                Some(other) => {
                    here(
                        s.format.as_ref().expect("format").span(),
                        key("format"),
                        format!("`{other}` is not `csv` or `parquet`"),
                    );
                    continue;
                }
            };
            let auth = match (&s.auth_header, &s.auth_env) {
                (Some(h), Some(e)) => Some((h.get_ref().clone(), e.get_ref().clone())),
                (None, None) => None,
                (Some(h), None) => {
                    here(
                        h.span(),
                        key("auth_env"),
                        "`auth_header` needs `auth_env`, the environment variable with its value".into(),
                    );
                    None
                }
                (None, Some(e)) => {
                    here(
                        e.span(),
                        key("auth_header"),
                        "`auth_env` needs `auth_header`, the header to send it in".into(),
                    );
                    None
                }
            };
            Location::Http {
                url: url.get_ref().clone(),
                format,
                auth,
                timeout_seconds: s.timeout_seconds.as_ref().map_or(30, |t| *t.get_ref()),
                retries: s.retries.as_ref().map_or(3, |r| *r.get_ref()),
            }
        } else {
            let Some(p) = &s.path else {
                here(spanned.span(), key("path"), format!("a `{kind}` source needs a `path`"));
                continue;
            };
            let format = match kind {
                "csv" => FileFormat::Csv { delimiter },
                "parquet" => FileFormat::Parquet,
                _ => {
                    let Some(sheet) = &s.sheet else {
                        here(spanned.span(), key("sheet"), "an xlsx source needs a `sheet`".into());
                        continue;
                    };
                    let header_row = s.header_row.as_ref().map_or(1, |h| *h.get_ref());
                    if header_row == 0 {
                        here(
                            s.header_row.as_ref().expect("header_row").span(),
                            key("header_row"),
                            "rows count from 1".into(),
                        );
                    }
                    FileFormat::Xlsx { sheet: sheet.get_ref().clone(), header_row }
                }
            };
            let pattern = p.get_ref().clone();
            match glob::glob(&root.join(&pattern).to_string_lossy()) {
                Err(e) => here(p.span(), key("path"), format!("`{pattern}` is not a valid glob: {}", e.msg)),
                Ok(mut paths) => {
                    if inputs == Inputs::Required && !s.optional && paths.next().is_none() {
                        here(p.span(), key("path"), format!("`{pattern}` matches no file in the workspace"));
                    }
                }
            }
            Location::Files { pattern, format }
        };
        // The column mapping: every key a contract column, every required column mapped.
        let spec = table.spec();
        let default_date_format = s.date_format.clone().unwrap_or_else(|| "%Y-%m-%d".into());
        let mut columns = Vec::new();
        for (contract_name, mapping) in s.columns.get_ref() {
            let Some(column) = spec.column(contract_name) else {
                here(
                    s.columns.span(),
                    key(&format!("columns.{contract_name}")),
                    format!(
                        "`{contract_name}` is not a column of `{table}`: its columns are {}",
                        spec.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                    ),
                );
                continue;
            };
            let (source, format) = match mapping {
                RawMapping::Name(n) => (n.clone(), None),
                RawMapping::Detailed { column, format } => (column.clone(), format.clone()),
            };
            if format.is_some() && column.kind != Kind::Date {
                here(
                    s.columns.span(),
                    key(&format!("columns.{contract_name}.format")),
                    "a `format` applies only to date columns".into(),
                );
            }
            columns.push(ColumnMap {
                column: *column,
                source,
                date_format: format.unwrap_or_else(|| default_date_format.clone()),
            });
        }
        // Unmapped contract columns are read under their own name.
        for c in spec.columns {
            if !s.columns.get_ref().contains_key(c.name) {
                columns.push(ColumnMap {
                    column: *c,
                    source: c.name.to_string(),
                    date_format: default_date_format.clone(),
                });
            }
        }
        columns.sort_by_key(|m| spec.columns.iter().position(|c| c.name == m.column.name));
        sources.push(Source {
            name,
            table,
            location,
            columns,
            decimal_comma: s.decimal_comma,
            max_quarantined_percent: s.max_quarantined_percent.unwrap_or(raw.quarantine.max_percent),
            optional: s.optional,
        });
    }
    if let Some(agent) = agent {
        for t in agent.required_tables() {
            if !sources.iter().any(|s| s.table == *t) {
                here(raw.agent.span(), "sources".into(), format!("the {agent} agent needs a source for `{t}`"));
            }
        }
    }
    // References need their target tables in the same pipeline.
    for s in &sources {
        for r in s.table.spec().references {
            if !r.targets.iter().any(|(t, _)| *t == s.table || sources.iter().any(|o| o.table == *t)) {
                here(
                    0..0,
                    format!("sources.{}", s.name),
                    format!(
                        "`{}` refers to `{}`, which no source of this pipeline provides",
                        s.table,
                        r.targets.iter().map(|(t, _)| t.name()).collect::<Vec<_>>().join("` or `")
                    ),
                );
            }
        }
    }
    let mut export = Export::default();
    if let Some(e) = &raw.export {
        let spec = Table::OpenOrders.spec();
        for (contract, erp) in &e.get_ref().columns {
            match export.columns.iter_mut().find(|(c, _)| c == contract) {
                Some(slot) if !erp.trim().is_empty() => slot.1 = erp.clone(),
                Some(_) => here(e.span(), format!("export.columns.{contract}"), "the ERP column name is empty".into()),
                None => here(
                    e.span(),
                    format!("export.columns.{contract}"),
                    format!(
                        "`{contract}` is not a column of `open_orders`: its columns are {}",
                        spec.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                    ),
                ),
            }
        }
        match e.get_ref().delimiter.as_deref() {
            None => {}
            Some(d) if d.len() == 1 => export.delimiter = d.as_bytes()[0],
            Some(d) => here(e.span(), "export.delimiter".into(), format!("`{d}` must be a single character")),
        }
        export.decimal_comma = e.get_ref().decimal_comma;
    }
    if problems.len() > before {
        return None;
    }
    let agent = agent?;
    if rel.file_stem().is_some_and(|s| s != agent.name()) {
        problems.push(Problem {
            file: rel.to_path_buf(),
            line: None,
            key: "agent".into(),
            message: format!("the file of agent `{agent}` must be named `pipelines/{agent}.toml`"),
        });
        return None;
    }
    Some(Pipeline {
        agent,
        file: rel.to_path_buf(),
        text,
        description: raw.description,
        history_months: raw.history_months,
        sources,
        demand: raw.demand,
        supply: raw.supply,
        export,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_snop_can_open() {
        assert_eq!(check_store_url("sqlite://snop.db"), Ok(()));
        assert_eq!(check_store_url("postgres://snop@db.example:5432/snop"), Ok(()));
        assert_eq!(check_store_url("postgresql://snop:pw@db.example/snop?sslmode=require"), Ok(()));
        let err = check_store_url("mysql://root:hunter2@db/snop").unwrap_err();
        assert!(err.starts_with("`mysql://root:***@db/snop` is not supported: use `sqlite://FILE`"), "{err}");
        let err = check_store_url("postgres://snop:hunter2@db.example").unwrap_err();
        assert_eq!(err, "`postgres://snop:***@db.example` names no database: use `postgres://USER@HOST/DATABASE`");
        assert!(check_store_url("sqlite://").is_err());
        let err = check_store_url("postgres://snop@db.example:notaport/snop").unwrap_err();
        assert!(err.contains("is not a PostgreSQL URL snop can read"), "{err}");
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }
}
