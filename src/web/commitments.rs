//! A cycle's commitment log: anyone reads it; an account manager updates the status and note of
//! their own lines, written as a returned log that the commit-back agent's next run applies.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::auth::{Posted, Viewer};
use super::pages::{Frame, Outcome, frame, no_cycle, refusal};
use super::{App, Shared, internal, render};

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

/// `GET /cycles/{cycle}/commitments`: the cycle's commitment log, filtered and paged.
pub async fn commitments(
    State(app): State<Shared>,
    viewer: Viewer,
    Path(cycle): Path<String>,
    Query(q): Query<LogQuery>,
) -> Response {
    commitments_response(&app, &viewer, &cycle, &q, StatusCode::OK, Outcome::default()).await
}

/// The commitment log page with `outcome` (what the last update did).
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

/// What the commitment log page shows: a page of the log's lines, and which of them the viewer
/// may update.
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
        format!(" (filtered from {})", app.options.locale.number(total as f64))
    };
    let showing = if kept.is_empty() {
        format!("no lines{filtered}")
    } else {
        format!(
            "lines {}-{} of {}{filtered}",
            start + 1,
            (start + per).min(kept.len()),
            app.options.locale.number(kept.len() as f64)
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
            requested_text: app.options.locale.number(l.requested),
            committed_text: app.options.locale.number(l.committed),
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

/// `POST /cycles/{cycle}/commitments`: an account manager's update of a line's status and note,
/// saved as a returned log for the commit-back agent's next run; the page again.
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
            Some((status, why)) => {
                let outcome = Outcome { refused: Some(why), ..Outcome::default() };
                commitments_response(&app, &viewer, &cycle, &q, status, outcome).await
            }
            None => internal(&e),
        },
    }
}
