//! The pre-S&OP reconciliation: the signed demand consensus against the signed supply plan,
//! every gap resolved or made an explicit trade-off with options; the pack of at most five
//! slides (HTML, and PDF when Chromium is installed) and its appendix workbook.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::executive::executive_date;
use super::{Read as AgentRead, Upstream};
use crate::UserError;
use crate::analysis::reconcile::{self, ReconcileInputs};
use crate::analysis::supply::SupplyFacts;
use crate::config::Workspace;
use crate::contract::{Month, Table};
use crate::ingest;
use crate::pipeline::RunOptions;
use crate::pipeline::drafting::{Ctx, Prepared};
use crate::pipeline::pdf::print_pdf;
use crate::pipeline::upstream::{artifact_run, cycle_consensus, last_signed_plan, upstream_error};
use crate::sop::{Agent, Artifact, Directory};
use crate::store::Store;

/// What the reconciliation builds on.
pub(in crate::pipeline) struct Read {
    demand_signed: bool,
    supply_signed: bool,
    supply: SupplyFacts,
    /// The previous cycle's signed plan: its cycle and (sku, month, planned units).
    last_signed: Option<reconcile::SignedPlanLines>,
    /// The signed supply plan was planned against a consensus that was not signed then.
    stale_supply: Option<String>,
    /// The demand review's `facts.json` and `last-cycle.json` (what the risks read).
    demand_facts: Option<serde_json::Value>,
    last_cycle: Option<serde_json::Value>,
    /// The cycle's consensus as the executive re-plans it (the decisions' options are re-solved
    /// against it).
    consensus: DataFrame,
    /// Last cycle's consensus: its cycle and (sku, month, units).
    last_consensus: Option<reconcile::SignedPlanLines>,
}

/// The reconciliation's inputs: the cycle's demand consensus and supply plan, signed unless
/// `--allow-unsigned`, and the previous cycle's signed plan.
pub(super) async fn upstream(store: &Store, cycle: Month, options: RunOptions) -> anyhow::Result<Upstream> {
    let demand = artifact_run(store, Artifact::DemandConsensus, cycle).await?;
    let supply = artifact_run(store, Artifact::SupplyPlan, cycle).await?;
    let mut problems = Vec::new();
    for (artifact, found) in [(Artifact::DemandConsensus, &demand), (Artifact::SupplyPlan, &supply)] {
        match found {
            None => problems.push(upstream_error(artifact, cycle, false, Agent::Reconciliation)),
            Some((_, None)) if !options.allow_unsigned => {
                problems.push(upstream_error(artifact, cycle, true, Agent::Reconciliation));
            }
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(UserError(problems.join("\n")).into());
    }
    let (demand, supply) = (demand.expect("checked"), supply.expect("checked"));
    let facts: SupplyFacts = super::supply_review::read_facts(store, &supply.0).await?;
    // A supply plan signed before the consensus was: its plan may not be the signed demand.
    let planned_on: Option<serde_json::Value> =
        store.run_file(&supply.0, "narrative-facts.json")?.and_then(|b| serde_json::from_slice(&b).ok());
    let stale_supply = planned_on
        .as_ref()
        .and_then(|f| f.get("demand_consensus")?.as_str().map(str::to_string))
        .filter(|s| s != "signed" && demand.1.is_some())
        .map(|_| {
            format!(
                "the supply plan was planned against a demand consensus that was not signed at the time: run `snop run supply-review --cycle {cycle}` again and sign it, so the pack builds on the signed demand"
            )
        });
    let json_of = |name: &str| -> anyhow::Result<Option<serde_json::Value>> {
        Ok(store.run_file(&demand.0, name)?.and_then(|b| serde_json::from_slice(&b).ok()))
    };
    let (demand_facts, last_cycle) = (json_of("facts.json")?, json_of("last-cycle.json")?);
    let (_, _, consensus) = cycle_consensus(store, cycle).await?;
    let read = Read {
        last_consensus: last_consensus(store, cycle).await?,
        consensus,
        demand_facts,
        last_cycle,
        demand_signed: demand.1.is_some(),
        supply_signed: supply.1.is_some(),
        supply: facts,
        last_signed: last_signed_plan(store, cycle).await?,
        stale_supply,
    };
    Ok(Upstream {
        identity: Some(format!("allow_unsigned {}", options.allow_unsigned)),
        links: vec![demand, supply],
        read: AgentRead::Reconciliation(read),
    })
}

/// The reconciliation: facts, narrative, the five-slide deck (HTML, and PDF when Chromium is
/// installed) and the appendix workbook.
pub(super) async fn prepare(ctx: &Ctx<'_>, b: Read) -> anyhow::Result<Prepared> {
    let (ws, cycle) = (ctx.ws, ctx.cycle);
    let items = items_of(ctx.ingested)?;
    let dir = ws.directory();
    let inputs = ReconcileInputs {
        supply: &b.supply,
        items: &items,
        last_signed: b.last_signed,
        params: &ws.reconciliation,
        demand_signed: b.demand_signed,
        supply_signed: b.supply_signed,
        executive_date: executive_date(ws, cycle),
        decision_owner: decision_owner(ws, &dir),
        demand: b
            .demand_facts
            .as_ref()
            .map(|f| reconcile::risks::DemandSignals::from_json(f, b.last_cycle.as_ref(), &dir.names)),
        owners: crate::sop::ROLES
            .iter()
            .filter_map(|r| {
                let who = ws.holders(r).first()?;
                Some((r.to_string(), format!("{} ({})", dir.name(who), crate::sop::role_title(r))))
            })
            .collect(),
        locale: ws.locale,
        consensus: Some(lines_of(&b.consensus, "qty")?),
        last_consensus: b.last_consensus,
        unit_costs: unit_costs_of(ctx.ingested)?,
    };
    let mut facts = tracing::info_span!("analysis").in_scope(|| reconcile::reconcile(&inputs));
    if let Some(q) = b.stale_supply {
        facts.open_questions.insert(0, q);
    }
    let mut notes = Vec::new();
    re_solve_options(ctx, &mut facts, &b.supply, &b.consensus, &mut notes)?;
    let n = ctx.narrate(reconcile::narrative_facts(&facts)).await?;
    // `[reconciliation] pack_scenario`: base against the scenario, from their current runs.
    let scenario = match &ws.pack_scenario {
        Some(name) => Some(crate::pipeline::scenario::pack_scenario(ws, ctx.store, cycle, name).await?),
        None => None,
    };
    let deck = crate::artifacts::pack::deck_html_with(&facts, &n.draft, &ws.company, &ws.currency, scenario.as_ref())?;
    let appendix = crate::artifacts::pack::appendix_xlsx_with(&facts, &ws.company, Some(&n.agenda), scenario.as_ref())?;
    notes.extend(scenario.iter().filter_map(|s| s.problem.clone()));
    let mut files = vec![
        (format!("pack-{cycle}.html"), deck.clone().into_bytes()),
        (format!("pack-appendix-{cycle}.xlsx"), appendix),
    ];
    if let Some(s) = &scenario {
        files.push(("pack-scenario.json".to_string(), serde_json::to_vec_pretty(s)?));
    }
    if facts.built_on_unsigned_inputs {
        notes.push("drafted with --allow-unsigned: every slide says it was built on unsigned inputs".into());
    }
    match tokio::task::block_in_place(|| print_pdf(&deck)) {
        Ok(pdf) => files.push((format!("pack-{cycle}.pdf"), pdf)),
        Err(why) => notes.push(format!(
            "the PDF of the pack was not made: {why}; the HTML deck prints one slide per page\nhint: install Chromium (`apt-get install chromium`) and run the reconciliation again, or print `pack-{cycle}.html` from a browser"
        )),
    }
    n.prepared(&facts, files, notes)
}

/// Re-solves every executive decision's options as whole plans, as the executive re-plans them
/// (`analysis::executive::adjustments` of the option chosen, `supply_review_with` on the supply
/// review's extracts and parameters and the cycle's consensus); without the supply extracts in
/// `pipelines/reconciliation.toml`, the options stay the member gaps' sums and a note says so.
fn re_solve_options(
    ctx: &Ctx<'_>,
    facts: &mut reconcile::ReconciliationFacts,
    supply: &SupplyFacts,
    consensus: &DataFrame,
    notes: &mut Vec<String>,
) -> anyhow::Result<()> {
    use crate::analysis::executive::{DecisionRow, adjustments};
    use crate::analysis::supply::{SupplyInputs, SupplyParams, supply_review_with};
    let tables = &ctx.ingested.tables;
    let needed = [Table::Customers, Table::Resources, Table::Routings, Table::Bom, Table::Components, Table::Capacity];
    if facts.trade_offs.is_empty() {
        return Ok(());
    }
    if let Some(t) = needed.iter().find(|t| !tables.contains_key(t)) {
        notes.push(format!(
            "the decisions' options are the sums of their gaps' own options, not re-solved plans: `pipelines/reconciliation.toml` reads no `{}` (read the supply review's extracts, as `pipelines/executive.toml` does)",
            t.name()
        ));
        return Ok(());
    }
    let params = ctx.ws.pipelines.get(&Agent::SupplyReview).map_or(&ctx.pipeline.supply, |p| &p.supply);
    // Only the plans' totals are read: no gap of a re-plan is priced (the plan is the same).
    let params = SupplyParams { max_re_solves: 0, ..params.clone() };
    let inputs = SupplyInputs { tables, demand: consensus, cycle: ctx.cycle, params: &params };
    let pack = facts.clone();
    let cycle = ctx.cycle.to_string();
    let replan = |choices: &[reconcile::whole::Choice]| {
        let rows: Vec<DecisionRow> = choices
            .iter()
            .enumerate()
            .map(|(i, (decision, option))| DecisionRow::option(i as i64 + 1, &cycle, decision, option))
            .collect();
        let (adjust, _) = adjustments(&pack, supply, &rows);
        supply_review_with(&inputs, &adjust)
    };
    let per_option = reconcile::whole::options_re_planned(supply);
    if !per_option {
        notes.push(format!(
            "the decisions' options are the sums of their gaps' own options, not re-solved plans: the plan has more than {} SKUs (only \"with the recommended decisions\" is re-planned)",
            reconcile::whole::WHOLE_OPTIONS_UP_TO_SKUS
        ));
    }
    let started = std::time::Instant::now();
    let n = tracing::info_span!("decision options").in_scope(|| {
        tokio::task::block_in_place(|| {
            crate::pipeline::pieces::planning(&ctx.ws.root, || {
                reconcile::whole::re_solve(facts, supply, per_option, replan)
            })
            .0
        })
    })?;
    tracing::info!(re_solves = n, seconds = started.elapsed().as_secs_f64(), "decision options re-solved");
    Ok(())
}

/// Who decides the trade-offs: "Olivia Chen (COO)", the first holder of the COO or CEO role.
fn decision_owner(ws: &Workspace, dir: &Directory) -> String {
    Artifact::SignedPlan
        .signer_roles()
        .iter()
        .find_map(|r| ws.holders(r).first().map(|p| format!("{} ({})", dir.name(p), crate::sop::role_title(r))))
        .unwrap_or_else(|| dir.signers(Artifact::SignedPlan))
}

/// Last cycle's consensus (the signed one, else the latest succeeded demand review), as its
/// cycle and (sku, month, units); `None` when last cycle has none.
async fn last_consensus(store: &Store, cycle: Month) -> anyhow::Result<Option<reconcile::SignedPlanLines>> {
    let previous = cycle.plus(-1);
    let Some((run, _)) = crate::pipeline::upstream::consensus_run(store, previous).await? else { return Ok(None) };
    let Some(bytes) = store.run_file(&run, "consensus.parquet")? else { return Ok(None) };
    let cells = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
    Ok(Some((previous.to_string(), lines_of(&cells, "final")?)))
}

/// A consensus frame's (sku, month, units) lines, the units from column `units`.
fn lines_of(df: &DataFrame, units: &str) -> anyhow::Result<Vec<(String, String, f64)>> {
    let sku = df.column("sku")?.cast(&DataType::String)?;
    let month = df.column("month")?.cast(&DataType::String)?;
    let qty = df.column(units)?.cast(&DataType::Float64)?;
    let (sku, month, qty) = (sku.str()?, month.str()?, qty.f64()?);
    Ok((0..df.height())
        .filter_map(|i| Some((sku.get(i)?.to_string(), month.get(i)?.to_string(), qty.get(i)?)))
        .collect())
}

/// SKU to unit cost from the items master.
fn unit_costs_of(ingested: &ingest::Ingested) -> anyhow::Result<BTreeMap<String, f64>> {
    let df = ingested.tables.get(&Table::Items).ok_or_else(|| UserError("the pipeline reads no `items`".into()))?;
    let sku = df.column("sku")?.cast(&DataType::String)?;
    let cost = df.column("unit_cost")?.cast(&DataType::Float64)?;
    let (sku, cost) = (sku.str()?, cost.f64()?);
    Ok((0..df.height()).filter_map(|i| Some((sku.get(i)?.to_string(), cost.get(i)?))).collect())
}

/// SKU to (family, unit price) from the items master.
fn items_of(ingested: &ingest::Ingested) -> anyhow::Result<BTreeMap<String, (String, f64)>> {
    let df = ingested.tables.get(&Table::Items).ok_or_else(|| UserError("the pipeline reads no `items`".into()))?;
    let sku = df.column("sku")?.cast(&DataType::String)?;
    let family = df.column("family")?.cast(&DataType::String)?;
    let price = df.column("unit_price")?.cast(&DataType::Float64)?;
    let (sku, family, price) = (sku.str()?, family.str()?, price.f64()?);
    Ok((0..df.height())
        .filter_map(|i| {
            Some((
                sku.get(i)?.to_string(),
                (family.get(i).unwrap_or_default().to_string(), price.get(i).unwrap_or(0.0)),
            ))
        })
        .collect())
}
