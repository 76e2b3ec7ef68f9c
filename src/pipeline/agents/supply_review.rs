//! The supply review: the demand consensus stress-tested against capacity, materials and
//! suppliers; the least-cost plan; the gaps with what it would cost to fix each, priced by
//! re-solving; the supply plan workbook.

use polars::prelude::DataFrame;

use super::{Read as AgentRead, Upstream};
use crate::analysis::supply::{self, SupplyInputs};
use crate::artifacts::supply_plan::supply_plan_xlsx;
use crate::contract::Month;
use crate::pipeline::drafting::{Ctx, Prepared};
use crate::pipeline::upstream::{cycle_consensus, read_json};
use crate::store::{RunRow, Store};
use anyhow::Context as _;

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
    let started = std::time::Instant::now();
    let facts = tracing::info_span!("analysis").in_scope(|| {
        tokio::task::block_in_place(|| {
            crate::pipeline::pieces::planning(&ctx.ws.root, || supply::supply_review(&inputs)).0
        })
    })?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        gaps = facts.gaps.len(),
        re_solves = facts.totals.re_solves,
        "least-cost plan solved and gaps priced"
    );
    let n = ctx.narrate(supply::narrative_facts(&facts, signed)).await?;
    let xlsx = supply_plan_xlsx(&facts, &ctx.ws.company, Some(&n.agenda), ctx.ws.locale)?;
    let notes = vec![plan_note(&facts)];
    let mut facts = facts;
    let mut own = vec![(format!("supply-plan-{}.xlsx", ctx.cycle), xlsx)];
    own.extend(crate::artifacts::tables::take_supply_tables(&mut facts)?);
    n.prepared(&facts, own, notes)
}

/// The supply facts of a supply review's (or the executive's) run: its `facts.json` with the
/// large tables (`tables::SUPPLY_TABLES`) read back from their Parquet files. A run from before
/// they moved holds them in `facts.json`.
pub(in crate::pipeline) async fn read_facts(store: &Store, run: &RunRow) -> anyhow::Result<supply::SupplyFacts> {
    let mut facts: supply::SupplyFacts = read_json(store, run, "facts.json").await?;
    crate::artifacts::tables::restore_supply_tables(&mut facts, |name| Ok(store.run_file(run, name)?))
        .with_context(|| format!("reading the supply plan's tables in `{}`", run.folder))?;
    Ok(facts)
}

/// What the run says about its plan: the least-cost plan's cost by kind, and how many gaps are
/// notices (inside the frozen horizon) and how many were priced, with the re-solves it took.
fn plan_note(f: &supply::SupplyFacts) -> String {
    let money = crate::analysis::format_number;
    let (t, c) = (&f.totals, &f.totals.plan_cost);
    let gaps = f.gaps.len();
    format!(
        "least-cost plan: {} spent on fixes (overtime {}, holding for build-ahead {}, alternate routings {}, second sources {}, expedites {}) and {} of margin lost on {} units not served; {gaps} gap(s): {} notice(s) inside the frozen horizon, {} priced by the model ({} re-solves)",
        money(c.spend()),
        money(c.overtime_money),
        money(c.holding_money),
        money(c.routing_premium_money),
        money(c.purchase_premium_money),
        money(c.expedite_money),
        money(c.lost_margin_money),
        money(t.unmet_units),
        t.frozen_gaps,
        gaps - t.frozen_gaps,
        t.re_solves
    )
}
