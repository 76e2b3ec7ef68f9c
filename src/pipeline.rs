//! Runs an agent: ingest → analysis → narrative → artifacts → store. Until the agents' analysis
//! lands, a run ingests and validates its inputs and records what it found.

use std::time::Instant;

use anyhow::Context as _;
use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::analysis::commitments::{self, CommitmentLog, LoopFacts};
use crate::analysis::demand::{self, DemandInputs, EarlierConsensus};
use crate::analysis::supply::{self, SupplyInputs};
use crate::artifacts::commitment_log::commitment_log_xlsx;
use crate::artifacts::demand_consensus::demand_consensus_xlsx;
use crate::artifacts::supply_plan::supply_plan_xlsx;
use crate::config::Workspace;
use crate::contract::Quarantined;
use crate::contract::{Month, Table};
use crate::ingest::{self, SourceReport, Window};
use crate::narrative::{Draft, DraftConfig, Drafter, Prompts};
use crate::sop::Agent;
use crate::store::{NewRun, RunRow, Store};
use crate::{Progress, UserError};

/// What a run records in its report (`report.json` in the run's folder, and in the store).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    pub agent: String,
    pub cycle: String,
    pub snop_version: String,
    pub outcome: String,
    pub inputs_sha256: String,
    pub sources: Vec<SourceReport>,
    pub rows_read: usize,
    pub rows_quarantined: usize,
    pub rows_kept: usize,
    /// The first quarantined rows, as messages (all of them are in `quarantine.csv`).
    pub quarantine_sample: Vec<String>,
    /// How the narrative was drafted (agents that draft one).
    pub narrative: Option<NarrativeReport>,
    /// What a planner should know about the run's outputs (a PDF not made, and how to get it).
    pub notes: Vec<String>,
}

/// How to run an agent.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Draft the reconciliation pack or the signed plan even when what they build on is not
    /// signed; every page then says it was built on unsigned inputs.
    pub allow_unsigned: bool,
}

pub enum RunOutcome {
    /// A new run was recorded.
    Recorded { run: RunRow, report: Box<RunReport> },
    /// The inputs are the same as the last run's: nothing was written.
    Unchanged { previous: RunRow },
}

/// Opens the workspace's store.
pub async fn open_store(ws: &Workspace) -> anyhow::Result<Store> {
    Store::open(&ws.root, &ws.store_url).await.context("opening the store")
}

/// Runs one agent for one cycle.
pub async fn run(
    ws: &Workspace,
    store: &Store,
    agent: Agent,
    cycle: Month,
    progress: &Progress,
) -> anyhow::Result<RunOutcome> {
    run_with(ws, store, agent, cycle, progress, RunOptions::default()).await
}

/// Runs one agent for one cycle, with options.
pub async fn run_with(
    ws: &Workspace,
    store: &Store,
    agent: Agent,
    cycle: Month,
    progress: &Progress,
    options: RunOptions,
) -> anyhow::Result<RunOutcome> {
    let span = tracing::info_span!("run", %agent, %cycle);
    let _enter = span.enter();
    let pipeline = ws.pipeline(agent)?;
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let window = Window { cycle, history_months: pipeline.history_months };
    let mut ingested = ingest::ingest(&ws.root, pipeline, window, progress)
        .await
        .with_context(|| format!("reading the inputs of `{}`", pipeline.file.display()))?;

    // What earlier cycles stored, for accuracy and variance (part of this run's identity).
    let earlier = if agent == Agent::DemandReview { earlier_consensus(store, cycle).await? } else { Vec::new() };
    // The supply review plans against this cycle's demand consensus.
    let demand = if agent == Agent::SupplyReview { Some(cycle_consensus(store, cycle).await?) } else { None };
    // The reconciliation and the executive build on the artifacts signed before them; the
    // commit-back on this cycle's signed plan, and it scores last cycle's log and plan.
    let back = match agent {
        Agent::Reconciliation => Some(reconciliation_upstream(store, cycle, options).await?),
        Agent::Executive => Some(executive_upstream(store, cycle, options).await?),
        _ => None,
    };
    let plan = if agent == Agent::CommitBack { Some(cycle_signed_plan(store, cycle).await?) } else { None };
    let last = if agent == Agent::CommitBack { last_cycle_inputs(store, cycle).await? } else { None };
    let mut inputs_sha256 = inputs_hash(&pipeline.text, cycle, &ingested.sources);
    if let Some(b) = &back {
        inputs_sha256 = hex::encode(Sha256::digest(format!("{inputs_sha256}|{}", b.identity)));
    }
    let back_links = back.iter().flat_map(|b| b.links.iter().map(|(r, s)| (r, s)));
    let last_links = last.iter().flat_map(|l| [(&l.log_run, &l.log_signed), (&l.plan_run, &l.plan_signed)]);
    for (run, signed) in earlier
        .iter()
        .map(|(r, s, _)| (r, s))
        .chain(demand.iter().map(|(r, s, _)| (r, s)))
        .chain(back_links)
        .chain(plan.iter().map(|(r, s, _)| (r, s)))
        .chain(last_links)
    {
        inputs_sha256 = hex::encode(Sha256::digest(format!("{inputs_sha256}|{}|{}", run.id, run.inputs_sha256)));
        // Signing the consensus it builds on changes what a run says ("signed plan"): a new run.
        if let Some(draft) = signed {
            inputs_sha256 = hex::encode(Sha256::digest(format!("{inputs_sha256}|signed draft {draft}")));
        }
    }
    let previous = store.runs(Some(agent.name()), Some(&cycle.to_string())).await?.into_iter().next();
    if let Some(previous) = previous.filter(|p| p.inputs_sha256 == inputs_sha256) {
        tracing::info!(run = previous.id, "inputs unchanged since the last run");
        return Ok(RunOutcome::Unchanged { previous });
    }

    let rows_read = ingested.sources.iter().map(|s| s.rows_read).sum();
    let rows_quarantined = ingested.sources.iter().map(|s| s.rows_quarantined).sum();
    let rows_kept = ingested.sources.iter().map(|s| s.rows_kept).sum();
    let over: Vec<SourceReport> = ingested.sources.iter().filter(|s| s.over_limit).cloned().collect();
    let outcome = if over.is_empty() { "succeeded" } else { "rejected" };
    let mut report = RunReport {
        agent: agent.name().into(),
        cycle: cycle.to_string(),
        snop_version: env!("CARGO_PKG_VERSION").into(),
        outcome: outcome.into(),
        inputs_sha256: inputs_sha256.clone(),
        sources: ingested.sources.clone(),
        rows_read,
        rows_quarantined,
        rows_kept,
        quarantine_sample: ingested.quarantine.iter().take(20).map(ToString::to_string).collect(),
        narrative: None,
        notes: Vec::new(),
    };

    let mut files = vec![("report.json".to_string(), serde_json::to_vec_pretty(&report)?)];
    let mut draft = None;
    if over.is_empty() {
        let upstream = Upstream {
            earlier: earlier.into_iter().map(|(_, _, e)| e).collect(),
            demand: demand.map(|(_, signed, d)| (d, signed.is_some())),
            back,
            plan: plan.map(|(_, _, p)| p),
            last,
        };
        let (mut more, narrative, basis, notes, checked) =
            analyse(ws, agent, cycle, pipeline, &ingested, upstream, store).await?;
        // The facts' tables as Parquet, for the draft page to page and filter at any size.
        let tables = match more.iter().find(|(name, _)| name == "facts.json") {
            Some((_, facts)) => crate::artifacts::tables::files(facts)?,
            None => Vec::new(),
        };
        more.extend(tables);
        report.notes = notes;
        // Rows judged after ingest (returned commitment logs against the log): quarantined and
        // counted like any other bad row.
        for q in &checked {
            if let Some(s) = ingested.sources.iter_mut().find(|s| s.name == q.source) {
                s.rows_quarantined += 1;
                s.rows_kept -= 1;
            }
        }
        report.rows_quarantined += checked.len();
        report.rows_kept -= checked.len();
        report.sources = ingested.sources.clone();
        ingested.quarantine.extend(checked);
        ingested.quarantine.sort_by(|a, b| (&a.file, a.row).cmp(&(&b.file, b.row)));
        report.quarantine_sample = ingested.quarantine.iter().take(20).map(ToString::to_string).collect();
        if let Some((narrated, story, agenda)) = basis {
            let (content, pages) = draft_content(ws, store, agent, cycle, (&narrated, story, agenda), &more).await?;
            draft = Some(content);
            files.extend(pages);
        }
        files.extend(more);
        report.narrative = narrative;
        files[0].1 = serde_json::to_vec_pretty(&report)?;
    }
    // Rendered, not yet stored: a crash here must leave no draft and no run behind.
    crate::fail_point("pipeline.after_render");
    if !ingested.quarantine.is_empty() {
        files.push(("quarantine.csv".to_string(), quarantine_csv(&ingested.quarantine)?));
    }
    for s in &ingested.sources {
        for f in &s.files {
            if let Some(bytes) = &f.fetched {
                files.push((format!("inputs/{}", s.name), bytes.clone()));
            }
        }
    }
    let inputs = ingested
        .sources
        .iter()
        .flat_map(|s| {
            s.files
                .iter()
                .map(|f| (s.name.clone(), s.table.clone(), f.location.clone(), f.sheet.clone(), f.sha256.clone()))
        })
        .collect();
    let run = store
        .record_run(NewRun {
            agent: agent.name(),
            cycle: &cycle.to_string(),
            started_at: &started_at,
            duration_ms: started.elapsed().as_millis() as i64,
            outcome,
            inputs_sha256: &inputs_sha256,
            rows_read: rows_read as i64,
            rows_quarantined: rows_quarantined as i64,
            rows_kept: rows_kept as i64,
            report_json: &serde_json::to_string(&report)?,
            inputs,
            files,
            draft,
        })
        .await?;
    if !over.is_empty() {
        let lines: Vec<String> = over
            .iter()
            .map(|s| {
                format!(
                    "source `{}`: {} of {} rows quarantined, over the limit of {}%",
                    s.name, s.rows_quarantined, s.rows_read, s.max_quarantined_percent
                )
            })
            .collect();
        return Err(UserError(format!(
            "run {} of `{agent}` for {cycle} was rejected: too many bad rows; no artifact was produced\n  {}\n  the first: {}\nhint: every bad row is listed in `{}/quarantine.csv`",
            run.id,
            lines.join("\n  "),
            ingested.quarantine.first().map(ToString::to_string).unwrap_or_default(),
            run.folder
        ))
        .into());
    }
    Ok(RunOutcome::Recorded { run, report: Box::new(report) })
}

/// Files to keep with a run, how its narrative was drafted, what its draft is made from (the
/// narrative and the narrative facts), notes for the run report, and rows judged bad after
/// ingest.
type Analysed = (
    Vec<(String, Vec<u8>)>,
    Option<NarrativeReport>,
    Option<(Draft, serde_json::Value, crate::draft::Agenda)>,
    Vec<String>,
    Vec<Quarantined>,
);

/// The file of a demand review run that holds last cycle's promises scored (`LoopFacts`).
const LAST_CYCLE_FILE: &str = "last-cycle.json";

/// Last cycle's commitments and plan scored: from this run's own `customers`, `sales_history`
/// and `open_orders` when it read them, else from the file the cycle's demand review kept (the
/// signed one's run, else the latest). `None` when last cycle has no log or signed plan.
async fn last_cycle_scored(
    store: &Store,
    cycle: Month,
    tables: &std::collections::BTreeMap<crate::contract::Table, DataFrame>,
) -> anyhow::Result<Option<LoopFacts>> {
    use crate::contract::Table;
    if [Table::Customers, Table::SalesHistory, Table::OpenOrders].iter().all(|t| tables.contains_key(t)) {
        return last_cycle_loop(store, cycle, tables).await;
    }
    let Some((run, _)) = consensus_run(store, cycle).await? else { return Ok(None) };
    store
        .run_file(&run, LAST_CYCLE_FILE)?
        .map(|bytes| {
            serde_json::from_slice(&bytes).with_context(|| format!("reading `{}/{LAST_CYCLE_FILE}`", run.folder))
        })
        .transpose()
}

/// A new draft's content (serialized `DraftContent`) and its pages as first drafted
/// (`<artifact>-<cycle>.html` and `.md`). The content names the run's analysis files with their
/// hashes, so a signature covers the workbook too; the agenda reads last cycle's signed version.
/// The one-page agenda of an agent's artifact, made after its narrative and before its workbook
/// (which carries it as a sheet): this cycle's output and risks, the decisions the next meeting
/// up must take, how last cycle kept its calendar, and last cycle's promises scored (returned
/// too, so the demand review keeps them with its run for the later agents).
pub(crate) async fn agenda_of(
    ws: &Workspace,
    store: &Store,
    agent: Agent,
    cycle: Month,
    (narrated, story): (&Draft, &serde_json::Value),
    tables: &std::collections::BTreeMap<crate::contract::Table, DataFrame>,
) -> anyhow::Result<(crate::draft::Agenda, Option<LoopFacts>)> {
    use crate::artifacts::review;
    use crate::sop::Artifact;
    let artifact = Artifact::of_agent(agent);
    let last = store.latest_signed(artifact, &cycle.plus(-1).to_string()).await?;
    let dir = ws.directory();
    let dates = ws.calendar.cycle(cycle);
    let mut agenda = review::agenda(artifact, &dates, &dir, &narrated.sections, story, last.as_ref());
    // How the last cycle kept its calendar.
    let previous = store.status(&cycle.plus(-1).to_string()).await?;
    agenda.this_cycle.extend(crate::cadence::drift(&ws.calendar, cycle.plus(-1), &previous, dates.start()).slips());
    // Last cycle's promises: commitments to customers, orders outside the plan, and the
    // executive decisions as they stand on this meeting's first day.
    let scored = last_cycle_scored(store, cycle, tables).await?;
    let last_cycle = cycle.plus(-1).to_string();
    let as_of = dates.meeting(artifact).first.format("%Y-%m-%d").to_string();
    let progress = crate::analysis::executive::decision_progress(
        &store.decisions(&last_cycle).await?,
        &store.decisions_done(&last_cycle).await?,
        &as_of,
    );
    agenda.scorecard = review::scorecard(&last_cycle, &as_of, &dir, scored.as_ref(), &progress);
    Ok((agenda, scored))
}

async fn draft_content(
    ws: &Workspace,
    store: &Store,
    agent: Agent,
    cycle: Month,
    (narrated, story, agenda): (&Draft, serde_json::Value, crate::draft::Agenda),
    files: &[(String, Vec<u8>)],
) -> anyhow::Result<(String, Vec<(String, Vec<u8>)>)> {
    use crate::artifacts::review;
    use crate::draft::{DraftContent, sha256_hex};
    use crate::sop::Artifact;
    let artifact = Artifact::of_agent(agent);
    let content = DraftContent {
        artifact: artifact.key().into(),
        cycle: cycle.to_string(),
        company: ws.company.clone(),
        currency: ws.currency.clone(),
        narrative: narrated.sections.clone(),
        model_narrative: narrated.sections.clone(),
        narrative_source: serde_json::to_value(narrated.source)?.as_str().unwrap_or_default().to_string(),
        model: narrated.model.clone(),
        facts: story,
        files: files.iter().map(|(name, bytes)| (name.clone(), sha256_hex(bytes))).collect(),
        agenda,
    };
    let text = serde_json::to_string(&content)?;
    // The version it will get (a concurrent run of the same agent could take it first: the
    // stored draft is the authority; `snop drafts show --html` renders it as it stands).
    let latest = store.drafts(Some(&cycle.to_string()), Some(artifact)).await?.into_iter().next();
    let standing = review::Standing {
        version: latest.map_or(1, |l| l.version + 1),
        state: "draft".into(),
        content_sha256: sha256_hex(text.as_bytes()),
        signed_line: None,
    };
    let stem = format!("{}-{cycle}", artifact.key().replace('_', "-"));
    let pages = vec![
        (format!("{stem}.html"), review::html(&content, &standing)?.into_bytes()),
        (format!("{stem}.md"), review::markdown(&content, &standing)?.into_bytes()),
    ];
    Ok((text, pages))
}

/// What earlier runs stored that this run's analysis reads.
struct Upstream {
    /// Earlier cycles' demand consensus (demand review: accuracy and variance).
    earlier: Vec<EarlierConsensus>,
    /// This cycle's demand consensus (supply review), and whether it is signed.
    demand: Option<(DataFrame, bool)>,
    /// What the reconciliation and the executive build on.
    back: Option<BackHalf>,
    /// This cycle's signed plan (commit-back).
    plan: Option<DataFrame>,
    /// Last cycle's commitment log and signed plan (commit-back).
    last: Option<LastCycle>,
}

/// The agent's analysis, narrative and artifacts, as files to keep with the run.
async fn analyse(
    ws: &Workspace,
    agent: Agent,
    cycle: Month,
    pipeline: &crate::config::Pipeline,
    ingested: &ingest::Ingested,
    upstream: Upstream,
    store: &Store,
) -> anyhow::Result<Analysed> {
    let Upstream { earlier, demand, back, plan, last } = upstream;
    match agent {
        Agent::DemandReview => {
            let inputs = DemandInputs {
                tables: &ingested.tables,
                cycle,
                history_months: pipeline.history_months,
                earlier: &earlier,
                params: &pipeline.demand,
            };
            let consensus = tracing::info_span!("analysis")
                .in_scope(|| tokio::task::block_in_place(|| demand::demand_review(&inputs)))?;
            let story = demand::narrative_facts(&consensus.facts);
            let (draft, narrative) = narrate(ws, store, "demand-review/summary", &story).await?;
            let (agenda, scored) = agenda_of(ws, store, agent, cycle, (&draft, &story), &ingested.tables).await?;
            let (mut cells, mut adjustments) = demand::consensus_frames(&consensus, cycle)?;
            let xlsx =
                demand_consensus_xlsx(&consensus, &ws.company, "draft, not signed", Some(&draft), Some(&agenda))?;
            let mut files = vec![
                ("facts.json".into(), serde_json::to_vec_pretty(&consensus.facts)?),
                ("narrative.json".into(), serde_json::to_vec_pretty(&draft)?),
                ("narrative-facts.json".into(), serde_json::to_vec_pretty(&story)?),
                ("consensus.parquet".into(), parquet_bytes(&mut cells)?),
                ("adjustments.parquet".into(), parquet_bytes(&mut adjustments)?),
                (format!("demand-consensus-{cycle}.xlsx"), xlsx),
            ];
            // Last cycle's promises scored against this cycle's extracts, for the later agents.
            if let Some(l) = &scored {
                files.push((LAST_CYCLE_FILE.into(), serde_json::to_vec_pretty(l)?));
            }
            Ok((files, Some(narrative), Some((draft, story, agenda)), Vec::new(), Vec::new()))
        }
        Agent::SupplyReview => {
            let (demand, demand_signed) = demand.expect("the supply review's demand is loaded before analysis");
            let inputs = SupplyInputs { tables: &ingested.tables, demand: &demand, cycle, params: &pipeline.supply };
            let facts = tracing::info_span!("analysis")
                .in_scope(|| tokio::task::block_in_place(|| supply::supply_review(&inputs)))?;
            let story = supply::narrative_facts(&facts, demand_signed);
            let (draft, narrative) = narrate(ws, store, "supply-review/summary", &story).await?;
            let (agenda, _) = agenda_of(ws, store, agent, cycle, (&draft, &story), &ingested.tables).await?;
            let xlsx = supply_plan_xlsx(&facts, &ws.company, Some(&agenda))?;
            let files = vec![
                ("facts.json".into(), serde_json::to_vec_pretty(&facts)?),
                ("narrative.json".into(), serde_json::to_vec_pretty(&draft)?),
                ("narrative-facts.json".into(), serde_json::to_vec_pretty(&story)?),
                (format!("supply-plan-{cycle}.xlsx"), xlsx),
            ];
            Ok((files, Some(narrative), Some((draft, story, agenda)), Vec::new(), Vec::new()))
        }
        Agent::Reconciliation => {
            let b = back.expect("the reconciliation's inputs are loaded before analysis");
            reconciliation(ws, store, cycle, ingested, b).await
        }
        Agent::Executive => {
            let b = back.expect("the executive's inputs are loaded before analysis");
            executive(ws, store, cycle, pipeline, ingested, b).await
        }
        Agent::CommitBack => {
            let plan = plan.expect("the commit-back's plan is loaded before analysis");
            let table = |t: Table| ingested.table(t).ok_or(crate::analysis::AnalysisError::MissingTable(t));
            let owners = commitments::account_managers(table(Table::Customers)?)?;
            let orders = commitments::open_order_lines(table(Table::OpenOrders)?)?;
            // The last day of the commit-back meeting in the workspace's calendar.
            let communicate_by = ws
                .calendar
                .cycle(cycle)
                .meeting(crate::sop::Artifact::CommitmentLog)
                .last
                .format("%Y-%m-%d")
                .to_string();
            let rows = commitments::plan_rows(&plan)?;
            let mut log = commitments::commitment_log(cycle, &rows, &orders, &owners, &communicate_by);
            let updates = match ingested.table(Table::CommitmentUpdates) {
                Some(df) => commitment_updates(df)?,
                None => Vec::new(),
            };
            let checked = commitments::apply_updates(&mut log, &updates);
            let loop_facts = last.map(|l| l.score(cycle, &ingested.tables)).transpose()?;
            let story = commitments::narrative_facts(&log, loop_facts.as_ref());
            let (draft, narrative) = narrate(ws, store, "commit-back/summary", &story).await?;
            let (agenda, _) = agenda_of(ws, store, agent, cycle, (&draft, &story), &ingested.tables).await?;
            let xlsx = commitment_log_xlsx(&log, loop_facts.as_ref(), &ws.company, Some(&agenda))?;
            let facts = serde_json::json!({ "log": &log, "last_cycle": &loop_facts });
            let files = vec![
                ("facts.json".into(), serde_json::to_vec_pretty(&facts)?),
                ("commitment-log.json".into(), serde_json::to_vec_pretty(&log)?),
                ("narrative.json".into(), serde_json::to_vec_pretty(&draft)?),
                ("narrative-facts.json".into(), serde_json::to_vec_pretty(&story)?),
                (format!("commitment-log-{cycle}.xlsx"), xlsx),
            ];
            Ok((files, Some(narrative), Some((draft, story, agenda)), Vec::new(), checked))
        }
    }
}

/// The demand review run a cycle's consensus comes from: the run of its newest signed version
/// (with that draft's id), or else the latest succeeded run.
async fn consensus_run(store: &Store, cycle: Month) -> anyhow::Result<Option<(RunRow, Option<i64>)>> {
    artifact_run(store, crate::sop::Artifact::DemandConsensus, cycle).await
}

/// The run an artifact of a cycle comes from: the run of its newest signed version (with that
/// draft's id), or else its agent's latest succeeded run.
pub async fn artifact_run(
    store: &Store,
    artifact: crate::sop::Artifact,
    cycle: Month,
) -> anyhow::Result<Option<(RunRow, Option<i64>)>> {
    if let Some(signed) = store.latest_signed(artifact, &cycle.to_string()).await?
        && let Some(run) = store.run(signed.row.run_id).await?
    {
        return Ok(Some((run, Some(signed.row.id))));
    }
    Ok(store.last_succeeded(artifact.agent().name(), &cycle.to_string()).await?.map(|r| (r, None)))
}

/// This cycle's demand consensus (the signed one, else the latest succeeded demand review), as
/// the supply review's demand: `sku`, `customer`, `month`, `qty`; with the signed draft's id.
async fn cycle_consensus(store: &Store, cycle: Month) -> anyhow::Result<(RunRow, Option<i64>, DataFrame)> {
    let missing = || {
        UserError(format!(
            "the supply review of {cycle} needs that cycle's demand consensus, and there is none: the demand review has not run\nhint: run `snop run demand-review --cycle {cycle}` first"
        ))
    };
    let (run, signed) = consensus_run(store, cycle).await?.ok_or_else(missing)?;
    let bytes = store.run_file(&run, "consensus.parquet")?.ok_or_else(missing)?;
    let cells = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
    let demand =
        cells.lazy().select([col("sku"), col("customer"), col("month"), col("final").alias("qty")]).collect()?;
    Ok((run, signed, demand))
}

/// A cycle's signed plan as the executive agent stores it (`signed-plan.parquet`: `sku`,
/// `customer`, `month`, `requested_units`, `planned_units`, `constraint`, `gap_id`), from the
/// signed executive draft's run, else the latest succeeded executive run; `None` when the
/// executive agent has not run for that cycle.
pub(crate) async fn signed_plan_of(
    store: &Store,
    cycle: Month,
) -> anyhow::Result<Option<(RunRow, Option<i64>, DataFrame)>> {
    use crate::sop::Artifact;
    let Some((run, signed)) = artifact_run(store, Artifact::SignedPlan, cycle).await? else { return Ok(None) };
    let Some(bytes) = store.run_file(&run, "signed-plan.parquet")? else { return Ok(None) };
    let plan = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
    Ok(Some((run, signed, plan)))
}

/// What the loop closed reads from the last cycle: its commitment log (the signed version, else
/// the latest draft's run) and its signed plan, with the runs they come from.
pub struct LastCycle {
    pub log: CommitmentLog,
    pub log_run: RunRow,
    pub log_signed: Option<i64>,
    pub plan: DataFrame,
    pub plan_run: RunRow,
    pub plan_signed: Option<i64>,
}

impl LastCycle {
    /// Scores this log and plan against a cycle's ingested tables (`customers`, and
    /// `sales_history` and `open_orders` where the pipeline reads them).
    pub fn score(
        &self,
        cycle: Month,
        tables: &std::collections::BTreeMap<Table, DataFrame>,
    ) -> anyhow::Result<LoopFacts> {
        let owners = match tables.get(&Table::Customers) {
            Some(df) => commitments::account_managers(df)?,
            None => Default::default(),
        };
        let since = Month::parse(&self.log.cycle).unwrap_or(cycle.plus(-1));
        let shipments = match tables.get(&Table::SalesHistory) {
            Some(df) => commitments::shipment_lines(df, since)?,
            None => Vec::new(),
        };
        let open = match tables.get(&Table::OpenOrders) {
            Some(df) => commitments::open_order_lines(df)?,
            None => Vec::new(),
        };
        let plan = commitments::plan_rows(&self.plan)?;
        Ok(commitments::loop_facts(cycle, &self.log, self.log_signed.is_some(), &plan, &shipments, &open, &owners))
    }
}

/// Last cycle's commitment log and signed plan, or `None` when either is missing (the first
/// cycle snop runs, or a cycle whose commit-back never ran).
pub async fn last_cycle_inputs(store: &Store, cycle: Month) -> anyhow::Result<Option<LastCycle>> {
    use crate::sop::Artifact;
    let last = cycle.plus(-1);
    let Some((log_run, log_signed)) = artifact_run(store, Artifact::CommitmentLog, last).await? else {
        return Ok(None);
    };
    let Some(bytes) = store.run_file(&log_run, "commitment-log.json")? else { return Ok(None) };
    let log: CommitmentLog = serde_json::from_slice(&bytes)
        .with_context(|| format!("reading the commitment log of {last} in `{}`", log_run.folder))?;
    let Some((plan_run, plan_signed, plan)) = signed_plan_of(store, last).await? else { return Ok(None) };
    Ok(Some(LastCycle { log, log_run, log_signed, plan, plan_run, plan_signed }))
}

/// The loop closed at the start of a cycle: last cycle's commitments scored (kept, missed,
/// re-negotiated, by customer and owner) and every order line booked outside last cycle's
/// signed plan, against this cycle's ingested `customers`, `sales_history` and `open_orders`.
/// `None` when last cycle has no commitment log or no signed plan. Every agent's agenda can
/// read it; the commit-back stores it in its facts (`last_cycle`) and workbook.
pub async fn last_cycle_loop(
    store: &Store,
    cycle: Month,
    tables: &std::collections::BTreeMap<Table, DataFrame>,
) -> anyhow::Result<Option<LoopFacts>> {
    last_cycle_inputs(store, cycle).await?.map(|l| l.score(cycle, tables)).transpose()
}

/// The `commitment_updates` table (returned commitment logs) as updates with their origin.
fn commitment_updates(df: &DataFrame) -> anyhow::Result<Vec<commitments::Update>> {
    use crate::analysis::{col_f64, col_str};
    let line_id = col_str(df, "line_id")?;
    let status = col_str(df, "status")?;
    let committed = col_f64(df, "committed")?;
    let note = col_str(df, "note")?;
    let owner = col_str(df, "owner")?;
    let file = col_str(df, "source_file")?;
    let sheet = col_str(df, "source_sheet")?;
    let row: Vec<Option<u32>> = df.column("source_row")?.u32()?.iter().collect();
    Ok((0..df.height())
        .map(|i| commitments::Update {
            line_id: line_id[i].clone().unwrap_or_default(),
            status: status[i].clone().unwrap_or_default(),
            committed: committed[i],
            note: note[i].clone(),
            owner: owner[i].clone().unwrap_or_default(),
            file: file[i].clone().unwrap_or_default(),
            sheet: sheet[i].clone(),
            row: row[i].map_or(0, u64::from),
        })
        .collect())
}

/// How the narrative of a run was drafted, for the run report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NarrativeReport {
    pub model: String,
    /// `model`, `model_after_retry` or `fallback`.
    pub source: String,
    pub sections_checked: u64,
    pub sections_corrected: u64,
    pub sections_replaced: u64,
    /// Sections served from the response cache (same prompt, model and parameters as before).
    pub cache_hits: u64,
    pub llm_calls: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub estimated_cost: f64,
}

/// Drafts one narrative section with the workspace's LLM (the built-in mock, started on a free
/// loopback port, when `base_url = "mock"`, so the real client code runs).
async fn narrate(
    ws: &Workspace,
    store: &Store,
    section: &str,
    facts: &serde_json::Value,
) -> anyhow::Result<(Draft, NarrativeReport)> {
    let span = tracing::info_span!("narrative", section);
    let _enter = span.enter();
    let mut llm = ws.llm.clone();
    let mock = if llm.base_url == "mock" {
        let server = crate::narrative::mock::spawn(crate::narrative::mock::MockConfig::default()).await?;
        llm.base_url = server.base_url();
        Some(server)
    } else {
        None
    };
    let prompts = Prompts::load(&ws.root.join("prompts")).context("loading the workspace's `prompts/`")?;
    let client = crate::narrative::client::LlmClient::new(llm)?;
    let config = DraftConfig {
        masking: crate::narrative::MaskingConfig { fields: ws.mask_fields.clone() },
        endpoint_label: mock.as_ref().map(|_| "mock".to_string()),
        ..DraftConfig::default()
    };
    let drafter = Drafter::new(prompts, client, std::sync::Arc::new(store.response_cache()), config)?;
    let draft = drafter.draft_section(section, facts).await?;
    if let Some(server) = mock {
        server.shutdown().await;
    }
    let counters = drafter.counters();
    let report = NarrativeReport {
        model: draft.model.clone(),
        source: serde_json::to_value(draft.source)?.as_str().unwrap_or_default().to_string(),
        sections_checked: counters.checked,
        sections_corrected: counters.corrected,
        sections_replaced: counters.replaced,
        cache_hits: counters.cache_hits,
        llm_calls: draft.calls,
        prompt_tokens: draft.tokens.prompt_tokens,
        completion_tokens: draft.tokens.completion_tokens,
        estimated_cost: draft.cost,
    };
    Ok((draft, report))
}

fn parquet_bytes(df: &mut DataFrame) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    ParquetWriter::new(&mut out).finish(df)?;
    Ok(out)
}

/// The stored consensus of the cycles one and three months back (the signed one of each, else
/// the latest succeeded run), for accuracy at lags 1 and 3 and for the variance.
async fn earlier_consensus(
    store: &Store,
    cycle: Month,
) -> anyhow::Result<Vec<(RunRow, Option<i64>, EarlierConsensus)>> {
    let mut out = Vec::new();
    for back in [1, 3] {
        let c = cycle.plus(-back);
        let Some((run, signed)) = consensus_run(store, c).await? else { continue };
        let (Some(cells), Some(adj)) =
            (store.run_file(&run, "consensus.parquet")?, store.run_file(&run, "adjustments.parquet")?)
        else {
            continue;
        };
        let read = |b: Vec<u8>| ParquetReader::new(std::io::Cursor::new(b)).finish();
        let consensus =
            EarlierConsensus { cycle: c, signed: signed.is_some(), cells: read(cells)?, adjustments: read(adj)? };
        out.push((run, signed, consensus));
    }
    Ok(out)
}

/// The identity of a run's inputs: the pipeline as written, the cycle, snop's version and
/// every input's bytes.
fn inputs_hash(pipeline_text: &str, cycle: Month, sources: &[SourceReport]) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0]);
    h.update(pipeline_text.as_bytes());
    h.update([0]);
    h.update(cycle.to_string().as_bytes());
    for s in sources {
        for f in &s.files {
            h.update([0]);
            h.update(s.name.as_bytes());
            h.update([0]);
            h.update(f.sha256.as_bytes());
        }
    }
    hex::encode(h.finalize())
}

/// The quarantine as a CSV a planner opens in Excel.
pub fn quarantine_csv(rows: &[Quarantined]) -> anyhow::Result<Vec<u8>> {
    let s = |name: &str, f: &dyn Fn(&Quarantined) -> String| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let mut df = DataFrame::new_infer_height(vec![
        s("source", &|q| q.source.clone()),
        s("file", &|q| q.file.clone()),
        Column::new("sheet".into(), rows.iter().map(|q| q.sheet.clone()).collect::<Vec<_>>()),
        Column::new("row".into(), rows.iter().map(|q| q.row).collect::<Vec<_>>()),
        s("column", &|q| q.column.clone()),
        Column::new(
            "value".into(),
            rows.iter().map(|q| Some(q.value.clone()).filter(|v| !v.is_empty())).collect::<Vec<_>>(),
        ),
        s("reason", &|q| q.reason.clone()),
    ])?;
    let mut out = Vec::new();
    CsvWriter::new(&mut out).include_header(true).finish(&mut df)?;
    Ok(out)
}

mod backhalf;
use backhalf::{BackHalf, executive, executive_upstream, reconciliation, reconciliation_upstream};
pub use backhalf::{
    LineUpdate, commitment_log_run, cycle_signed_plan, decide, decide_each, executive_date, latest_commitment_log,
    pack_run, print_pdf, read_commitment_log, read_tradeoffs, returns_folder, signed_plan_frame, tradeoffs,
    update_commitment_lines, write_returned_log,
};
