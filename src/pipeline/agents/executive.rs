//! The executive S&OP: the decisions on the signed pack's trade-offs applied, the supply plan's
//! allocation recomputed with them, and the signed plan: every SKU x customer x month with what
//! was asked and what the plan gives, its decision log and its export in the ERP's columns.

use polars::prelude::DataFrame;

use super::{Read as AgentRead, Upstream};
use crate::UserError;
use crate::analysis::executive::{self, DecisionRow};
use crate::analysis::reconcile::ReconciliationFacts;
use crate::analysis::supply::{SupplyFacts, SupplyInputs, supply_review_with};
use crate::config::Workspace;
use crate::contract::Month;
use crate::pipeline::RunOptions;
use crate::pipeline::drafting::{Ctx, Prepared};
use crate::pipeline::parquet_bytes;
use crate::pipeline::upstream::{artifact_run, cycle_consensus, read_json, upstream_error};
use crate::sop::{Agent, Artifact};
use crate::store::Store;

/// What the executive meeting decides on: the cycle's pack and whether it is signed, the supply
/// plan, the consensus it was planned against, and the decisions recorded so far.
pub(in crate::pipeline) struct Read {
    pack: ReconciliationFacts,
    pack_signed: bool,
    supply: SupplyFacts,
    demand: DataFrame,
    decisions: Vec<DecisionRow>,
}

/// The executive's inputs: the cycle's reconciliation pack (signed unless `--allow-unsigned`),
/// the supply plan and the consensus it was built on, and the decisions recorded so far.
pub(super) async fn upstream(store: &Store, cycle: Month, options: RunOptions) -> anyhow::Result<Upstream> {
    let pack = artifact_run(store, Artifact::ReconciliationPack, cycle).await?;
    let problem = match &pack {
        None => Some(upstream_error(Artifact::ReconciliationPack, cycle, false, Agent::Executive)),
        Some((_, None)) if !options.allow_unsigned => {
            Some(upstream_error(Artifact::ReconciliationPack, cycle, true, Agent::Executive))
        }
        _ => None,
    };
    if let Some(p) = problem {
        return Err(UserError(p).into());
    }
    let pack = pack.expect("checked");
    let pack_facts: ReconciliationFacts = read_json(store, &pack.0, "facts.json").await?;
    let supply = artifact_run(store, Artifact::SupplyPlan, cycle)
        .await?
        .ok_or_else(|| UserError(upstream_error(Artifact::SupplyPlan, cycle, false, Agent::Executive)))?;
    let facts: SupplyFacts = super::supply_review::read_facts(store, &supply.0).await?;
    let (demand_run, demand_signed, demand) = cycle_consensus(store, cycle).await?;
    let decisions = store.decisions(&cycle.to_string()).await?;
    let through = decisions.iter().map(|d| d.id).max().unwrap_or(0);
    let read = Read { pack: pack_facts, pack_signed: pack.1.is_some(), supply: facts, demand, decisions };
    Ok(Upstream {
        identity: Some(format!("allow_unsigned {} decisions through {through}", options.allow_unsigned)),
        links: vec![pack, supply, (demand_run, demand_signed)],
        read: AgentRead::Executive(read),
    })
}

/// The executive meeting's first day of a cycle, `YYYY-MM-DD`.
pub fn executive_date(ws: &Workspace, cycle: Month) -> String {
    ws.calendar.cycle(cycle).meeting(Artifact::SignedPlan).first.format("%Y-%m-%d").to_string()
}

/// The executive: the decisions applied, the allocation recomputed, the signed plan, its
/// decision log and its export in the ERP's column names.
pub(super) async fn prepare(ctx: &Ctx<'_>, b: Read) -> anyhow::Result<Prepared> {
    let (ws, cycle, pipeline) = (ctx.ws, ctx.cycle, ctx.pipeline);
    let Read { pack, pack_signed, demand, .. } = &b;
    let (adjust, log) = executive::adjustments(pack, &b.supply, &b.decisions);
    // Plan with the supply review's own parameters, so the allocation is the same rule.
    let params = ws.pipelines.get(&Agent::SupplyReview).map_or(&pipeline.supply, |p| &p.supply);
    let inputs = SupplyInputs { tables: &ctx.ingested.tables, demand, cycle, params };
    let after = tracing::info_span!("analysis").in_scope(|| {
        tokio::task::block_in_place(|| {
            crate::pipeline::pieces::planning(&ws.root, || supply_review_with(&inputs, &adjust)).0
        })
    })?;
    let rows = executive::plan_rows(&after, &b.supply, &log);
    let n = ctx.narrate(executive::narrative_facts(pack, *pack_signed, &b.supply, &after, &rows, &log)).await?;
    let items = crate::analysis::signed_plan::item_info(ctx.table(crate::contract::Table::Items)?)?;
    let export = crate::artifacts::signed_plan::erp_export(&rows, &items, &pipeline.export, cycle)?;
    let summary = crate::analysis::signed_plan::plan_summary(&rows, &items);
    let changes = crate::analysis::signed_plan::decision_changes(&log, &b.supply, &after);
    let book = crate::artifacts::signed_plan::PlanBook {
        cycle,
        company: &ws.company,
        rows: &rows,
        items: &items,
        summary: &summary,
        log: &log,
        changes: &changes,
        agenda: Some(&n.agenda),
    };
    let workbook = crate::artifacts::signed_plan::signed_plan_xlsx(&book)?;
    let notes = export_notes(&export, &log);
    let mut frame = crate::artifacts::signed_plan::signed_plan_frame(&rows)?;
    let mut after = after;
    let large = crate::artifacts::tables::take_supply_tables(&mut after)?;
    let mut own = vec![
        ("signed-plan.parquet".into(), parquet_bytes(&mut frame)?),
        ("decisions.json".into(), serde_json::to_vec_pretty(&log)?),
        (format!("signed-plan-{cycle}.xlsx"), workbook),
        (format!("signed-plan-{cycle}-erp.csv"), export.csv),
        (format!("signed-plan-{cycle}-erp.xlsx"), export.xlsx),
    ];
    own.extend(large);
    n.prepared(&after, own, notes)
}

/// What the run says besides its files: the lines the ERP export leaves out and why, sites with
/// no plant code, trade-offs without a decision, a plan sent back.
fn export_notes(export: &crate::artifacts::signed_plan::ErpExport, log: &executive::DecisionLog) -> Vec<String> {
    let mut notes = Vec::new();
    if export.unassigned > 0 {
        notes.push(format!(
            "{} plan line(s) of launch volume not yet given to a customer (`*`) are not in the ERP export: the ERP books by customer",
            export.unassigned
        ));
    }
    if export.under_one_piece > 0 {
        notes.push(format!(
            "{} plan line(s) of discrete items under one piece are not in the ERP export (whole pieces, rounded down)",
            export.under_one_piece
        ));
    }
    if !export.sites_without_plant.is_empty() {
        notes.push(format!(
            "make site(s) {} have no plant code in `[export] plants` of `pipelines/executive.toml`: written as they are",
            export.sites_without_plant.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    if !log.undecided.is_empty() {
        notes.push(format!(
            "{} trade-off(s) have no decision yet, so the plan cannot be signed: {}",
            log.undecided.len(),
            log.undecided.join(", ")
        ));
    }
    if let Some(s) = &log.sent_back {
        notes.push(format!("the plan was sent back: {s}"));
    }
    notes
}
