//! What an agent reads from earlier runs before its analysis: the artifact a run builds on (its
//! signed version's run, else the latest), this cycle's consensus and signed plan, earlier
//! cycles' consensus, and last cycle's commitment log and plan. Every read names the run it came
//! from, so it joins the run's identity.

use anyhow::Context as _;
use polars::prelude::*;

use crate::UserError;
use crate::analysis::commitments::{self, CommitmentLog, LoopFacts};
use crate::analysis::demand::EarlierConsensus;
use crate::analysis::reconcile;
use crate::contract::{Month, Table};
use crate::sop::{Agent, Artifact};
use crate::store::{RunRow, Store};

/// An artifact this agent builds on is missing or not signed: which, and so which meeting is
/// broken.
pub(crate) fn upstream_error(artifact: Artifact, cycle: Month, exists: bool, for_agent: Agent) -> String {
    let meeting = artifact.meeting();
    let here = Artifact::of_agent(for_agent).meeting();
    if !exists {
        return format!(
            "the {} of {cycle} does not exist: the {meeting} has not run, so the {here} has nothing to build on\nhint: run `snop run {} --cycle {cycle}` first",
            artifact.title(),
            artifact.agent()
        );
    }
    let signers = artifact.signer_roles().iter().map(|r| crate::sop::role_title(r)).collect::<Vec<_>>();
    let joiner = if artifact.needs_every_signer() { " and the " } else { " or the " };
    format!(
        "the {} of {cycle} is not signed: the {meeting} has not been held (or has not signed its output), so the {here} cannot build on it\nhint: the {} approves and signs it (`snop drafts list --cycle {cycle}`); or pass `--allow-unsigned` to draft anyway, with every page marked as built on unsigned inputs",
        artifact.title(),
        signers.join(joiner)
    )
}

pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    store: &Store,
    run: &RunRow,
    name: &str,
) -> anyhow::Result<T> {
    let bytes = store
        .run_file(run, name)?
        .ok_or_else(|| anyhow::anyhow!("run {} has no `{name}` in `{}`", run.id, run.folder))?;
    serde_json::from_slice(&bytes).with_context(|| format!("reading `{}/{name}`", run.folder))
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

/// The demand review run a cycle's consensus comes from: the run of its newest signed version
/// (with that draft's id), or else the latest succeeded run.
pub(crate) async fn consensus_run(store: &Store, cycle: Month) -> anyhow::Result<Option<(RunRow, Option<i64>)>> {
    artifact_run(store, crate::sop::Artifact::DemandConsensus, cycle).await
}

/// This cycle's demand consensus (the signed one, else the latest succeeded demand review), as
/// the supply review's demand: `sku`, `customer`, `month`, `qty`; with the signed draft's id.
pub(crate) async fn cycle_consensus(store: &Store, cycle: Month) -> anyhow::Result<(RunRow, Option<i64>, DataFrame)> {
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

/// The stored consensus of the cycles one and three months back (the signed one of each, else
/// the latest succeeded run), for accuracy at lags 1 and 3 and for the variance.
pub(crate) async fn earlier_consensus(
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

/// The signed plan of a cycle, for the commit-back agent: the run of the signed executive draft
/// (with its id), else the latest succeeded executive run; and its `signed-plan.parquet`.
pub async fn cycle_signed_plan(store: &Store, cycle: Month) -> anyhow::Result<(RunRow, Option<i64>, DataFrame)> {
    signed_plan_of(store, cycle).await?.ok_or_else(|| {
        UserError(format!(
            "there is no signed plan for {cycle}: the executive S&OP has not run\nhint: run `snop run executive --cycle {cycle}` first"
        ))
        .into()
    })
}

/// The previous cycle's signed plan as (sku, month, planned units), if it has one.
pub(crate) async fn last_signed_plan(
    store: &Store,
    cycle: Month,
) -> anyhow::Result<Option<reconcile::SignedPlanLines>> {
    let previous = cycle.plus(-1);
    let Some(signed) = store.latest_signed(Artifact::SignedPlan, &previous.to_string()).await? else {
        return Ok(None);
    };
    let Some(run) = store.run(signed.row.run_id).await? else { return Ok(None) };
    let Some(bytes) = store.run_file(&run, "signed-plan.parquet")? else { return Ok(None) };
    let df = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
    let sku = df.column("sku")?.str()?.clone();
    let month = df.column("month")?.str()?.clone();
    let units = df.column("planned_units")?.f64()?.clone();
    let rows = (0..df.height())
        .filter_map(|i| Some((sku.get(i)?.to_string(), month.get(i)?.to_string(), units.get(i)?)))
        .collect();
    Ok(Some((previous.to_string(), rows)))
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
