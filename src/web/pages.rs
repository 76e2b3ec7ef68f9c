//! The pages: the cycle board, a draft's page (the rendered artifact, its tables paged and
//! filtered, versions, edits with their diff against the model's draft, comments, approvals,
//! signatures and the audit trail), and the actions on a draft, each through `Store::act`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::{Posted, Viewer};
use super::{App, CSS_PATH, HTMX_PATH, Shared, internal, message, render};
use crate::analysis::executive::{DecisionRow, DoneRow};
use crate::analysis::reconcile::TradeOff;
use crate::artifacts::review;
use crate::artifacts::tables::{self, FrameTable};
use crate::draft::{Action, DraftDetail, DraftRow, Request, Situation, narrative_text, parse_narrative, verdict};
use crate::sop::{Artifact, role_title};
use crate::store::Store;
use crate::store::signoff::{AuditEntry, SignoffError};

/// What every page's frame needs.
#[derive(Serialize)]
struct Frame<'a> {
    title: String,
    company: &'a str,
    viewer: &'a Viewer,
    htmx: &'static str,
    css: &'static str,
}

fn frame<'a>(app: &'a App, viewer: &'a Viewer, title: String) -> Frame<'a> {
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
                signers: app.dir.describe(a.signer_roles(), if a.needs_every_signer() { " and " } else { " or " }),
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
/// filter in tens of milliseconds, off the async threads).
fn table_page(id: i64, tables: &[FrameTable], q: &TableQuery, per: usize) -> anyhow::Result<Option<TablePage>> {
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
    let shown = tables::cells(frame, start, per);
    let end = start + shown.len();
    let filtered = if count == total {
        String::new()
    } else {
        format!(" (filtered from {})", review::format_number(total as f64))
    };
    let showing = if count == 0 {
        format!("no rows{filtered}")
    } else {
        format!("rows {}-{} of {}{filtered}", start + 1, end, review::format_number(count as f64))
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
    done: Option<String>,
    /// Why nothing was done (a refusal names who may).
    refused: Option<String>,
    /// After a refused save: what is stored now against what was sent.
    conflict_diff: Option<String>,
    /// The narrative to put back in the editor (the person's own text after a refused save).
    narrative: Option<String>,
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
    owners: String,
    signers: String,
    you_may: Vec<&'static str>,
    narrative_source: String,
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
        owners: app.dir.describe(artifact.owner_roles(), " or "),
        signers: app
            .dir
            .describe(artifact.signer_roles(), if artifact.needs_every_signer() { " and " } else { " or " }),
        you_may,
        narrative_source: d.content.narrative_source.clone(),
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
            if !q.filters().is_empty() {
                // A filter reads the whole column: off the async threads.
                let q = q.clone();
                tokio::task::spawn_blocking(move || table_page(id, &tables, &q, per)).await??
            } else {
                table_page(id, &tables, q, per)?
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
        Err(SignoffError::Refused(why)) => {
            let outcome = Outcome { refused: Some(why), narrative: sent, ..Outcome::default() };
            draft_response(app, viewer, id, &q, StatusCode::FORBIDDEN, outcome).await
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

pub async fn sign(State(app): State<Shared>, Path(id): Path<i64>, posted: Posted<SignForm>) -> Response {
    let Posted { viewer, form } = posted;
    match super::auth::password_matches(&app, &viewer.person, form.password).await {
        Ok(true) => act(&app, &viewer, id, Request::Sign, Some(form.row_version)).await,
        Ok(false) => {
            let outcome = Outcome {
                refused: Some(
                    "signing needs your password, and the one given does not match: nothing was signed".into(),
                ),
                ..Outcome::default()
            };
            draft_response(&app, &viewer, id, &TableQuery::default(), StatusCode::FORBIDDEN, outcome).await
        }
        Err(e) => internal(&e),
    }
}

// ---------------------------------------------------------------------------------------------
// A cycle's executive decisions, per trade-off of the signed reconciliation pack: each through
// `crate::pipeline::decisions::decide` and `Store::record_done`, the same as `snop decide`.

fn no_cycle(cycle: &str) -> Response {
    message(StatusCode::NOT_FOUND, "No such cycle", &format!("`{cycle}` is not a cycle month `YYYY-MM`"))
}

/// A refusal of the service layer (its message says why and who may), else a fault of ours.
fn refusal(e: &anyhow::Error) -> Option<String> {
    if let Some(u) = e.downcast_ref::<crate::UserError>() {
        return Some(u.0.clone());
    }
    match e.downcast_ref::<SignoffError>() {
        Some(SignoffError::Refused(why)) => Some(why.clone()),
        _ => None,
    }
}

#[derive(Serialize)]
struct OptionView {
    key: &'static str,
    detail: String,
    closes: String,
    cost: String,
    recommended: bool,
}

#[derive(Serialize)]
struct TradeOffView {
    rank: usize,
    id: String,
    kind: String,
    place: String,
    month: String,
    units_short: String,
    margin_at_risk: String,
    revenue_at_risk: String,
    customers: String,
    why: String,
    buys: String,
    options: Vec<OptionView>,
    /// The decision that counts, as a person says it.
    decision: Option<String>,
    decided: Option<String>,
    done: Option<String>,
    may_mark_done: bool,
}

#[derive(Serialize)]
struct PersonView {
    id: String,
    name: String,
}

/// Which trade-offs a decisions page shows: a page of those whose id, place, kind or customers
/// contain `find`, only the undecided ones when `open` is set.
#[derive(Deserialize, Default)]
pub struct DecisionsQuery {
    #[serde(default)]
    find: String,
    #[serde(default)]
    open: String,
    page: Option<usize>,
}

#[derive(Serialize)]
struct DecisionsPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    cycle: String,
    /// Why there is nothing to decide (no pack yet), when so.
    missing: Option<String>,
    tradeoffs: Vec<TradeOffView>,
    find: String,
    open: bool,
    page: usize,
    showing: String,
    prev: Option<String>,
    next: Option<String>,
    may_decide: bool,
    deciders: String,
    people: Vec<PersonView>,
    plan_sent_back: Option<String>,
    outcome: Outcome,
}

fn said(d: &crate::analysis::executive::DecisionRow) -> String {
    use crate::analysis::executive::Choice;
    let what = match &d.choice {
        Choice::Option { option } => format!("option {}", option.replace('_', " ")),
        Choice::Action { text } => format!("action: {text}"),
        Choice::SendBack { reason } => format!("sent back: {reason}"),
    };
    let owner = d.owner.as_ref().map(|o| format!("; owner {o}")).unwrap_or_default();
    let due = d.due.as_ref().map(|o| format!("; due {o}")).unwrap_or_default();
    let note = d.note.as_ref().map(|o| format!("; note: {o}")).unwrap_or_default();
    format!("{what}{owner}{due}{note}")
}

pub async fn decisions(
    State(app): State<Shared>,
    viewer: Viewer,
    Path(cycle): Path<String>,
    Query(q): Query<DecisionsQuery>,
) -> Response {
    decisions_response(&app, &viewer, &cycle, &q, StatusCode::OK, Outcome::default()).await
}

async fn decisions_response(
    app: &App,
    viewer: &Viewer,
    cycle: &str,
    q: &DecisionsQuery,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let Some(month) = crate::contract::Month::parse(cycle) else { return no_cycle(cycle) };
    match decisions_page(app, viewer, month, q, outcome).await {
        Ok(page) => {
            let mut r = render(status, "decisions.html", &page);
            if let Ok(v) = format!("/cycles/{month}/decisions").parse() {
                r.headers_mut().insert("hx-replace-url", v);
            }
            r
        }
        Err(e) => internal(&e),
    }
}

async fn decisions_page<'a>(
    app: &'a App,
    viewer: &'a Viewer,
    cycle: crate::contract::Month,
    q: &DecisionsQuery,
    outcome: Outcome,
) -> anyhow::Result<DecisionsPage<'a>> {
    use crate::analysis::executive::{Choice, DECIDER_ROLES, may_decide};
    let may = may_decide(&app.dir, &viewer.person).is_ok();
    let (pack, missing, run) = match crate::pipeline::decisions::pack_run(&app.store, cycle).await {
        Ok(run) => {
            let read = || crate::pipeline::decisions::read_tradeoffs(&app.store, &run);
            (app.tradeoffs.get(format!("run {}", run.id), read).await?, None, format!("run {}", run.id))
        }
        Err(e) => match refusal(&e) {
            Some(why) => (Arc::default(), Some(why), "no pack".to_string()),
            None => return Err(e),
        },
    };
    let c = cycle.to_string();
    let key = format!("{run}; {}", app.store.decisions_mark(&c).await?);
    let decided = app.decisions.get(key, || Decided::read(&app.store, &c, &pack)).await?;
    let rows: Vec<_> =
        pack.iter().zip(&decided.by_tradeoff).map(|(t, (d, done))| (t, d.as_ref(), done.as_ref())).collect();
    let plan_sent_back = decided.whole_plan.as_ref().and_then(|d| match &d.choice {
        Choice::SendBack { reason } => {
            Some(format!("{} sent the whole plan back at {}: {reason}", app.dir.name(&d.decided_by), d.decided_at))
        }
        _ => None,
    });
    let n = crate::artifacts::review::format_number;
    let (find, open) = (q.find.trim().to_lowercase(), !q.open.is_empty());
    let total = rows.len();
    let kept: Vec<_> = rows
        .into_iter()
        .filter(|(_, d, _)| !open || d.is_none())
        .filter(|(t, _, _)| {
            find.is_empty()
                || [&t.id, &t.place, &t.customers_hit.join(" ")].iter().any(|f| f.to_lowercase().contains(&find))
                || serde_json::to_value(t.kind).is_ok_and(|k| k.as_str().is_some_and(|k| k.contains(&find)))
        })
        .collect();
    // A trade-off is a section with its options and a form: fewer to a page than table rows.
    let per = (app.options.page_rows / 2).max(1);
    let pages = kept.len().div_ceil(per).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let start = (page - 1) * per;
    let filtered = if kept.len() == total { String::new() } else { format!(" (filtered from {})", n(total as f64)) };
    let showing = if kept.is_empty() {
        format!("no trade-offs{filtered}")
    } else {
        format!("trade-offs {}-{} of {}{filtered}", start + 1, (start + per).min(kept.len()), n(kept.len() as f64))
    };
    let link = |p: usize| {
        let query = serde_urlencoded::to_string([
            ("find", q.find.as_str()),
            ("open", if open { "1" } else { "" }),
            ("page", &p.to_string()),
        ])
        .unwrap_or_default();
        format!("/cycles/{cycle}/decisions?{query}")
    };
    let tradeoffs = kept
        .into_iter()
        .skip(start)
        .take(per)
        .map(|(t, d, finished)| {
            let carried_out = d.is_some_and(|d| !matches!(d.choice, Choice::SendBack { .. }));
            TradeOffView {
                rank: t.rank,
                kind: serde_json::to_value(t.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                    .unwrap_or_default(),
                place: t.place.clone(),
                month: t.month.clone(),
                units_short: n(t.units_short),
                margin_at_risk: n(t.margin_at_risk_money),
                revenue_at_risk: n(t.revenue_at_risk_money),
                customers: match t.customers_hit.len() {
                    0..=12 => t.customers_hit.join(", "),
                    n => format!("{} and {} more", t.customers_hit[..10].join(", "), n - 10),
                },
                why: t.why.clone(),
                buys: t.recommendation.buys.clone(),
                options: t
                    .options
                    .iter()
                    .map(|o| OptionView {
                        key: crate::analysis::reconcile::option_key(o.kind),
                        detail: o.detail.clone(),
                        closes: format!("{} units ({:.0}%)", n(o.closes_units), o.closes_percent),
                        cost: n(o.cost_money),
                        recommended: o.kind == t.recommendation.option,
                    })
                    .collect(),
                decision: d.map(said),
                decided: d.map(|d| {
                    format!("decided by {} ({}) at {}", app.dir.name(&d.decided_by), role_title(&d.role), d.decided_at)
                }),
                done: finished.map(|f| {
                    format!(
                        "done: {} at {}{}",
                        app.dir.name(&f.done_by),
                        f.done_at,
                        f.note.as_ref().map(|x| format!(" ({x})")).unwrap_or_default()
                    )
                }),
                may_mark_done: carried_out
                    && finished.is_none()
                    && (may || d.and_then(|d| d.owner.as_deref()) == Some(viewer.person.as_str())),
                id: t.id.clone(),
            }
        })
        .collect();
    Ok(DecisionsPage {
        frame: frame(app, viewer, format!("Executive decisions {cycle}")),
        cycle: cycle.to_string(),
        missing,
        tradeoffs,
        find: q.find.clone(),
        open,
        page,
        showing,
        prev: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
        may_decide: may,
        deciders: app.dir.describe(&DECIDER_ROLES, " or "),
        people: app.dir.names.iter().map(|(id, name)| PersonView { id: id.clone(), name: name.clone() }).collect(),
        plan_sent_back,
        outcome,
    })
}

/// A cycle's decisions as its page reads them, kept per pack and `Store::decisions_mark`: for
/// each trade-off of the pack (in its order) the decision that counts and when it was done; and
/// the whole plan's decision, if any.
pub(crate) struct Decided {
    by_tradeoff: Vec<(Option<DecisionRow>, Option<DoneRow>)>,
    whole_plan: Option<DecisionRow>,
}

impl Decided {
    async fn read(store: &Store, cycle: &str, pack: &[TradeOff]) -> anyhow::Result<Decided> {
        let all = store.decisions(cycle).await?;
        let mut done = std::collections::HashMap::new();
        for d in store.decisions_done(cycle).await? {
            done.entry(d.decision_id).or_insert(d);
        }
        let standing = crate::analysis::executive::standing(&all);
        let by_tradeoff = pack
            .iter()
            .map(|t| {
                let d = standing.get(&Some(t.id.clone())).map(|d| (*d).clone());
                let finished = d.as_ref().and_then(|d| done.get(&d.id).cloned());
                (d, finished)
            })
            .collect();
        Ok(Decided { by_tradeoff, whole_plan: standing.get(&None).map(|d| (*d).clone()) })
    }
}

#[derive(Deserialize)]
pub struct DecideForm {
    /// Empty: the whole plan (only to send it back).
    #[serde(default)]
    tradeoff: String,
    /// `option`, `action` or `send_back`.
    choice: String,
    option: Option<String>,
    action: Option<String>,
    owner: Option<String>,
    due: Option<String>,
    note: Option<String>,
    reason: Option<String>,
    /// The page the form was on, shown again after it.
    #[serde(flatten)]
    view: ViewForm,
}

/// The decisions page a form was posted from (its filter and page), as text fields.
#[derive(Deserialize, Default)]
pub struct ViewForm {
    #[serde(default)]
    find: String,
    #[serde(default)]
    open: String,
    #[serde(default)]
    page: String,
}

impl ViewForm {
    fn query(&self) -> DecisionsQuery {
        DecisionsQuery { find: self.find.clone(), open: self.open.clone(), page: self.page.parse().ok() }
    }
}

pub async fn decide_tradeoff(
    State(app): State<Shared>,
    Path(cycle): Path<String>,
    posted: Posted<DecideForm>,
) -> Response {
    use crate::analysis::executive::Choice;
    use crate::store::decisions::NewDecision;
    let Posted { viewer, form } = posted;
    let view = form.view.query();
    let Some(month) = crate::contract::Month::parse(&cycle) else { return no_cycle(&cycle) };
    let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let choice = match form.choice.as_str() {
        "option" => given(form.option).map(|option| Choice::Option { option }),
        "action" => given(form.action).map(|text| Choice::Action { text }),
        "send_back" => given(form.reason).map(|reason| Choice::SendBack { reason }),
        _ => None,
    };
    let Some(choice) = choice else {
        let outcome = Outcome {
            refused: Some(
                "say what is decided: choose an option, write an action in, or send it back with a reason".into(),
            ),
            ..Outcome::default()
        };
        return decisions_response(&app, &viewer, &cycle, &view, StatusCode::UNPROCESSABLE_ENTITY, outcome).await;
    };
    let decision = NewDecision {
        cycle: month.to_string(),
        tradeoff_id: given(Some(form.tradeoff)),
        choice,
        owner: given(form.owner),
        due: given(form.due),
        note: given(form.note),
    };
    match crate::pipeline::decisions::decide(&app.dir, &app.store, &viewer.person, decision).await {
        Ok(row) => {
            let what = row.tradeoff_id.as_deref().map_or("the whole plan".to_string(), |t| format!("trade-off `{t}`"));
            let outcome = Outcome {
                done: Some(format!(
                    "decision {} on {what} of {month} recorded for {} ({}); the executive agent's next run (`snop run executive --cycle {month}`, or the nightly run) builds the signed plan with it",
                    row.id,
                    app.dir.name(&row.decided_by),
                    role_title(&row.role)
                )),
                ..Outcome::default()
            };
            decisions_response(&app, &viewer, &cycle, &view, StatusCode::OK, outcome).await
        }
        Err(e) => match refusal(&e) {
            Some(why) => {
                let status = if crate::analysis::executive::may_decide(&app.dir, &viewer.person).is_err() {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                let outcome = Outcome { refused: Some(why), ..Outcome::default() };
                decisions_response(&app, &viewer, &cycle, &view, status, outcome).await
            }
            None => internal(&e),
        },
    }
}

#[derive(Deserialize)]
pub struct DoneForm {
    tradeoff: String,
    note: Option<String>,
    #[serde(flatten)]
    view: ViewForm,
}

pub async fn decision_done(State(app): State<Shared>, Path(cycle): Path<String>, posted: Posted<DoneForm>) -> Response {
    let Posted { viewer, form } = posted;
    let view = form.view.query();
    let Some(month) = crate::contract::Month::parse(&cycle) else { return no_cycle(&cycle) };
    let note = form.note.filter(|n| !n.trim().is_empty());
    match app.store.record_done(&app.dir, &viewer.person, &month.to_string(), &form.tradeoff, note.as_deref()).await {
        Ok(row) => {
            let outcome = Outcome {
                done: Some(format!(
                    "decision {} on trade-off `{}` of {month} is done ({} at {})",
                    row.decision_id,
                    form.tradeoff,
                    app.dir.name(&row.done_by),
                    row.done_at
                )),
                ..Outcome::default()
            };
            decisions_response(&app, &viewer, &cycle, &view, StatusCode::OK, outcome).await
        }
        Err(SignoffError::Refused(why)) => {
            let outcome = Outcome { refused: Some(why), ..Outcome::default() };
            decisions_response(&app, &viewer, &cycle, &view, StatusCode::FORBIDDEN, outcome).await
        }
        Err(e) => internal(&e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// A cycle's commitment log: anyone reads it; an account manager updates the status and note of
// their own lines, written as a returned log that the commit-back agent's next run applies.

#[derive(Deserialize, Default)]
pub struct LogQuery {
    /// "1": only the logged-in person's lines.
    mine: Option<String>,
    customer: Option<String>,
    page: Option<usize>,
}

#[derive(Serialize)]
struct LineView {
    #[serde(flatten)]
    line: crate::analysis::commitments::CommitmentLine,
    owner_name: String,
    requested_text: String,
    committed_text: String,
    yours: bool,
}

#[derive(Serialize)]
struct LogPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    cycle: String,
    missing: Option<String>,
    run: Option<String>,
    communicate_by: String,
    lines: Vec<LineView>,
    statuses: &'static [&'static str],
    mine: bool,
    customer: String,
    showing: String,
    prev: Option<String>,
    next: Option<String>,
    can_save: bool,
    outcome: Outcome,
}

pub async fn commitments(
    State(app): State<Shared>,
    viewer: Viewer,
    Path(cycle): Path<String>,
    Query(q): Query<LogQuery>,
) -> Response {
    commitments_response(&app, &viewer, &cycle, &q, StatusCode::OK, Outcome::default()).await
}

async fn commitments_response(
    app: &App,
    viewer: &Viewer,
    cycle: &str,
    q: &LogQuery,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let Some(month) = crate::contract::Month::parse(cycle) else { return no_cycle(cycle) };
    match commitments_page(app, viewer, month, q, outcome).await {
        Ok(page) => render(status, "commitments.html", &page),
        Err(e) => internal(&e),
    }
}

async fn commitments_page<'a>(
    app: &'a App,
    viewer: &'a Viewer,
    cycle: crate::contract::Month,
    q: &LogQuery,
    outcome: Outcome,
) -> anyhow::Result<LogPage<'a>> {
    let mine = q.mine.as_deref().is_some_and(|m| !m.is_empty() && m != "0");
    let customer = q.customer.clone().unwrap_or_default();
    let wanted = customer.trim().to_lowercase();
    let latest = match crate::pipeline::commitment_lines::commitment_log_run(&app.store, cycle).await? {
        Some(run) => {
            let read = || async { crate::pipeline::commitment_lines::read_commitment_log(&app.store, &run) };
            Some((app.logs.get(format!("run {}", run.id), read).await?, run))
        }
        None => None,
    };
    let log = latest.as_ref().and_then(|(log, _)| log.as_ref().as_ref());
    let missing = log.is_none().then(|| {
        format!("there is no commitment log for {cycle} yet: the commit-back agent makes it (`snop run commit-back --cycle {cycle}`)")
    });
    let run = latest.as_ref().filter(|_| log.is_some()).map(|(_, run)| format!("run {} of {}", run.id, run.started_at));
    let communicate_by = log.map(|l| l.communicate_by.clone()).unwrap_or_default();
    let all = log.map_or(&[][..], |l| &l.lines[..]);
    let total = all.len();
    let kept: Vec<_> = all
        .iter()
        .filter(|l| !mine || l.owner == viewer.person)
        .filter(|l| wanted.is_empty() || l.customer.to_lowercase().contains(&wanted))
        .collect();
    let per = app.options.page_rows.max(1);
    let pages = kept.len().div_ceil(per).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let start = (page - 1) * per;
    let filtered = if kept.len() == total {
        String::new()
    } else {
        format!(" (filtered from {})", review::format_number(total as f64))
    };
    let showing = if kept.is_empty() {
        format!("no lines{filtered}")
    } else {
        format!(
            "lines {}-{} of {}{filtered}",
            start + 1,
            (start + per).min(kept.len()),
            review::format_number(kept.len() as f64)
        )
    };
    let link = |p: usize| {
        let query = serde_urlencoded::to_string([
            ("mine", if mine { "1" } else { "" }),
            ("customer", customer.as_str()),
            ("page", &p.to_string()),
        ])
        .unwrap_or_default();
        format!("/cycles/{cycle}/commitments?{query}")
    };
    let lines = kept
        .into_iter()
        .skip(start)
        .take(per)
        .map(|l| LineView {
            owner_name: app.dir.name(&l.owner),
            requested_text: review::format_number(l.requested),
            committed_text: review::format_number(l.committed),
            yours: l.owner == viewer.person,
            line: l.clone(),
        })
        .collect();
    Ok(LogPage {
        frame: frame(app, viewer, format!("Commitment log {cycle}")),
        cycle: cycle.to_string(),
        missing,
        run,
        communicate_by,
        lines,
        statuses: &crate::contract::COMMITMENT_STATUSES,
        mine,
        customer: customer.clone(),
        showing,
        prev: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
        can_save: app.options.returns.is_some(),
        outcome,
    })
}

#[derive(Deserialize)]
pub struct LineForm {
    line: String,
    status: String,
    note: Option<String>,
    /// The filters the page was showing, to show it again.
    mine: Option<String>,
    customer: Option<String>,
    page: Option<usize>,
}

pub async fn update_line(State(app): State<Shared>, Path(cycle): Path<String>, posted: Posted<LineForm>) -> Response {
    let Posted { viewer, form } = posted;
    let Some(month) = crate::contract::Month::parse(&cycle) else { return no_cycle(&cycle) };
    let q = LogQuery { mine: form.mine, customer: form.customer, page: form.page };
    let Some(returns) = &app.options.returns else {
        let outcome = Outcome {
            refused: Some(
                "this server has no returns folder (the commit-back pipeline reads none): nothing was saved".into(),
            ),
            ..Outcome::default()
        };
        return commitments_response(&app, &viewer, &cycle, &q, StatusCode::CONFLICT, outcome).await;
    };
    let update =
        crate::pipeline::commitment_lines::LineUpdate { line_id: form.line, status: form.status, note: form.note };
    match crate::pipeline::commitment_lines::update_commitment_lines(
        &app.store,
        &app.dir,
        returns,
        month,
        &viewer.person,
        std::slice::from_ref(&update),
    )
    .await
    {
        Ok(path) => {
            let outcome = Outcome {
                done: Some(format!(
                    "line {} saved as `{}` (status {}): the commit-back agent's next run (`snop run commit-back --cycle {month}`, or the nightly run) makes a new version of the log with it",
                    update.line_id,
                    path.strip_prefix(returns.parent().unwrap_or(returns)).unwrap_or(&path).display(),
                    update.status
                )),
                ..Outcome::default()
            };
            commitments_response(&app, &viewer, &cycle, &q, StatusCode::OK, outcome).await
        }
        Err(e) => match refusal(&e) {
            Some(why) => {
                let outcome = Outcome { refused: Some(why), ..Outcome::default() };
                commitments_response(&app, &viewer, &cycle, &q, StatusCode::FORBIDDEN, outcome).await
            }
            None => internal(&e),
        },
    }
}
