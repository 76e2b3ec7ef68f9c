//! `snop.toml`: the company, the calendar, who holds which role, the people, the LLM, the
//! store, notifications; resolved into a [`Workspace`](super::Workspace).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::pipeline::load_pipelines;
use super::{Inputs, Problem, Workspace, line_of, read_toml};
use crate::sop::{Agent, ROLES};

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
    /// How signatures are made.
    #[serde(default)]
    signoff: RawSignoff,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSignoff {
    /// Every signature needs the signer's ed25519 key (off by default).
    #[serde(default)]
    require_keys: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawReconciliation {
    /// The cost, in the workspace currency, up to which the demand and supply leads close a gap
    /// with its recommended fixes without executives; costlier gaps go to the executive meeting
    /// as trade-offs. Default: 25000.
    #[serde(default)]
    leads_may_approve_up_to: Option<Spanned<f64>>,
    /// How many decisions reach the executive meeting at most, ranked by margin at risk; the
    /// rest are listed as notices. Default: 10.
    #[serde(default)]
    max_executive_decisions: Option<Spanned<i64>>,
    /// A scenario (`scenarios/<name>.toml`) whose comparison with the base the pack carries on
    /// its trade-offs slide and in its appendix. Default: none.
    #[serde(default)]
    pack_scenario: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompany {
    /// The company's name, as it appears on artifacts.
    name: String,
    /// ISO currency code of all money amounts.
    #[serde(default = "default_currency")]
    currency: String,
    /// How numbers people read are written: `en-US` (the default), `de-DE`, `fr-FR`, ...
    /// (`analysis::locale`).
    #[serde(default)]
    locale: Option<Spanned<String>>,
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
    /// When each meeting sits on each of its days and who else is invited, keyed by agent name:
    /// `executive = { start = "10:00", minutes = 60, attendees = ["plant.head"] }`.
    #[serde(default)]
    times: BTreeMap<String, Spanned<RawSlot>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlot {
    /// Local time `HH:MM` (default: the start of `meeting_hours`).
    #[serde(default)]
    start: Option<Spanned<String>>,
    /// Its length on each of its days (default 60 for the executive S&OP and the commit-back,
    /// 90 for the others).
    #[serde(default)]
    minutes: Option<Spanned<i64>>,
    /// Person ids or roles invited beyond the owner and signer roles and the seed's participants.
    #[serde(default)]
    attendees: Option<Spanned<Vec<String>>>,
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

pub const WORKSPACE_FILE: &str = "snop.toml";

/// The environment variable that, when set, overrides `[store] url` (a team's PostgreSQL URL
/// with its password, kept out of `snop.toml`).
pub const STORE_URL_ENV: &str = "SNOP_STORE_URL";

/// Whether a store URL is one snop can open: `sqlite://FILE`, or a PostgreSQL URL naming a host
/// and a database.
pub(super) fn check_store_url(url: &str) -> Result<(), String> {
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

pub(super) fn load_workspace(root: &Path, inputs: Inputs, problems: &mut Vec<Problem>) -> Option<Workspace> {
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
    let mut pending = Vec::new();
    let pipelines = load_pipelines(root, inputs, problems, &mut pending);
    let (raw, text) = raw?;
    let mut here = |span: std::ops::Range<usize>, key: &str, message: String| {
        problems.push(Problem { file: rel.clone(), line: Some(line_of(&text, span.start)), key: key.into(), message });
    };

    let locale = match &raw.company.locale {
        None => crate::analysis::locale::Locale::default(),
        Some(tag) => crate::analysis::locale::Locale::parse(tag.get_ref()).unwrap_or_else(|| {
            here(
                tag.span(),
                "company.locale",
                format!(
                    "unknown locale `{}`: the known locales are {}",
                    tag.get_ref(),
                    crate::analysis::locale::Locale::known().join(", ")
                ),
            );
            Default::default()
        }),
    };
    let calendar = resolve_calendar(&raw.calendar, &mut here);
    let calendar = calendar.and_then(|c| resolve_slots(c, &raw.calendar, &raw.people, &mut here));
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
    if let Some(cap) = &raw.reconciliation.max_executive_decisions {
        match usize::try_from(*cap.get_ref()) {
            Ok(v) if (1..=100).contains(&v) => reconciliation.max_executive_decisions = v,
            _ => here(
                cap.span(),
                "reconciliation.max_executive_decisions",
                format!(
                    "`{}` must be a whole number of decisions, 1 to 100 (an executive meeting of an hour takes about 10)",
                    cap.get_ref()
                ),
            ),
        }
    }
    let mut pack_scenario = None;
    if let Some(n) = &raw.reconciliation.pack_scenario {
        match pack_scenario_problem(root, n.get_ref()) {
            Some(problem) => here(n.span(), "reconciliation.pack_scenario", problem),
            None => pack_scenario = Some(n.get_ref().clone()),
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
        locale,
        calendar: calendar?,
        roles,
        people,
        llm: raw.llm,
        mask_fields: raw.narrative.mask_fields,
        store_url,
        reconciliation,
        pack_scenario,
        pipelines,
        notify: raw.notify,
        require_keys: raw.signoff.require_keys,
        pending,
        sheet_max_rows: SHEET_MAX_ROWS,
    })
}

/// What is wrong with `[reconciliation] pack_scenario = "<name>"`, if anything: the name as
/// `scenario::spec::valid_name` takes it (config sits below `scenario`, so the rule is repeated
/// here), not `base`, and its file there (the file's own problems are `snop validate`'s).
fn pack_scenario_problem(root: &Path, name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if !valid {
        return Some(format!(
            "`{name}` is not a scenario name: use lowercase letters, digits, `-` and `_` (the file `scenarios/NAME.toml`)"
        ));
    }
    if name == "base" {
        return Some("`base` is the plan with no change: name a scenario to compare with it".into());
    }
    let file = root.join("scenarios").join(format!("{name}.toml"));
    (!file.exists()).then(|| format!("no scenario file `scenarios/{name}.toml`"))
}

/// Excel's most rows on a sheet: what [`Workspace::sheet_max_rows`] is outside tests.
pub const SHEET_MAX_ROWS: u32 = 1_048_576;

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
    let hours = hours.ok()?;
    let slots = Artifact::ALL.map(|a| crate::calendar::Slot::default_for(a, hours));
    Some(Calendar { timezone, working_days, holidays, rules, hours, slots, nightly_at: nightly_at.ok()? })
}

/// Resolves `[calendar.times]` onto the calendar's default slots: each meeting's start and
/// minutes inside `meeting_hours`, its attendees roles or people of `snop.toml`.
fn resolve_slots(
    mut calendar: crate::calendar::Calendar,
    raw_calendar: &RawCalendar,
    people: &BTreeMap<String, RawPerson>,
    here: &mut impl FnMut(std::ops::Range<usize>, &str, String),
) -> Option<crate::calendar::Calendar> {
    use crate::sop::Artifact;
    let mut ok = true;
    let (open, close) = calendar.hours;
    let hm = |t: chrono::NaiveTime| t.format("%H:%M").to_string();
    let times = &raw_calendar.times;
    for (key, entry) in times {
        let full = format!("calendar.times.{key}");
        let Some(i) = Agent::from_name(key).map(|a| Artifact::ALL.iter().position(|x| x.agent() == a).expect("listed"))
        else {
            here(
                entry.span(),
                &full,
                format!("unknown meeting `{key}`: meetings are {}", Agent::ALL.map(Agent::name).join(", ")),
            );
            ok = false;
            continue;
        };
        let raw = entry.get_ref();
        let slot = &mut calendar.slots[i];
        let mut fine = true;
        if let Some(s) = &raw.start {
            match chrono::NaiveTime::parse_from_str(s.get_ref().trim(), "%H:%M") {
                Ok(t) => slot.start = t,
                Err(_) => {
                    here(s.span(), &format!("{full}.start"), format!("`{}` is not a time `HH:MM`", s.get_ref()));
                    fine = false;
                }
            }
        }
        if let Some(m) = &raw.minutes {
            match u32::try_from(*m.get_ref()).ok().filter(|m| (15..=480).contains(m)) {
                Some(m) => slot.minutes = m,
                None => {
                    here(
                        m.span(),
                        &format!("{full}.minutes"),
                        format!("`{}` is not a length from 15 to 480 minutes", m.get_ref()),
                    );
                    fine = false;
                }
            }
        }
        ok &= fine;
        if fine && !slot.inside((open, close)) {
            let span = entry.span();
            let ends = slot.end().map_or("after midnight".to_string(), hm);
            here(
                span,
                &full,
                format!(
                    "the {} would run {} to {ends}, outside the meeting hours {}-{}\nhint: start it earlier, shorten it, or widen `calendar.meeting_hours`",
                    Artifact::ALL[i].meeting(),
                    hm(slot.start),
                    hm(open),
                    hm(close)
                ),
            );
            ok = false;
        }
        if let Some(list) = &raw.attendees {
            for a in list.get_ref() {
                if ROLES.contains(&a.as_str()) || people.contains_key(a) {
                    slot.attendees.push(a.clone());
                } else {
                    here(
                        list.span(),
                        &format!("{full}.attendees"),
                        format!("`{a}` is neither a person in `[people]` nor a role ({})", ROLES.join(", ")),
                    );
                    ok = false;
                }
            }
        }
    }
    // A meeting left at its default must fit the hours too (meeting hours shorter than 90 minutes).
    for (i, slot) in calendar.slots.iter().enumerate() {
        let key = Artifact::ALL[i].agent().name();
        if !times.contains_key(key) && !slot.inside(calendar.hours) {
            here(
                raw_calendar.meeting_hours.as_ref().map_or(0..0, |h| h.span()),
                "calendar.meeting_hours",
                format!(
                    "the {} lasts {} minutes by default, longer than the meeting hours {}-{}: give it a length in `[calendar.times]`",
                    Artifact::ALL[i].meeting(),
                    slot.minutes,
                    hm(open),
                    hm(close)
                ),
            );
            ok = false;
        }
    }
    ok.then_some(calendar)
}

impl Workspace {
    /// Who an invite to a meeting goes to: the holders of its owner and signer roles (chairs),
    /// then of the seed's participant roles, then `[calendar.times]`' attendees, each person
    /// once, with their name and e-mail; the organizer is the first owner with an e-mail.
    pub fn invitees(&self, artifact: crate::sop::Artifact) -> crate::calendar::Invitees {
        use crate::calendar::{Attendee, Invitees, participant_roles};
        let i = crate::sop::Artifact::ALL.iter().position(|a| *a == artifact).expect("listed");
        let mut ids: Vec<(String, bool)> = Vec::new();
        let mut add = |id: &str, chair: bool| {
            if !ids.iter().any(|(x, _)| x == id) {
                ids.push((id.to_string(), chair));
            }
        };
        let owners = artifact.owner_roles().iter().chain(artifact.signer_roles());
        owners.flat_map(|r| self.holders(r)).for_each(|p| add(p, true));
        participant_roles(artifact).iter().flat_map(|r| self.holders(r)).for_each(|p| add(p, false));
        for a in &self.calendar.slots[i].attendees {
            if self.people.contains_key(a) {
                add(a, false);
            } else {
                self.holders(a).iter().for_each(|p| add(p, false));
            }
        }
        let attendees: Vec<Attendee> = ids
            .iter()
            .map(|(id, chair)| {
                let p = self.people.get(id);
                Attendee {
                    name: p.map_or(id.clone(), |p| p.name.clone()),
                    email: p.and_then(|p| p.email.clone()),
                    chair: *chair,
                }
            })
            .collect();
        let organizer = attendees.iter().filter(|a| a.chair).find_map(|a| Some((a.name.clone(), a.email.clone()?)));
        Invitees { owner: self.directory().signers(artifact), organizer, attendees }
    }
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
