//! The demand review's output types: the layers, the series with their traces, the totals,
//! accuracy, value added, variance and changes, gathered in [`DemandFacts`] and [`Consensus`].

use std::collections::BTreeMap;

use serde::Serialize;

/// The layers of the consensus, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Naive,
    Statistical,
    Sales,
    Marketing,
    Final,
}

/// One adjustment's part in one cell: what makes a final number traceable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    pub layer: Layer,
    pub owner: String,
    pub reason: String,
    pub delta_units: f64,
}

/// One SKU x customer series over the plan's months (`[demand] horizon_months`, 18 by default).
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub sku: String,
    pub customer: String,
    pub family: String,
    pub method: String,
    pub class: String,
    pub statistical: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub sales: Vec<f64>,
    pub marketing: Vec<f64>,
    /// A what-if scenario's demand change, layered on the consensus (`relayer`): empty in the
    /// demand review's own consensus.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scenario: Vec<f64>,
    /// Per month, every adjustment that moved this cell.
    pub traces: Vec<Vec<Trace>>,
}

impl Series {
    /// The final layer: every layer added, never below zero (the one bound of the consensus).
    pub fn final_units(&self, m: usize) -> f64 {
        (self.statistical[m] + self.sales[m] + self.marketing[m] + self.scenario.get(m).copied().unwrap_or(0.0))
            .max(0.0)
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LayerTotals {
    pub statistical_units: f64,
    pub sales_adjustment_units: f64,
    pub marketing_adjustment_units: f64,
    pub final_units: f64,
    pub final_revenue: f64,
    pub budget_revenue: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Accuracy {
    /// `earlier cycles` when stored consensus exists for the lag, else `backtest`.
    pub source: String,
    pub lag_months: u32,
    pub layer: Layer,
    pub wmape: Option<f64>,
    pub mape: Option<f64>,
    pub bias: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupAccuracy {
    pub group: String,
    pub lag_months: u32,
    pub statistical_wmape: Option<f64>,
    pub statistical_mape: Option<f64>,
    pub statistical_bias: Option<f64>,
    pub naive_wmape: Option<f64>,
    pub actual_units: f64,
}

/// Forecast value added: how much a layer lowered the error of the one before it, in WMAPE
/// points (positive: it helped).
#[derive(Debug, Clone, Serialize)]
pub struct ValueAdded {
    pub layer: Layer,
    pub over: Layer,
    pub lag_months: u32,
    pub source: String,
    pub wmape_before: Option<f64>,
    pub wmape_after: Option<f64>,
    pub value_added_points: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OwnerValueAdded {
    pub owner: String,
    pub layer: Layer,
    pub cells: usize,
    pub wmape_before: Option<f64>,
    pub wmape_after: Option<f64>,
    pub value_added_points: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mover {
    pub sku: String,
    pub family: String,
    pub plan_units: f64,
    pub actual_units: f64,
    pub variance_units: f64,
    pub variance_revenue: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Variance {
    pub month: String,
    /// `signed consensus` (the earlier cycle's demand consensus, signed: what is compared) or
    /// `last consensus (unsigned)`.
    pub against: String,
    pub against_cycle: String,
    pub plan_units: f64,
    pub actual_units: f64,
    pub plan_revenue: f64,
    pub actual_revenue: f64,
    pub price_effect: f64,
    pub volume_effect: f64,
    pub mix_effect: f64,
    pub by_family: Vec<Mover>,
    pub top_movers: Vec<Mover>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OwnerSummary {
    pub owner: String,
    pub layer: Layer,
    pub adjustments: usize,
    pub net_units: f64,
}

/// How this cycle's consensus moved from last cycle's over the months both cover.
#[derive(Debug, Clone, Serialize)]
pub struct ConsensusChange {
    pub against_cycle: String,
    pub from_month: String,
    pub to_month: String,
    pub last_units: f64,
    pub this_units: f64,
    pub change_units: f64,
    /// Per family, largest change first.
    pub by_family: Vec<FamilyChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FamilyChange {
    pub family: String,
    pub last_units: f64,
    pub this_units: f64,
    pub change_units: f64,
}

/// The demand review's facts: the interface the prompts and renderers read.
#[derive(Debug, Clone, Serialize)]
pub struct DemandFacts {
    pub cycle: String,
    pub months: Vec<String>,
    pub series_count: usize,
    pub totals: LayerTotals,
    pub by_month: Vec<(String, LayerTotals)>,
    pub by_family: Vec<(String, LayerTotals)>,
    pub by_customer: Vec<(String, LayerTotals)>,
    pub methods: BTreeMap<String, usize>,
    pub classes: BTreeMap<String, usize>,
    pub owners: Vec<OwnerSummary>,
    pub accuracy: Vec<Accuracy>,
    pub accuracy_by_family: Vec<GroupAccuracy>,
    pub accuracy_by_customer: Vec<GroupAccuracy>,
    pub value_added: Vec<ValueAdded>,
    pub value_added_by_owner: Vec<OwnerValueAdded>,
    /// Last month against the last plan, when an earlier plan is stored.
    pub variance: Option<Variance>,
    /// Why there is no variance, when there is none.
    pub variance_unavailable: Option<String>,
    /// What changed since last cycle's consensus (when it is stored).
    pub changes_since_last_consensus: Option<ConsensusChange>,
    /// New SKUs planned from their launch plan; discontinued SKUs cut at their end month.
    pub launches_planned: Vec<String>,
    pub discontinued_cut: Vec<String>,
}

/// The consensus: the facts plus every series, for the workbook and the store.
pub struct Consensus {
    pub facts: DemandFacts,
    pub series: Vec<Series>,
    /// Backtest accuracy per SKU (too long for the facts; in the workbook).
    pub accuracy_by_sku: Vec<GroupAccuracy>,
}

pub const CELL_COLUMNS: [&str; 9] =
    ["sku", "customer", "family", "month", "statistical", "sales", "marketing", "final", "method"];
pub const ADJUSTMENT_COLUMNS: [&str; 7] = ["sku", "customer", "month", "layer", "owner", "reason", "delta"];
