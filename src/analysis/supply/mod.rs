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
//!   supplier gap. The optimiser derates every open order by its supplier's OTIF (the late
//!   share a month later).
//! - **The plan is the least-cost plan** of the supply optimiser ([`lp`]): one linear program
//!   over capacity, overtime, build-ahead, alternate routings, materials, suppliers (open orders
//!   derated by OTIF) and lost sales, solved lexicographically with the allocation rule. The
//!   constrained plan, unmet demand, financials and totals are its served quantities.
//! - **Gaps** are still detected where the requirement does not fit as it is (a resource-month
//!   over regular hours, a component short inside its lead time, receipts at risk), but each is
//!   priced by the model (`pricing`): its options are whole plans re-solved with levers of the
//!   gap's scope forbidden, so an option's cost and what it closes are a feasible plan's. A gap
//!   inside the frozen horizon is a notice (`frozen`), not re-priced.
//! - An item that appears as a component in the BOM is exploded like a sub-assembly for the
//!   shortage table; the optimiser makes it on its own routings.
//!
//! The review runs as phases over `Plan` (the phase state), each in its own file: `masters`
//! (the horizon and the master tables), `netting` (demand with open orders as a floor, netted
//! against finished goods), `capacity` (routings, capacity and the rough-cut load), `materials`
//! (BOM explosion, shortages), `suppliers` (OTIF and receipts at risk), `gaps` (gap detection
//! and each gap's levers), `pricing` (the least-cost plan and every gap priced by re-solving),
//! and `financials` (plan lines, financials, totals). `baseline` keeps the old greedy
//! allocation, only as the benchmark's and the property tests' point of comparison.
//! `supply_review_with` runs them in order.

mod baseline;
mod capacity;
mod columns;
mod financials;
mod gaps;
pub mod lp;
mod masters;
mod materials;
mod netting;
mod pricing;
mod sourcing;
mod suppliers;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::AnalysisError;
pub(super) use super::r2;
use crate::contract::{Month, PLAN_MONTHS, Table};
pub use baseline::{Baseline, greedy_baseline};
pub use sourcing::{Operation, Routing, SourcingData, SupplierOption, routings, sourcing_data, supplier_options};

use capacity::{Cap, Load};
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
    /// The pricing budget: at most this many re-solves price the gaps (the gaps with the most
    /// at stake first); the rest are priced by the least-cost plan alone (`priced_by: "plan"`).
    /// Default: 1000 (the demo company takes about 150).
    pub max_re_solves: u32,
    /// The pricing budget in work: at most this many piece solves (a warm least-cost re-solve
    /// of one piece of the optimiser's problem counts 1, a cold solve of a piece's every stage
    /// for the plan with every fix forbidden 100); a gap whose re-solves could pass it is
    /// priced by the plan, and the revenue with every fix forbidden is left out when its pieces
    /// do not fit. Default: 3000 (the demo company takes about 400; about 0.1 s each at scale).
    pub max_piece_solves: u32,
}

/// The largest `max_piece_solves` `snop validate` believes (at 0.1 s a piece solve, days).
pub const MAX_PIECE_SOLVES: u32 = 10_000_000;

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
        if self.max_piece_solves > MAX_PIECE_SOLVES {
            out.push((
                "max_piece_solves",
                format!("`{}` must be 0 to {MAX_PIECE_SOLVES} piece solves", self.max_piece_solves),
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
            max_re_solves: 1000,
            max_piece_solves: 3000,
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
    /// Demand's revenue the plan does not serve (unconstrained less constrained revenue):
    /// computed once from the plan, never summed over gaps.
    pub revenue_at_risk_money: f64,
    /// The margin the plan loses (unconstrained less constrained margin).
    pub margin_at_risk_money: f64,
    /// The least-cost plan's cost: its spend on fixes plus the margin it loses.
    pub recommended_cost_money: f64,
    /// The plan's cost by kind (spend and lost margin apart).
    pub plan_cost: lp::Cost,
    /// Revenue of the plan with every gap's fixes forbidden (every shortfall accepted); not
    /// computed in the executive's re-plan, nor when the pieces it re-solves do not fit
    /// `[supply] max_piece_solves` (`None`: left out, never estimated).
    pub revenue_without_fixes_money: Option<f64>,
    /// Gaps inside the frozen horizon: notices, not decisions.
    pub frozen_gaps: usize,
    /// Re-solves of the linear program the gaps' pricing took (the plan's own solve not
    /// counted; each forbidden set solved once, at the least cost alone but the last, with
    /// every gap's fixes forbidden).
    pub re_solves: usize,
    /// Gaps priced by the least-cost plan alone, beyond the pricing budget.
    #[serde(default)]
    pub gaps_priced_by_plan: usize,
    /// Linear programs the optimiser solved the plan as (its connected components, or pieces of
    /// them).
    #[serde(default)]
    pub optimiser_pieces: usize,
    /// Some piece was cut from a larger component by shares: the plan is feasible but its cost
    /// may be above the optimum (see `lp::split`).
    #[serde(default)]
    pub optimiser_approximate: bool,
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
    /// Inside the frozen horizon (`[supply] frozen_months`): a notice S&OP cannot change; not
    /// re-priced, its one option accepting the shortfall the plan leaves.
    pub frozen: bool,
    /// Capacity and labour gaps: hours over regular hours.
    pub hours_short: Option<f64>,
    /// Material and supplier gaps: component units short.
    pub component_units_short: Option<f64>,
    /// Finished units short: the requirement over what fits as it is (hours over the average
    /// hours per unit; component units short in finished units).
    pub units_short: f64,
    /// Revenue and margin of the gap's demand (its SKUs in its month) the plan would not serve
    /// with every fix of the gap forbidden.
    pub revenue_at_risk_money: f64,
    pub margin_at_risk_money: f64,
    pub skus_hit: Vec<String>,
    pub customers_hit: Vec<String>,
    /// Whole plans: the recommended one first, then each other fix the optimum used alone,
    /// then accepting the shortfall.
    pub options: Vec<GapOption>,
    /// What the least-cost plan does about the gap: each fix it used (the main one first) and
    /// the shortfall it accepts, at the lost margin of the SKUs it cuts.
    pub recommended: Vec<RecommendedStep>,
    /// The recommended steps' cost: spend on the gap's fixes plus the margin lost in its scope.
    pub recommended_cost_money: f64,
    /// Units the recommended fixes close (served over the plan without them).
    pub recommended_closes_units: f64,
    /// What the next-best option costs more than the recommended one (None: no other option).
    pub next_best_extra_cost_money: Option<f64>,
    /// How the gap's figures were computed (see [`PricedBy`]).
    #[serde(default)]
    pub priced_by: PricedBy,
}

/// How a gap's figures were computed, so no figure pretends to more than it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PricedBy {
    /// Every option a whole plan re-solved (the units short are the plan's with every fix of
    /// the gap forbidden).
    #[default]
    #[serde(rename = "re-solve")]
    ReSolve,
    /// Beyond the pricing budget (`[supply] max_re_solves`): only what the least-cost plan itself
    /// does about the gap (its fixes, their spend, the shortfall it accepts); no other option,
    /// no next-best cost, the units short those the plan leaves.
    #[serde(rename = "plan")]
    Plan,
    /// Not priced: inside the frozen horizon, or the executive's re-plan (the plan as it is).
    #[serde(rename = "not priced")]
    NotPriced,
}

/// An option of a gap: a whole plan, the optimum re-solved with the gap's other levers
/// forbidden. Its figures are that plan's against the plan that accepts the shortfall; its
/// cost is the recommended steps' cost plus what the whole plan costs more than the
/// recommended one, so two options compare as their plans do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapOption {
    pub kind: OptionKind,
    pub detail: String,
    /// Finished units of the gap's demand this plan serves more than accepting the shortfall.
    pub closes_units: f64,
    /// `closes_units` as a share of what accepting leaves unmet.
    pub closes_percent: f64,
    pub fully_closes: bool,
    /// `spend_money` plus `lost_margin_money`.
    pub cost_money: f64,
    /// Spend per unit closed (0 when it closes nothing).
    pub cost_per_unit_money: f64,
    /// Money spent on fixes.
    pub spend_money: f64,
    /// Margin lost.
    pub lost_margin_money: f64,
    /// Revenue and margin of the gap's demand served more than accepting the shortfall.
    pub revenue_kept_money: f64,
    pub margin_kept_money: f64,
    /// Customers of the gap's demand served more than by accepting the shortfall.
    pub customers_served: Vec<String>,
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

/// A plan's cost by kind, each rounded to cents.
fn round_cost(c: &lp::Cost) -> lp::Cost {
    lp::Cost {
        overtime_money: r2(c.overtime_money),
        holding_money: r2(c.holding_money),
        routing_premium_money: r2(c.routing_premium_money),
        purchase_premium_money: r2(c.purchase_premium_money),
        expedite_money: r2(c.expedite_money),
        lost_margin_money: r2(c.lost_margin_money),
    }
}

fn r3(x: f64) -> f64 {
    let v = (x * 1000.0).round() / 1000.0;
    if v == 0.0 { 0.0 } else { v }
}

// ---------------------------------------------------------------------------------------------
// The analysis

/// What decisions change before the plan is re-solved (the executive's signed plan): per gap,
/// the options chosen. The re-plan is the same linear program with, for every gap whose choice
/// does not include its recommended option, the gap's levers of the kinds not chosen forbidden
/// (accepting the shortfall alone forbids every fix of the gap). A recommended choice imposes
/// nothing: the plan stays the optimum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanAdjustments {
    /// Gap id to the option kinds chosen for it.
    pub chosen: BTreeMap<String, std::collections::BTreeSet<OptionKind>>,
    /// Gap id to its recommended option (the main fix of the recommendation, else accepting).
    pub recommended: BTreeMap<String, OptionKind>,
    /// Suppliers that deliver nothing in a window of months (a what-if scenario's): none of
    /// their purchases or expedites arrive in it; before and after it they deliver as usual.
    pub unavailable: Vec<SupplierWindow>,
}

/// A supplier delivering nothing from `from` to `until` (both included; none: to the plan's
/// end).
#[derive(Debug, Clone, PartialEq)]
pub struct SupplierWindow {
    pub supplier: String,
    pub from: Month,
    pub until: Option<Month>,
}

impl SupplierWindow {
    /// Closes the supplier in the plan months of `problem` (cycle month `cycle` first) that the
    /// window covers; a window wholly before or after the plan closes nothing.
    pub fn close_in(&self, problem: &mut lp::Problem, cycle: Month) {
        let last = problem.months.len().saturating_sub(1) as i32;
        let at = |m: Month| (m.0 - cycle.0).clamp(0, last) as usize;
        let until = self.until.map_or(last as usize, at);
        if self.until.is_none_or(|u| u >= cycle) && self.from.0 - cycle.0 <= last {
            problem.close_supplier(&self.supplier, at(self.from), until);
        }
    }
}

impl PlanAdjustments {
    /// Records that `kind` was chosen for `gap`, whose recommended option is `recommended`.
    pub fn choose(&mut self, gap: &str, kind: OptionKind, recommended: OptionKind) {
        self.chosen.entry(gap.to_string()).or_default().insert(kind);
        self.recommended.insert(gap.to_string(), recommended);
    }

    /// The option kinds forbidden for a gap: none when nothing or its recommended option was
    /// chosen, else every fix kind not chosen.
    pub fn forbidden_kinds(&self, gap: &str) -> Vec<OptionKind> {
        let Some(chosen) = self.chosen.get(gap) else { return Vec::new() };
        if self.recommended.get(gap).is_some_and(|r| chosen.contains(r)) {
            return Vec::new();
        }
        FIX_KINDS.iter().copied().filter(|k| !chosen.contains(k)).collect()
    }
}

/// Every option kind that fixes a gap (all but accepting the shortfall).
pub const FIX_KINDS: [OptionKind; 5] = [
    OptionKind::Overtime,
    OptionKind::BuildAhead,
    OptionKind::AlternateSite,
    OptionKind::Expedite,
    OptionKind::AlternateSupplier,
];

/// A gap's recommended option: the first fix of its recommendation, else accepting.
pub fn recommended_option(g: &Gap) -> OptionKind {
    g.recommended
        .iter()
        .map(|s| s.kind)
        .find(|k| *k != OptionKind::AcceptShortfall)
        .unwrap_or(OptionKind::AcceptShortfall)
}

/// Computes the supply review's facts: the least-cost plan, every gap priced by re-solving.
pub fn supply_review(inputs: &SupplyInputs<'_>) -> Result<SupplyFacts, AnalysisError> {
    review(inputs, &PlanAdjustments::default(), true, lp::SplitOptions::default())
}

/// As [`supply_review`], the optimiser's problem cut as `cut` says (the tests compare the cut
/// problem against the whole, the benchmark measures the cuts).
pub fn supply_review_cut(inputs: &SupplyInputs<'_>, cut: lp::SplitOptions) -> Result<SupplyFacts, AnalysisError> {
    review(inputs, &PlanAdjustments::default(), true, cut)
}

/// The phase state: the masters and what each phase before the plan made of them. The plan, the
/// gaps and the facts are computed over it.
struct Plan<'a> {
    masters: Masters<'a>,
    /// The demand to plan (consensus with open orders as a floor).
    demand: Demand,
    /// Demand netted against finished goods: the production requirement.
    net: Netting,
    /// Capacity per resource and plan month.
    cap: Vec<Vec<Cap>>,
    /// The rough-cut load of the production requirement.
    load: Load,
    bom: Bom,
    /// OTIF per supplier over the trailing window.
    otif: BTreeMap<String, Otif>,
    /// Net component requirements, with receipts as promised and with at-risk receipts cut.
    shorts: Shorts,
}

/// The supply review's facts with decisions applied (the executive's re-plan): the same linear
/// program with each decided gap's choice imposed (see [`PlanAdjustments`]). Gaps are detected as
/// in the review; their options are not re-priced (what the plan did about each is in
/// `recommended`).
pub fn supply_review_with(inputs: &SupplyInputs<'_>, adjust: &PlanAdjustments) -> Result<SupplyFacts, AnalysisError> {
    review(inputs, adjust, false, lp::SplitOptions::default())
}

fn review(
    inputs: &SupplyInputs<'_>,
    adjust: &PlanAdjustments,
    price: bool,
    cut: lp::SplitOptions,
) -> Result<SupplyFacts, AnalysisError> {
    let tables = inputs.tables;
    // Spans time the steps (`SNOP_SPAN_TIMES=1 snop -v ...` logs each when it closes).
    let span = tracing::debug_span!("supply.tables").entered();
    let masters = Masters::read(inputs)?;
    let demand = netting::read_demand(&masters, inputs)?;
    let net = netting::net_finished_goods(&masters, tables, &demand.cells)?;
    let routes = capacity::read_routes(&masters, tables)?;
    let cap = capacity::read_capacity(&masters, tables)?;
    let load = capacity::rough_cut(&masters, &routes, &net.prod);
    let bom = materials::read_bom(&masters, tables)?;
    let otif = suppliers::supplier_otif(tables, masters.cycle, masters.params)?;
    let at_risk = |supplier: &str| suppliers::at_risk(&otif, masters.params, supplier);
    let shorts = materials::explode_requirements(&masters, &bom, &net.prod, &at_risk);
    let plan = Plan { masters, demand, net, cap, load, bom, otif, shorts };
    drop(span);
    let mut problem = tracing::debug_span!("supply.problem").in_scope(|| lp::Problem::from_inputs(inputs))?;
    for w in &adjust.unavailable {
        w.close_in(&mut problem, inputs.cycle);
    }

    let span = tracing::debug_span!("supply.gaps").entered();
    let mut found = gaps::capacity_gaps(&plan, &problem);
    found.extend(gaps::material_gaps(&plan, &problem));
    found.sort_by(|a, b| (&a.gap.month, a.gap.kind, &a.gap.id).cmp(&(&b.gap.month, b.gap.kind, &b.gap.id)));
    drop(span);
    let (budget, pieces) = masters_budget(plan.masters.params);
    let mut solver = tracing::debug_span!("supply.plan")
        .in_scope(|| pricing::Solver::new(&problem, pricing::decided(&found, adjust), cut, budget, pieces))?;
    let constrained = pricing::constrained(&plan.masters, &problem, solver.base());
    let hit = gaps::CustomersHit::new(&plan.masters, &plan.demand.cells, &constrained);
    for f in &mut found {
        f.gap.customers_hit = hit.customers_hit(&f.scope.skus, f.scope.month);
    }
    let without_fixes = tracing::debug_span!("supply.pricing", gaps = found.len())
        .in_scope(|| pricing::price(&mut solver, &mut found, price))?;
    let _span = tracing::debug_span!("supply.facts").entered();
    let gaps: Vec<Gap> = found.into_iter().map(|f| f.gap).collect();
    let base = solver.base();

    let shortages = materials::shortages(&plan.masters, &plan.bom, &plan.shorts.base, &plan.net.prod);
    let (suppliers, receipts_at_risk) = suppliers::supplier_facts(plan.masters.params, &plan.bom, &plan.otif, &gaps);
    let (capacity, near_term_overloads) = capacity::capacity_facts(&plan.masters, &plan.cap, &plan.load);
    let requirements = netting::requirements(&plan.masters, &plan.net);
    let outcome = financials::plan_outcome(&plan.masters, &plan.demand.cells, &constrained);
    let budget = financials::read_budget(&plan.masters, tables)?;
    let financials = financials::family_financials(&plan.masters, &outcome.fin, &budget);
    let mut totals = financials::totals(&plan.demand, &constrained, &outcome.fin, &budget, &gaps);
    totals.plan_cost = round_cost(&base.cost);
    totals.recommended_cost_money = r2(base.cost.total());
    totals.revenue_without_fixes_money = without_fixes.map(r2);
    totals.re_solves = solver.solves;
    totals.gaps_priced_by_plan = gaps.iter().filter(|g| g.priced_by == PricedBy::Plan).count();
    (totals.optimiser_pieces, totals.optimiser_approximate) = solver.pieces();

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

/// The re-solves pricing may take (the plan's own solve and the last one, every fix forbidden,
/// come on top) and the piece solves.
fn masters_budget(p: &SupplyParams) -> (usize, usize) {
    (p.max_re_solves as usize + 1, p.max_piece_solves as usize)
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
            "spend_on_fixes": round(f.totals.plan_cost.spend()),
            "margin_lost": round(f.totals.plan_cost.lost_margin_money),
            "frozen_notices": f.totals.frozen_gaps,
        },
        "top_gaps": gaps.iter().take(10).map(|g| serde_json::json!({
            "id": g.id,
            "kind": g.kind,
            "where": g.resource.clone().or(g.component.clone()).unwrap_or_default(),
            "site": g.site,
            "supplier": g.supplier,
            "month": g.month,
            "near_term": g.near_term,
            "frozen": g.frozen,
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
