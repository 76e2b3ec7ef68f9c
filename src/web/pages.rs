//! The pages: the cycle board, a draft's page (the rendered artifact, its tables paged and
//! filtered, versions, edits with their diff against the model's draft, comments, approvals,
//! signatures and the audit trail), and the actions on a draft, each through `Store::act`.
//! Also what every page shares: its frame, what it says about the last action, and the answers
//! to a cycle that is not one and to a refused action. A cycle's executive decisions are in
//! [`super::decisions`], its commitment log in [`super::commitments`].

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::{Posted, Viewer};
use super::{App, CSS_PATH, HTMX_PATH, Shared, internal, message, render};
use crate::analysis::locale::Locale;
use crate::artifacts::review;
use crate::artifacts::tables::{self, FrameTable};
use crate::draft::{Action, DraftDetail, DraftRow, Request, Situation, narrative_text, parse_narrative, verdict};
use crate::sop::{Artifact, role_title};
use crate::store::SignoffError;
use crate::store::audit::AuditEntry;

/// What every page's frame needs.
#[derive(Serialize)]
pub(super) struct Frame<'a> {
    title: String,
    company: &'a str,
    viewer: &'a Viewer,
    htmx: &'static str,
    css: &'static str,
}

/// The frame of a page titled `title`, for `viewer`.
pub(super) fn frame<'a>(app: &'a App, viewer: &'a Viewer, title: String) -> Frame<'a> {
    Frame { title, company: &app.company, viewer, htmx: HTMX_PATH, css: CSS_PATH }
}

/// The rules' view of a draft version (as `Store::act` builds it inside its transaction).
fn situation<'a>(d: &'a DraftDetail, versions: &[DraftRow]) -> Option<Situation<'a>> {
    Some(Situation {
        artifact: Artifact::from_key(&d.row.artifact)?,
        cycle: &d.row.cycle,
        version: d.row.version,
        state: d.row.state,
        newer_version: versions.iter().map(|v| v.version).filter(|v| *v > d.row.version).max(),
        signed_roles: d
            .signatures
            .iter()
            .filter(|s| s.content_sha256 == d.row.content_sha256)
            .map(|s| s.role.clone())
            .collect(),
    })
}

/// What the rules let this person do to a draft now.
fn allowed(app: &App, person: &str, s: &Situation<'_>) -> Vec<&'static str> {
    [Action::Edit, Action::Approve, Action::Reject, Action::Sign]
        .into_iter()
        .filter(|a| verdict(&app.dir, person, *a, s).is_ok())
        .map(Action::verb)
        .collect()
}

/// The answer to a cycle that is not a cycle month.
pub(super) fn no_cycle(cycle: &str) -> Response {
    message(StatusCode::NOT_FOUND, "No such cycle", &format!("`{cycle}` is not a cycle month `YYYY-MM`"))
}

/// A refusal of the service layer (its message says why and who may: 403), or input that does
/// not stand (its message says what to change: 422), else a fault of ours (`None`).
pub(super) fn refusal(e: &anyhow::Error) -> Option<(StatusCode, String)> {
    if let Some(u) = e.downcast_ref::<crate::UserError>() {
        return Some((StatusCode::FORBIDDEN, u.0.clone()));
    }
    match e.downcast_ref::<SignoffError>() {
        Some(SignoffError::Refused(why)) => Some((StatusCode::FORBIDDEN, why.clone())),
        Some(SignoffError::Invalid(why)) => Some((StatusCode::UNPROCESSABLE_ENTITY, why.clone())),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The cycle board

#[derive(Deserialize)]
pub struct BoardQuery {
    cycle: Option<String>,
}

#[derive(Serialize)]
struct BoardLine {
    title: String,
    meeting: &'static str,
    days: String,
    draft_id: Option<i64>,
    version: Option<i64>,
    state: String,
    signed: String,
    waiting: Vec<&'static str>,
    signers: String,
}

#[derive(Serialize)]
struct Board<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    cycles: Vec<String>,
    cycle: Option<String>,
    lines: Vec<BoardLine>,
    waiting: Vec<String>,
}

pub async fn board(State(app): State<Shared>, viewer: Viewer, Query(q): Query<BoardQuery>) -> Response {
    match board_page(&app, &viewer, q).await {
        Ok(r) => r,
        Err(e) => internal(&e),
    }
}

async fn board_page(app: &App, viewer: &Viewer, q: BoardQuery) -> anyhow::Result<Response> {
    let all = app.store.drafts(None, None).await?;
    let mut cycles: Vec<String> = all.iter().map(|d| d.cycle.clone()).collect();
    cycles.dedup();
    let cycle = q.cycle.filter(|c| cycles.contains(c)).or_else(|| cycles.first().cloned());
    let mut lines = Vec::new();
    let mut waiting = Vec::new();
    if let Some(cycle) = &cycle {
        for (line, a) in app.store.status(cycle).await?.into_iter().zip(Artifact::ALL) {
            let days = match (&app.options.calendar, crate::contract::Month::parse(cycle)) {
                (Some(calendar), Some(month)) => {
                    let m = calendar.cycle(month).meeting(a).clone();
                    if m.first == m.last { m.first.to_string() } else { format!("{} to {}", m.first, m.last) }
                }
                _ => String::new(),
            };
            let mut todo = Vec::new();
            if let Some(id) = line.draft_id
                && let Some(d) = app.store.draft(id).await?
            {
                let versions = app.store.drafts(Some(cycle), Some(a)).await?;
                if let Some(s) = situation(&d, &versions) {
                    todo = [Action::Approve, Action::Sign]
                        .into_iter()
                        .filter(|act| verdict(&app.dir, &viewer.person, *act, &s).is_ok())
                        .map(Action::verb)
                        .collect();
                }
                for verb in &todo {
                    waiting.push(format!("{verb} the {} (draft {id}, version {})", a.title(), d.row.version));
                }
            }
            let signed = if line.signatures.is_empty() {
                "not signed".to_string()
            } else {
                let on = match (line.signed_version, line.version) {
                    (Some(sv), Some(v)) if sv != v => format!("version {sv} "),
                    _ => String::new(),
                };
                on + &line
                    .signatures
                    .iter()
                    .map(|s| format!("signed by {} ({}) at {}", app.dir.name(&s.actor), role_title(&s.role), s.at))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            lines.push(BoardLine {
                title: a.title().to_string(),
                meeting: a.meeting(),
                days,
                draft_id: line.draft_id,
                version: line.version,
                state: line.state.map_or_else(|| "missing".to_string(), |s| s.to_string()),
                signed,
                waiting: todo,
                signers: app.dir.signers(a),
            });
        }
    }
    let page = Board {
        frame: frame(app, viewer, cycle.as_ref().map_or("Cycle board".into(), |c| format!("Cycle {c}"))),
        cycles,
        cycle,
        lines,
        waiting,
    };
    Ok(render(StatusCode::OK, "board.html", &page))
}

// ---------------------------------------------------------------------------------------------
// A draft's page

#[derive(Deserialize, Default, Clone)]
pub struct TableQuery {
    table: Option<String>,
    page: Option<usize>,
    family: Option<String>,
    customer: Option<String>,
    site: Option<String>,
}

impl TableQuery {
    /// The filters asked for (column, text), the empty ones left out.
    fn filters(&self) -> Vec<(&'static str, String)> {
        [("family", &self.family), ("customer", &self.customer), ("site", &self.site)]
            .into_iter()
            .filter_map(|(c, v)| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(|v| (c, v.to_string())))
            .collect()
    }
}

#[derive(Serialize)]
struct TablePage {
    names: Vec<String>,
    name: String,
    columns: Vec<String>,
    rows: Vec<Vec<review::TableCell>>,
    /// "rows 1-50 of 1,234 (filtered from 50,000)".
    showing: String,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
    family: String,
    customer: String,
    site: String,
    /// Filters this table has no column for.
    ignored: Vec<&'static str>,
}

/// One page of one of the draft's tables, filtered (polars over the table's frame: a million rows
/// filter in tens of milliseconds, off the async threads); its numbers written in `locale`.
fn table_page(
    id: i64,
    tables: &[FrameTable],
    q: &TableQuery,
    per: usize,
    locale: Locale,
) -> anyhow::Result<Option<TablePage>> {
    let names: Vec<String> = tables.iter().map(FrameTable::title).collect();
    let Some(table) = q
        .table
        .as_ref()
        .and_then(|n| tables.iter().find(|t| &t.title() == n))
        .or_else(|| tables.iter().max_by_key(|t| t.frame.height()))
    else {
        return Ok(None);
    };
    let (wanted, ignored): (Vec<_>, Vec<_>) = q.filters().into_iter().partition(|(c, _)| table.frame.column(c).is_ok());
    let ignored: Vec<&'static str> = ignored.into_iter().map(|(c, _)| c).collect();
    let kept = tables::filtered(table, &wanted)?;
    let frame = kept.as_ref().unwrap_or(&table.frame);
    let (total, count) = (table.frame.height(), frame.height());
    let per = per.max(1);
    let pages = count.div_ceil(per).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let start = (page - 1) * per;
    let mut shown = tables::cells(frame, start, per);
    for c in shown.iter_mut().flatten().filter(|c| c.num) {
        c.text = locale.localize(&c.text);
    }
    let end = start + shown.len();
    let filtered =
        if count == total { String::new() } else { format!(" (filtered from {})", locale.number(total as f64)) };
    let showing = if count == 0 {
        format!("no rows{filtered}")
    } else {
        format!(
            "rows {}-{} of {}{filtered}",
            locale.number((start + 1) as f64),
            locale.number(end as f64),
            locale.number(count as f64)
        )
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let title = table.title();
    let link = |p: usize| {
        let query = serde_urlencoded::to_string([
            ("table", title.as_str()),
            ("page", &p.to_string()),
            ("family", &text(&q.family)),
            ("customer", &text(&q.customer)),
            ("site", &text(&q.site)),
        ])
        .unwrap_or_default();
        format!("/drafts/{id}?{query}")
    };
    Ok(Some(TablePage {
        names,
        name: title.clone(),
        columns: table.columns(),
        rows: shown,
        showing,
        page,
        pages,
        prev: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
        family: text(&q.family),
        customer: text(&q.customer),
        site: text(&q.site),
        ignored,
    }))
}

#[derive(Serialize)]
struct VersionLine {
    id: i64,
    version: i64,
    state: String,
    created: String,
    current: bool,
}

#[derive(Serialize)]
struct HistoryLine {
    who: String,
    at: String,
    text: String,
}

/// What the page says about the last action.
#[derive(Serialize, Default)]
pub struct Outcome {
    /// What was done.
    pub(super) done: Option<String>,
    /// Why nothing was done (a refusal names who may).
    pub(super) refused: Option<String>,
    /// After a refused save: what is stored now against what was sent.
    pub(super) conflict_diff: Option<String>,
    /// The narrative to put back in the editor (the person's own text after a refused save).
    pub(super) narrative: Option<String>,
}

#[derive(Serialize)]
struct DraftPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    id: i64,
    artifact: String,
    cycle: String,
    meeting: &'static str,
    version: i64,
    state: String,
    row_version: i64,
    content_sha256: String,
    signed_line: Option<String>,
    signers: String,
    you_may: Vec<&'static str>,
    narrative_source: String,
    /// Why the narrative is the fallback, in a planner's words.
    fallback_reason: Option<String>,
    narrative: String,
    has_workbook: bool,
    has_pdf: bool,
    versions: Vec<VersionLine>,
    edits: Vec<HistoryLine>,
    comments: Vec<HistoryLine>,
    decisions: Vec<HistoryLine>,
    audit: Vec<AuditEntry>,
    tables: Option<TablePage>,
    outcome: Outcome,
}

pub async fn draft(
    State(app): State<Shared>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<TableQuery>,
) -> Response {
    draft_response(&app, &viewer, id, &q, StatusCode::OK, Outcome::default()).await
}

async fn draft_response(
    app: &App,
    viewer: &Viewer,
    id: i64,
    q: &TableQuery,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    match draft_page(app, viewer, id, q, outcome).await {
        Ok(Some(page)) => {
            let mut r = render(status, "draft.html", &page);
            // After a form post, the address bar shows the draft, not the action.
            if let Ok(v) = format!("/drafts/{id}").parse() {
                r.headers_mut().insert("hx-replace-url", v);
            }
            r
        }
        Ok(None) => no_draft(id),
        Err(e) => internal(&e),
    }
}

fn no_draft(id: i64) -> Response {
    message(StatusCode::NOT_FOUND, "No such draft", &format!("there is no draft {id}: the cycle board lists them"))
}

async fn draft_page<'a>(
    app: &'a App,
    viewer: &'a Viewer,
    id: i64,
    q: &TableQuery,
    outcome: Outcome,
) -> anyhow::Result<Option<DraftPage<'a>>> {
    let Some(d) = app.store.draft(id).await? else { return Ok(None) };
    let Some(artifact) = Artifact::from_key(&d.row.artifact) else { return Ok(None) };
    let versions = app.store.drafts(Some(&d.row.cycle), Some(artifact)).await?;
    let you_may = situation(&d, &versions).map(|s| allowed(app, &viewer.person, &s)).unwrap_or_default();
    let audit = app.store.audit_of_draft(id).await?;
    let name = |p: &str| app.dir.name(p);
    let mut decisions: Vec<HistoryLine> = d
        .approvals
        .iter()
        .map(|a| HistoryLine {
            who: format!("{} ({})", name(&a.actor), role_title(&a.role)),
            at: a.at.clone(),
            text: match &a.reason {
                Some(r) => format!("{}: {r}", a.decision),
                None => a.decision.clone(),
            },
        })
        .collect();
    decisions.extend(d.signatures.iter().map(|s| HistoryLine {
        who: format!("{} ({})", name(&s.actor), role_title(&s.role)),
        at: s.at.clone(),
        text: format!("signed content {}", s.content_sha256),
    }));
    decisions.sort_by(|a, b| a.at.cmp(&b.at));
    let title = format!("{} {} v{}", capitalised(artifact.title()), d.row.cycle, d.row.version);
    Ok(Some(DraftPage {
        frame: frame(app, viewer, title),
        id,
        artifact: artifact.title().to_string(),
        cycle: d.row.cycle.clone(),
        meeting: artifact.meeting(),
        version: d.row.version,
        state: d.row.state.to_string(),
        row_version: d.row.row_version,
        content_sha256: d.row.content_sha256.clone(),
        signed_line: review::Standing::of(&d, &app.dir).signed_line,
        signers: app.dir.signers(artifact),
        you_may,
        narrative_source: d.content.narrative_source.clone(),
        fallback_reason: d.content.fallback_reason.clone(),
        narrative: outcome.narrative.clone().unwrap_or_else(|| narrative_text(&d.content.narrative)),
        has_workbook: run_file_name(&d, ".xlsx").is_some(),
        has_pdf: run_file_name(&d, ".pdf").is_some(),
        versions: versions
            .iter()
            .map(|v| VersionLine {
                id: v.id,
                version: v.version,
                state: v.state.to_string(),
                created: format!("{} by {}", v.created_at, name(&v.created_by)),
                current: v.id == id,
            })
            .collect(),
        edits: d
            .edits
            .iter()
            .map(|e| HistoryLine { who: name(&e.actor), at: e.at.clone(), text: e.diff_vs_model.clone() })
            .collect(),
        comments: d
            .comments
            .iter()
            .map(|c| HistoryLine { who: name(&c.actor), at: c.at.clone(), text: c.body.clone() })
            .collect(),
        decisions,
        audit,
        tables: {
            let (tables, per) = (fact_tables(app, &d).await?, app.options.page_rows);
            let locale = d.content.locale.as_deref().and_then(Locale::parse).unwrap_or_default();
            if !q.filters().is_empty() {
                // A filter reads the whole column: off the async threads.
                let q = q.clone();
                tokio::task::spawn_blocking(move || table_page(id, &tables, &q, per, locale)).await??
            } else {
                table_page(id, &tables, q, per, locale)?
            }
        },
        outcome,
    }))
}

/// The tables of the draft's facts: the run's `tables/*.parquet` when the draft names them and
/// each still has the hash the draft holds; else the run's full `facts.json` (checked the same
/// way, and parsed: slow at 50,000 series); else the draft's compact facts. Read once for the
/// last few drafts viewed, however many ask at once: a draft's facts never change (their hash
/// is the key).
async fn fact_tables(app: &App, d: &DraftDetail) -> anyhow::Result<Arc<Vec<FrameTable>>> {
    const FULL: &str = "facts.json";
    let key = d.content.files.get(FULL).cloned().unwrap_or_else(|| d.row.content_sha256.clone());
    app.tables
        .get(key, || async {
            let run = app.store.run(d.row.run_id).await?;
            // The run's file `name`, when it has the hash the draft holds for it.
            let checked = |name: &str| -> anyhow::Result<Option<Vec<u8>>> {
                let (Some(run), Some(sha)) = (&run, d.content.files.get(name)) else { return Ok(None) };
                Ok(app.store.run_file(run, name)?.filter(|b| crate::draft::sha256_hex(b) == *sha))
            };
            let names: Vec<&String> =
                d.content.files.keys().filter(|n| n.starts_with(tables::FOLDER) && n.ends_with(".parquet")).collect();
            let mut files = Vec::new();
            for name in &names {
                match checked(name)? {
                    Some(bytes) => files.push((name.to_string(), bytes)),
                    None => break,
                }
            }
            if !names.is_empty() && files.len() == names.len() {
                let read =
                    move || files.into_iter().map(|(n, b)| tables::read(&n, b)).collect::<anyhow::Result<Vec<_>>>();
                return tokio::task::spawn_blocking(read).await?;
            }
            let facts = match checked(FULL)? {
                Some(bytes) => {
                    tokio::task::spawn_blocking(move || serde_json::from_slice::<serde_json::Value>(&bytes)).await??
                }
                None => d.content.facts.clone(),
            };
            tokio::task::spawn_blocking(move || tables::of_facts(&facts)).await?
        })
        .await
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// The artifact as review.rs renders it, framed by the draft's page. Its styles are inline, so
/// it gets its own policy: no script at all, no other origin, framed only by our own pages.
pub async fn rendered(State(app): State<Shared>, _viewer: Viewer, Path(id): Path<i64>) -> Response {
    let d = match app.store.draft(id).await {
        Ok(Some(d)) => d,
        Ok(None) => return no_draft(id),
        Err(e) => return internal(&e.into()),
    };
    match review::html(&d.content, &review::Standing::of(&d, &app.dir)) {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox",
                ),
            ],
            html,
        )
            .into_response(),
        Err(e) => internal(&e),
    }
}

/// The draft as Markdown, to download.
pub async fn markdown(State(app): State<Shared>, _viewer: Viewer, Path(id): Path<i64>) -> Response {
    let d = match app.store.draft(id).await {
        Ok(Some(d)) => d,
        Ok(None) => return no_draft(id),
        Err(e) => return internal(&e.into()),
    };
    match review::markdown(&d.content, &review::Standing::of(&d, &app.dir)) {
        Ok(md) => download(
            "text/markdown; charset=utf-8",
            &format!("{}-{}-v{}.md", d.row.artifact, d.row.cycle, d.row.version),
            md.into_bytes(),
        ),
        Err(e) => internal(&e),
    }
}

/// The run's file ending in `ext` that the draft holds a hash for (its workbook, its PDF).
fn run_file_name(d: &DraftDetail, ext: &str) -> Option<String> {
    d.content.files.keys().find(|f| f.ends_with(ext) && !f.contains('/')).cloned()
}

/// The run's workbook, checked against the hash the draft holds for it.
pub async fn workbook(State(app): State<Shared>, _viewer: Viewer, Path(id): Path<i64>) -> Response {
    run_download(&app, id, ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "workbook")
        .await
}

/// The run's PDF (the reconciliation pack's slides), checked against the hash the draft holds.
pub async fn pdf(State(app): State<Shared>, _viewer: Viewer, Path(id): Path<i64>) -> Response {
    run_download(&app, id, ".pdf", "application/pdf", "PDF").await
}

async fn run_download(app: &App, id: i64, ext: &str, content_type: &'static str, what: &str) -> Response {
    let d = match app.store.draft(id).await {
        Ok(Some(d)) => d,
        Ok(None) => return no_draft(id),
        Err(e) => return internal(&e.into()),
    };
    let Some(name) = run_file_name(&d, ext) else {
        return message(StatusCode::NOT_FOUND, &format!("No {what}"), &format!("draft {id} has no {what}"));
    };
    let bytes = match app.store.run(d.row.run_id).await {
        Ok(Some(run)) => match app.store.run_file(&run, &name) {
            Ok(b) => b,
            Err(e) => return internal(&e.into()),
        },
        Ok(None) => None,
        Err(e) => return internal(&e.into()),
    };
    match bytes {
        Some(b) if d.content.files.get(&name).is_some_and(|sha| *sha == crate::draft::sha256_hex(&b)) => {
            download(content_type, &name, b)
        }
        Some(_) => message(
            StatusCode::CONFLICT,
            &format!("{} changed", capitalised(what)),
            &format!(
                "the {what} `{name}` of draft {id} was changed after it was drafted: `snop audit verify` says more"
            ),
        ),
        None => message(
            StatusCode::NOT_FOUND,
            &format!("{} missing", capitalised(what)),
            &format!("the {what} `{name}` of draft {id} is missing"),
        ),
    }
}

fn download(content_type: &'static str, name: &str, bytes: Vec<u8>) -> Response {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}\"")),
        ],
        bytes,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Actions: each one call of `Store::act`, the CLI's service layer.

#[derive(Deserialize)]
pub struct Versioned {
    row_version: i64,
}

#[derive(Deserialize)]
pub struct EditForm {
    row_version: i64,
    narrative: String,
}

#[derive(Deserialize)]
pub struct CommentForm {
    body: String,
}

#[derive(Deserialize)]
pub struct RejectForm {
    row_version: i64,
    reason: String,
}

async fn act(app: &App, viewer: &Viewer, id: i64, request: Request, row_version: Option<i64>) -> Response {
    let sent = match &request {
        Request::Edit { narrative } => Some(narrative_text(narrative)),
        _ => None,
    };
    let q = TableQuery::default();
    match app.store.act(&app.dir, id, &viewer.person, request, row_version).await {
        Ok(acted) => {
            let outcome = Outcome { done: Some(acted.message), ..Outcome::default() };
            if acted.draft.id != id {
                // Editing a signed version made a new one: show that.
                return draft_response(app, viewer, acted.draft.id, &q, StatusCode::OK, outcome).await;
            }
            draft_response(app, viewer, id, &q, StatusCode::OK, outcome).await
        }
        Err(e @ (SignoffError::Refused(_) | SignoffError::Invalid(_))) => {
            let status = if matches!(e, SignoffError::Invalid(_)) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::FORBIDDEN
            };
            let outcome = Outcome { refused: Some(e.to_string()), narrative: sent, ..Outcome::default() };
            draft_response(app, viewer, id, &q, status, outcome).await
        }
        Err(SignoffError::Stale(_)) => {
            let outcome = match app.store.draft(id).await {
                Ok(Some(now)) => {
                    let stored = narrative_text(&now.content.narrative);
                    let who = app.dir.name(&now.row.updated_by);
                    let next = if sent.is_some() {
                        "Below: what is stored now against what you sent; your text is kept in the editor, and saving again replaces theirs."
                    } else {
                        "This is the draft as it is now: look at it, then act again."
                    };
                    Outcome {
                        refused: Some(format!(
                            "{who} changed this draft at {} after you opened it (you had row version {}, it is now {}): nothing of yours was saved and nothing of theirs was overwritten. {next}",
                            now.row.updated_at,
                            row_version.unwrap_or_default(),
                            now.row.row_version
                        )),
                        conflict_diff: sent.as_ref().map(|mine| {
                            similar::TextDiff::from_lines(&stored, mine)
                                .unified_diff()
                                .context_radius(2)
                                .header(&format!("stored now (by {who})"), "yours")
                                .to_string()
                        }),
                        narrative: sent,
                        ..Outcome::default()
                    }
                }
                Ok(None) => return no_draft(id),
                Err(e) => return internal(&e.into()),
            };
            draft_response(app, viewer, id, &q, StatusCode::CONFLICT, outcome).await
        }
        Err(SignoffError::Store(e)) => internal(&e.into()),
    }
}

pub async fn edit(State(app): State<Shared>, Path(id): Path<i64>, posted: Posted<EditForm>) -> Response {
    let Posted { viewer, form } = posted;
    match parse_narrative(&form.narrative) {
        Ok(narrative) => act(&app, &viewer, id, Request::Edit { narrative }, Some(form.row_version)).await,
        Err(why) => {
            let outcome = Outcome {
                refused: Some(format!("the narrative was not saved: {why}")),
                narrative: Some(form.narrative),
                ..Outcome::default()
            };
            draft_response(&app, &viewer, id, &TableQuery::default(), StatusCode::UNPROCESSABLE_ENTITY, outcome).await
        }
    }
}

pub async fn comment(State(app): State<Shared>, Path(id): Path<i64>, posted: Posted<CommentForm>) -> Response {
    act(&app, &posted.viewer, id, Request::Comment { body: posted.form.body }, None).await
}

pub async fn approve(State(app): State<Shared>, Path(id): Path<i64>, posted: Posted<Versioned>) -> Response {
    act(&app, &posted.viewer, id, Request::Approve, Some(posted.form.row_version)).await
}

pub async fn reject(State(app): State<Shared>, Path(id): Path<i64>, posted: Posted<RejectForm>) -> Response {
    if posted.form.reason.trim().is_empty() {
        let outcome = Outcome { refused: Some("a rejection needs a reason".into()), ..Outcome::default() };
        return draft_response(
            &app,
            &posted.viewer,
            id,
            &TableQuery::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
            outcome,
        )
        .await;
    }
    act(&app, &posted.viewer, id, Request::Reject { reason: posted.form.reason }, Some(posted.form.row_version)).await
}

#[derive(Deserialize)]
pub struct SignForm {
    row_version: i64,
    /// Signing asks for the password again: a signature is the person's, not their session's.
    password: String,
}

/// Signs, if the password given is the person's: judged as a login is (the per-address limit
/// and the per-account lock, answered 429 with the wait).
pub async fn sign(
    State(app): State<Shared>,
    Path(id): Path<i64>,
    address: super::auth::ClientAddress,
    posted: Posted<SignForm>,
) -> Response {
    use super::auth::PasswordCheck;
    let Posted { viewer, form } = posted;
    let (status, refusal, wait) = match super::auth::check_password(&app, &address.0, &viewer.person, form.password)
        .await
    {
        Ok(PasswordCheck::Matches) => return act(&app, &viewer, id, Request::Sign, Some(form.row_version)).await,
        Ok(PasswordCheck::Wrong) => (
            StatusCode::FORBIDDEN,
            "signing needs your password, and the one given does not match: nothing was signed".to_string(),
            None,
        ),
        Ok(PasswordCheck::Limited) => (
            StatusCode::TOO_MANY_REQUESTS,
            "too many password attempts from your address: nothing was signed; wait a minute and try again".into(),
            Some(60),
        ),
        Ok(PasswordCheck::Locked(until)) => {
            let secs = (until - chrono::Utc::now()).num_seconds().max(1);
            let refusal = format!(
                "your account is locked after {} wrong passwords in a row, until {} UTC (about {} minute(s) from now), and your sessions have ended: nothing was signed; log in again after that, or ask an administrator to unlock it with `snop users reset-password`",
                app.options.lock_after,
                until.format("%Y-%m-%d %H:%M"),
                (secs + 59) / 60
            );
            (StatusCode::TOO_MANY_REQUESTS, refusal, Some(secs))
        }
        Err(e) => return internal(&e),
    };
    let outcome = Outcome { refused: Some(refusal), ..Outcome::default() };
    let mut r = draft_response(&app, &viewer, id, &TableQuery::default(), status, outcome).await;
    if let Some(secs) = wait
        && let Ok(v) = secs.to_string().parse()
    {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;

    use super::*;

    /// A draft's table page writes its numbers in the draft's locale: 1,234.5 units in en-US are
    /// `1.234,5` in de-DE, 20,576 rows `20.576`; text cells (a SKU) are left as they are.
    #[test]
    fn a_table_page_writes_numbers_in_the_locale() {
        let n = 1_100;
        let frame = df!(
            "sku" => (0..n).map(|i| format!("A-{i}")).collect::<Vec<_>>(),
            "units" => (0..n).map(|i| 1_234.5 + i as f64).collect::<Vec<_>>()
        )
        .unwrap();
        let tables = [FrameTable { key: "constrained_plan".into(), frame }];
        let q = TableQuery { page: Some(21), ..Default::default() };
        for (locale, first, showing) in [
            (Locale::EnUs, "2,234.5", "rows 1,001-1,050 of 1,100"),
            (Locale::DeDe, "2.234,5", "rows 1.001-1.050 of 1.100"),
        ] {
            let page = table_page(7, &tables, &q, 50, locale).unwrap().unwrap();
            // Row 1,001 (index 1,000): 1,234.5 + 1,000.
            assert_eq!((page.rows[0][0].text.as_str(), page.rows[0][1].text.as_str()), ("A-1000", first));
            assert!(page.rows[0][1].num);
            assert_eq!(page.showing, showing, "{locale:?}");
        }
    }
}
