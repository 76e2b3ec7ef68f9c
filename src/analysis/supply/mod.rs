//! The supply review's analysis: stress-tests the demand consensus against capacity, materials,
//! suppliers and labour, prices every gap and its fixes, and allocates short supply into a
//! constrained plan. The output, [`SupplyFacts`], is what the supply plan's prompts and
//! renderers read.
//!
//! Decisions (each is also stated where it is made):
//! - **Open orders are inside the consensus.** The demand consensus already includes the open
//!   orders, so they are not added again. They are a floor: where the booked orders of a SKU x
//!   customer x month exceed its consensus, the booked quantity is the demand (orders requested
//!   before the cycle month are due in the cycle month).
//! - **Finished goods** above safety stock at the make site are used first, in month order;
//!   what is left is the production requirement. Safety stock is not rebuilt.
//! - **Routings are operations**: every routing of a SKU on a resource at its make site loads
//!   that resource (hours_per_unit x production). Routings at another site are that site's
//!   alternate. A SKU without a routing at its make site is loaded on all its routings.
//! - **Lead time**: production in month M needs its components by the 15th of M
//!   ([`NEED_DAY_OF_MONTH`]); a component's order must be placed `lead_time_days` before its
//!   need date, and a sub-assembly's own components are needed when its order is released.
//!   Requirements are netted level by level (on hand above safety stock, then open purchase
//!   orders by due date; past-due orders count at the cycle start). A net requirement whose
//!   order date falls before the cycle start cannot be covered by a new order: it is a material
//!   gap. One that can is a shortage to order now, not a gap.
//! - **Suppliers**: open receipts from a supplier whose OTIF is below the threshold are expected
//!   to deliver only their OTIF share; the extra in-lead-time shortage that causes is a
//!   supplier gap. The constrained plan assumes receipts arrive as promised.
//! - **Options** are priced linearly: overtime at its hourly cost within the ceiling; build
//!   ahead into spare regular hours of earlier months at the holding cost per month; an
//!   alternate site with a routing and spare hours at its premium; expedite or an alternate
//!   supplier at their premiums, reaching only demand outside the shortened lead time;
//!   accepting the shortfall at the lost margin. The recommendation takes the fixes cheapest per
//!   unit first until the gap is closed, and accepts what no fix reaches. Simplifications:
//!   build ahead and the alternate site are checked on the overloaded resource (and the
//!   alternate site's own resources) only, a capacity gap's units are hours over the average
//!   hours per unit on that resource, and spare hours a recommendation uses are reserved so two
//!   gaps never count them twice.
//! - An item that appears as a component in the BOM is exploded like a sub-assembly (no lead
//!   time, no stock of its own) but its production does not load capacity.
//! - **Constrained plan**: month by month, demand is served from finished goods, then from
//!   production limited by regular hours and by material, in the order of the allocation rule
//!   (customer priority 1 first, then unit margin). It never exceeds demand nor regular hours.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::AnalysisError;
use crate::contract::{Month, PLAN_MONTHS, Table};

/// Components are needed by this day of the month of the production they go into.
pub const NEED_DAY_OF_MONTH: u32 = 15;

const EPS: f64 = 1e-9;

/// How the constrained plan shares short supply between customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationRule {
    /// Customer priority ascending (1 first), then unit margin descending.
    PriorityThenMargin,
    /// Unit margin descending, then customer priority.
    MarginThenPriority,
}

/// The supply review's parameters. Every field has a default (stated on the field), so a
/// pipeline only names what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupplyParams {
    /// Cost of holding one unit for one month, percent of its unit cost. Default: 2.
    pub holding_cost_percent_per_month: f64,
    /// Premium to expedite a component order, percent of the component's unit cost. Default: 15.
    pub expedite_premium_percent: f64,
    /// Premium to buy a component from an alternate supplier, percent of its unit cost.
    /// Default: 25.
    pub alternate_supplier_premium_percent: f64,
    /// Lead time of an expedited or alternate-sourced order, percent of the standard lead time.
    /// Default: 50.
    pub expedited_lead_time_percent: f64,
    /// Extra cost of making a unit at an alternate site, percent of its unit cost. Default: 5.
    pub alternate_site_premium_percent: f64,
    /// Months of supplier deliveries before the cycle that OTIF is measured over. Default: 12.
    pub otif_window_months: u32,
    /// OTIF share (0 to 1) below which a supplier's open receipts are at risk. Default: 0.9.
    pub otif_threshold: f64,
    /// Days after the promised date a delivery still counts as on time. Default: 0.
    pub on_time_tolerance_days: i64,
    /// Start of the near-term window, weeks after the cycle starts. Default: 6.
    pub near_term_from_weeks: u32,
    /// End of the near-term window, weeks after the cycle starts. Default: 12.
    pub near_term_to_weeks: u32,
    /// How short supply is allocated. Default: `priority_then_margin`.
    pub allocation: AllocationRule,
}

impl Default for SupplyParams {
    fn default() -> Self {
        SupplyParams {
            holding_cost_percent_per_month: 2.0,
            expedite_premium_percent: 15.0,
            alternate_supplier_premium_percent: 25.0,
            expedited_lead_time_percent: 50.0,
            alternate_site_premium_percent: 5.0,
            otif_window_months: 12,
            otif_threshold: 0.9,
            on_time_tolerance_days: 0,
            near_term_from_weeks: 6,
            near_term_to_weeks: 12,
            allocation: AllocationRule::PriorityThenMargin,
        }
    }
}

/// What the supply review reads.
pub struct SupplyInputs<'a> {
    /// The contract tables from ingest.
    pub tables: &'a BTreeMap<Table, DataFrame>,
    /// The demand consensus: `sku`, `customer`, `month` (text `YYYY-MM`), `qty` (number), 18
    /// months from the cycle.
    pub demand: &'a DataFrame,
    pub cycle: Month,
    pub params: &'a SupplyParams,
}

// ---------------------------------------------------------------------------------------------
// The facts

/// The supply plan's facts. Money is in the workspace's currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupplyFacts {
    pub cycle: String,
    pub plan_months: Vec<String>,
    /// Plan months that overlap the near-term window (6 to 12 weeks from the cycle start).
    pub near_term_months: Vec<String>,
    pub params: SupplyParams,
    pub totals: Totals,
    /// Production requirement per SKU, make site and month (rows with demand or production).
    pub requirements: Vec<Requirement>,
    /// Rough-cut load per resource, every plan month.
    pub capacity: Vec<ResourceLoad>,
    /// Resource-months over their regular hours inside the near-term window.
    pub near_term_overloads: Vec<NearTermOverload>,
    /// Net component requirements not covered by stock or open orders, per component and month.
    pub shortages: Vec<Shortage>,
    pub suppliers: Vec<SupplierOtif>,
    pub receipts_at_risk: Vec<ReceiptAtRisk>,
    pub gaps: Vec<Gap>,
    pub constrained_plan: Vec<PlanLine>,
    pub unmet_by_customer: Vec<CustomerUnmet>,
    pub financials: Vec<FamilyMonthFinancials>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub demand_units: f64,
    /// Demand added where booked open orders exceeded the consensus.
    pub open_orders_above_consensus_units: f64,
    /// Consensus rows outside the 18 plan months, not planned.
    pub demand_rows_outside_horizon: usize,
    pub constrained_units: f64,
    pub unmet_units: f64,
    pub capacity_gaps: usize,
    pub labour_gaps: usize,
    pub material_gaps: usize,
    pub supplier_gaps: usize,
    pub revenue_unconstrained_money: f64,
    pub revenue_constrained_money: f64,
    pub margin_unconstrained_money: f64,
    pub margin_constrained_money: f64,
    /// Budget revenue over the plan months (0 without a budget).
    pub budget_revenue_money: f64,
    pub revenue_at_risk_money: f64,
    pub margin_at_risk_money: f64,
    /// Cost of every gap's recommended fixes (accepted shortfalls at their lost margin).
    pub recommended_cost_money: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    pub sku: String,
    pub site: String,
    pub month: String,
    pub demand_units: f64,
    pub from_inventory_units: f64,
    pub production_units: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceLoad {
    pub resource: String,
    pub site: String,
    pub kind: String,
    pub months: Vec<ResourceMonth>,
    /// First month the load exceeds regular hours.
    pub first_overload_month: Option<String>,
    /// First month the load exceeds regular hours plus the overtime ceiling.
    pub first_break_month: Option<String>,
    pub peak_utilisation_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceMonth {
    pub month: String,
    pub load_hours: f64,
    pub available_hours: f64,
    pub max_overtime_hours: f64,
    pub utilisation_percent: f64,
    /// Load above regular hours.
    pub overload_hours: f64,
    /// Load above regular hours plus the overtime ceiling.
    pub beyond_overtime_hours: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearTermOverload {
    pub resource: String,
    pub site: String,
    pub kind: String,
    pub month: String,
    pub overload_hours: f64,
    pub utilisation_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortage {
    pub component: String,
    pub supplier: String,
    /// The month the component is needed in.
    pub month: String,
    pub lead_time_days: i64,
    pub gross_requirement_units: f64,
    /// Not covered by stock above safety stock nor by open purchase orders.
    pub short_units: f64,
    /// Needed before a new order could arrive: no new order covers these.
    pub within_lead_time_units: f64,
    /// A new order placed in time covers these.
    pub new_order_units: f64,
    /// The latest date to place the new order (`YYYY-MM-DD`), when one is needed.
    pub order_by: Option<String>,
    pub skus_hit: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupplierOtif {
    pub supplier: String,
    /// Deliveries promised in the trailing window.
    pub deliveries: usize,
    pub on_time_percent: Option<f64>,
    pub in_full_percent: Option<f64>,
    /// None without deliveries in the window (unknown, not at risk).
    pub otif_percent: Option<f64>,
    pub below_threshold: bool,
    pub open_po_units: f64,
    pub at_risk_po_units: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptAtRisk {
    pub component: String,
    pub supplier: String,
    pub due_date: String,
    pub qty_units: f64,
    pub otif_percent: f64,
    /// The share expected on time and in full (qty x OTIF).
    pub expected_units: f64,
    /// Supplier gaps this receipt feeds.
    pub feeds_gaps: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    Capacity,
    Labour,
    Material,
    Supplier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionKind {
    Overtime,
    BuildAhead,
    AlternateSite,
    Expedite,
    AlternateSupplier,
    AcceptShortfall,
}

/// One place and month where demand cannot be met as forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub id: String,
    pub kind: GapKind,
    pub resource: Option<String>,
    pub site: Option<String>,
    pub component: Option<String>,
    pub supplier: Option<String>,
    /// The month whose demand is hit.
    pub month: String,
    /// Inside the near-term window (6 to 12 weeks out).
    pub near_term: bool,
    /// Capacity and labour gaps: hours over regular hours.
    pub hours_short: Option<f64>,
    /// Material and supplier gaps: component units short.
    pub component_units_short: Option<f64>,
    /// Finished units short.
    pub units_short: f64,
    pub revenue_at_risk_money: f64,
    pub margin_at_risk_money: f64,
    pub skus_hit: Vec<String>,
    pub customers_hit: Vec<String>,
    pub options: Vec<GapOption>,
    /// The cheapest set of options that closes the gap (or the best partial, the rest accepted).
    pub recommended: Vec<RecommendedStep>,
    pub recommended_cost_money: f64,
    /// Units the recommended fixes close (the rest is accepted as shortfall).
    pub recommended_closes_units: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapOption {
    pub kind: OptionKind,
    pub detail: String,
    /// Finished units this option can close at most.
    pub closes_units: f64,
    pub closes_percent: f64,
    pub fully_closes: bool,
    /// Cost of closing `closes_units`.
    pub cost_money: f64,
    pub cost_per_unit_money: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendedStep {
    pub kind: OptionKind,
    pub units: f64,
    pub cost_money: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanLine {
    pub sku: String,
    pub customer: String,
    pub month: String,
    pub demand_units: f64,
    pub constrained_units: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerUnmet {
    pub customer: String,
    pub priority: i64,
    pub demand_units: f64,
    pub constrained_units: f64,
    pub unmet_units: f64,
    pub unmet_revenue_money: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyMonthFinancials {
    pub family: String,
    pub month: String,
    pub revenue_unconstrained_money: f64,
    pub revenue_constrained_money: f64,
    pub margin_unconstrained_money: f64,
    pub margin_constrained_money: f64,
    pub budget_revenue_money: Option<f64>,
    /// Constrained revenue minus budget.
    pub constrained_vs_budget_money: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// Reading the tables

fn col_err(table: &str, column: &str, e: impl std::fmt::Display) -> AnalysisError {
    AnalysisError::Column { table: table.to_string(), column: column.to_string(), detail: e.to_string() }
}

fn texts(df: &DataFrame, table: &str, column: &str) -> Result<Vec<String>, AnalysisError> {
    let c = df.column(column).map_err(|e| col_err(table, column, e))?;
    let c = c.cast(&DataType::String).map_err(|e| col_err(table, column, e))?;
    let s = c.str().map_err(|e| col_err(table, column, e))?;
    Ok(s.iter().map(|v| v.unwrap_or_default().to_string()).collect())
}

fn numbers(df: &DataFrame, table: &str, column: &str) -> Result<Vec<Option<f64>>, AnalysisError> {
    let c = df.column(column).map_err(|e| col_err(table, column, e))?;
    let c = c.cast(&DataType::Float64).map_err(|e| col_err(table, column, e))?;
    let s = c.f64().map_err(|e| col_err(table, column, e))?;
    Ok(s.iter().collect())
}

fn numbers0(df: &DataFrame, table: &str, column: &str) -> Result<Vec<f64>, AnalysisError> {
    Ok(numbers(df, table, column)?.into_iter().map(|v| v.unwrap_or(0.0)).collect())
}

/// Dates as days since 1970-01-01.
fn dates(df: &DataFrame, table: &str, column: &str) -> Result<Vec<Option<i32>>, AnalysisError> {
    let c = df.column(column).map_err(|e| col_err(table, column, e))?;
    let c = c.cast(&DataType::Date).map_err(|e| col_err(table, column, e))?;
    let s = c.date().map_err(|e| col_err(table, column, e))?;
    Ok(s.physical().iter().collect())
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("date")
}

fn day_of(date: NaiveDate) -> i32 {
    (date - epoch()).num_days() as i32
}

fn date_of(day: i32) -> NaiveDate {
    epoch() + chrono::Duration::days(i64::from(day))
}

fn month_of_day(day: i32) -> Month {
    use chrono::Datelike;
    let d = date_of(day);
    Month(d.year() * 12 + d.month0() as i32)
}

fn r2(x: f64) -> f64 {
    let v = (x * 100.0).round() / 100.0;
    if v == 0.0 { 0.0 } else { v }
}

fn r3(x: f64) -> f64 {
    let v = (x * 1000.0).round() / 1000.0;
    if v == 0.0 { 0.0 } else { v }
}

struct Item {
    sku: String,
    family: String,
    price: f64,
    cost: f64,
    site: String,
}

impl Item {
    fn margin(&self) -> f64 {
        self.price - self.cost
    }
}

struct Resource {
    name: String,
    site: String,
    kind: String,
}

#[derive(Clone, Copy, Default)]
struct Cap {
    available: f64,
    overtime: f64,
    rate: f64,
}

/// A component (or an item used as a sub-assembly) in the BOM.
struct Node {
    name: String,
    supplier: String,
    lead_time_days: i64,
    unit_cost: f64,
    children: Vec<(usize, f64)>,
    /// Stock above safety stock.
    on_hand: f64,
    /// Open purchase orders: (due day, qty, supplier).
    receipts: Vec<(i32, f64, String)>,
}

/// A gross requirement on a BOM node, pegged to the finished SKU and month it serves.
#[derive(Clone, Copy)]
struct Need {
    day: i32,
    qty: f64,
    root: usize,
    root_month: usize,
    /// Node units per finished unit along the path.
    factor: f64,
}

/// A net requirement (not covered by stock or open orders).
#[derive(Clone, Copy)]
struct Short {
    node: usize,
    need: Need,
    within_lead_time: bool,
}

// ---------------------------------------------------------------------------------------------
// The analysis

/// What decisions change before the plan is recomputed (the executive's signed plan): hours
/// bought on a resource in a month, and the share of a component's in-lead-time shortfall in a
/// month that an expedite or an alternate supplier covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanAdjustments {
    /// (resource, month `YYYY-MM`) to extra regular hours. Overtime bought comes out of the
    /// overtime ceiling; build-ahead and alternate-site hours are counted as hours of the
    /// overloaded resource in the month (the simplification the options were priced with).
    pub extra_hours: BTreeMap<(String, String), f64>,
    /// (resource, month) to the overtime ceiling used up by `extra_hours` (overtime only).
    pub overtime_used: BTreeMap<(String, String), f64>,
    /// (component, month `YYYY-MM` of the production it goes into) to the share (0 to 1) of its
    /// in-lead-time shortfall that is covered.
    pub material_covered: BTreeMap<(String, String), f64>,
}

/// Computes the supply review's facts.
pub fn supply_review(inputs: &SupplyInputs<'_>) -> Result<SupplyFacts, AnalysisError> {
    supply_review_with(inputs, &PlanAdjustments::default())
}

/// The supply review's facts with decisions applied: the same analysis, the same allocation,
/// over capacity and materials as the decisions change them.
pub fn supply_review_with(inputs: &SupplyInputs<'_>, adjust: &PlanAdjustments) -> Result<SupplyFacts, AnalysisError> {
    let p = inputs.params;
    let cycle = inputs.cycle;
    let n = PLAN_MONTHS as usize;
    let months: Vec<Month> = (0..n as i32).map(|i| cycle.plus(i)).collect();
    let month_index = |m: Month| -> Option<usize> {
        let d = m.0 - cycle.0;
        (0..n as i32).contains(&d).then_some(d as usize)
    };
    let table = |t: Table| inputs.tables.get(&t).ok_or(AnalysisError::MissingTable(t));
    let cycle_start = day_of(cycle.first_day());

    // Masters.
    let df = table(Table::Items)?;
    let name = "items";
    let items: Vec<Item> = {
        let (skus, fams, prices, costs, sites) = (
            texts(df, name, "sku")?,
            texts(df, name, "family")?,
            numbers0(df, name, "unit_price")?,
            numbers0(df, name, "unit_cost")?,
            texts(df, name, "make_site")?,
        );
        let mut v: Vec<Item> = (0..skus.len())
            .map(|i| Item {
                sku: skus[i].clone(),
                family: fams[i].clone(),
                price: prices[i],
                cost: costs[i],
                site: sites[i].clone(),
            })
            .collect();
        v.sort_by(|a, b| a.sku.cmp(&b.sku));
        v
    };
    let sku_ix: BTreeMap<&str, usize> = items.iter().enumerate().map(|(i, it)| (it.sku.as_str(), i)).collect();

    let df = table(Table::Customers)?;
    let mut customers: Vec<(String, i64)> = texts(df, "customers", "customer")?
        .into_iter()
        .zip(numbers0(df, "customers", "priority")?)
        .map(|(c, p)| (c, p as i64))
        .collect();
    // Launch volume the consensus has not yet given to a customer is served last.
    let lowest = customers.iter().map(|c| c.1).max().unwrap_or(0) + 1;
    customers.push((super::demand::UNASSIGNED.to_string(), lowest));
    customers.sort();
    let cust_ix: BTreeMap<&str, usize> = customers.iter().enumerate().map(|(i, c)| (c.0.as_str(), i)).collect();

    let df = table(Table::Resources)?;
    let mut resources: Vec<Resource> = {
        let (r, s, k) =
            (texts(df, "resources", "resource")?, texts(df, "resources", "site")?, texts(df, "resources", "kind")?);
        (0..r.len()).map(|i| Resource { name: r[i].clone(), site: s[i].clone(), kind: k[i].clone() }).collect()
    };
    resources.sort_by(|a, b| a.name.cmp(&b.name));
    let res_ix: BTreeMap<&str, usize> = resources.iter().enumerate().map(|(i, r)| (r.name.as_str(), i)).collect();

    // Demand: consensus with open orders as a floor.
    let df = inputs.demand;
    let (d_sku, d_cust, d_month, d_qty) = (
        texts(df, "demand", "sku")?,
        texts(df, "demand", "customer")?,
        texts(df, "demand", "month")?,
        numbers0(df, "demand", "qty")?,
    );
    let mut cells: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    let mut outside = 0usize;
    for i in 0..d_sku.len() {
        let row = i + 1;
        let s = *sku_ix
            .get(d_sku[i].as_str())
            .ok_or_else(|| AnalysisError::Demand { row, detail: format!("unknown sku `{}`", d_sku[i]) })?;
        let c = *cust_ix
            .get(d_cust[i].as_str())
            .ok_or_else(|| AnalysisError::Demand { row, detail: format!("unknown customer `{}`", d_cust[i]) })?;
        let m = Month::parse(&d_month[i])
            .ok_or_else(|| AnalysisError::Demand { row, detail: format!("month `{}` is not `YYYY-MM`", d_month[i]) })?;
        if d_qty[i] < 0.0 || !d_qty[i].is_finite() {
            return Err(AnalysisError::Demand { row, detail: format!("qty `{}` must be >= 0", d_qty[i]) });
        }
        match month_index(m) {
            Some(mi) => cells.entry((s, c)).or_insert_with(|| vec![0.0; n])[mi] += d_qty[i],
            None => outside += 1,
        }
    }
    let mut above_consensus = 0.0;
    if let Some(df) = inputs.tables.get(&Table::OpenOrders) {
        let (s, c, m, q) = (
            texts(df, "open_orders", "sku")?,
            texts(df, "open_orders", "customer")?,
            texts(df, "open_orders", "requested_month")?,
            numbers0(df, "open_orders", "qty")?,
        );
        let mut booked: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
        for i in 0..s.len() {
            let (Some(&si), Some(&ci), Some(month)) =
                (sku_ix.get(s[i].as_str()), cust_ix.get(c[i].as_str()), Month::parse(&m[i]))
            else {
                continue; // ingest has judged these; a row it kept always resolves
            };
            // Late orders are due now.
            let mi = if month < cycle { Some(0) } else { month_index(month) };
            if let Some(mi) = mi {
                booked.entry((si, ci)).or_insert_with(|| vec![0.0; n])[mi] += q[i];
            }
        }
        for (key, b) in booked {
            let cell = cells.entry(key).or_insert_with(|| vec![0.0; n]);
            for mi in 0..n {
                if b[mi] > cell[mi] {
                    above_consensus += b[mi] - cell[mi];
                    cell[mi] = b[mi];
                }
            }
        }
    }

    // Requirements: finished goods above safety stock at the make site first.
    let mut fg_avail = vec![0.0f64; items.len()];
    let df = table(Table::Inventory)?;
    let (inv_item, inv_site, inv_on, inv_ss) = (
        texts(df, "inventory", "item")?,
        texts(df, "inventory", "site")?,
        numbers0(df, "inventory", "on_hand")?,
        numbers0(df, "inventory", "safety_stock")?,
    );
    for i in 0..inv_item.len() {
        if let Some(&s) = sku_ix.get(inv_item[i].as_str())
            && items[s].site == inv_site[i]
        {
            fg_avail[s] += (inv_on[i] - inv_ss[i]).max(0.0);
        }
    }
    let mut dem_sku = vec![vec![0.0f64; n]; items.len()];
    for (&(s, _), q) in &cells {
        for mi in 0..n {
            dem_sku[s][mi] += q[mi];
        }
    }
    let mut inv_used = vec![vec![0.0f64; n]; items.len()];
    let mut prod = vec![vec![0.0f64; n]; items.len()];
    for s in 0..items.len() {
        let mut left = fg_avail[s];
        for mi in 0..n {
            let take = dem_sku[s][mi].min(left);
            left -= take;
            inv_used[s][mi] = take;
            prod[s][mi] = dem_sku[s][mi] - take;
        }
    }

    // Routings: operations at the make site; other sites' routings are alternates.
    let df = table(Table::Routings)?;
    let (r_sku, r_res, r_h) = (
        texts(df, "routings", "sku")?,
        texts(df, "routings", "resource")?,
        numbers0(df, "routings", "hours_per_unit")?,
    );
    let mut all_routes: Vec<Vec<(usize, f64)>> = vec![Vec::new(); items.len()];
    for i in 0..r_sku.len() {
        if let (Some(&s), Some(&r)) = (sku_ix.get(r_sku[i].as_str()), res_ix.get(r_res[i].as_str())) {
            all_routes[s].push((r, r_h[i]));
        }
    }
    let mut primary: Vec<Vec<(usize, f64)>> = vec![Vec::new(); items.len()];
    let mut alternates: Vec<BTreeMap<String, Vec<(usize, f64)>>> = vec![BTreeMap::new(); items.len()];
    for s in 0..items.len() {
        all_routes[s].sort_by_key(|a| a.0);
        for &(r, h) in &all_routes[s] {
            if resources[r].site == items[s].site {
                primary[s].push((r, h));
            } else {
                alternates[s].entry(resources[r].site.clone()).or_default().push((r, h));
            }
        }
        if primary[s].is_empty() {
            primary[s] = all_routes[s].clone();
            alternates[s].clear();
        }
    }

    // Capacity.
    let df = table(Table::Capacity)?;
    let (c_res, c_month, c_av, c_ot, c_rate) = (
        texts(df, "capacity", "resource")?,
        texts(df, "capacity", "month")?,
        numbers0(df, "capacity", "available_hours")?,
        numbers0(df, "capacity", "max_overtime_hours")?,
        numbers0(df, "capacity", "overtime_cost_per_hour")?,
    );
    let mut cap = vec![vec![Cap::default(); n]; resources.len()];
    for i in 0..c_res.len() {
        if let (Some(&r), Some(mi)) = (res_ix.get(c_res[i].as_str()), Month::parse(&c_month[i]).and_then(month_index)) {
            cap[r][mi] = Cap { available: c_av[i], overtime: c_ot[i], rate: c_rate[i] };
        }
    }
    for ((res, month), hours) in &adjust.extra_hours {
        if let (Some(&r), Some(mi)) = (res_ix.get(res.as_str()), Month::parse(month).and_then(month_index)) {
            cap[r][mi].available += hours.max(0.0);
            let used = adjust.overtime_used.get(&(res.clone(), month.clone())).copied().unwrap_or(0.0);
            cap[r][mi].overtime = (cap[r][mi].overtime - used.max(0.0)).max(0.0);
        }
    }
    let nr = resources.len();
    let mut load = vec![vec![0.0f64; n]; nr];
    let mut units_on = vec![vec![0.0f64; n]; nr];
    let mut rev_on = vec![vec![0.0f64; n]; nr];
    let mut cost_on = vec![vec![0.0f64; n]; nr];
    let mut skus_on: Vec<Vec<BTreeSet<usize>>> = vec![vec![BTreeSet::new(); n]; nr];
    for s in 0..items.len() {
        for mi in 0..n {
            let q = prod[s][mi];
            if q <= EPS {
                continue;
            }
            for &(r, h) in &primary[s] {
                if h <= 0.0 {
                    continue;
                }
                load[r][mi] += q * h;
                units_on[r][mi] += q;
                rev_on[r][mi] += q * items[s].price;
                cost_on[r][mi] += q * items[s].cost;
                skus_on[r][mi].insert(s);
            }
        }
    }

    // The near-term window.
    let window_from = cycle_start + 7 * p.near_term_from_weeks as i32;
    let window_to = cycle_start + 7 * p.near_term_to_weeks as i32;
    let near_term: Vec<bool> = months
        .iter()
        .map(|m| {
            let first = day_of(m.first_day());
            let last = day_of(m.plus(1).first_day()) - 1;
            first <= window_to && last >= window_from
        })
        .collect();

    // Materials.
    let (nodes, order) = build_bom(inputs.tables, &sku_ix, cycle_start)?;
    let item_node: Vec<Option<usize>> = {
        let by_name: BTreeMap<&str, usize> = nodes.iter().enumerate().map(|(i, nd)| (nd.name.as_str(), i)).collect();
        items.iter().map(|it| by_name.get(it.sku.as_str()).copied()).collect()
    };

    // Suppliers' OTIF over the trailing window.
    let otif = supplier_otif(inputs.tables, cycle, p)?;
    let at_risk =
        |supplier: &str| -> Option<f64> { otif.get(supplier).and_then(|o| o.otif).filter(|&v| v < p.otif_threshold) };

    let base_shorts = explode(&nodes, &order, &item_node, &prod, &months, cycle_start, None);
    let risk_shorts = explode(&nodes, &order, &item_node, &prod, &months, cycle_start, Some(&at_risk));

    // Material-limited production per SKU and month (baseline: receipts as promised).
    let mut mat_short_by_node: BTreeMap<(usize, usize, usize), f64> = BTreeMap::new(); // (root, month, node) -> fg units
    for sh in base_shorts.iter().filter(|s| s.within_lead_time) {
        *mat_short_by_node.entry((sh.need.root, sh.need.root_month, sh.node)).or_default() +=
            sh.need.qty / sh.need.factor.max(EPS);
    }
    for ((_, mi, node), fg) in mat_short_by_node.iter_mut() {
        let key = (nodes[*node].name.clone(), months[*mi].to_string());
        if let Some(share) = adjust.material_covered.get(&key) {
            *fg *= 1.0 - share.clamp(0.0, 1.0);
        }
    }
    let mut mat_cap: Vec<Vec<f64>> = prod.clone();
    for (&(s, mi, _), &fg) in &mat_short_by_node {
        let limit = (prod[s][mi] - fg).max(0.0);
        if limit < mat_cap[s][mi] {
            mat_cap[s][mi] = limit;
        }
    }

    // The constrained plan.
    let margin_of = |s: usize| items[s].margin();
    let mut hours_left: Vec<Vec<f64>> = cap.iter().map(|row| row.iter().map(|c| c.available).collect()).collect();
    let mut constrained: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    for mi in 0..n {
        let mut rows: Vec<(usize, usize, f64)> =
            cells.iter().filter(|(_, q)| q[mi] > EPS).map(|(&(s, c), q)| (s, c, q[mi])).collect();
        rows.sort_by(|a, b| {
            let pa = customers[a.1].1;
            let pb = customers[b.1].1;
            let ma = margin_of(a.0);
            let mb = margin_of(b.0);
            let by_priority = pa.cmp(&pb);
            let by_margin = mb.total_cmp(&ma);
            let first = match p.allocation {
                AllocationRule::PriorityThenMargin => by_priority.then(by_margin),
                AllocationRule::MarginThenPriority => by_margin.then(by_priority),
            };
            first.then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1))
        });
        let mut inv_left: Vec<f64> = (0..items.len()).map(|s| inv_used[s][mi]).collect();
        let mut mat_left: Vec<f64> = (0..items.len()).map(|s| mat_cap[s][mi]).collect();
        for (s, c, q) in rows {
            let from_inv = q.min(inv_left[s]);
            inv_left[s] -= from_inv;
            let need = q - from_inv;
            let mut limit = mat_left[s];
            for &(r, h) in &primary[s] {
                if h > 0.0 {
                    limit = limit.min(hours_left[r][mi].max(0.0) / h);
                }
            }
            let made = need.min(limit.max(0.0));
            mat_left[s] -= made;
            for &(r, h) in &primary[s] {
                hours_left[r][mi] = (hours_left[r][mi] - made * h).max(0.0);
            }
            constrained.entry((s, c)).or_insert_with(|| vec![0.0; n])[mi] = from_inv + made;
        }
    }
    let unmet = |s: usize, c: usize, mi: usize| -> f64 {
        let d = cells.get(&(s, c)).map_or(0.0, |v| v[mi]);
        let k = constrained.get(&(s, c)).map_or(0.0, |v| v[mi]);
        (d - k).max(0.0)
    };
    let mut customers_of: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); items.len()];
    for &(s, c) in cells.keys() {
        customers_of[s].insert(c);
    }
    let customers_hit = |skus: &BTreeSet<usize>, mi: usize| -> Vec<String> {
        let mut short: BTreeSet<&str> = BTreeSet::new();
        let mut any: BTreeSet<&str> = BTreeSet::new();
        for &s in skus {
            for &c in &customers_of[s] {
                if cells[&(s, c)][mi] > EPS {
                    any.insert(&customers[c].0);
                    if unmet(s, c, mi) > 1e-6 {
                        short.insert(&customers[c].0);
                    }
                }
            }
        }
        let pick = if short.is_empty() { any } else { short };
        pick.into_iter().map(str::to_string).collect()
    };

    // Gaps: capacity and labour.
    let mut gaps: Vec<Gap> = Vec::new();
    let mut spare: Vec<Vec<f64>> =
        (0..nr).map(|r| (0..n).map(|mi| (cap[r][mi].available - load[r][mi]).max(0.0)).collect()).collect();
    for mi in 0..n {
        for r in 0..nr {
            let over = load[r][mi] - cap[r][mi].available;
            if over <= 1e-6 {
                continue;
            }
            let res = &resources[r];
            let avg_h = load[r][mi] / units_on[r][mi].max(EPS);
            let units = over / avg_h;
            let avg_price = rev_on[r][mi] / units_on[r][mi].max(EPS);
            let avg_cost = cost_on[r][mi] / units_on[r][mi].max(EPS);
            let mut options = Vec::new();
            // Overtime within the ceiling.
            let ot_hours = over.min(cap[r][mi].overtime);
            if ot_hours > EPS {
                options.push(Offer::new(
                    OptionKind::Overtime,
                    format!(
                        "{:.1} h overtime at {:.2}/h (ceiling {:.1} h)",
                        ot_hours, cap[r][mi].rate, cap[r][mi].overtime
                    ),
                    ot_hours / avg_h,
                    ot_hours * cap[r][mi].rate,
                    Vec::new(),
                ));
            }
            // Build ahead into spare regular hours of earlier months, nearest first.
            let mut left = over;
            let mut takes = Vec::new();
            let mut hold_cost = 0.0;
            for back in (0..mi).rev() {
                if left <= EPS {
                    break;
                }
                let take = spare[r][back].min(left);
                if take > EPS {
                    left -= take;
                    hold_cost +=
                        take / avg_h * avg_cost * p.holding_cost_percent_per_month / 100.0 * (mi - back) as f64;
                    takes.push((r, back, take));
                }
            }
            if !takes.is_empty() {
                let hours: f64 = takes.iter().map(|t| t.2).sum();
                let from: Vec<String> = takes.iter().map(|t| months[t.1].to_string()).collect();
                options.push(Offer::new(
                    OptionKind::BuildAhead,
                    format!("build {:.1} h ahead in {}", hours, from.join(", ")),
                    hours / avg_h,
                    hold_cost,
                    takes,
                ));
            }
            // An alternate site with a routing and spare hours in the month.
            let mut left = over;
            let mut takes = Vec::new();
            let mut alt_cost = 0.0;
            let mut sites_used = BTreeSet::new();
            for &s in &skus_on[r][mi] {
                let Some(h_here) = primary[s].iter().find(|x| x.0 == r).map(|x| x.1) else { continue };
                let mut movable = prod[s][mi].min(left / h_here);
                for (site, steps) in &alternates[s] {
                    if movable <= EPS {
                        break;
                    }
                    let mut u = movable;
                    for &(ar, h) in steps {
                        if h > 0.0 {
                            let already: f64 =
                                takes.iter().filter(|t: &&(usize, usize, f64)| t.0 == ar).map(|t| t.2).sum();
                            u = u.min((spare[ar][mi] - already).max(0.0) / h);
                        }
                    }
                    if u > EPS {
                        for &(ar, h) in steps {
                            takes.push((ar, mi, u * h));
                        }
                        sites_used.insert(site.clone());
                        alt_cost += u * items[s].cost * p.alternate_site_premium_percent / 100.0;
                        left -= u * h_here;
                        movable -= u;
                    }
                }
            }
            if over - left > EPS {
                options.push(Offer::new(
                    OptionKind::AlternateSite,
                    format!("move {:.1} h to {}", over - left, sites_used.into_iter().collect::<Vec<_>>().join(", ")),
                    (over - left) / avg_h,
                    alt_cost,
                    takes,
                ));
            }
            options.push(Offer::new(
                OptionKind::AcceptShortfall,
                "accept the shortfall: lost margin".to_string(),
                units,
                units * (avg_price - avg_cost),
                Vec::new(),
            ));
            let (recommended, taken) = recommend(&mut options, units);
            for (offer, fraction) in taken {
                for &(rr, mm, h) in &offer.takes {
                    spare[rr][mm] = (spare[rr][mm] - h * fraction).max(0.0);
                }
            }
            let kind = if res.kind == "labour" { GapKind::Labour } else { GapKind::Capacity };
            let skus: Vec<String> = skus_on[r][mi].iter().map(|&s| items[s].sku.clone()).collect();
            gaps.push(Gap {
                id: format!("{}-{}-{}", if kind == GapKind::Labour { "LAB" } else { "CAP" }, res.name, months[mi]),
                kind,
                resource: Some(res.name.clone()),
                site: Some(res.site.clone()),
                component: None,
                supplier: None,
                month: months[mi].to_string(),
                near_term: near_term[mi],
                hours_short: Some(r2(over)),
                component_units_short: None,
                units_short: r3(units),
                revenue_at_risk_money: r2(units * avg_price),
                margin_at_risk_money: r2(units * (avg_price - avg_cost)),
                customers_hit: customers_hit(&skus_on[r][mi], mi),
                skus_hit: skus,
                options: options.iter().map(|o| o.fact(units)).collect(),
                recommended_cost_money: r2(recommended.iter().map(|s| s.cost_money).sum()),
                recommended_closes_units: r3(recommended
                    .iter()
                    .filter(|s| s.kind != OptionKind::AcceptShortfall)
                    .map(|s| s.units)
                    .sum()),
                recommended,
            });
        }
    }

    // Gaps: material (baseline) and supplier (the extra when at-risk receipts slip).
    let expedited = |node: usize, need: &Need| -> bool {
        let lt = nodes[node].lead_time_days as f64 * p.expedited_lead_time_percent / 100.0;
        f64::from(need.day) - lt >= f64::from(cycle_start)
    };
    let aggregate = |shorts: &[Short]| -> BTreeMap<(usize, usize), BTreeMap<usize, Agg>> {
        let mut out: BTreeMap<(usize, usize), BTreeMap<usize, Agg>> = BTreeMap::new();
        for sh in shorts.iter().filter(|s| s.within_lead_time) {
            let a = out.entry((sh.node, sh.need.root_month)).or_default().entry(sh.need.root).or_default();
            let fg = sh.need.qty / sh.need.factor.max(EPS);
            a.comp += sh.need.qty;
            a.fg += fg;
            if expedited(sh.node, &sh.need) {
                a.comp_reach += sh.need.qty;
                a.fg_reach += fg;
            }
        }
        out
    };
    let base = aggregate(&base_shorts);
    let risk = aggregate(&risk_shorts);
    let mut po_suppliers: Vec<BTreeSet<String>> = vec![BTreeSet::new(); nodes.len()];
    for (i, nd) in nodes.iter().enumerate() {
        for (_, _, sup) in &nd.receipts {
            if at_risk(sup).is_some() {
                po_suppliers[i].insert(sup.clone());
            }
        }
    }
    let mut material_gap = |kind: GapKind, node: usize, mi: usize, by_root: &BTreeMap<usize, Agg>| {
        let nd = &nodes[node];
        let comp: f64 = by_root.values().map(|a| a.comp).sum();
        let comp_reach: f64 = by_root.values().map(|a| a.comp_reach).sum();
        let units: f64 = by_root.values().map(|a| a.fg).sum();
        let reach: f64 = by_root.values().map(|a| a.fg_reach).sum();
        if comp <= 1e-6 {
            return;
        }
        let revenue: f64 = by_root.iter().map(|(&s, a)| a.fg * items[s].price).sum();
        let margin: f64 = by_root.iter().map(|(&s, a)| a.fg * items[s].margin()).sum();
        let mut options = Vec::new();
        let lt = (nd.lead_time_days as f64 * p.expedited_lead_time_percent / 100.0).round();
        if kind == GapKind::Material && reach > EPS {
            options.push(Offer::new(
                OptionKind::Expedite,
                format!(
                    "expedite {comp_reach:.0} units from `{}` ({lt:.0} days instead of {})",
                    nd.supplier, nd.lead_time_days
                ),
                reach,
                comp_reach * nd.unit_cost * p.expedite_premium_percent / 100.0,
                Vec::new(),
            ));
        }
        if reach > EPS {
            options.push(Offer::new(
                OptionKind::AlternateSupplier,
                format!("buy {comp_reach:.0} units from an alternate supplier ({lt:.0} days)"),
                reach,
                comp_reach * nd.unit_cost * p.alternate_supplier_premium_percent / 100.0,
                Vec::new(),
            ));
        }
        options.push(Offer::new(
            OptionKind::AcceptShortfall,
            "accept the shortfall: lost margin".to_string(),
            units,
            margin,
            Vec::new(),
        ));
        let (recommended, _) = recommend(&mut options, units);
        let skus: BTreeSet<usize> = by_root.keys().copied().collect();
        let supplier = if kind == GapKind::Supplier && !po_suppliers[node].is_empty() {
            po_suppliers[node].iter().cloned().collect::<Vec<_>>().join(", ")
        } else {
            nd.supplier.clone()
        };
        gaps.push(Gap {
            id: format!("{}-{}-{}", if kind == GapKind::Material { "MAT" } else { "SUP" }, nd.name, months[mi]),
            kind,
            resource: None,
            site: None,
            component: Some(nd.name.clone()),
            supplier: Some(supplier),
            month: months[mi].to_string(),
            near_term: near_term[mi],
            hours_short: None,
            component_units_short: Some(r3(comp)),
            units_short: r3(units),
            revenue_at_risk_money: r2(revenue),
            margin_at_risk_money: r2(margin),
            skus_hit: skus.iter().map(|&s| items[s].sku.clone()).collect(),
            customers_hit: customers_hit(&skus, mi),
            options: options.iter().map(|o| o.fact(units)).collect(),
            recommended_cost_money: r2(recommended.iter().map(|s| s.cost_money).sum()),
            recommended_closes_units: r3(recommended
                .iter()
                .filter(|s| s.kind != OptionKind::AcceptShortfall)
                .map(|s| s.units)
                .sum()),
            recommended,
        });
    };
    for (&(node, mi), by_root) in &base {
        material_gap(GapKind::Material, node, mi, by_root);
    }
    for (&(node, mi), by_root) in &risk {
        let empty = BTreeMap::new();
        let before = base.get(&(node, mi)).unwrap_or(&empty);
        let mut extra: BTreeMap<usize, Agg> = BTreeMap::new();
        for (&s, a) in by_root {
            let b = before.get(&s).copied().unwrap_or_default();
            let d = Agg {
                comp: (a.comp - b.comp).max(0.0),
                fg: (a.fg - b.fg).max(0.0),
                comp_reach: (a.comp_reach - b.comp_reach).max(0.0),
                fg_reach: (a.fg_reach - b.fg_reach).max(0.0),
            };
            if d.comp > 1e-6 {
                extra.insert(s, d);
            }
        }
        if !extra.is_empty() {
            material_gap(GapKind::Supplier, node, mi, &extra);
        }
    }
    gaps.sort_by(|a, b| (&a.month, a.kind, &a.id).cmp(&(&b.month, b.kind, &b.id)));

    // Shortages per component and need month (baseline).
    let mut by_comp_month: BTreeMap<(usize, Month), ShortAgg> = BTreeMap::new();
    for sh in &base_shorts {
        let a = by_comp_month.entry((sh.node, month_of_day(sh.need.day))).or_default();
        a.short += sh.need.qty;
        if sh.within_lead_time {
            a.within += sh.need.qty;
        } else {
            let order_day = sh.need.day - nodes[sh.node].lead_time_days as i32;
            a.order_by = Some(a.order_by.map_or(order_day, |d: i32| d.min(order_day)));
        }
        a.skus.insert(sh.need.root);
    }
    let gross = gross_by_month(&nodes, &order, &item_node, &prod, &months, cycle_start);
    let shortages: Vec<Shortage> = by_comp_month
        .into_iter()
        .filter(|(_, a)| a.short > 1e-6)
        .map(|((node, m), a)| Shortage {
            component: nodes[node].name.clone(),
            supplier: nodes[node].supplier.clone(),
            month: m.to_string(),
            lead_time_days: nodes[node].lead_time_days,
            gross_requirement_units: r3(gross.get(&(node, m)).copied().unwrap_or(0.0)),
            short_units: r3(a.short),
            within_lead_time_units: r3(a.within),
            new_order_units: r3(a.short - a.within),
            order_by: a.order_by.map(|d| date_of(d).to_string()),
            skus_hit: a.skus.iter().map(|&s| items[s].sku.clone()).collect(),
        })
        .collect();

    // Suppliers and receipts at risk.
    let mut receipts_at_risk = Vec::new();
    let mut open_units: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for nd in &nodes {
        for (due, qty, sup) in &nd.receipts {
            let e = open_units.entry(sup.as_str()).or_default();
            e.0 += qty;
            if let Some(o) = at_risk(sup) {
                e.1 += qty;
                let feeds: Vec<String> = gaps
                    .iter()
                    .filter(|g| g.kind == GapKind::Supplier && g.component.as_deref() == Some(nd.name.as_str()))
                    .map(|g| g.id.clone())
                    .collect();
                receipts_at_risk.push(ReceiptAtRisk {
                    component: nd.name.clone(),
                    supplier: sup.clone(),
                    due_date: date_of(*due).to_string(),
                    qty_units: r3(*qty),
                    otif_percent: r2(o * 100.0),
                    expected_units: r3(qty * o),
                    feeds_gaps: feeds,
                });
            }
        }
    }
    receipts_at_risk
        .sort_by(|a, b| (&a.supplier, &a.component, &a.due_date).cmp(&(&b.supplier, &b.component, &b.due_date)));
    let mut supplier_names: BTreeSet<&str> = otif.keys().map(String::as_str).collect();
    supplier_names.extend(open_units.keys().copied());
    let suppliers: Vec<SupplierOtif> = supplier_names
        .into_iter()
        .map(|sup| {
            let o = otif.get(sup);
            let (open, risky) = open_units.get(sup).copied().unwrap_or_default();
            let pct = |x: Option<f64>| x.map(|v| r2(v * 100.0));
            SupplierOtif {
                supplier: sup.to_string(),
                deliveries: o.map_or(0, |o| o.deliveries),
                on_time_percent: pct(o.and_then(|o| o.on_time)),
                in_full_percent: pct(o.and_then(|o| o.in_full)),
                otif_percent: pct(o.and_then(|o| o.otif)),
                below_threshold: at_risk(sup).is_some(),
                open_po_units: r3(open),
                at_risk_po_units: r3(risky),
            }
        })
        .collect();

    // Capacity facts.
    let mut capacity = Vec::with_capacity(nr);
    let mut near_term_overloads = Vec::new();
    for (r, res) in resources.iter().enumerate() {
        let mut rows = Vec::with_capacity(n);
        let (mut first_over, mut first_break, mut peak) = (None, None, 0.0f64);
        for mi in 0..n {
            let c = cap[r][mi];
            let over = (load[r][mi] - c.available).max(0.0);
            let beyond = (load[r][mi] - c.available - c.overtime).max(0.0);
            let util = if c.available > 0.0 {
                100.0 * load[r][mi] / c.available
            } else if load[r][mi] > 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
            let util = if util.is_finite() { r2(util) } else { 9999.0 };
            peak = peak.max(util);
            if over > 1e-6 && first_over.is_none() {
                first_over = Some(months[mi].to_string());
            }
            if beyond > 1e-6 && first_break.is_none() {
                first_break = Some(months[mi].to_string());
            }
            if over > 1e-6 && near_term[mi] {
                near_term_overloads.push(NearTermOverload {
                    resource: res.name.clone(),
                    site: res.site.clone(),
                    kind: res.kind.clone(),
                    month: months[mi].to_string(),
                    overload_hours: r2(over),
                    utilisation_percent: util,
                });
            }
            rows.push(ResourceMonth {
                month: months[mi].to_string(),
                load_hours: r2(load[r][mi]),
                available_hours: r2(c.available),
                max_overtime_hours: r2(c.overtime),
                utilisation_percent: util,
                overload_hours: r2(over),
                beyond_overtime_hours: r2(beyond),
            });
        }
        capacity.push(ResourceLoad {
            resource: res.name.clone(),
            site: res.site.clone(),
            kind: res.kind.clone(),
            months: rows,
            first_overload_month: first_over,
            first_break_month: first_break,
            peak_utilisation_percent: peak,
        });
    }
    near_term_overloads.sort_by(|a, b| (&a.month, &a.resource).cmp(&(&b.month, &b.resource)));

    // Requirements.
    let mut requirements = Vec::new();
    for (s, it) in items.iter().enumerate() {
        for mi in 0..n {
            if dem_sku[s][mi] > EPS {
                requirements.push(Requirement {
                    sku: it.sku.clone(),
                    site: it.site.clone(),
                    month: months[mi].to_string(),
                    demand_units: r3(dem_sku[s][mi]),
                    from_inventory_units: r3(inv_used[s][mi]),
                    production_units: r3(prod[s][mi]),
                });
            }
        }
    }

    // The constrained plan, unmet demand by customer, financials.
    let mut constrained_plan = Vec::new();
    let mut per_customer: BTreeMap<usize, (f64, f64, f64)> = BTreeMap::new();
    let mut fin: BTreeMap<(String, usize), [f64; 4]> = BTreeMap::new();
    for (&(s, c), d) in &cells {
        let none = vec![0.0; n];
        let k = constrained.get(&(s, c)).unwrap_or(&none);
        for mi in 0..n {
            if d[mi] <= EPS {
                continue;
            }
            constrained_plan.push(PlanLine {
                sku: items[s].sku.clone(),
                customer: customers[c].0.clone(),
                month: months[mi].to_string(),
                demand_units: r3(d[mi]),
                constrained_units: r3(k[mi]),
            });
            let e = per_customer.entry(c).or_default();
            e.0 += d[mi];
            e.1 += k[mi];
            e.2 += (d[mi] - k[mi]) * items[s].price;
            let f = fin.entry((items[s].family.clone(), mi)).or_default();
            f[0] += d[mi] * items[s].price;
            f[1] += k[mi] * items[s].price;
            f[2] += d[mi] * items[s].margin();
            f[3] += k[mi] * items[s].margin();
        }
    }
    constrained_plan.sort_by(|a, b| (&a.month, &a.sku, &a.customer).cmp(&(&b.month, &b.sku, &b.customer)));
    let unmet_by_customer: Vec<CustomerUnmet> = per_customer
        .into_iter()
        .map(|(c, (d, k, rev))| CustomerUnmet {
            customer: customers[c].0.clone(),
            priority: customers[c].1,
            demand_units: r3(d),
            constrained_units: r3(k),
            unmet_units: r3(d - k),
            unmet_revenue_money: r2(rev),
        })
        .collect();
    let mut budget: BTreeMap<(String, usize), f64> = BTreeMap::new();
    if let Some(df) = inputs.tables.get(&Table::Budget) {
        let (f, m, v) =
            (texts(df, "budget", "family")?, texts(df, "budget", "month")?, numbers0(df, "budget", "revenue")?);
        for i in 0..f.len() {
            if let Some(mi) = Month::parse(&m[i]).and_then(month_index) {
                *budget.entry((f[i].clone(), mi)).or_default() += v[i];
            }
        }
    }
    let mut keys: BTreeSet<(String, usize)> = fin.keys().cloned().collect();
    keys.extend(budget.keys().cloned());
    let mut financials = Vec::new();
    for key in keys {
        let f = fin.get(&key).copied().unwrap_or_default();
        let b = budget.get(&key).copied();
        financials.push(FamilyMonthFinancials {
            family: key.0.clone(),
            month: months[key.1].to_string(),
            revenue_unconstrained_money: r2(f[0]),
            revenue_constrained_money: r2(f[1]),
            margin_unconstrained_money: r2(f[2]),
            margin_constrained_money: r2(f[3]),
            budget_revenue_money: b.map(r2),
            constrained_vs_budget_money: b.map(|b| r2(f[1] - b)),
        });
    }
    financials.sort_by(|a, b| (&a.month, &a.family).cmp(&(&b.month, &b.family)));

    let sum_fin = |i: usize| fin.values().map(|f| f[i]).sum::<f64>();
    let demand_units: f64 = cells.values().flatten().sum();
    let constrained_units: f64 = constrained.values().flatten().sum();
    let count = |k: GapKind| gaps.iter().filter(|g| g.kind == k).count();
    let totals = Totals {
        demand_units: r3(demand_units),
        open_orders_above_consensus_units: r3(above_consensus),
        demand_rows_outside_horizon: outside,
        constrained_units: r3(constrained_units),
        unmet_units: r3(demand_units - constrained_units),
        capacity_gaps: count(GapKind::Capacity),
        labour_gaps: count(GapKind::Labour),
        material_gaps: count(GapKind::Material),
        supplier_gaps: count(GapKind::Supplier),
        revenue_unconstrained_money: r2(sum_fin(0)),
        revenue_constrained_money: r2(sum_fin(1)),
        margin_unconstrained_money: r2(sum_fin(2)),
        margin_constrained_money: r2(sum_fin(3)),
        budget_revenue_money: r2(budget.values().sum()),
        revenue_at_risk_money: r2(gaps.iter().map(|g| g.revenue_at_risk_money).sum()),
        margin_at_risk_money: r2(gaps.iter().map(|g| g.margin_at_risk_money).sum()),
        recommended_cost_money: r2(gaps.iter().map(|g| g.recommended_cost_money).sum()),
    };

    Ok(SupplyFacts {
        cycle: cycle.to_string(),
        plan_months: months.iter().map(Month::to_string).collect(),
        near_term_months: months.iter().zip(&near_term).filter(|(_, w)| **w).map(|(m, _)| m.to_string()).collect(),
        params: p.clone(),
        totals,
        requirements,
        capacity,
        near_term_overloads,
        shortages,
        suppliers,
        receipts_at_risk,
        gaps,
        constrained_plan,
        unmet_by_customer,
        financials,
    })
}

#[derive(Clone, Copy, Default)]
struct Agg {
    comp: f64,
    fg: f64,
    comp_reach: f64,
    fg_reach: f64,
}

#[derive(Default)]
struct ShortAgg {
    short: f64,
    within: f64,
    order_by: Option<i32>,
    skus: BTreeSet<usize>,
}

/// An option while it is being priced; `takes` are the spare hours it would use.
struct Offer {
    kind: OptionKind,
    detail: String,
    units: f64,
    cost: f64,
    takes: Vec<(usize, usize, f64)>,
}

impl Offer {
    fn new(kind: OptionKind, detail: String, units: f64, cost: f64, takes: Vec<(usize, usize, f64)>) -> Offer {
        Offer { kind, detail, units, cost, takes }
    }

    fn per_unit(&self) -> f64 {
        if self.units > EPS { self.cost / self.units } else { f64::INFINITY }
    }

    fn fact(&self, gap_units: f64) -> GapOption {
        let closes = self.units.min(gap_units);
        GapOption {
            kind: self.kind,
            detail: self.detail.clone(),
            closes_units: r3(closes),
            closes_percent: if gap_units > EPS { r2(100.0 * closes / gap_units) } else { 100.0 },
            fully_closes: closes >= gap_units - 1e-6,
            cost_money: r2(self.cost),
            cost_per_unit_money: if self.units > EPS { r2(self.per_unit()) } else { 0.0 },
        }
    }
}

/// The cheapest set of fixes per unit that closes `units`; what no fix reaches is accepted.
/// Returns the steps and, per fix used, the share of it used.
fn recommend(options: &mut [Offer], units: f64) -> (Vec<RecommendedStep>, Vec<(&Offer, f64)>) {
    options.sort_by(|a, b| {
        let accept = |o: &Offer| o.kind == OptionKind::AcceptShortfall;
        accept(a).cmp(&accept(b)).then(a.per_unit().total_cmp(&b.per_unit())).then(a.kind.cmp(&b.kind))
    });
    let mut left = units;
    let mut steps = Vec::new();
    let mut used = Vec::new();
    for o in options.iter() {
        if left <= 1e-9 {
            break;
        }
        if o.kind == OptionKind::AcceptShortfall {
            steps.push(RecommendedStep { kind: o.kind, units: r3(left), cost_money: r2(left * o.per_unit()) });
            break;
        }
        let take = o.units.min(left);
        if take <= EPS {
            continue;
        }
        let fraction = take / o.units;
        steps.push(RecommendedStep { kind: o.kind, units: r3(take), cost_money: r2(o.cost * fraction) });
        used.push((o, fraction));
        left -= take;
    }
    (steps, used)
}

/// Reads components, the BOM, component stock and open purchase orders into nodes, and
/// returns them with a topological order (parents before children). A loop is an error that
/// names it.
fn build_bom(
    tables: &BTreeMap<Table, DataFrame>,
    sku_ix: &BTreeMap<&str, usize>,
    cycle_start: i32,
) -> Result<(Vec<Node>, Vec<usize>), AnalysisError> {
    let get = |t: Table| tables.get(&t).ok_or(AnalysisError::MissingTable(t));
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut node = |name: &str, nodes: &mut Vec<Node>| -> usize {
        if let Some(&i) = names.get(name) {
            return i;
        }
        nodes.push(Node {
            name: name.to_string(),
            supplier: String::new(),
            lead_time_days: 0,
            unit_cost: 0.0,
            children: Vec::new(),
            on_hand: 0.0,
            receipts: Vec::new(),
        });
        names.insert(name.to_string(), nodes.len() - 1);
        nodes.len() - 1
    };
    let df = get(Table::Components)?;
    let (c, s, lt, uc) = (
        texts(df, "components", "component")?,
        texts(df, "components", "supplier")?,
        numbers0(df, "components", "lead_time_days")?,
        numbers0(df, "components", "unit_cost")?,
    );
    for i in 0..c.len() {
        let k = node(&c[i], &mut nodes);
        nodes[k].supplier = s[i].clone();
        nodes[k].lead_time_days = lt[i] as i64;
        nodes[k].unit_cost = uc[i];
    }
    let df = get(Table::Bom)?;
    let (par, comp, q) =
        (texts(df, "bom", "parent_sku")?, texts(df, "bom", "component")?, numbers0(df, "bom", "qty_per")?);
    for i in 0..par.len() {
        let a = node(&par[i], &mut nodes);
        let b = node(&comp[i], &mut nodes);
        nodes[a].children.push((b, q[i]));
    }
    // Finished items that appear in the BOM have no stock of their own here (it served their
    // demand) and are made in-house with no lead time.
    let df = get(Table::Inventory)?;
    let (item, on, ss) = (
        texts(df, "inventory", "item")?,
        numbers0(df, "inventory", "on_hand")?,
        numbers0(df, "inventory", "safety_stock")?,
    );
    for i in 0..item.len() {
        if sku_ix.contains_key(item[i].as_str()) {
            continue;
        }
        if let Some(&k) = names.get(item[i].as_str()) {
            nodes[k].on_hand += (on[i] - ss[i]).max(0.0);
        }
    }
    if let Some(df) = tables.get(&Table::OpenPurchaseOrders) {
        let (c, s, due, q) = (
            texts(df, "open_purchase_orders", "component")?,
            texts(df, "open_purchase_orders", "supplier")?,
            dates(df, "open_purchase_orders", "due_date")?,
            numbers0(df, "open_purchase_orders", "qty")?,
        );
        for i in 0..c.len() {
            if let Some(&k) = names.get(c[i].as_str()) {
                // Past-due receipts are expected at the cycle start.
                let day = due[i].unwrap_or(cycle_start).max(cycle_start);
                nodes[k].receipts.push((day, q[i], s[i].clone()));
            }
        }
    }
    for nd in &mut nodes {
        nd.children.sort_by_key(|a| a.0);
        nd.receipts.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)).then(a.1.total_cmp(&b.1)));
    }
    // Topological order by depth-first search; a grey node met again closes a loop.
    let mut state = vec![0u8; nodes.len()]; // 0 new, 1 on the stack, 2 done
    let mut post = Vec::with_capacity(nodes.len());
    for start in 0..nodes.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if *next < nodes[v].children.len() {
                let w = nodes[v].children[*next].0;
                *next += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|&(x, _)| x == w).unwrap_or(0);
                        let mut path: Vec<String> = stack[from..].iter().map(|&(x, _)| nodes[x].name.clone()).collect();
                        path.push(nodes[w].name.clone());
                        return Err(AnalysisError::BomCycle { path });
                    }
                    _ => {}
                }
            } else {
                state[v] = 2;
                post.push(v);
                stack.pop();
            }
        }
    }
    post.reverse();
    Ok((nodes, post))
}

/// The first-level gross requirements of each finished SKU's production.
fn root_needs(nodes: &[Node], item_node: &[Option<usize>], prod: &[Vec<f64>], months: &[Month]) -> Vec<Vec<Need>> {
    let mut needs: Vec<Vec<Need>> = vec![Vec::new(); nodes.len()];
    for (s, node) in item_node.iter().enumerate() {
        let Some(k) = *node else { continue };
        for (mi, m) in months.iter().enumerate() {
            let q = prod[s][mi];
            if q <= EPS {
                continue;
            }
            let day = day_of(m.first_day()) + NEED_DAY_OF_MONTH as i32 - 1;
            for &(c, per) in &nodes[k].children {
                if per > 0.0 {
                    needs[c].push(Need { day, qty: q * per, root: s, root_month: mi, factor: per });
                }
            }
        }
    }
    needs
}

/// The share of a supplier's receipts expected on time and in full, when it is at risk.
type RiskShare<'a> = &'a dyn Fn(&str) -> Option<f64>;

/// Nets requirements level by level and returns every net requirement, pegged to its finished
/// SKU. With `at_risk`, receipts from a supplier below the OTIF threshold count at their OTIF
/// share.
fn explode(
    nodes: &[Node],
    order: &[usize],
    item_node: &[Option<usize>],
    prod: &[Vec<f64>],
    months: &[Month],
    cycle_start: i32,
    at_risk: Option<RiskShare<'_>>,
) -> Vec<Short> {
    let mut needs = root_needs(nodes, item_node, prod, months);
    let is_item: BTreeSet<usize> = item_node.iter().flatten().copied().collect();
    let mut shorts = Vec::new();
    for &v in order {
        let mut list = std::mem::take(&mut needs[v]);
        if list.is_empty() {
            continue;
        }
        list.sort_by(|a, b| a.day.cmp(&b.day).then(a.root.cmp(&b.root)).then(a.root_month.cmp(&b.root_month)));
        let nd = &nodes[v];
        let mut avail = if is_item.contains(&v) { 0.0 } else { nd.on_hand };
        let mut next_receipt = 0;
        for need in list {
            while next_receipt < nd.receipts.len() && nd.receipts[next_receipt].0 <= need.day {
                let (_, q, sup) = &nd.receipts[next_receipt];
                let share = at_risk.and_then(|f| f(sup)).unwrap_or(1.0);
                avail += q * share;
                next_receipt += 1;
            }
            let take = need.qty.min(avail);
            avail -= take;
            let net = need.qty - take;
            if net <= EPS {
                continue;
            }
            let release = need.day - nd.lead_time_days as i32;
            let within = release < cycle_start;
            shorts.push(Short { node: v, need: Need { qty: net, ..need }, within_lead_time: within });
            if !within {
                for &(c, per) in &nd.children {
                    if per > 0.0 {
                        needs[c].push(Need {
                            day: release,
                            qty: net * per,
                            root: need.root,
                            root_month: need.root_month,
                            factor: need.factor * per,
                        });
                    }
                }
            }
        }
    }
    shorts
}

/// Gross requirements per component and need month, before any netting (for the shortage table).
fn gross_by_month(
    nodes: &[Node],
    order: &[usize],
    item_node: &[Option<usize>],
    prod: &[Vec<f64>],
    months: &[Month],
    cycle_start: i32,
) -> BTreeMap<(usize, Month), f64> {
    // Netting changes the quantities passed down, so the gross is what each level was asked for.
    let mut needs = root_needs(nodes, item_node, prod, months);
    let mut out = BTreeMap::new();
    let is_item: BTreeSet<usize> = item_node.iter().flatten().copied().collect();
    for &v in order {
        let list = std::mem::take(&mut needs[v]);
        let nd = &nodes[v];
        let mut avail = if is_item.contains(&v) { 0.0 } else { nd.on_hand };
        let mut next_receipt = 0;
        let mut sorted = list;
        sorted.sort_by(|a, b| a.day.cmp(&b.day).then(a.root.cmp(&b.root)).then(a.root_month.cmp(&b.root_month)));
        for need in sorted {
            *out.entry((v, month_of_day(need.day))).or_insert(0.0) += need.qty;
            while next_receipt < nd.receipts.len() && nd.receipts[next_receipt].0 <= need.day {
                avail += nd.receipts[next_receipt].1;
                next_receipt += 1;
            }
            let take = need.qty.min(avail);
            avail -= take;
            let net = need.qty - take;
            let release = need.day - nd.lead_time_days as i32;
            if net > EPS && release >= cycle_start {
                for &(c, per) in &nd.children {
                    needs[c].push(Need { day: release, qty: net * per, factor: need.factor * per, ..need });
                }
            }
        }
    }
    out
}

struct Otif {
    deliveries: usize,
    on_time: Option<f64>,
    in_full: Option<f64>,
    otif: Option<f64>,
}

/// OTIF per supplier over the deliveries promised in the trailing window before the cycle.
fn supplier_otif(
    tables: &BTreeMap<Table, DataFrame>,
    cycle: Month,
    p: &SupplyParams,
) -> Result<BTreeMap<String, Otif>, AnalysisError> {
    let mut out = BTreeMap::new();
    let Some(df) = tables.get(&Table::SupplierDeliveries) else { return Ok(out) };
    let name = "supplier_deliveries";
    let (sup, prom, del, qp, qd) = (
        texts(df, name, "supplier")?,
        dates(df, name, "promised_date")?,
        dates(df, name, "delivered_date")?,
        numbers0(df, name, "qty_promised")?,
        numbers(df, name, "qty_delivered")?,
    );
    let from = day_of(cycle.plus(-(p.otif_window_months as i32)).first_day());
    let to = day_of(cycle.first_day());
    let mut counts: BTreeMap<&str, (usize, usize, usize, usize)> = BTreeMap::new();
    for i in 0..sup.len() {
        let Some(promised) = prom[i] else { continue };
        if promised < from || promised >= to {
            continue;
        }
        let on_time = del[i].is_some_and(|d| i64::from(d) <= i64::from(promised) + p.on_time_tolerance_days);
        let in_full = qd[i].unwrap_or(0.0) >= qp[i];
        let e = counts.entry(sup[i].as_str()).or_default();
        e.0 += 1;
        e.1 += usize::from(on_time);
        e.2 += usize::from(in_full);
        e.3 += usize::from(on_time && in_full);
    }
    for (s, (n, ot, inf, both)) in counts {
        let share = |k: usize| Some(k as f64 / n as f64);
        out.insert(s.to_string(), Otif { deliveries: n, on_time: share(ot), in_full: share(inf), otif: share(both) });
    }
    Ok(out)
}

/// The facts a narrative is drafted from: the totals, the ten gaps with the most margin at risk
/// (with their recommended fixes), near-term overloads, suppliers below the OTIF threshold and
/// the five customers with the most unmet revenue. A few kilobytes at any scale.
pub fn narrative_facts(f: &SupplyFacts, demand_signed: bool) -> serde_json::Value {
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let mut gaps: Vec<&Gap> = f.gaps.iter().collect();
    gaps.sort_by(|a, b| b.margin_at_risk_money.total_cmp(&a.margin_at_risk_money).then(a.id.cmp(&b.id)));
    let mut unmet: Vec<&CustomerUnmet> = f.unmet_by_customer.iter().filter(|c| c.unmet_units > 0.0).collect();
    unmet.sort_by(|a, b| b.unmet_revenue_money.total_cmp(&a.unmet_revenue_money).then(a.customer.cmp(&b.customer)));
    serde_json::json!({
        "cycle": f.cycle,
        "demand_consensus": if demand_signed { "signed" } else { "draft, not signed" },
        "first_month": f.plan_months.first(),
        "last_month": f.plan_months.last(),
        "near_term_months": f.near_term_months,
        "totals": {
            "demand_units": round(f.totals.demand_units),
            "constrained_units": round(f.totals.constrained_units),
            "unmet_units": round(f.totals.unmet_units),
            "capacity_gaps": f.totals.capacity_gaps,
            "labour_gaps": f.totals.labour_gaps,
            "material_gaps": f.totals.material_gaps,
            "supplier_gaps": f.totals.supplier_gaps,
            "revenue_unconstrained": round(f.totals.revenue_unconstrained_money),
            "revenue_constrained": round(f.totals.revenue_constrained_money),
            "budget_revenue": round(f.totals.budget_revenue_money),
            "margin_at_risk": round(f.totals.margin_at_risk_money),
            "recommended_cost": round(f.totals.recommended_cost_money),
        },
        "top_gaps": gaps.iter().take(10).map(|g| serde_json::json!({
            "id": g.id,
            "kind": g.kind,
            "where": g.resource.clone().or(g.component.clone()).unwrap_or_default(),
            "site": g.site,
            "supplier": g.supplier,
            "month": g.month,
            "near_term": g.near_term,
            "units_short": round(g.units_short),
            "margin_at_risk": round(g.margin_at_risk_money),
            "recommended_cost": round(g.recommended_cost_money),
            "recommended": g.recommended.iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "near_term_overloads": f.near_term_overloads.iter().take(10).map(|o| serde_json::json!({
            "resource": o.resource, "site": o.site, "month": o.month,
            "overload_hours": round(o.overload_hours), "utilisation_percent": round(o.utilisation_percent),
        })).collect::<Vec<_>>(),
        "suppliers_below_threshold": f.suppliers.iter().filter(|s| s.below_threshold).map(|s| serde_json::json!({
            "supplier": s.supplier, "otif_percent": s.otif_percent.map(round), "at_risk_po_units": round(s.at_risk_po_units),
        })).collect::<Vec<_>>(),
        "top_unmet_customers": unmet.iter().take(5).map(|c| serde_json::json!({
            "customer": c.customer, "priority": c.priority,
            "unmet_units": round(c.unmet_units), "unmet_revenue": round(c.unmet_revenue_money),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests;
