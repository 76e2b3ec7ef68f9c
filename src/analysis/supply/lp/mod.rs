//! The supply optimiser: the least-cost supply plan as one linear program, solved by HiGHS.
//!
//! [`Problem`] is the model's data, plain Rust independent of polars: the plan months, the items
//! made (finished goods and sub-assemblies) with their routings, the resources per month, the
//! bill of materials, the purchased components with their open purchase orders and supplier
//! options, the suppliers' OTIF, the demand lines and the frozen horizon. `Problem::from_inputs`
//! fills it from the contract tables the supply review reads.
//!
//! Money is in the workspace's currency, quantities in units, time in plan months (index 0 is
//! the cycle month).

mod arrays;
mod inputs;
mod memo;
mod model;
pub mod split;

use serde::{Deserialize, Serialize};

pub use super::AllocationRule;
pub use memo::{MEMO_VALUES, PieceKey, PieceStore, Reuse, decode, encode, with_store};
pub use model::{
    HOLD_ABSOLUTE, HOLD_TOLERANCE, Lever, Pricer, SolveError, WARM_MODELS, cost_of, open_receipts, purchase_premium,
    solve, solve_least_cost, solve_least_cost_without, solve_whole, solve_with, solve_with_memo, solve_without,
};
pub use split::SplitOptions;

/// The supply optimiser's data: everything the linear program is built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// The plan months, `YYYY-MM`, the cycle month first (18 in a cycle; fewer in tests).
    pub months: Vec<String>,
    /// Months from the start that S&OP can no longer change: no overtime, no alternate routing,
    /// no new purchase or expedite arriving in them. Gaps there are notices.
    pub frozen_months: usize,
    /// Items made in-house: finished goods and sub-assemblies.
    pub items: Vec<Item>,
    pub resources: Vec<Resource>,
    /// Purchased components.
    pub components: Vec<Component>,
    pub suppliers: Vec<Supplier>,
    pub bom: Vec<BomEdge>,
    pub demand: Vec<DemandLine>,
    /// How short supply is shared when costs tie or when priority comes first.
    pub rule: AllocationRule,
}

/// An item made in-house: a finished good or a sub-assembly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    /// The make site (where its primary routing runs).
    pub site: String,
    /// Standard unit cost (the cost its margins are net of).
    pub unit_cost: f64,
    /// Stock on hand at the start of the cycle.
    pub opening_stock: f64,
    /// Stock kept back: only stock above it is used, and it is not rebuilt.
    pub safety_stock: f64,
    /// Cost of holding one unit above safety stock for one month.
    pub holding_cost_per_month: f64,
    /// Alternative routings: a unit is made on one of them (the first is the primary). Empty:
    /// the item cannot be made; a routing without operations loads no resource.
    pub routings: Vec<Routing>,
}

impl Item {
    /// Stock the plan may use at the start: on hand above safety stock.
    pub fn usable_stock(&self) -> f64 {
        (self.opening_stock - self.safety_stock).max(0.0)
    }
}

/// One way to make an item: successive operations, every one loaded by each unit made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routing {
    /// Where it runs, as a planner names it (the site, or the routing's own name).
    pub label: String,
    /// Extra cost per unit made this way (0 on the primary routing).
    pub premium_per_unit: f64,
    pub operations: Vec<Operation>,
}

/// An operation: hours per unit on a resource.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// Index into [`Problem::resources`].
    pub resource: usize,
    pub hours_per_unit: f64,
}

/// A production resource (a line or a labour pool) and its hours per plan month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    pub site: String,
    /// `line`, `labour`, ... as the resources table says.
    pub kind: String,
    /// One per plan month.
    pub months: Vec<ResourceMonth>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceMonth {
    pub regular_hours: f64,
    pub overtime_ceiling_hours: f64,
    pub overtime_cost_per_hour: f64,
}

/// What a bill-of-materials line consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Part {
    /// A sub-assembly (or finished good) made in-house: index into [`Problem::items`].
    Item(usize),
    /// A purchased component: index into [`Problem::components`].
    Component(usize),
}

/// A bill-of-materials line: each unit of `parent` made consumes `qty_per` of `child` in the
/// same month.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BomEdge {
    /// Index into [`Problem::items`].
    pub parent: usize,
    pub child: Part,
    pub qty_per: f64,
}

/// A purchased component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    /// Standard unit cost (the one the items' margins are net of): a supplier option costs its
    /// difference to this.
    pub unit_cost: f64,
    pub opening_stock: f64,
    pub safety_stock: f64,
    pub holding_cost_per_month: f64,
    pub open_pos: Vec<OpenPo>,
    /// Where new orders can be placed.
    pub options: Vec<SupplierOption>,
}

impl Component {
    /// Stock the plan may use at the start: on hand above safety stock.
    pub fn usable_stock(&self) -> f64 {
        (self.opening_stock - self.safety_stock).max(0.0)
    }
}

/// An open purchase order, in the plan month it is promised for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OpenPo {
    pub month: usize,
    pub qty: f64,
    /// Index into [`Problem::suppliers`]: its OTIF derates the order.
    pub supplier: usize,
}

/// A supplier a component can be bought from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SupplierOption {
    /// Index into [`Problem::suppliers`].
    pub supplier: usize,
    pub unit_cost: f64,
    /// An order placed in the cycle month arrives in this plan month at the earliest.
    pub lead_time_months: usize,
    /// Smallest order (data only: the linear program does not enforce it).
    pub min_order_qty: f64,
    pub can_expedite: bool,
    /// Extra cost per unit expedited, on top of `unit_cost`.
    pub expedite_premium_per_unit: f64,
    /// An expedited order arrives in this plan month at the earliest.
    pub expedite_lead_time_months: usize,
}

/// A supplier and its delivery record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supplier {
    pub name: String,
    /// On time in full, 0 to 1 (1 when unknown): an open order arrives this share in its month,
    /// the rest a month later.
    pub otif: f64,
    /// Plan months (first and last, both included) the supplier delivers nothing in: no
    /// purchase or expedite of it arrives then (a what-if scenario's window; none in a cycle's
    /// own plan). Its open orders are the data's (a scenario drops those due in the window).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<(usize, usize)>,
}

impl Supplier {
    /// A supplier with its OTIF, available every month.
    pub fn new(name: &str, otif: f64) -> Supplier {
        Supplier { name: name.to_string(), otif, unavailable: Vec::new() }
    }

    /// Whether an order of this supplier may arrive in plan month `t`.
    pub fn delivers_in(&self, t: usize) -> bool {
        !self.unavailable.iter().any(|&(first, last)| (first..=last).contains(&t))
    }
}

impl Problem {
    /// Supplier `name` delivers nothing in plan months `first` to `last` (both included);
    /// whether the problem has such a supplier.
    pub fn close_supplier(&mut self, name: &str, first: usize, last: usize) -> bool {
        let Some(s) = self.suppliers.iter_mut().find(|s| s.name == name) else { return false };
        s.unavailable.push((first, last));
        true
    }
}

/// Demand for an item by a customer in a plan month. What is not served is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandLine {
    /// Index into [`Problem::items`].
    pub item: usize,
    pub customer: String,
    /// 1 first.
    pub priority: i64,
    pub month: usize,
    pub qty: f64,
    pub unit_price: f64,
    /// Lost per unit not served.
    pub unit_margin: f64,
}

/// The least-cost plan the linear program found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    /// The objective by kind.
    pub cost: Cost,
    /// Units made per item, routing and month: `production[item][routing][month]`.
    pub production: Vec<Vec<Vec<f64>>>,
    /// Overtime hours per resource and month.
    pub overtime: Vec<Vec<f64>>,
    /// Item stock above safety stock at the end of each month.
    pub item_stock: Vec<Vec<f64>>,
    /// Component stock above safety stock at the end of each month.
    pub component_stock: Vec<Vec<f64>>,
    /// New orders per component, supplier option and month of arrival.
    pub purchases: Vec<Vec<Vec<f64>>>,
    /// Expedited orders per component, supplier option and month of arrival.
    pub expedites: Vec<Vec<Vec<f64>>>,
    /// Units served per demand line.
    pub served: Vec<f64>,
}

/// The plan's cost by kind: spend and lost margin apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub overtime_money: f64,
    pub holding_money: f64,
    /// Alternate routings' premiums.
    pub routing_premium_money: f64,
    /// Purchases above the components' standard cost.
    pub purchase_premium_money: f64,
    /// Expedites above the components' standard cost.
    pub expedite_money: f64,
    pub lost_margin_money: f64,
}

impl Cost {
    /// Money spent on fixes (everything but the lost margin).
    pub fn spend(&self) -> f64 {
        self.overtime_money
            + self.holding_money
            + self.routing_premium_money
            + self.purchase_premium_money
            + self.expedite_money
    }

    pub fn total(&self) -> f64 {
        self.spend() + self.lost_margin_money
    }

    /// This cost plus `k` times `other`, kind by kind.
    pub fn plus(&self, other: &Cost, k: f64) -> Cost {
        Cost {
            overtime_money: self.overtime_money + k * other.overtime_money,
            holding_money: self.holding_money + k * other.holding_money,
            routing_premium_money: self.routing_premium_money + k * other.routing_premium_money,
            purchase_premium_money: self.purchase_premium_money + k * other.purchase_premium_money,
            expedite_money: self.expedite_money + k * other.expedite_money,
            lost_margin_money: self.lost_margin_money + k * other.lost_margin_money,
        }
    }
}

#[cfg(test)]
pub(super) mod check;
#[cfg(test)]
mod tests;
