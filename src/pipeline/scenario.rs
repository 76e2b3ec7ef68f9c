//! `snop scenario run`: the supply review's inputs read as its pipeline says, the cycle's
//! signed (else latest) demand consensus, the scenario's changes applied in memory, the plan
//! re-solved by the supply review's linear program, and the run recorded in the store under
//! the scenario's name (agent `scenario-<name>`): no draft, nothing signed, no real agent's run
//! touched. Its identity is the base inputs' hashes and the scenario file's: an unchanged
//! scenario writes nothing.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context as _;
use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::analysis::supply::{self, PlanAdjustments, SupplyInputs};
use crate::config::Workspace;
use crate::contract::{Month, Table};
use crate::ingest::{self, Window};
use crate::pipeline::upstream::consensus_run;
use crate::scenario::spec::{self, Scenario};
use crate::scenario::{Comparison, Outcome, PackScenario, apply, compare, outcome};
use crate::sop::Agent;
use crate::store::{NewRun, RunRow, Store};
use crate::{Progress, UserError};

/// The store's agent name of a scenario's runs.
pub fn agent_name(scenario: &str) -> String {
    format!("scenario-{scenario}")
}

/// A scenario's run, new or the unchanged last one.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    pub run: RunRow,
    pub outcome: Outcome,
    /// Whether this call recorded it (false: the inputs and the file were unchanged).
    pub recorded: bool,
    /// Seconds spent re-planning (0 when unchanged).
    pub plan_seconds: f64,
}

/// Runs scenario `name` (or [`spec::BASE`]) for `cycle`.
pub async fn run(
    ws: &Workspace,
    store: &Store,
    name: &str,
    cycle: Month,
    progress: &Progress,
) -> anyhow::Result<ScenarioRun> {
    let scenario = load(ws, name)?;
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let base = read_base(ws, store, cycle, progress).await?;
    let identity = base.identity(&scenario);
    let agent = agent_name(name);
    let previous = store.runs(Some(&agent), Some(&cycle.to_string())).await?.into_iter().next();
    if let Some(previous) = previous.filter(|p| p.inputs_sha256 == identity) {
        let outcome = stored_outcome(store, &previous)?
            .with_context(|| format!("run {} of scenario `{name}` has no outcome.json", previous.id))?;
        return Ok(ScenarioRun { run: previous, outcome, recorded: false, plan_seconds: 0.0 });
    }
    let Base { pipeline, ingested, consensus, signed, cells, base_inputs, .. } = base;

    let plan_started = Instant::now();
    let (planned, pieces) = tokio::task::block_in_place(|| {
        crate::pipeline::pieces::planning(&ws.root, || plan(&scenario, &ingested.tables, &cells, cycle, pipeline))
    });
    let (facts, mut outcome) = planned?;
    outcome.base_inputs = base_inputs;
    let plan_seconds = plan_started.elapsed().as_secs_f64();
    let report = serde_json::json!({
        "scenario": name,
        "description": scenario.description,
        "cycle": cycle.to_string(),
        "snop_version": env!("CARGO_PKG_VERSION"),
        "inputs_sha256": identity,
        "consensus_run": consensus.id,
        "consensus_signed_draft": signed,
        "changes": outcome.changes,
        "plan_seconds": plan_seconds,
        // Where the plan's pieces came from (`cache/lp-pieces/`: solved by an earlier process).
        "pieces": {
            "from_memory": pieces.memory,
            "from_disk": pieces.disk,
            "solved": pieces.solved,
            "corrupt": pieces.corrupt,
        },
    });
    // As the supply review's run: the large tables in Parquet, the rest in `facts.json`.
    let mut facts = facts;
    let large = crate::artifacts::tables::take_supply_tables(&mut facts)?;
    let mut files = vec![
        ("report.json".to_string(), serde_json::to_vec_pretty(&report)?),
        ("facts.json".to_string(), serde_json::to_vec(&facts)?),
        ("outcome.json".to_string(), serde_json::to_vec_pretty(&outcome)?),
    ];
    files.extend(large);
    if !scenario.text.is_empty() {
        files.push(("scenario.toml".to_string(), scenario.text.as_bytes().to_vec()));
    }
    let counted = |f: fn(&ingest::SourceReport) -> usize| ingested.sources.iter().map(f).sum::<usize>() as i64;
    // Recorded once: another process may have planned the same scenario over the same inputs
    // meanwhile (two comparisons of one cycle each run the base); its run is this one.
    let (run, recorded) = store
        .record_run_once(NewRun {
            agent: &agent,
            cycle: &cycle.to_string(),
            started_at: &started_at,
            duration_ms: started.elapsed().as_millis() as i64,
            outcome: "succeeded",
            inputs_sha256: &identity,
            rows_read: counted(|s| s.rows_read),
            rows_quarantined: counted(|s| s.rows_quarantined),
            rows_kept: counted(|s| s.rows_kept),
            report_json: &report.to_string(),
            inputs: ingested
                .sources
                .iter()
                .flat_map(|s| {
                    s.files.iter().map(|f| {
                        (s.name.clone(), s.table.clone(), f.location.clone(), f.sheet.clone(), f.sha256.clone())
                    })
                })
                .collect(),
            files,
            draft: None,
        })
        .await?;
    if !recorded {
        outcome = stored_outcome(store, &run)?
            .with_context(|| format!("run {} of scenario `{name}` has no outcome.json", run.id))?;
    }
    Ok(ScenarioRun { run, outcome, recorded, plan_seconds })
}

/// What every scenario of a cycle starts from: the supply review's inputs as read, the cycle's
/// signed (else latest) consensus, and the hash of both (a scenario run's identity is this
/// hash and its file's).
pub struct Base<'a> {
    pub pipeline: &'a crate::config::Pipeline,
    pub ingested: ingest::Ingested,
    pub consensus: RunRow,
    pub signed: Option<i64>,
    /// The consensus's cells, every layer (`consensus.parquet`).
    pub cells: DataFrame,
    /// The identity of the inputs before any change.
    pub base_inputs: String,
    hasher: Sha256,
}

impl Base<'_> {
    /// The identity of `scenario`'s run over these inputs: re-running a scenario whose
    /// identity is its last run's writes nothing; a run with another identity is stale.
    pub fn identity(&self, scenario: &Scenario) -> String {
        let mut h = self.hasher.clone();
        h.update(Sha256::digest(scenario.text.as_bytes()));
        // A shift pattern's hours depend on the holidays: they are part of what it planned.
        if scenario.has_shift() {
            for d in &scenario.holidays {
                h.update(format!("holiday {d}\0").as_bytes());
            }
        }
        hex::encode(h.finalize())
    }
}

/// Scenario `name` as a run reads it: its file, with the company's holidays (`[calendar]`).
pub fn load(ws: &Workspace, name: &str) -> Result<Scenario, crate::config::ConfigError> {
    Ok(spec::load(&ws.root, name)?.with_holidays(ws.calendar.holidays.keys().copied()))
}

/// Reads the supply review's inputs and the cycle's consensus, and hashes them.
pub async fn read_base<'a>(
    ws: &'a Workspace,
    store: &Store,
    cycle: Month,
    progress: &Progress,
) -> anyhow::Result<Base<'a>> {
    let pipeline = ws.pipeline(Agent::SupplyReview)?;
    let window = Window { cycle, history_months: pipeline.history_months, plan_months: pipeline.demand.horizon_months };
    let ingested = ingest::ingest(&ws.root, pipeline, window, progress)
        .await
        .with_context(|| format!("reading the inputs of `{}`", pipeline.file.display()))?;
    if let Some(s) = ingested.sources.iter().find(|s| s.over_limit) {
        return Err(UserError(format!(
            "the supply review's source `{}` has too many bad rows ({} of {}): no scenario is planned on it\nhint: `snop run supply-review --cycle {cycle}` lists them",
            s.name, s.rows_quarantined, s.rows_read
        ))
        .into());
    }
    let (consensus, signed, cells) = consensus_cells(store, cycle).await?;
    let mut h = Sha256::new();
    // `scenario-2`: a demand change is a layer of the consensus (runs before it are re-planned).
    for part in [env!("CARGO_PKG_VERSION"), "scenario-2", &cycle.to_string(), &pipeline.text] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for s in &ingested.sources {
        for f in &s.files {
            h.update(format!("{}|{}\0", s.name, f.sha256).as_bytes());
        }
    }
    h.update(format!("consensus {} {} signed {signed:?}\0", consensus.id, consensus.inputs_sha256).as_bytes());
    let base_inputs = hex::encode(h.clone().finalize());
    Ok(Base { pipeline, ingested, consensus, signed, cells, base_inputs, hasher: h })
}

/// The cycle's consensus (the signed one, else the latest demand review) as its run stored it:
/// every layer of every cell, so a scenario's demand change is layered on it.
async fn consensus_cells(store: &Store, cycle: Month) -> anyhow::Result<(RunRow, Option<i64>, DataFrame)> {
    let missing = || {
        UserError(format!(
            "a scenario of {cycle} needs that cycle's demand consensus, and there is none: the demand review has not run\nhint: run `snop run demand-review --cycle {cycle}` first"
        ))
    };
    let (run, signed) = consensus_run(store, cycle).await?.ok_or_else(missing)?;
    let bytes = store.run_file(&run, "consensus.parquet")?.ok_or_else(missing)?;
    let cells = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
    Ok((run, signed, cells))
}

/// The scenario applied and the plan re-solved: the supply review's linear program over the
/// changed inputs (gaps detected, not re-priced), and its outcome.
pub fn plan(
    scenario: &Scenario,
    tables: &BTreeMap<Table, DataFrame>,
    cells: &DataFrame,
    cycle: Month,
    pipeline: &crate::config::Pipeline,
) -> anyhow::Result<(supply::SupplyFacts, Outcome)> {
    let applied = apply(scenario, tables, cells, cycle)?;
    // Gaps are detected, not priced: a comparison reads the plans, and pricing every gap is the
    // supply review's work (it would cost a scenario up to `max_re_solves` re-solves).
    let params = supply::SupplyParams { max_re_solves: 0, ..pipeline.supply.clone() };
    let inputs = SupplyInputs { tables: &applied.tables, demand: &applied.demand, cycle, params: &params };
    let windows = PlanAdjustments { unavailable: applied.unavailable.clone(), ..PlanAdjustments::default() };
    // The scenario's pieces are the base's, only its changes moved (`lp::split::with_base`):
    // its unchanged pieces are the base plan's, read back from the memo or `cache/lp-pieces/`.
    let base = if scenario.changes.is_empty() {
        None
    } else {
        Some(std::sync::Arc::new(base_problem(scenario, tables, cells, cycle, &params)?))
    };
    let facts = supply::lp::split::with_base(base, || supply::supply_review_with(&inputs, &windows))?;
    let families = families(&applied.tables)?;
    let o = outcome(&scenario.name, &scenario.description, &facts, &families, applied.notes)
        .with_consensus(&applied.consensus, applied.scenario_units);
    Ok((facts, o))
}

/// The optimiser's problem of the base (the scenario with no change), as the base's run and
/// the supply review build it.
fn base_problem(
    scenario: &Scenario,
    tables: &BTreeMap<Table, DataFrame>,
    cells: &DataFrame,
    cycle: Month,
    params: &supply::SupplyParams,
) -> anyhow::Result<supply::lp::Problem> {
    let none = Scenario { changes: Vec::new(), ..scenario.clone() };
    let base = apply(&none, tables, cells, cycle)?;
    let inputs = SupplyInputs { tables: &base.tables, demand: &base.demand, cycle, params };
    Ok(supply::lp::Problem::from_inputs(&inputs)?)
}

/// A scenario's least cost (the plan's first stage) cut three ways, nothing recorded: what
/// `snop scenario cut` prints and `bench/RESULTS.md` reports.
#[derive(Debug, Clone)]
pub struct CutCosts {
    /// The base's least cost, cut by the options given.
    pub base: f64,
    /// The scenario with the base's pieces and shares (`lp::split::with_base`), and the pieces
    /// it solved (the rest were the base's).
    pub kept: (f64, usize),
    /// The scenario cut afresh, and the pieces it solved.
    pub fresh: (f64, usize),
    /// The scenario at its connected components only (`SplitOptions::exact`).
    pub exact: f64,
    /// The pieces of the cut.
    pub pieces: usize,
}

/// Plans scenario `name` of `cycle` at its least cost cut by `opts` with the base's shares and
/// afresh, and exactly (see [`CutCosts`]); the base first, so its pieces are in the memo.
pub async fn cut_costs(
    ws: &Workspace,
    store: &Store,
    name: &str,
    cycle: Month,
    opts: supply::lp::SplitOptions,
    progress: &Progress,
) -> anyhow::Result<CutCosts> {
    use supply::lp::{self, split};
    let scenario = load(ws, name)?;
    let base = read_base(ws, store, cycle, progress).await?;
    let params = supply::SupplyParams { max_re_solves: 0, ..base.pipeline.supply.clone() };
    let applied = apply(&scenario, &base.ingested.tables, &base.cells, cycle)?;
    let inputs = SupplyInputs { tables: &applied.tables, demand: &applied.demand, cycle, params: &params };
    let mut problem = lp::Problem::from_inputs(&inputs)?;
    // As the supply review closes a supplier for a window (`PlanAdjustments::unavailable`).
    for w in &applied.unavailable {
        w.close_in(&mut problem, cycle);
    }
    let before = std::sync::Arc::new(base_problem(&scenario, &base.ingested.tables, &base.cells, cycle, &params)?);
    let none = std::collections::BTreeSet::new();
    let least = |p: &lp::Problem, o: lp::SplitOptions| lp::solve_with_memo(p, &none, 1, o, true);
    let base_cost = least(&before, opts)?.0.cost.total();
    let kept = split::with_base(Some(before), || least(&problem, opts))?;
    let fresh = least(&problem, opts)?;
    let exact = least(&problem, lp::SplitOptions::exact())?.0.cost.total();
    Ok(CutCosts {
        base: base_cost,
        kept: (kept.0.cost.total(), kept.1),
        fresh: (fresh.0.cost.total(), fresh.1),
        exact,
        pieces: split::split(&problem, opts).pieces.len(),
    })
}

/// Each SKU's family, from the items table.
pub fn families(tables: &BTreeMap<Table, DataFrame>) -> PolarsResult<BTreeMap<String, String>> {
    let Some(items) = tables.get(&Table::Items) else { return Ok(BTreeMap::new()) };
    let text = |c: &str| -> PolarsResult<Vec<String>> {
        let c = items.column(c)?.cast(&DataType::String)?;
        Ok(c.str()?.iter().map(|v| v.unwrap_or_default().to_string()).collect())
    };
    Ok(text("sku")?.into_iter().zip(text("family")?).collect())
}

/// The outcome a scenario run stored.
pub fn stored_outcome(store: &Store, run: &RunRow) -> anyhow::Result<Option<Outcome>> {
    Ok(match store.run_file(run, "outcome.json")? {
        Some(b) => Some(serde_json::from_slice(&b)?),
        None => None,
    })
}

/// Each scenario's latest run for `cycle` with its outcome, by name (the base's too).
pub async fn latest(store: &Store, cycle: Month) -> anyhow::Result<BTreeMap<String, (RunRow, Outcome)>> {
    let mut out = BTreeMap::new();
    for run in store.runs(None, Some(&cycle.to_string())).await? {
        let Some(name) = run.agent.strip_prefix("scenario-") else { continue };
        if out.contains_key(name) {
            continue;
        }
        if let Some(o) = stored_outcome(store, &run)? {
            out.insert(name.to_string(), (run, o));
        }
    }
    Ok(out)
}

/// Runs `base` and each of `names` (an unchanged one writes nothing) and compares them.
pub async fn run_and_compare(
    ws: &Workspace,
    store: &Store,
    cycle: Month,
    base: &str,
    names: &[String],
    progress: &Progress,
) -> anyhow::Result<(Vec<ScenarioRun>, Comparison)> {
    let mut runs = Vec::new();
    for name in std::iter::once(base).chain(names.iter().map(String::as_str)) {
        runs.push(run(ws, store, name, cycle, progress).await?);
    }
    let comparison = compare(runs.iter().map(|r| r.outcome.clone()).collect());
    Ok((runs, comparison))
}

/// The comparison of the base against scenario `name` for the reconciliation pack: from both
/// runs as stored when their identity is the one `snop scenario run` would compute today
/// (nothing is re-planned here); a run missing or stale gives the reason instead, and no figure.
pub async fn pack_scenario(ws: &Workspace, store: &Store, cycle: Month, name: &str) -> anyhow::Result<PackScenario> {
    let not_shown = |why: String| PackScenario {
        name: name.to_string(),
        comparison: None,
        problem: Some(format!(
            "the scenario `{name}` is not in the pack: {why}\nhint: run `snop scenario compare --cycle {cycle} base {name}`, then the reconciliation again"
        )),
    };
    let base = match read_base(ws, store, cycle, &Progress::hidden()).await {
        Ok(b) => b,
        Err(e) => return Ok(not_shown(format!("its inputs cannot be read ({e:#})"))),
    };
    let mut outcomes = Vec::new();
    for n in [spec::BASE, name] {
        let scenario = match load(ws, n) {
            Ok(s) => s,
            Err(e) => return Ok(not_shown(format!("its file has problems ({e})"))),
        };
        let last = store.runs(Some(&agent_name(n)), Some(&cycle.to_string())).await?.into_iter().next();
        match last {
            None => return Ok(not_shown(format!("`{n}` has not been run for {cycle}"))),
            Some(r) if r.inputs_sha256 != base.identity(&scenario) => {
                return Ok(not_shown(format!(
                    "the run {} of `{n}` is stale (the inputs or the scenario file changed since it ran)",
                    r.id
                )));
            }
            Some(r) => match stored_outcome(store, &r)? {
                Some(o) => outcomes.push(o),
                None => return Ok(not_shown(format!("the run {} of `{n}` has no outcome.json", r.id))),
            },
        }
    }
    Ok(PackScenario { name: name.to_string(), comparison: Some(compare(outcomes)), problem: None })
}

/// What the pack's scenario adds to the reconciliation's identity (no input is read): the
/// scenario's file and the latest runs of the base and of the scenario, so a scenario re-run or
/// edited makes the next reconciliation a new run.
pub async fn pack_identity(ws: &Workspace, store: &Store, cycle: Month) -> anyhow::Result<Option<String>> {
    let Some(name) = &ws.pack_scenario else { return Ok(None) };
    let file = ws.root.join(spec::SCENARIO_DIR).join(format!("{name}.toml"));
    let text = fs_err::read(&file).map(|b| hex::encode(Sha256::digest(b))).unwrap_or_else(|_| "missing".into());
    let mut runs = Vec::new();
    for n in [spec::BASE, name.as_str()] {
        let last = store.runs(Some(&agent_name(n)), Some(&cycle.to_string())).await?.into_iter().next();
        runs.push(last.map_or("none".to_string(), |r| format!("{} {}", r.id, r.inputs_sha256)));
    }
    Ok(Some(format!("pack_scenario {name} file {text} runs {}", runs.join(" "))))
}
