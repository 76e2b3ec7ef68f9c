//! A cycle's what-if scenarios: each one's latest run (what it changed, what its plan comes
//! to), and the comparison of the base with the others run over the same inputs. A run button
//! per scenario file (when the server knows its workspace: `snop serve`) re-plans the base and
//! that scenario as `snop scenario compare --cycle C base NAME` does, for the people who may
//! run it ([`RUN_ROLES`]), as a background job ([`Jobs`]) with a status page that refreshes
//! itself, then links to the comparison.

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
    /// The scenarios of the cycle running now from this page (each with its status page).
    running: Vec<String>,
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

/// Where a scenario run started from the page stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    Running,
    /// Done: what each run did (recorded, or unchanged and so not re-planned).
    Done {
        runs: Vec<String>,
    },
    /// Failed, with the error's words.
    Failed {
        error: String,
    },
}

/// A scenario run started from the page: the base and the scenario re-planned off the async
/// runtime, as `snop scenario compare --cycle C base NAME` does.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub cycle: String,
    pub name: String,
    /// Who started it (a second start while it runs joins it).
    pub started_by: String,
    pub started_at: String,
    #[serde(skip)]
    started: std::time::Instant,
    /// Seconds it ran (so far, while running).
    pub seconds: f64,
    #[serde(flatten)]
    pub state: JobState,
}

/// The scenario runs started from the page, by cycle and scenario, at most one running for
/// each: a second start while one runs joins it. Kept in memory while `snop serve` runs (a
/// restart forgets them; the runs they recorded are in the store, on the scenario page).
#[derive(Default)]
pub struct Jobs(std::sync::Mutex<std::collections::BTreeMap<(String, String), Job>>);

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<(String, String), Job>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the job of `name` for `cycle` unless one is running: whether this call started it.
    pub fn start(&self, cycle: &str, name: &str, who: &str) -> bool {
        let mut jobs = self.lock();
        let key = (cycle.to_string(), name.to_string());
        if jobs.get(&key).is_some_and(|j| j.state == JobState::Running) {
            return false;
        }
        let job = Job {
            cycle: cycle.to_string(),
            name: name.to_string(),
            started_by: who.to_string(),
            started_at: chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            started: std::time::Instant::now(),
            seconds: 0.0,
            state: JobState::Running,
        };
        jobs.insert(key, job);
        true
    }

    /// The running job of `name` for `cycle` ends in `state`.
    pub fn finish(&self, cycle: &str, name: &str, state: JobState) {
        if let Some(j) = self.lock().get_mut(&(cycle.to_string(), name.to_string())) {
            j.seconds = j.started.elapsed().as_secs_f64();
            j.state = state;
        }
    }

    /// The latest job of `name` for `cycle`, its seconds so far.
    pub fn get(&self, cycle: &str, name: &str) -> Option<Job> {
        let mut j = self.lock().get(&(cycle.to_string(), name.to_string())).cloned()?;
        if j.state == JobState::Running {
            j.seconds = j.started.elapsed().as_secs_f64();
        }
        Some(j)
    }

    /// The jobs of `cycle` running now, by name.
    pub fn running(&self, cycle: &str) -> Vec<String> {
        self.lock()
            .values()
            .filter(|j| j.cycle == cycle && j.state == JobState::Running)
            .map(|j| j.name.clone())
            .collect()
    }
}

/// `POST /cycles/{cycle}/scenarios/run`: the base and the scenario re-planned (an unchanged one
/// writes nothing) as a job off the async runtime, then a redirect to the job's status page;
/// a second run of the same scenario while one runs joins it. Refused (the page again, saying
/// why) for who may not run one, a server with no workspace, or a file with problems.
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
    // The file read now (small): a name that is not there, or a file with problems, is said here.
    if let Err(e) = crate::scenario::load(&root, &name) {
        return page(&app, &viewer, cycle, &q, StatusCode::UNPROCESSABLE_ENTITY, refused(e.to_string())).await;
    }
    let cycle = month.to_string();
    if app.scenario_jobs.start(&cycle, &name, &viewer.name) {
        tracing::info!(scenario = %name, %month, person = %viewer.person, "scenario run started from the page");
        spawn_job(std::sync::Arc::clone(&app), root, month, name.clone());
    }
    let to = format!("/cycles/{cycle}/scenarios/jobs/{}", urlencoding_name(&name));
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = to.parse() {
        r.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    r
}

/// Runs the job on a blocking thread (a large company plans for minutes: longer than a
/// request may take) and records how it ended, a panic included.
fn spawn_job(app: Shared, root: std::path::PathBuf, month: crate::contract::Month, name: String) {
    let shared = std::sync::Arc::clone(&app);
    let runner = name.clone();
    let handle = tokio::task::spawn_blocking(move || {
        tokio::runtime::Handle::current().block_on(async move {
            let ws = crate::config::Workspace::load_for(&root, crate::sop::Agent::SupplyReview)?;
            let progress = crate::Progress::hidden();
            crate::pipeline::scenario::run_and_compare(&ws, &shared.store, month, BASE, &[runner], &progress).await
        })
    });
    tokio::spawn(async move {
        let state = match handle.await {
            Ok(Ok((runs, _))) => JobState::Done {
                runs: runs
                    .iter()
                    .map(|r| {
                        let what = if r.recorded { "re-planned" } else { "unchanged, not re-planned" };
                        format!("`{}`: run {} ({what})", r.outcome.name, r.run.id)
                    })
                    .collect(),
            },
            Ok(Err(e)) => JobState::Failed { error: format!("{e:#}") },
            Err(e) => JobState::Failed { error: format!("the run stopped: {e}") },
        };
        if let JobState::Failed { error } = &state {
            tracing::warn!(scenario = %name, %month, %error, "scenario run from the page failed");
        }
        app.scenario_jobs.finish(&month.to_string(), &name, state);
    });
}

#[derive(Serialize)]
struct JobPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    cycle: String,
    name: String,
    job: Job,
    /// Seconds between refreshes while it runs.
    refresh_seconds: u32,
}

/// `GET /cycles/{cycle}/scenarios/jobs/{name}`: a job's status, refreshing itself while it runs
/// (no script), then a link to the comparison, or the error's words.
pub async fn job(State(app): State<Shared>, viewer: Viewer, Path((cycle, name)): Path<(String, String)>) -> Response {
    let Some(month) = crate::contract::Month::parse(&cycle) else { return no_cycle(&cycle) };
    let cycle = month.to_string();
    let Some(job) = app.scenario_jobs.get(&cycle, &name) else {
        return super::message(
            StatusCode::NOT_FOUND,
            "No such run",
            &format!(
                "no run of the scenario `{name}` for {cycle} was started from the scenario page since the server started (runs started there are kept in memory while `snop serve` runs; every recorded run is on /cycles/{cycle}/scenarios)"
            ),
        );
    };
    let title = format!("Scenario {name} {cycle}");
    let page = JobPage { frame: frame(&app, &viewer, title), cycle, name, job, refresh_seconds: 2 };
    render(StatusCode::OK, "scenario_job.html", &page)
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
    let running = app.scenario_jobs.running(&cycle);
    let page = ScenarioPage {
        frame: frame(app, viewer, format!("What-if scenarios {cycle}")),
        cycle,
        rows,
        missing,
        compared,
        comparison,
        files,
        may_run: may_run(app, &viewer.person),
        running,
        runners: app.dir.describe(&RUN_ROLES, " or "),
        outcome,
    };
    render(status, "scenarios.html", &page)
}
