//! A cycle's what-if scenarios: each one's latest run (what it changed, what its plan comes
//! to), and the comparison of the base with the others run over the same inputs. A run button
//! per scenario file (when the server knows its workspace: `snop serve`) re-plans the base and
//! that scenario as `snop scenario compare --cycle C base NAME` does, for the people who may
//! run it ([`RUN_ROLES`]), and shows the comparison.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};

use super::auth::{Posted, Viewer};
use super::pages::{Frame, Outcome, frame, no_cycle};
use super::{App, Shared, internal, render};
use crate::analysis::format_number;
use crate::scenario::{BASE, compare};

#[derive(Deserialize, Default)]
pub struct ScenarioQuery {
    /// Scenarios to compare with the base, comma-separated (default: all run over its inputs).
    names: Option<String>,
}

#[derive(Serialize)]
struct Row {
    name: String,
    description: String,
    run: String,
    revenue: String,
    margin_after_fixes: String,
    spend: String,
    service_level: String,
    unmet: String,
    gaps: usize,
    changes: Vec<String>,
    /// Its inputs differ from the base run's (re-run both to compare).
    stale: bool,
}

#[derive(Serialize)]
struct ScenarioPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    cycle: String,
    rows: Vec<Row>,
    missing: Option<String>,
    compared: Vec<String>,
    comparison: Option<String>,
    /// The workspace's scenario files, each with a run button (for who may run them).
    files: Vec<String>,
    may_run: bool,
    /// Who may run a scenario, as people say it.
    runners: String,
    outcome: Outcome,
}

/// The roles that may run a scenario from the page: the supply lead (whose review a scenario
/// re-plans), the demand lead, and the COO or CEO (who decide with it).
pub const RUN_ROLES: [&str; 4] = ["supply_lead", "demand_lead", "coo", "ceo"];

fn may_run(app: &App, person: &str) -> bool {
    app.dir.roles_of(person).iter().any(|r| RUN_ROLES.contains(r))
}

/// `GET /cycles/{cycle}/scenarios`.
pub async fn scenarios(
    State(app): State<Shared>,
    viewer: Viewer,
    Path(cycle): Path<String>,
    Query(q): Query<ScenarioQuery>,
) -> Response {
    page(&app, &viewer, cycle, &q, StatusCode::OK, Outcome::default()).await
}

#[derive(Deserialize)]
pub struct RunForm {
    /// The scenario file's name (`scenarios/NAME.toml`).
    name: String,
}

/// `POST /cycles/{cycle}/scenarios/run`: the base and the scenario re-planned (an unchanged one
/// writes nothing), off the async runtime, then the comparison of the two (a redirect); or the
/// page again saying why not.
pub async fn run_scenario(State(app): State<Shared>, Path(cycle): Path<String>, posted: Posted<RunForm>) -> Response {
    let Posted { viewer, form } = posted;
    let Some(month) = crate::contract::Month::parse(&cycle) else { return no_cycle(&cycle) };
    let q = ScenarioQuery::default();
    let refused = |why: String| Outcome { refused: Some(why), ..Outcome::default() };
    if !may_run(&app, &viewer.person) {
        let why = format!("{} may not run a scenario: {} may", viewer.name, app.dir.describe(&RUN_ROLES, " or "));
        return page(&app, &viewer, cycle, &q, StatusCode::FORBIDDEN, refused(why)).await;
    }
    let Some(root) = app.options.workspace.clone() else {
        let why =
            "this server runs no scenario (it was not started on a workspace): run `snop scenario compare`".into();
        return page(&app, &viewer, cycle, &q, StatusCode::UNPROCESSABLE_ENTITY, refused(why)).await;
    };
    let name = form.name.trim().to_string();
    let shared = std::sync::Arc::clone(&app);
    let runner = name.clone();
    let ran = tokio::task::spawn_blocking(move || {
        tokio::runtime::Handle::current().block_on(async move {
            let ws = crate::config::Workspace::load_for(&root, crate::sop::Agent::SupplyReview)?;
            let progress = crate::Progress::hidden();
            crate::pipeline::scenario::run_and_compare(&ws, &shared.store, month, BASE, &[runner], &progress).await
        })
    })
    .await;
    match ran {
        Ok(Ok(_)) => {
            tracing::info!(scenario = %name, %month, person = %viewer.person, "scenario run from the page");
            let to = format!("/cycles/{month}/scenarios?names={}", urlencoding_name(&name));
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = to.parse() {
                r.headers_mut().insert(axum::http::header::LOCATION, v);
            }
            r
        }
        // The user's data or files (a scenario file with problems, no consensus yet): said.
        Ok(Err(e)) if crate::Fault::of(&e) == crate::Fault::User => {
            page(&app, &viewer, cycle, &q, StatusCode::UNPROCESSABLE_ENTITY, refused(format!("{e:#}"))).await
        }
        Ok(Err(e)) => internal(&e),
        Err(e) => internal(&anyhow::anyhow!("the scenario run stopped: {e}")),
    }
}

/// A scenario name in a query: names are lowercase letters, digits, `-` and `_` (anything else
/// was refused by the run), so only what is not is escaped.
fn urlencoding_name(name: &str) -> String {
    serde_urlencoded::to_string([("n", name)]).unwrap_or_default().trim_start_matches("n=").to_string()
}

/// The scenarios page with `outcome` (what the last action did).
async fn page(
    app: &App,
    viewer: &Viewer,
    cycle: String,
    q: &ScenarioQuery,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let Some(month) = crate::contract::Month::parse(&cycle) else { return no_cycle(&cycle) };
    let latest = match crate::pipeline::scenario::latest(&app.store, month).await {
        Ok(l) => l,
        Err(e) => return internal(&e),
    };
    let base = latest.get(BASE).map(|(_, o)| o.base_inputs.clone());
    let rows = latest
        .iter()
        .map(|(name, (run, o))| Row {
            name: name.clone(),
            description: o.description.clone(),
            run: format!("run {} of {}", run.id, run.started_at),
            revenue: format_number(o.revenue_money),
            margin_after_fixes: format_number(o.margin_after_fixes_money),
            spend: format_number(o.spend_money),
            service_level: format!("{}%", o.service_level_percent),
            unmet: format_number(o.unmet_units),
            gaps: o.gaps.len(),
            changes: o.changes.clone(),
            stale: base.as_ref().is_some_and(|b| *b != o.base_inputs),
        })
        .collect::<Vec<_>>();
    let wanted: Option<Vec<String>> =
        q.names.as_deref().map(|n| n.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
    let mut outcomes = Vec::new();
    if let Some((_, b)) = latest.get(BASE) {
        outcomes.push(b.clone());
        for (name, (_, o)) in &latest {
            let picked = wanted.as_ref().is_none_or(|w| w.contains(name));
            if name != BASE && picked && o.base_inputs == b.base_inputs {
                outcomes.push(o.clone());
            }
        }
    }
    let compared: Vec<String> = outcomes.iter().map(|o| o.name.clone()).collect();
    let comparison = if outcomes.len() > 1 {
        match crate::artifacts::scenario::compare_fragment(&compare(outcomes)) {
            Ok(html) => Some(html),
            Err(e) => return internal(&e),
        }
    } else {
        None
    };
    let missing = (rows.is_empty()).then(|| {
        format!(
            "no scenario has been run for {cycle}: write `scenarios/NAME.toml`, then `snop scenario compare --cycle {cycle} base NAME`"
        )
    });
    let files = app.options.workspace.as_deref().map(crate::scenario::names).unwrap_or_default();
    let page = ScenarioPage {
        frame: frame(app, viewer, format!("What-if scenarios {cycle}")),
        cycle,
        rows,
        missing,
        compared,
        comparison,
        files,
        may_run: may_run(app, &viewer.person),
        runners: app.dir.describe(&RUN_ROLES, " or "),
        outcome,
    };
    render(status, "scenarios.html", &page)
}
