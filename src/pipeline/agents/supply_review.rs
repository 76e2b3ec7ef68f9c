//! The supply review: the demand consensus stress-tested against capacity, materials and
//! suppliers; the gaps with what it would cost to fix each; the supply plan workbook.

use polars::prelude::DataFrame;

use super::{Read as AgentRead, Upstream};
use crate::analysis::supply::{self, SupplyInputs};
use crate::artifacts::supply_plan::supply_plan_xlsx;
use crate::contract::Month;
use crate::pipeline::drafting::{Ctx, Prepared};
use crate::pipeline::upstream::cycle_consensus;
use crate::store::Store;

/// This cycle's demand consensus (`sku`, `customer`, `month`, `qty`), and whether it is signed.
pub(in crate::pipeline) struct Read {
    demand: DataFrame,
    signed: bool,
}

pub(super) async fn upstream(store: &Store, cycle: Month) -> anyhow::Result<Upstream> {
    let (run, signed, demand) = cycle_consensus(store, cycle).await?;
    let read = AgentRead::SupplyReview(Read { demand, signed: signed.is_some() });
    Ok(Upstream { links: vec![(run, signed)], identity: None, read })
}

pub(super) async fn prepare(ctx: &Ctx<'_>, Read { demand, signed }: Read) -> anyhow::Result<Prepared> {
    let inputs =
        SupplyInputs { tables: &ctx.ingested.tables, demand: &demand, cycle: ctx.cycle, params: &ctx.pipeline.supply };
    let facts =
        tracing::info_span!("analysis").in_scope(|| tokio::task::block_in_place(|| supply::supply_review(&inputs)))?;
    let n = ctx.narrate(supply::narrative_facts(&facts, signed)).await?;
    let xlsx = supply_plan_xlsx(&facts, &ctx.ws.company, Some(&n.agenda))?;
    n.prepared(&facts, vec![(format!("supply-plan-{}.xlsx", ctx.cycle), xlsx)], Vec::new())
}
