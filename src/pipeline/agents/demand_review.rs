//! The demand review: the statistical forecast, the sales and marketing adjustments and the
//! consensus by SKU x customer x month, with accuracy and variance against the consensus of
//! earlier cycles; the consensus workbook.

use super::{Read as AgentRead, Upstream};
use crate::analysis::demand::{self, DemandInputs, EarlierConsensus};
use crate::artifacts::demand_consensus::{CONSENSUS_CSV, consensus_csv, demand_consensus_xlsx};
use crate::contract::Month;
use crate::pipeline::drafting::{Ctx, LAST_CYCLE_FILE, Prepared};
use crate::pipeline::parquet_bytes;
use crate::pipeline::upstream::earlier_consensus;
use crate::store::Store;

/// The stored consensus of the cycles one and three months back.
pub(in crate::pipeline) struct Read {
    earlier: Vec<EarlierConsensus>,
}

pub(super) async fn upstream(store: &Store, cycle: Month) -> anyhow::Result<Upstream> {
    let mut links = Vec::new();
    let mut earlier = Vec::new();
    for (run, signed, consensus) in earlier_consensus(store, cycle).await? {
        links.push((run, signed));
        earlier.push(consensus);
    }
    Ok(Upstream { links, identity: None, read: AgentRead::DemandReview(Read { earlier }) })
}

pub(super) async fn prepare(ctx: &Ctx<'_>, Read { earlier }: Read) -> anyhow::Result<Prepared> {
    let (ws, cycle) = (ctx.ws, ctx.cycle);
    let inputs = DemandInputs {
        tables: &ctx.ingested.tables,
        cycle,
        history_months: ctx.pipeline.history_months,
        earlier: &earlier,
        params: &ctx.pipeline.demand,
    };
    // Each step's time at `-v` (the analysis itself reads no clock).
    let mut t0 = std::time::Instant::now();
    let mut lap = |step: &str| {
        tracing::debug!(ms = t0.elapsed().as_millis() as u64, "demand review: {step}");
        t0 = std::time::Instant::now();
    };
    let consensus =
        tracing::info_span!("analysis").in_scope(|| tokio::task::block_in_place(|| demand::demand_review(&inputs)))?;
    lap("analysis (history, forecast and backtest, layers, totals, accuracy, variance)");
    let n = ctx.narrate(demand::narrative_facts(&consensus.facts)).await?;
    lap("narrative");
    let (mut cells, mut adjustments) = demand::consensus_frames(&consensus, cycle)?;
    let mut statistical = demand::statistical_frame(&consensus, cycle)?;
    lap("consensus tables");
    let xlsx = demand_consensus_xlsx(
        &consensus,
        &ws.company,
        "as put up for sign-off; who signed it is in `snop status`",
        Some(&n.draft),
        Some(&n.agenda),
        ws.sheet_max_rows,
    )?;
    lap("workbook");
    let mut own = vec![
        ("consensus.parquet".into(), parquet_bytes(&mut cells)?),
        ("adjustments.parquet".into(), parquet_bytes(&mut adjustments)?),
        // The statistical forecast and its interval per series and month, for other tools.
        (format!("{}statistical_forecast.parquet", crate::artifacts::tables::FOLDER), parquet_bytes(&mut statistical)?),
    ];
    drop((cells, adjustments, statistical));
    lap("parquet");
    // Every series as the workbook's consensus sheets show them, at any size.
    own.push((CONSENSUS_CSV.into(), consensus_csv(&consensus)));
    own.push((format!("demand-consensus-{cycle}.xlsx"), xlsx));
    lap("consensus csv");
    // Last cycle's promises scored against this cycle's extracts, for the later agents.
    if let Some(l) = &n.scored {
        own.push((LAST_CYCLE_FILE.into(), serde_json::to_vec_pretty(l)?));
    }
    let prepared = n.prepared(&consensus.facts, own, Vec::new());
    lap("facts.json and its tables");
    prepared
}
