//! The draft document: what a draft version holds ([`DraftContent`], with its one-page
//! [`Agenda`]), its states and history rows as read from the store, the narrative as the text a
//! person edits, and the sign-off rules ([`verdict`]): which action is legal in which state for
//! which role. Pure: the store applies a legal action (`store::signoff`), renderers read the
//! document (`artifacts`), and the CLI and the web pages ask the rules what a person may do.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};

use crate::narrative::Narrative;
use crate::sop::{Artifact, Directory};

/// A draft version's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Draft,
    Approved,
    Rejected,
    Signed,
    Superseded,
}

impl State {
    pub const ALL: [State; 5] = [State::Draft, State::Approved, State::Rejected, State::Signed, State::Superseded];

    pub fn key(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Signed => "signed",
            State::Superseded => "superseded",
        }
    }

    pub(crate) fn from_key(key: &str) -> State {
        State::ALL.into_iter().find(|s| s.key() == key).unwrap_or(State::Draft)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.key())
    }
}

/// What a person can do to a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Edit,
    Comment,
    Approve,
    Reject,
    Sign,
}

impl Action {
    pub const ALL: [Action; 5] = [Action::Edit, Action::Comment, Action::Approve, Action::Reject, Action::Sign];

    pub fn verb(self) -> &'static str {
        match self {
            Action::Edit => "edit",
            Action::Comment => "comment on",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Sign => "sign",
        }
    }
}

/// What a legal action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The draft row moves to this state (an edit in place returns it to `draft`).
    Becomes(State),
    /// A signed draft is edited: a new version is made, to be approved and signed again.
    NewVersion,
    /// A comment is appended; the draft does not change.
    Commented,
    /// A signature under `role`; `completes` when it is the last one needed.
    Signed { role: String, completes: bool },
}

/// A legal action: what it does and under which role the actor acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub effect: Effect,
    pub role: Option<String>,
}

/// What the rules need to know about a draft.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    pub artifact: Artifact,
    pub cycle: &'a str,
    pub version: i64,
    pub state: State,
    /// The newest version of the same artifact and cycle, when it is not this one.
    pub newer_version: Option<i64>,
    /// Roles that have signed this version's current content (reconciliation pack: one of two).
    pub signed_roles: Vec<String>,
}

/// The rules: whether `actor` may do `action` to a draft, and what it does. A refusal says why
/// and who may. Role checks come before state checks, so a person without the role is told who
/// may, whatever the state.
pub fn verdict(dir: &Directory, actor: &str, action: Action, s: &Situation<'_>) -> Result<Verdict, String> {
    let a = s.artifact;
    let what = format!("the {} of {} (version {})", a.title(), s.cycle, s.version);
    if !dir.names.contains_key(actor) {
        return Err(format!("`{actor}` is not a person in `snop.toml`: pass `--as` with a person id from `[people]`"));
    }
    let held = dir.roles_of(actor);
    let roles_for = |wanted: &[&str]| -> Option<String> {
        wanted.iter().find(|r| held.contains(r) && !s.signed_roles.iter().any(|x| x == *r)).map(|r| r.to_string())
    };
    let refuse_role = |wanted: &[&str], verb: &str| {
        let joiner = if a.needs_every_signer() && verb == "sign" { " and " } else { " or " };
        let who = dir.describe(wanted, joiner);
        let both = if a.needs_every_signer() && verb == "sign" { ", both of them," } else { "" };
        Err(format!("only {who}{both} may {verb} the {}; {} is not allowed to", a.title(), dir.name(actor)))
    };
    let role = match action {
        Action::Comment => None,
        Action::Edit | Action::Approve | Action::Reject => {
            let owners = a.owner_roles();
            if !owners.iter().any(|r| held.contains(r)) {
                return refuse_role(owners, action.verb());
            }
            owners.iter().find(|r| held.contains(r)).map(|r| r.to_string())
        }
        Action::Sign => {
            let signers = a.signer_roles();
            if !signers.iter().any(|r| held.contains(r)) {
                return refuse_role(signers, "sign");
            }
            None
        }
    };
    let superseded = || match s.newer_version {
        Some(n) => format!("{what} is superseded by version {n}: work on version {n}"),
        None => format!("{what} is superseded"),
    };
    let effect = match (s.state, action) {
        (State::Superseded, Action::Comment) | (_, Action::Comment) => Effect::Commented,
        (State::Superseded, _) => return Err(superseded()),
        (State::Draft | State::Approved | State::Rejected, Action::Edit) => Effect::Becomes(State::Draft),
        (State::Signed, Action::Edit) => match s.newer_version {
            Some(n) => return Err(format!("{what} already has a newer version {n}: edit version {n}")),
            None => Effect::NewVersion,
        },
        (State::Draft, Action::Approve) => Effect::Becomes(State::Approved),
        (State::Approved, Action::Approve) => return Err(format!("{what} is already approved")),
        (State::Rejected, Action::Approve) => {
            return Err(format!("{what} was rejected: edit it first, then approve the edited draft"));
        }
        (State::Signed, Action::Approve | Action::Reject) => {
            return Err(format!("{what} is signed and never changes: edit it to start a new version"));
        }
        (State::Draft | State::Approved, Action::Reject) => Effect::Becomes(State::Rejected),
        (State::Rejected, Action::Reject) => return Err(format!("{what} is already rejected")),
        (State::Draft | State::Rejected, Action::Sign) => {
            return Err(format!("{what} is {}, not approved: only an approved draft can be signed", s.state));
        }
        (State::Signed, Action::Sign) => return Err(format!("{what} is already signed")),
        (State::Approved, Action::Sign) => {
            let Some(role) = roles_for(a.signer_roles()) else {
                return Err(format!("{what} is already signed by {} as {}", dir.name(actor), held.join(", ")));
            };
            let completes = !a.needs_every_signer()
                || a.signer_roles().iter().all(|r| *r == role || s.signed_roles.iter().any(|x| x == r));
            return Ok(Verdict { effect: Effect::Signed { role: role.clone(), completes }, role: Some(role) });
        }
    };
    Ok(Verdict { effect, role })
}

// ---------------------------------------------------------------------------------------------
// Content

/// The document a draft version holds, reviewed and signed as stored (its hash is over these
/// exact bytes). Renderers read it; the pipeline makes it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DraftContent {
    pub artifact: String,
    pub cycle: String,
    pub company: String,
    pub currency: String,
    /// The narrative people read and sign (the model's, as edited).
    pub narrative: Narrative,
    /// The model's narrative as drafted, kept so every edit shows its diff against it.
    pub model_narrative: Narrative,
    /// `model`, `model_after_retry` or `fallback`.
    pub narrative_source: String,
    /// Why the narrative is the fallback, in a planner's words ("the LLM server answered HTTP
    /// 429 four times; this summary was built from the facts"); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    pub model: String,
    /// The facts the narrative was drafted from (the compact narrative facts).
    pub facts: serde_json::Value,
    /// The run's files this draft stands for, with their sha256 (the workbook, the full facts).
    pub files: BTreeMap<String, String>,
    pub agenda: Agenda,
    /// `[company] locale` (`de-DE`) the pages write numbers in; absent for `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// The one-page agenda that goes with every artifact.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Agenda {
    pub meeting: String,
    /// The meeting's dates (cycle days), `YYYY-MM-DD`.
    pub first_day: String,
    pub last_day: String,
    /// Last cycle's signed version of this artifact and the decisions it committed to; `None`
    /// when there is no earlier cycle.
    pub last_cycle: Option<LastCycle>,
    /// This cycle's output, in a few lines.
    pub this_cycle: Vec<String>,
    /// The top 3 risks or open questions.
    pub top_risks: Vec<String>,
    /// What the next meeting up must decide, each with an owner and a date.
    pub decisions: Vec<AgendaDecision>,
    /// Last cycle's promises scored at the start of this one (commitments to customers kept,
    /// missed, re-negotiated; the executive decisions done, open, overdue; orders booked outside
    /// the signed plan); `None` when there is no last cycle to score.
    #[serde(default)]
    pub scorecard: Option<Scorecard>,
}

/// Last cycle's promises against this cycle's facts: the agenda's first line, with the items
/// that need the meeting's attention (missed commitments by owner, overdue decisions).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scorecard {
    /// The cycle whose promises are scored.
    pub cycle: String,
    /// The date decisions are judged at (`YYYY-MM-DD`): this meeting's first day.
    pub as_of: String,
    pub lines: Vec<String>,
    pub attention: Vec<AgendaDecision>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LastCycle {
    pub cycle: String,
    pub version: i64,
    pub signed_by: String,
    pub signed_at: String,
    pub commitments: Vec<AgendaDecision>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgendaDecision {
    pub decision: String,
    pub owner: String,
    pub due: String,
}

/// sha256 of bytes, as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A narrative as the text a person edits: `# headline`, paragraphs, `## Risks` and `- ` lines.
pub fn narrative_text(n: &Narrative) -> String {
    let mut out = format!("# {}\n", n.headline.trim());
    for p in &n.paragraphs {
        out.push('\n');
        out.push_str(p.trim());
        out.push('\n');
    }
    out.push_str("\n## Risks\n");
    for r in &n.risks {
        out.push_str("- ");
        out.push_str(r.trim());
        out.push('\n');
    }
    out
}

/// Reads the text of [`narrative_text`] back.
pub fn parse_narrative(text: &str) -> Result<Narrative, String> {
    let mut headline = None;
    let mut paragraphs = Vec::new();
    let mut risks = Vec::new();
    let mut in_risks = false;
    let mut para = String::new();
    let flush = |para: &mut String, paragraphs: &mut Vec<String>| {
        if !para.trim().is_empty() {
            paragraphs.push(para.trim().to_string());
        }
        para.clear();
    };
    for line in text.lines() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix("# ") {
            if headline.is_some() {
                return Err("the narrative has two `# ` headlines: keep one".into());
            }
            headline = Some(h.trim().to_string());
        } else if t.eq_ignore_ascii_case("## risks") {
            flush(&mut para, &mut paragraphs);
            in_risks = true;
        } else if in_risks {
            if let Some(r) = t.strip_prefix("- ") {
                risks.push(r.trim().to_string());
            } else if !t.is_empty() {
                match risks.last_mut() {
                    Some(last) => {
                        last.push(' ');
                        last.push_str(t);
                    }
                    None => return Err(format!("under `## Risks`, `{t}` is not a `- ` line")),
                }
            }
        } else if t.is_empty() {
            flush(&mut para, &mut paragraphs);
        } else {
            if !para.is_empty() {
                para.push(' ');
            }
            para.push_str(t);
        }
    }
    flush(&mut para, &mut paragraphs);
    let headline = headline.filter(|h| !h.is_empty()).ok_or("the narrative needs a `# ` headline line")?;
    Ok(Narrative { headline, paragraphs, risks })
}

/// The unified diff from the model's narrative to an edited one.
pub fn narrative_diff(model: &Narrative, edited: &Narrative) -> String {
    similar::TextDiff::from_lines(narrative_text(model), narrative_text(edited))
        .unified_diff()
        .context_radius(2)
        .header("model", "edited")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Rows

/// A draft version as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DraftRow {
    pub id: i64,
    pub artifact: String,
    pub cycle: String,
    pub version: i64,
    pub parent_version: Option<i64>,
    pub run_id: i64,
    pub state: State,
    pub row_version: i64,
    pub content_sha256: String,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EditRow {
    pub actor: String,
    pub at: String,
    pub diff_vs_model: String,
    pub before_sha256: String,
    pub after_sha256: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CommentRow {
    pub actor: String,
    pub at: String,
    pub body: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ApprovalRow {
    pub actor: String,
    pub role: String,
    pub decision: String,
    pub reason: Option<String>,
    pub at: String,
    pub content_sha256: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SignatureRow {
    pub actor: String,
    pub role: String,
    pub at: String,
    pub content_sha256: String,
    /// The signer's ed25519 signature over `store::keys::message_v2` (version 1: `message`), as
    /// hex, when they signed with their key.
    pub ed25519: Option<String>,
}

/// A draft version with its content and history.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DraftDetail {
    #[serde(flatten)]
    pub row: DraftRow,
    pub content: DraftContent,
    pub edits: Vec<EditRow>,
    pub comments: Vec<CommentRow>,
    pub approvals: Vec<ApprovalRow>,
    pub signatures: Vec<SignatureRow>,
}

/// A person's request on a draft.
#[derive(Debug, Clone)]
pub enum Request {
    Edit { narrative: Narrative },
    Comment { body: String },
    Approve,
    Reject { reason: String },
    Sign,
}

impl Request {
    pub fn action(&self) -> Action {
        match self {
            Request::Edit { .. } => Action::Edit,
            Request::Comment { .. } => Action::Comment,
            Request::Approve => Action::Approve,
            Request::Reject { .. } => Action::Reject,
            Request::Sign => Action::Sign,
        }
    }
}

/// One artifact's line in `snop status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusLine {
    pub artifact: String,
    pub meeting: String,
    pub exists: bool,
    pub draft_id: Option<i64>,
    pub version: Option<i64>,
    pub state: Option<State>,
    /// The version the signatures are on (the newest version, or the signed one it was made from).
    pub signed_version: Option<i64>,
    pub signatures: Vec<SignatureRow>,
}

/// The most characters a comment, a rejection's reason, or a decision's note, action or reason
/// may have: text on a page everybody opens, not a document.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// The refusal of a text longer than [`MAX_NOTE_CHARS`], naming what it is.
pub fn too_long(what: &str, text: &str) -> Option<String> {
    let n = text.chars().count();
    (n > MAX_NOTE_CHARS).then(|| {
        format!(
            "{what} is at most {MAX_NOTE_CHARS} characters, and this one has {n}: nothing was saved; shorten it, or put the long text in a document and say where it is"
        )
    })
}
