//! Runs an agent: ingest → analysis → narrative → artifacts → store. The generic run lives
//! here (the inputs read, the run's identity hashed, an unchanged run skipped, the files staged
//! and recorded in one store transaction); each meeting's own steps live in [`agents`], the
//! drafting sequence they share in [`drafting`], and what they read from earlier runs in
//! [`upstream`]. The executive decisions and the commitment-line updates, which people make
//! between runs, are services of their own ([`decisions`], [`commitment_lines`]).

use std::time::Instant;

use anyhow::Context as _;
use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::Workspace;
use crate::contract::{Month, Quarantined};
use crate::ingest::{self, Ingested, SourceReport, Window};
use crate::sop::Agent;
use crate::store::{NewRun, RunRow, Store};
use crate::{Progress, UserError};
use drafting::Prepared;

mod agents;
pub mod commitment_lines;
pub mod decisions;
mod drafting;
pub mod pdf;
pub mod pieces;
pub mod scenario;
pub mod upstream;

pub use agents::executive_date;
pub use drafting::NarrativeReport;

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
    /// History rows older than the window, skipped and counted (per source in `sources`).
    pub rows_before_window: usize,
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
    let window = Window { cycle, history_months: pipeline.history_months, plan_months: pipeline.demand.horizon_months };
    let mut ingested = ingest::ingest(&ws.root, pipeline, window, progress)
        .await
        .with_context(|| format!("reading the inputs of `{}`", pipeline.file.display()))?;

    // What earlier runs stored that this agent builds on (part of this run's identity).
    let mut upstream = agents::upstream(agent, store, cycle, options).await?;
    if agent == Agent::Reconciliation
        && let Some(extra) = scenario::pack_identity(ws, store, cycle).await?
    {
        upstream.identity = Some(format!("{} {extra}", upstream.identity.unwrap_or_default()));
    }
    let inputs_sha256 = run_identity(&pipeline.text, cycle, &ingested.sources, &upstream);
    let previous = store.runs(Some(agent.name()), Some(&cycle.to_string())).await?.into_iter().next();
    if let Some(previous) = previous.filter(|p| p.inputs_sha256 == inputs_sha256) {
        tracing::info!(run = previous.id, "inputs unchanged since the last run");
        return Ok(RunOutcome::Unchanged { previous });
    }

    let over: Vec<SourceReport> = ingested.sources.iter().filter(|s| s.over_limit).cloned().collect();
    let outcome = if over.is_empty() { "succeeded" } else { "rejected" };
    let mut report = RunReport::new(agent, cycle, outcome, &inputs_sha256, &ingested);
    // The run's row counts what ingest found (the report adds rows judged after ingest).
    let counted = (report.rows_read as i64, report.rows_quarantined as i64, report.rows_kept as i64);
    let mut files = vec![("report.json".to_string(), serde_json::to_vec_pretty(&report)?)];
    let mut draft = None;
    if over.is_empty() {
        let ctx = drafting::Ctx { ws, store, agent, cycle, pipeline, ingested: &ingested };
        let prepared = agents::prepare(&ctx, upstream.read).await?;
        let Prepared { files: more, narrative, draft: basis, notes, quarantined } = prepared;
        report.notes = notes;
        quarantine_after_ingest(&mut report, &mut ingested, quarantined);
        if let Some(basis) = basis {
            let (content, pages) = drafting::draft_content(ws, store, agent, cycle, basis, &more).await?;
            draft = Some(content);
            files.extend(pages);
        }
        files.extend(more);
        report.narrative = narrative;
        files[0].1 = serde_json::to_vec_pretty(&report)?;
    }
    // Rendered, not yet stored: a crash here must leave no draft and no run behind.
    crate::fail_point("pipeline.after_render");
    files.extend(input_files(&ingested)?);
    let run = store
        .record_run(NewRun {
            agent: agent.name(),
            cycle: &cycle.to_string(),
            started_at: &started_at,
            duration_ms: started.elapsed().as_millis() as i64,
            outcome,
            inputs_sha256: &inputs_sha256,
            rows_read: counted.0,
            rows_quarantined: counted.1,
            rows_kept: counted.2,
            report_json: &serde_json::to_string(&report)?,
            inputs: input_rows(&ingested),
            files,
            draft,
        })
        .await?;
    if !over.is_empty() {
        return Err(rejected(agent, cycle, &run, &over, &ingested.quarantine).into());
    }
    Ok(RunOutcome::Recorded { run, report: Box::new(report) })
}

impl RunReport {
    /// The report of a run as ingest left it (the analysis adds its narrative and notes).
    fn new(agent: Agent, cycle: Month, outcome: &str, inputs_sha256: &str, ingested: &Ingested) -> RunReport {
        RunReport {
            agent: agent.name().into(),
            cycle: cycle.to_string(),
            snop_version: env!("CARGO_PKG_VERSION").into(),
            outcome: outcome.into(),
            inputs_sha256: inputs_sha256.into(),
            sources: ingested.sources.clone(),
            rows_read: ingested.sources.iter().map(|s| s.rows_read).sum(),
            rows_quarantined: ingested.sources.iter().map(|s| s.rows_quarantined).sum(),
            rows_kept: ingested.sources.iter().map(|s| s.rows_kept).sum(),
            rows_before_window: ingested.sources.iter().map(|s| s.rows_before_window).sum(),
            quarantine_sample: ingested.quarantine.iter().take(20).map(ToString::to_string).collect(),
            narrative: None,
            notes: Vec::new(),
        }
    }
}

/// The identity of a run: its inputs' bytes ([`inputs_hash`]), then what it read from earlier
/// runs (each run's id and inputs, and the signed draft it read, if signed).
fn run_identity(pipeline_text: &str, cycle: Month, sources: &[SourceReport], upstream: &agents::Upstream) -> String {
    let mut inputs_sha256 = inputs_hash(pipeline_text, cycle, sources);
    if let Some(identity) = &upstream.identity {
        inputs_sha256 = hex::encode(Sha256::digest(format!("{inputs_sha256}|{identity}")));
    }
    for (run, signed) in &upstream.links {
        inputs_sha256 = hex::encode(Sha256::digest(format!("{inputs_sha256}|{}|{}", run.id, run.inputs_sha256)));
        // Signing the consensus it builds on changes what a run says ("signed plan"): a new run.
        if let Some(draft) = signed {
            inputs_sha256 = hex::encode(Sha256::digest(format!("{inputs_sha256}|signed draft {draft}")));
        }
    }
    inputs_sha256
}

/// Rows judged after ingest (returned commitment logs against the log): quarantined and counted
/// like any other bad row, in the report and with the quarantine.
fn quarantine_after_ingest(report: &mut RunReport, ingested: &mut Ingested, mut checked: Vec<Quarantined>) {
    for q in &mut checked {
        if let Some(s) = ingested.sources.iter_mut().find(|s| s.name == q.source) {
            s.rows_quarantined += 1;
            s.rows_kept -= 1;
            crate::ingest::name_cells(std::slice::from_mut(q), &s.files);
        }
    }
    report.rows_quarantined += checked.len();
    report.rows_kept -= checked.len();
    report.sources = ingested.sources.clone();
    ingested.quarantine.extend(checked);
    ingested.quarantine.sort_by(|a, b| (&a.file, a.row).cmp(&(&b.file, b.row)));
    report.quarantine_sample = ingested.quarantine.iter().take(20).map(ToString::to_string).collect();
}

/// The files every run keeps of its inputs: the quarantine, and inputs pulled over HTTP.
fn input_files(ingested: &Ingested) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
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
    Ok(files)
}

/// Every input file a run read: source, table, location, sheet and hash.
fn input_rows(ingested: &Ingested) -> Vec<(String, String, String, Option<String>, String)> {
    ingested
        .sources
        .iter()
        .flat_map(|s| {
            s.files
                .iter()
                .map(|f| (s.name.clone(), s.table.clone(), f.location.clone(), f.sheet.clone(), f.sha256.clone()))
        })
        .collect()
}

/// The error of a run rejected for too many bad rows, naming each source over its limit.
fn rejected(agent: Agent, cycle: Month, run: &RunRow, over: &[SourceReport], quarantine: &[Quarantined]) -> UserError {
    let lines: Vec<String> = over
        .iter()
        .map(|s| {
            format!(
                "source `{}`: {} of {} rows quarantined, over the limit of {}%",
                s.name,
                s.rows_quarantined,
                s.rows_read - s.rows_before_window,
                s.max_quarantined_percent
            )
        })
        .collect();
    UserError(format!(
        "run {} of `{agent}` for {cycle} was rejected: too many bad rows; no artifact was produced\n  {}\n  the first: {}\nhint: every bad row is listed in `{}/quarantine.csv`",
        run.id,
        lines.join("\n  "),
        quarantine.first().map(ToString::to_string).unwrap_or_default(),
        run.folder
    ))
}

pub(crate) fn parquet_bytes(df: &mut DataFrame) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    ParquetWriter::new(&mut out).finish(df)?;
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

/// The quarantine as a CSV a planner opens in Excel. Every cell is text, and a value that a
/// spreadsheet would run as a formula is escaped (`crate::artifacts::csv_text`): a quarantined
/// `=HYPERLINK(...)` must not become a live link.
pub fn quarantine_csv(rows: &[Quarantined]) -> anyhow::Result<Vec<u8>> {
    let safe = |s: &str| crate::artifacts::csv_text(s).into_owned();
    let s = |name: &str, f: &dyn Fn(&Quarantined) -> &str| {
        Column::new(name.into(), rows.iter().map(|q| safe(f(q))).collect::<Vec<_>>())
    };
    // Empty cells are left empty (a layout fault names no column; a missing value has none).
    let optional = |name: &str, f: &dyn Fn(&Quarantined) -> Option<&str>| {
        Column::new(name.into(), rows.iter().map(|q| f(q).filter(|v| !v.is_empty()).map(safe)).collect::<Vec<_>>())
    };
    let mut df = DataFrame::new_infer_height(vec![
        s("source", &|q| &q.source),
        s("file", &|q| &q.file),
        optional("sheet", &|q| q.sheet.as_deref()),
        Column::new("row".into(), rows.iter().map(|q| q.row).collect::<Vec<_>>()),
        optional("column", &|q| Some(&q.column)),
        optional("cell", &|q| q.cell.as_deref()),
        optional("value", &|q| Some(&q.value)),
        s("reason", &|q| &q.reason),
    ])?;
    let mut out = Vec::new();
    CsvWriter::new(&mut out).include_header(true).finish(&mut df)?;
    Ok(out)
}
