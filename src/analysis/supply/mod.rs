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
//! - **Routings**: the rows of a SKU's primary routing are successive operations, each loaded
//!   by its production (hours_per_unit x production); its other routings are alternates, where
//!   production could move (`routings.routing`; empty or absent, the rows at the make site are
//!   the primary and another site's rows that site's alternate, and a SKU without a row at its
//!   make site is loaded on all its rows: see `sourcing`). Sub-assemblies' routings are read
//!   (`sourcing_data`) for the optimizer; this greedy review does not load them.
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
//!   alternate routing with spare hours at its premium; expedite at the current supplier's
//!   premium, reaching only demand outside the expedited lead time; an alternate supplier only
//!   where `component_suppliers` lists one (the soonest), at its unit cost above the current
//!   one's, reaching only demand outside its lead time;
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
//!
//! The review runs as phases over `Plan` (the phase state), each in its own file: `masters`
//! (the horizon and the master tables), `netting` (demand with open orders as a floor, netted
//! against finished goods), `capacity` (routings, capacity and the rough-cut load), `materials`
//! (BOM explosion, material limits, shortages), `suppliers` (OTIF and receipts at risk),
//! `constrained` (the greedy allocation), `gaps` (gap detection) with `options` (the greedy
//! pricing of each gap's fixes), and `financials` (plan lines, financials, totals).
//! `supply_review_with` runs them in order.

mod capacity;
mod columns;
mod constrained;
mod financials;
mod gaps;
pub mod lp;
mod masters;
mod materials;
mod netting;
mod options;
mod sourcing;
mod suppliers;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::AnalysisError;
pub(super) use super::r2;
use crate::contract::{Month, PLAN_MONTHS, Table};
pub use sourcing::{Operation, Routing, SourcingData, SupplierOption, routings, sourcing_data, supplier_options};

use capacity::{Cap, Load, Routes};
use masters::Masters;
use materials::{Bom, Shorts};
use netting::{Demand, Netting};
use suppliers::Otif;

/// Components are needed by this day of the month of the production they go into.
pub const NEED_DAY_OF_MONTH: u32 = 15;

const EPS: f64 = 1e-9;

/// How the constrained plan shares short supply between customers.
///
/// Where they differ: a priority-1 customer buys only a low-margin SKU and a priority-2
/// customer a high-margin one, both on one full line. `cost_first` serves the high margin (the
/// least cost: the least margin lost); `priority_first` serves the priority-1 customer and
/// loses the difference in margin. The default is `priority_first`: customer priorities are a
/// promise the company made, and the old default honoured them; what the promise costs is in
/// the plan's lost margin, and a pipeline can switch to `cost_first` with one line. The old
/// names `priority_then_margin` and `margin_then_priority` are still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationRule {
    /// Customer priority first (1 first), at no more spend on fixes than the least-cost plan;
    /// then the least cost.
    #[serde(alias = "priority_then_margin")]
    PriorityFirst,
    /// The least cost first (margin per binding hour decides), then customer priority.
    #[serde(alias = "margin_then_priority")]
    CostFirst,
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
    /// No longer used: an alternate supplier is priced at its own terms in the
    /// `component_suppliers` table, and offered only where that table lists one. Accepted (and
    /// range-checked) so pipelines that set it still load. Default: 25.
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
    /// How short supply is allocated. Default: `priority_first`.
    pub allocation: AllocationRule,
    /// The frozen horizon: plan months, from the cycle month on, whose production S&OP no
    /// longer changes (the plant schedules them); a gap inside it is a notice, not a decision.
    /// Whole months because the plan is monthly. Default: 0 (nothing frozen, as before).
    pub frozen_months: u32,
}

/// The largest percentage premium `snop validate` believes (10x the cost).
pub const MAX_PREMIUM_PERCENT: f64 = 1000.0;

/// The near-term window's and the frozen horizon's furthest reach: the plan's 18 months, in weeks.
pub const PLAN_WEEKS: u32 = 78;

impl SupplyParams {
    /// What is wrong with the values: `(key, message)`, every problem (the pipeline's loader
    /// places each at its line).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut range = |key: &'static str, v: f64, lo: f64, hi: f64, what: &str| {
            if !(v.is_finite() && (lo..=hi).contains(&v)) {
                out.push((key, format!("`{v}` must be {what}")));
            }
        };
        range("holding_cost_percent_per_month", self.holding_cost_percent_per_month, 0.0, 100.0, "a percent, 0 to 100");
        for (key, v) in [
            ("expedite_premium_percent", self.expedite_premium_percent),
            ("alternate_supplier_premium_percent", self.alternate_supplier_premium_percent),
            ("alternate_site_premium_percent", self.alternate_site_premium_percent),
        ] {
            range(key, v, 0.0, MAX_PREMIUM_PERCENT, "a premium in percent, 0 to 1000");
        }
        range("otif_threshold", self.otif_threshold, 0.0, 1.0, "a share, 0 to 1 (0.9 is 90 %)");
        let lt = self.expedited_lead_time_percent;
        if !(lt.is_finite() && lt > 0.0 && lt <= 100.0) {
            out.push((
                "expedited_lead_time_percent",
                format!("`{lt}` must be a percent of the standard lead time, more than 0 and at most 100"),
            ));
        }
        if !(1..=120).contains(&self.otif_window_months) {
            out.push(("otif_window_months", format!("`{}` must be 1 to 120 months", self.otif_window_months)));
        }
        if !(0..=365).contains(&self.on_time_tolerance_days) {
            out.push(("on_time_tolerance_days", format!("`{}` must be 0 to 365 days", self.on_time_tolerance_days)));
        }
        let (from, to) = (self.near_term_from_weeks, self.near_term_to_weeks);
        if to > PLAN_WEEKS {
            out.push(("near_term_to_weeks", format!("`{to}` is beyond the plan's {PLAN_WEEKS} weeks")));
        }
        if from >= to {
            out.push((
                "near_term_from_weeks",
                format!("`{from}` must come before `near_term_to_weeks` ({to}): the window runs from one to the other"),
            ));
        }
        if self.frozen_months > PLAN_MONTHS {
            out.push(("frozen_months", format!("`{}` is beyond the plan's {PLAN_MONTHS} months", self.frozen_months)));
        }
        out
    }
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
            allocation: AllocationRule::PriorityFirst,
            frozen_months: 0,
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

// ---------------------------------------------------------------------------------------------
// Days and rounding

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

fn r3(x: f64) -> f64 {
    let v = (x * 1000.0).round() / 1000.0;
    if v == 0.0 { 0.0 } else { v }
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

/// The phase state: the masters and what each phase before the allocation made of them. The
/// constrained plan, the gaps and the facts are computed over it.
struct Plan<'a> {
    masters: Masters<'a>,
    /// The demand to plan (consensus with open orders as a floor).
    demand: Demand,
    /// Demand netted against finished goods: the production requirement.
    net: Netting,
    routes: Routes,
    /// Capacity per resource and plan month, with the decisions' extra hours.
    cap: Vec<Vec<Cap>>,
    /// The rough-cut load of the production requirement.
    load: Load,
    bom: Bom,
    /// OTIF per supplier over the trailing window.
    otif: BTreeMap<String, Otif>,
    /// Net component requirements, with receipts as promised and with at-risk receipts cut.
    shorts: Shorts,
    /// Material-limited production per SKU and plan month.
    mat_cap: Vec<Vec<f64>>,
}

/// The supply review's facts with decisions applied: the same analysis, the same allocation,
/// over capacity and materials as the decisions change them.
pub fn supply_review_with(inputs: &SupplyInputs<'_>, adjust: &PlanAdjustments) -> Result<SupplyFacts, AnalysisError> {
    let tables = inputs.tables;
    let masters = Masters::read(inputs)?;
    let demand = netting::read_demand(&masters, inputs)?;
    let net = netting::net_finished_goods(&masters, tables, &demand.cells)?;
    let routes = capacity::read_routes(&masters, tables)?;
    let cap = capacity::read_capacity(&masters, tables, adjust)?;
    let load = capacity::rough_cut(&masters, &routes, &net.prod);
    let bom = materials::read_bom(&masters, tables)?;
    let otif = suppliers::supplier_otif(tables, masters.cycle, masters.params)?;
    let at_risk = |supplier: &str| suppliers::at_risk(&otif, masters.params, supplier);
    let shorts = materials::explode_requirements(&masters, &bom, &net.prod, &at_risk);
    let mat_cap = materials::material_limits(&masters, &bom, &shorts.base, &net.prod, adjust);
    let plan = Plan { masters, demand, net, routes, cap, load, bom, otif, shorts, mat_cap };

    let constrained =
        constrained::allocate(&plan.masters, &plan.demand.cells, &plan.net, &plan.routes, &plan.cap, &plan.mat_cap);
    let hit = gaps::CustomersHit::new(&plan.masters, &plan.demand.cells, &constrained);
    let mut gaps = gaps::capacity_gaps(&plan, &hit);
    gaps.extend(gaps::material_gaps(&plan, &hit));
    gaps.sort_by(|a, b| (&a.month, a.kind, &a.id).cmp(&(&b.month, b.kind, &b.id)));

    let shortages = materials::shortages(&plan.masters, &plan.bom, &plan.shorts.base, &plan.net.prod);
    let (suppliers, receipts_at_risk) = suppliers::supplier_facts(plan.masters.params, &plan.bom, &plan.otif, &gaps);
    let (capacity, near_term_overloads) = capacity::capacity_facts(&plan.masters, &plan.cap, &plan.load);
    let requirements = netting::requirements(&plan.masters, &plan.net);
    let outcome = financials::plan_outcome(&plan.masters, &plan.demand.cells, &constrained);
    let budget = financials::read_budget(&plan.masters, tables)?;
    let financials = financials::family_financials(&plan.masters, &outcome.fin, &budget);
    let totals = financials::totals(&plan.demand, &constrained, &outcome.fin, &budget, &gaps);

    let Masters { cycle, ref months, ref near_term, params: p, .. } = plan.masters;
    Ok(SupplyFacts {
        cycle: cycle.to_string(),
        plan_months: months.iter().map(Month::to_string).collect(),
        near_term_months: months.iter().zip(near_term).filter(|(_, w)| **w).map(|(m, _)| m.to_string()).collect(),
        params: p.clone(),
        totals,
        requirements,
        capacity,
        near_term_overloads,
        shortages,
        suppliers,
        receipts_at_risk,
        gaps,
        constrained_plan: outcome.constrained_plan,
        unmet_by_customer: outcome.unmet_by_customer,
        financials,
    })
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
