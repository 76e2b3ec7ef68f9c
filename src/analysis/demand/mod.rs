//! The demand review's analysis: the statistical forecast per SKU x customer, the layered
//! consensus (statistical, sales, marketing, final) with the owner and reason of every
//! adjustment kept per cell, accuracy and forecast value added per layer and owner, and the
//! variance of last month's actuals against the last plan.
//!
//! Totals are bottom-up: every total (SKU, family, customer, month) is a sum of cells, so they are
//! consistent with the cells by construction.
//!
//! The review runs in named steps ([`demand_review`]), one module each: `history` reads the
//! item master and the sales history, `statistical` forecasts and plans launches,
//! `adjustments` applies the sales and marketing layers, `totals` sums the final layer,
//! `accuracy` scores the layers, `variance` compares with the last plan; `facts` holds the
//! output types, `store` the stored tables and `narrative` the facts for the narrative;
//! `relayer` puts a what-if scenario's demand change on a stored consensus as a layer, by
//! the same rules.

mod accuracy;
mod adjustments;
mod facts;
mod history;
mod narrative;
mod relayer;
mod statistical;
mod store;
mod totals;
mod variance;

use std::collections::BTreeMap;

use polars::prelude::*;

use self::adjustments::{add_pipeline, apply_adjustments};
use self::history::Actuals;
use self::statistical::StatisticalLayer;
use self::totals::Totals;
use super::AnalysisError;
use crate::contract::{Month, PLAN_MONTHS, Table};

pub use self::facts::{
    ADJUSTMENT_COLUMNS, Accuracy, CELL_COLUMNS, Consensus, ConsensusChange, DemandFacts, FamilyChange, GroupAccuracy,
    Layer, LayerTotals, Mover, OwnerSummary, OwnerValueAdded, Series, Trace, ValueAdded, Variance,
};
pub use self::narrative::narrative_facts;
pub use self::relayer::{DemandAmount, DemandChange, LayerDone, Relayered};
pub use self::store::{consensus_frames, statistical_frame};

/// The customer of a cell that is not yet anyone's: a launch planned by SKU only.
pub const UNASSIGNED: &str = "*";

/// Settings of the demand review (the pipeline's `[demand]` table).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemandParams {
    /// Add open CRM opportunities, weighted by their probability, to the sales layer.
    pub include_pipeline: bool,
    /// Opportunities below this probability (0 to 1) are left out.
    pub min_pipeline_probability: f64,
    /// How many top movers the variance lists.
    pub top_movers: usize,
    /// Months forecast and planned from the cycle on: the statistical forecast, every layer
    /// of the consensus, its workbook and tables (1 to [`MAX_HORIZON_MONTHS`]; the supply plan
    /// keeps its own [`PLAN_MONTHS`]).
    pub horizon_months: u32,
}

/// The longest `[demand] horizon_months`: five years of monthly buckets.
pub const MAX_HORIZON_MONTHS: u32 = 60;

impl DemandParams {
    /// What is wrong with the values: `(key, message)`, every problem.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let p = self.min_pipeline_probability;
        if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
            out.push(("min_pipeline_probability", format!("`{p}` must be a probability, 0 to 1")));
        }
        let h = self.horizon_months;
        if !(1..=MAX_HORIZON_MONTHS).contains(&h) {
            out.push((
                "horizon_months",
                format!("`{h}` must be a number of months between 1 and {MAX_HORIZON_MONTHS}"),
            ));
        }
        out
    }

    /// The months of the plan: `horizon_months` of them from `cycle` on (at least one).
    pub fn plan(&self, cycle: Month) -> Vec<Month> {
        (0..self.horizon_months.max(1) as i32).map(|i| cycle.plus(i)).collect()
    }
}

impl Default for DemandParams {
    fn default() -> Self {
        DemandParams {
            include_pipeline: true,
            min_pipeline_probability: 0.0,
            top_movers: 10,
            horizon_months: PLAN_MONTHS,
        }
    }
}

/// A consensus of an earlier cycle, as stored by its run, for accuracy and variance.
pub struct EarlierConsensus {
    pub cycle: Month,
    /// Whether it was signed (then it is "the signed plan").
    pub signed: bool,
    /// [`CELL_COLUMNS`] rows.
    pub cells: DataFrame,
    /// [`ADJUSTMENT_COLUMNS`] rows.
    pub adjustments: DataFrame,
}

pub struct DemandInputs<'a> {
    pub tables: &'a BTreeMap<Table, DataFrame>,
    pub cycle: Month,
    pub history_months: u32,
    /// Earlier cycles' consensus, any order.
    pub earlier: &'a [EarlierConsensus],
    pub params: &'a DemandParams,
}

/// The demand review, step by step: read the item master, the account managers and the
/// history; forecast the statistical layer and plan launches; apply the sales layer (the
/// spreadsheet, then the CRM pipeline) and the marketing layer; total the final layer
/// bottom-up; score accuracy and value added; compare last month with the last plan and this
/// consensus with the last one; gather the facts.
pub fn demand_review(inputs: &DemandInputs<'_>) -> Result<Consensus, AnalysisError> {
    let t = |table: Table| inputs.tables.get(&table).ok_or(AnalysisError::MissingTable(table));
    let cycle = inputs.cycle;
    let plan = inputs.params.plan(cycle);

    let items = history::read_items(t(Table::Items)?)?;
    let managers = history::account_managers(t(Table::Customers)?)?;
    let Actuals { history, last_month } =
        history::monthly_history(t(Table::SalesHistory)?, cycle, inputs.history_months)?;

    // The statistical layer, then new SKUs from their launch plan.
    let StatisticalLayer { mut series, mut index, discontinued_cut, backtest } =
        statistical::statistical_layer(history, &items, &plan);
    let launches_planned =
        statistical::plan_launches(inputs.tables.get(&Table::Launches), &plan, &items, &mut series, &mut index)?;

    // The sales layer: the account managers' spreadsheet, then the CRM pipeline; then marketing.
    let mut owners: BTreeMap<(String, Layer), (usize, f64)> = BTreeMap::new();
    if let Some(adj) = inputs.tables.get(&Table::SalesAdjustments) {
        apply_adjustments(adj, Layer::Sales, &plan, &items, &mut series, &mut index, &mut owners)?;
    }
    if inputs.params.include_pipeline
        && let Some(p) = inputs.tables.get(&Table::Pipeline)
    {
        add_pipeline(p, inputs, &items, &managers, &mut series, &mut index, &mut owners)?;
    }
    if let Some(adj) = inputs.tables.get(&Table::MarketingAdjustments) {
        apply_adjustments(adj, Layer::Marketing, &plan, &items, &mut series, &mut index, &mut owners)?;
    }
    series.sort_by(|a, b| (&a.sku, &a.customer).cmp(&(&b.sku, &b.customer)));

    // Totals, bottom-up.
    let budget = totals::budget_by_family_month(inputs.tables.get(&Table::Budget))?;
    let Totals { totals, by_month, by_family, by_customer, methods, classes } =
        totals::layer_totals(&series, &items, &plan, &budget);

    // Accuracy and value added.
    let (accuracy, accuracy_by_family, accuracy_by_customer, accuracy_by_sku, mut value_added) = backtest.finish();
    let (earlier_accuracy, earlier_va, value_added_by_owner) = accuracy::earlier_accuracy(inputs, &last_month)?;
    let mut all_accuracy = accuracy;
    all_accuracy.extend(earlier_accuracy);
    value_added.extend(earlier_va);

    let (variance, variance_unavailable) = match variance::variance(inputs, &last_month, &items) {
        Ok(v) => (Some(v), None),
        Err(why) => (None, Some(why)),
    };
    let changes_since_last_consensus = variance::changes_since_last(inputs, &series)?;
    let owners = owners
        .into_iter()
        .map(|((owner, layer), (n, units))| OwnerSummary { owner, layer, adjustments: n, net_units: units })
        .collect();
    let facts = DemandFacts {
        cycle: cycle.to_string(),
        months: plan.iter().map(ToString::to_string).collect(),
        series_count: series.len(),
        totals,
        by_month: by_month.into_iter().collect(),
        by_family: by_family.into_iter().collect(),
        by_customer: by_customer.into_iter().collect(),
        methods,
        classes,
        owners,
        accuracy: all_accuracy,
        accuracy_by_family,
        accuracy_by_customer,
        value_added,
        value_added_by_owner,
        variance,
        variance_unavailable,
        changes_since_last_consensus,
        launches_planned: launches_planned.into_iter().collect(),
        discontinued_cut: discontinued_cut.into_iter().collect(),
    };
    Ok(Consensus { facts, series, accuracy_by_sku })
}

#[cfg(test)]
mod tests;
