//! The commercial commit-back (cycle days 11-14): the customer commitment log, and, at the start
//! of the next cycle, the loop closed: last cycle's commitments scored against what shipped and
//! what was ordered, and every order line booked outside last cycle's signed plan.
//!
//! Plain Rust over rows read from the frames: the log is small (one line per customer x SKU x
//! month the plan shortens or moves) and its order matters to the people who read it.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::{AnalysisError, col_f64, col_str};
use crate::contract::Month;
use crate::contract::Quarantined;

/// The customer of launch volume not yet assigned (the demand consensus's `*`).
const UNASSIGNED: &str = "*";

/// Quantities closer than this are equal (the plan keeps three decimals).
const EPS: f64 = 1e-6;

pub use crate::contract::COMMITMENT_STATUSES as STATUSES;

/// One row of the signed plan (the executive agent's `signed-plan.parquet`).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    pub sku: String,
    pub customer: String,
    pub month: Month,
    pub requested_units: f64,
    pub planned_units: f64,
    pub constraint: Option<String>,
}

/// One open order line (the `open_orders` table), or a booked line of the sales history.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    pub order_id: String,
    pub sku: String,
    pub customer: String,
    pub month: Month,
    pub qty: f64,
}

/// A line of the customer commitment log: the plan gives this customer less than it asked for
/// this SKU and month, or moves it to a later month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitmentLine {
    /// Stable within the cycle: `<cycle>-NNNN`, in customer, SKU, month order.
    pub line_id: String,
    pub customer: String,
    pub sku: String,
    pub month: String,
    pub requested: f64,
    pub committed: f64,
    /// The units the plan gives in later months beyond what was asked there (the date moved).
    pub moved_units: f64,
    /// The first later month that takes moved units.
    pub moved_to: Option<String>,
    /// Units of booked open orders in this month (what the customer already holds a promise for).
    pub open_order_units: f64,
    /// Booked orders the plan does not cover (`open_order_units - committed`, at least 0): a
    /// promise already made that the plan breaks, the first thing to tell the customer.
    pub orders_not_covered: f64,
    /// Why the plan gives less: the signed plan's constraint.
    pub constraint: String,
    /// The customer's account manager (the `customers` table).
    pub owner: String,
    pub status: String,
    pub note: Option<String>,
    /// The date by which the customer must be told (`YYYY-MM-DD`).
    pub communicate_by: String,
}

/// Volume the signed plan commits beyond the open orders: to book into the order book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToBook {
    pub customer: String,
    pub sku: String,
    pub month: String,
    pub planned: f64,
    pub open_order_units: f64,
    pub to_book: f64,
    pub owner: String,
}

/// One customer's part of the log: what its account manager has to say to it, in one row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerSummary {
    pub customer: String,
    pub owner: String,
    pub lines: u32,
    /// Lines whose booked orders the plan does not cover.
    pub lines_breaking_orders: u32,
    pub requested: f64,
    pub committed: f64,
    /// `requested - committed` over its lines.
    pub short_units: f64,
    pub orders_not_covered: f64,
    /// Units to book inside the firm horizon.
    pub to_book_units: f64,
}

/// What the noise threshold and the firm horizon left out of the log: counted, never dropped
/// silently.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeftOut {
    /// Shortfalls under `min_units` (and breaking no booked order by `min_units` or more).
    pub lines_below_min_units: u32,
    pub units_below_min_units: f64,
    /// Volume to book under `min_units`.
    pub to_book_below_min_units: u32,
    /// Volume to book beyond the firm horizon (the forecast, not yet an order to take).
    pub to_book_beyond_horizon: u32,
    pub units_beyond_horizon: f64,
}

/// The commit-back's settings (`[commit_back]` in `pipelines/commit-back.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct CommitBackParams {
    /// A line short by fewer units than this (and breaking no booked order by as many) is
    /// noise: left out of the log and counted. Default: [`DEFAULT_MIN_UNITS`].
    pub min_units: f64,
    /// Months from the cycle month on (that month included) whose volume is firm enough to book
    /// into the order book. Default: [`DEFAULT_FIRM_HORIZON_MONTHS`].
    pub firm_horizon_months: u32,
    /// One workbook per account manager besides the whole log.
    pub split_by_account_manager: bool,
}

/// The default noise threshold: one unit.
pub const DEFAULT_MIN_UNITS: f64 = 1.0;
/// The default firm horizon: the cycle month and the two after it.
pub const DEFAULT_FIRM_HORIZON_MONTHS: u32 = 3;

impl Default for CommitBackParams {
    fn default() -> Self {
        CommitBackParams {
            min_units: DEFAULT_MIN_UNITS,
            firm_horizon_months: DEFAULT_FIRM_HORIZON_MONTHS,
            split_by_account_manager: false,
        }
    }
}

/// The customer commitment log of one cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitmentLog {
    pub cycle: String,
    pub communicate_by: String,
    /// Lines breaking booked orders first, then by customer, SKU and month.
    pub lines: Vec<CommitmentLine>,
    pub to_book: Vec<ToBook>,
    /// One row per customer with a line or volume to book, by customer.
    #[serde(default)]
    pub by_customer: Vec<CustomerSummary>,
    #[serde(default)]
    pub left_out: LeftOut,
    /// The threshold and horizon the log was made with.
    #[serde(default)]
    pub min_units: f64,
    /// The last month to book, `YYYY-MM`.
    #[serde(default)]
    pub book_through: String,
}

/// Builds the log from the signed plan and the open orders. `owners` maps each customer to its
/// account manager; `communicate_by` is the last day of the commit-back (cycle day 14). Launch
/// volume not yet assigned to a customer (customer `*`) is nobody's to tell or to book: it is
/// left out. Shortfalls under `params.min_units` that break no booked order by as much are
/// noise, and volume to book beyond the firm horizon is the forecast, not an order to take:
/// both are counted in `left_out`.
pub fn commitment_log(
    cycle: Month,
    plan: &[PlanRow],
    open_orders: &[OrderLine],
    owners: &BTreeMap<String, String>,
    communicate_by: &str,
    params: &CommitBackParams,
) -> CommitmentLog {
    let mut booked: BTreeMap<(&str, &str, Month), f64> = BTreeMap::new();
    for o in open_orders {
        *booked.entry((o.customer.as_str(), o.sku.as_str(), o.month)).or_default() += o.qty;
    }
    let mut rows: Vec<&PlanRow> = plan.iter().filter(|r| r.customer != UNASSIGNED).collect();
    rows.sort_by(|a, b| (&a.customer, &a.sku, a.month).cmp(&(&b.customer, &b.sku, b.month)));
    let owner = |c: &str| owners.get(c).cloned().unwrap_or_default();
    let book_through = cycle.plus(params.firm_horizon_months as i32 - 1);
    let mut lines = Vec::new();
    let mut to_book = Vec::new();
    let mut left_out = LeftOut::default();
    for (i, r) in rows.iter().enumerate() {
        let orders = booked.get(&(r.customer.as_str(), r.sku.as_str(), r.month)).copied().unwrap_or(0.0);
        if r.planned_units + EPS < r.requested_units {
            let short = r.requested_units - r.planned_units;
            let not_covered = (orders - r.planned_units).max(0.0);
            if short + EPS < params.min_units && not_covered + EPS < params.min_units {
                left_out.lines_below_min_units += 1;
                left_out.units_below_min_units += short;
            } else {
                let (moved, moved_to) = moved(r, &rows[i + 1..]);
                lines.push(CommitmentLine {
                    line_id: String::new(),
                    customer: r.customer.clone(),
                    sku: r.sku.clone(),
                    month: r.month.to_string(),
                    requested: r.requested_units,
                    committed: r.planned_units,
                    moved_units: moved.min(short),
                    moved_to,
                    open_order_units: orders,
                    orders_not_covered: not_covered,
                    constraint: r.constraint.clone().unwrap_or_else(|| "not given in the signed plan".into()),
                    owner: owner(&r.customer),
                    status: STATUSES[0].into(),
                    note: None,
                    communicate_by: communicate_by.into(),
                });
            }
        }
        if r.planned_units > orders + EPS {
            let units = r.planned_units - orders;
            if r.month > book_through {
                left_out.to_book_beyond_horizon += 1;
                left_out.units_beyond_horizon += units;
            } else if units + EPS < params.min_units {
                left_out.to_book_below_min_units += 1;
            } else {
                to_book.push(ToBook {
                    customer: r.customer.clone(),
                    sku: r.sku.clone(),
                    month: r.month.to_string(),
                    planned: r.planned_units,
                    open_order_units: orders,
                    to_book: units,
                    owner: owner(&r.customer),
                });
            }
        }
    }
    // The lines that break a promise already made first; the sort is stable, so each group
    // keeps customer, SKU, month order.
    lines.sort_by_key(|l| l.orders_not_covered <= EPS);
    for (n, l) in lines.iter_mut().enumerate() {
        l.line_id = format!("{cycle}-{:04}", n + 1);
    }
    let by_customer = by_customer(&lines, &to_book);
    CommitmentLog {
        cycle: cycle.to_string(),
        communicate_by: communicate_by.into(),
        lines,
        to_book,
        by_customer,
        left_out,
        min_units: params.min_units,
        book_through: book_through.to_string(),
    }
}

/// Where a shortfall goes, from the plan's later months of the same customer and SKU (`later`,
/// in month order, starting right after `r`): the units the plan gives beyond what was asked
/// there, and the first month that takes some; when it takes none, the first later month the
/// plan serves in full (supply is back: the date to offer the customer).
fn moved(r: &PlanRow, later: &[&PlanRow]) -> (f64, Option<String>) {
    let same = || later.iter().take_while(|l| l.customer == r.customer && l.sku == r.sku);
    let mut units = 0.0;
    let mut to = None;
    for l in same().filter(|l| l.planned_units > l.requested_units + EPS) {
        units += l.planned_units - l.requested_units;
        to.get_or_insert(l.month.to_string());
    }
    if to.is_none() {
        to = same()
            .find(|l| l.planned_units + EPS >= l.requested_units && l.planned_units > EPS)
            .map(|l| l.month.to_string());
    }
    (units, to)
}

/// One row per customer of the log's lines and volume to book, by customer.
fn by_customer(lines: &[CommitmentLine], to_book: &[ToBook]) -> Vec<CustomerSummary> {
    fn entry<'m>(m: &'m mut BTreeMap<String, CustomerSummary>, c: &str, owner: &str) -> &'m mut CustomerSummary {
        m.entry(c.to_string()).or_insert_with(|| CustomerSummary {
            customer: c.into(),
            owner: owner.into(),
            ..Default::default()
        })
    }
    let mut m: BTreeMap<String, CustomerSummary> = BTreeMap::new();
    for l in lines {
        let s = entry(&mut m, &l.customer, &l.owner);
        s.lines += 1;
        s.lines_breaking_orders += u32::from(l.orders_not_covered > EPS);
        s.requested += l.requested;
        s.committed += l.committed;
        s.short_units += l.requested - l.committed;
        s.orders_not_covered += l.orders_not_covered;
    }
    for t in to_book {
        entry(&mut m, &t.customer, &t.owner).to_book_units += t.to_book;
    }
    m.into_values().collect()
}

/// One row of a returned workbook (the `commitment_updates` table), with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub line_id: String,
    pub status: String,
    pub committed: Option<f64>,
    pub note: Option<String>,
    pub owner: String,
    pub file: String,
    pub sheet: Option<String>,
    pub row: u64,
}

/// Applies the account managers' returned workbooks to the log, in file and row order (a later
/// row wins). A row naming no line of this cycle's log, or changing the committed quantity
/// without a note, is quarantined naming its file, sheet, row and column; the other rows update
/// the line's status, note, owner and (with a note) committed quantity.
pub fn apply_updates(log: &mut CommitmentLog, updates: &[Update]) -> Vec<Quarantined> {
    let mut bad = Vec::new();
    let index: BTreeMap<String, usize> = log.lines.iter().enumerate().map(|(i, l)| (l.line_id.clone(), i)).collect();
    for u in updates {
        let fault = |column: &str, value: String, reason: String| Quarantined {
            source: "commitment_updates".into(),
            file: u.file.clone(),
            sheet: u.sheet.clone(),
            row: u.row,
            column: column.into(),
            value,
            reason,
            cell: None,
        };
        let Some(&i) = index.get(&u.line_id) else {
            bad.push(fault(
                "line_id",
                u.line_id.clone(),
                format!("unknown line: not in the commitment log of {}", log.cycle),
            ));
            continue;
        };
        let line = &mut log.lines[i];
        let note = u.note.clone().filter(|n| !n.trim().is_empty());
        if let Some(q) = u.committed
            && (q - line.committed).abs() > EPS
            && note.is_none()
        {
            bad.push(fault(
                "committed",
                format_qty(q),
                format!("the committed quantity was changed from {} without a note", format_qty(line.committed)),
            ));
            continue;
        }
        if let Some(q) = u.committed {
            line.committed = q;
        }
        line.status = u.status.clone();
        line.owner = u.owner.clone();
        if note.is_some() {
            line.note = note;
        }
    }
    bad
}

fn format_qty(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

// ---------------------------------------------------------------------------------------------
// The loop closed, next cycle

/// How one of last cycle's commitments turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Shipped at least what was committed in its month.
    Kept,
    /// Shipped less than committed.
    Missed,
    /// The customer agreed to other terms (status `re-negotiated` in the signed log).
    Renegotiated,
    /// Its month has not ended yet (this cycle's log carries the promise on, and scores it when
    /// its month is past).
    NotYetDue,
}

/// One of last cycle's commitments, scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredCommitment {
    pub line_id: String,
    pub customer: String,
    pub sku: String,
    pub month: String,
    pub owner: String,
    pub committed: f64,
    /// Units shipped in the line's month (the sales history).
    pub shipped: f64,
    /// Units on open orders for the line's month.
    pub ordered: f64,
    pub outcome: Outcome,
    /// `committed - shipped` when missed, else 0.
    pub missed_units: f64,
}

/// Kept, missed and re-negotiated counts for one customer or owner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub name: String,
    pub kept: u32,
    pub missed: u32,
    pub renegotiated: u32,
    pub not_yet_due: u32,
    pub missed_units: f64,
}

impl Tally {
    fn add(&mut self, s: &ScoredCommitment) {
        match s.outcome {
            Outcome::Kept => self.kept += 1,
            Outcome::Missed => self.missed += 1,
            Outcome::Renegotiated => self.renegotiated += 1,
            Outcome::NotYetDue => self.not_yet_due += 1,
        }
        self.missed_units += s.missed_units;
    }
}

/// Why an order line falls outside the signed plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outside {
    /// The plan has nothing for this SKU and customer in the order's month.
    NoPlan,
    /// Earlier orders of the month already use the planned quantity (part or all of this line
    /// is beyond it).
    BeyondPlan,
}

/// An order line booked outside last cycle's signed plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderOutsidePlan {
    pub order_id: String,
    pub customer: String,
    pub sku: String,
    pub month: String,
    pub qty: f64,
    /// What the plan gave this SKU x customer x month.
    pub planned: f64,
    /// The part of this line beyond the plan.
    pub units_outside: f64,
    pub outside: Outside,
    pub account_manager: String,
}

/// The aggregates on top of the order list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub order_lines: u32,
    pub lines_inside_plan: u32,
    pub lines_beyond_plan: u32,
    pub lines_without_plan: u32,
    pub units_ordered: f64,
    pub units_outside_plan: f64,
}

/// Last cycle's promises against this cycle's facts: the first line of every meeting's agenda.
///
/// Computed by [`loop_facts`] from last cycle's signed commitment log and signed plan and this
/// cycle's `sales_history`, `open_orders` and `customers`; serialized into the commit-back run's
/// facts (`facts.json`, key `last_cycle`) and its workbook's "Last cycle" sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopFacts {
    /// The cycle whose promises are scored.
    pub scored_cycle: String,
    /// Whether last cycle's log was signed (else its latest draft was scored).
    pub log_signed: bool,
    pub kept: u32,
    pub missed: u32,
    pub renegotiated: u32,
    pub not_yet_due: u32,
    pub missed_units: f64,
    /// Every commitment, scored.
    pub commitments: Vec<ScoredCommitment>,
    pub by_customer: Vec<Tally>,
    pub by_owner: Vec<Tally>,
    pub orders: OrderSummary,
    /// Every order line outside the plan, by order id.
    pub orders_outside_plan: Vec<OrderOutsidePlan>,
}

/// Scores last cycle's log and plan. `shipments` are this cycle's sales history lines, each
/// placed in the month it shipped (or was ordered, when not shipped yet); `open_orders` the
/// order book placed in its requested month. A commitment's month is scored once it has ended
/// (it is before `cycle`); order lines are judged against the plan for the plan's months.
pub fn loop_facts(
    cycle: Month,
    last_log: &CommitmentLog,
    log_signed: bool,
    last_plan: &[PlanRow],
    shipments: &[OrderLine],
    open_orders: &[OrderLine],
    owners: &BTreeMap<String, String>,
) -> LoopFacts {
    let sum = |lines: &[OrderLine]| {
        let mut m: BTreeMap<(String, String, Month), f64> = BTreeMap::new();
        for o in lines {
            *m.entry((o.customer.clone(), o.sku.clone(), o.month)).or_default() += o.qty;
        }
        m
    };
    let shipped = sum(shipments);
    let ordered = sum(open_orders);
    let mut commitments = Vec::new();
    for l in &last_log.lines {
        let Some(month) = Month::parse(&l.month) else { continue };
        let key = (l.customer.clone(), l.sku.clone(), month);
        let s = shipped.get(&key).copied().unwrap_or(0.0);
        let o = ordered.get(&key).copied().unwrap_or(0.0);
        let outcome = if l.status == "re-negotiated" {
            Outcome::Renegotiated
        } else if month >= cycle {
            Outcome::NotYetDue
        } else if s + EPS >= l.committed {
            Outcome::Kept
        } else {
            Outcome::Missed
        };
        let missed_units = if outcome == Outcome::Missed { l.committed - s } else { 0.0 };
        commitments.push(ScoredCommitment {
            line_id: l.line_id.clone(),
            customer: l.customer.clone(),
            sku: l.sku.clone(),
            month: l.month.clone(),
            owner: l.owner.clone(),
            committed: l.committed,
            shipped: s,
            ordered: o,
            outcome,
            missed_units,
        });
    }
    let tally = |key: &dyn Fn(&ScoredCommitment) -> String| {
        let mut m: BTreeMap<String, Tally> = BTreeMap::new();
        for s in &commitments {
            let k = key(s);
            m.entry(k.clone()).or_insert_with(|| Tally { name: k, ..Tally::default() }).add(s);
        }
        m.into_values().collect::<Vec<_>>()
    };
    let by_customer = tally(&|s| s.customer.clone());
    let by_owner = tally(&|s| s.owner.clone());
    let count = |o: Outcome| commitments.iter().filter(|s| s.outcome == o).count() as u32;

    // Order level: each SKU x customer x month's orders, in order id order, use up the plan.
    let plan_start = last_plan.iter().map(|p| p.month).min();
    let plan_end = last_plan.iter().map(|p| p.month).max();
    let planned: BTreeMap<(&str, &str, Month), f64> =
        last_plan.iter().map(|p| ((p.customer.as_str(), p.sku.as_str(), p.month), p.planned_units)).collect();
    let mut lines: Vec<&OrderLine> = shipments
        .iter()
        .chain(open_orders)
        .filter(|o| plan_start.is_some_and(|s| o.month >= s) && plan_end.is_some_and(|e| o.month <= e))
        .collect();
    lines.sort_by(|a, b| (&a.customer, &a.sku, a.month, &a.order_id).cmp(&(&b.customer, &b.sku, b.month, &b.order_id)));
    let mut used: BTreeMap<(&str, &str, Month), f64> = BTreeMap::new();
    let mut summary = OrderSummary::default();
    let mut outside = Vec::new();
    for o in lines {
        let key = (o.customer.as_str(), o.sku.as_str(), o.month);
        let plan = planned.get(&key).copied().unwrap_or(0.0);
        let before = used.get(&key).copied().unwrap_or(0.0);
        used.insert(key, before + o.qty);
        let beyond = (before + o.qty - plan.max(before)).max(0.0).min(o.qty);
        summary.order_lines += 1;
        summary.units_ordered += o.qty;
        if beyond <= EPS {
            summary.lines_inside_plan += 1;
            continue;
        }
        let kind = if plan <= EPS { Outside::NoPlan } else { Outside::BeyondPlan };
        match kind {
            Outside::NoPlan => summary.lines_without_plan += 1,
            Outside::BeyondPlan => summary.lines_beyond_plan += 1,
        }
        summary.units_outside_plan += beyond;
        outside.push(OrderOutsidePlan {
            order_id: o.order_id.clone(),
            customer: o.customer.clone(),
            sku: o.sku.clone(),
            month: o.month.to_string(),
            qty: o.qty,
            planned: plan,
            units_outside: beyond,
            outside: kind,
            account_manager: owners.get(&o.customer).cloned().unwrap_or_default(),
        });
    }
    outside.sort_by(|a, b| (&a.order_id, &a.sku).cmp(&(&b.order_id, &b.sku)));
    LoopFacts {
        scored_cycle: last_log.cycle.clone(),
        log_signed,
        kept: count(Outcome::Kept),
        missed: count(Outcome::Missed),
        renegotiated: count(Outcome::Renegotiated),
        not_yet_due: count(Outcome::NotYetDue),
        missed_units: commitments.iter().map(|s| s.missed_units).sum(),
        commitments,
        by_customer,
        by_owner,
        orders: summary,
        orders_outside_plan: outside,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the frames

/// The signed plan's rows (`sku`, `customer`, `month`, `requested_units`, `planned_units`,
/// `constraint`).
pub fn plan_rows(df: &DataFrame) -> Result<Vec<PlanRow>, AnalysisError> {
    let sku = col_str(df, "sku")?;
    let customer = col_str(df, "customer")?;
    let month = col_str(df, "month")?;
    let req = col_f64(df, "requested_units")?;
    let planned = col_f64(df, "planned_units")?;
    let constraint = col_str(df, "constraint")?;
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let m = month[i].as_deref().unwrap_or_default();
        let month = Month::parse(m).ok_or_else(|| AnalysisError::Column {
            table: "signed plan".into(),
            column: "month".into(),
            detail: format!("row {}: `{m}` is not a month `YYYY-MM`", i + 1),
        })?;
        out.push(PlanRow {
            sku: sku[i].clone().unwrap_or_default(),
            customer: customer[i].clone().unwrap_or_default(),
            month,
            requested_units: req[i].unwrap_or(0.0),
            planned_units: planned[i].unwrap_or(0.0),
            constraint: constraint[i].clone(),
        });
    }
    Ok(out)
}

/// The `open_orders` table as order lines in their requested month.
pub fn open_order_lines(df: &DataFrame) -> Result<Vec<OrderLine>, AnalysisError> {
    let id = col_str(df, "order_id")?;
    let sku = col_str(df, "sku")?;
    let customer = col_str(df, "customer")?;
    let month = col_str(df, "requested_month")?;
    let qty = col_f64(df, "qty")?;
    Ok((0..df.height())
        .filter_map(|i| {
            Some(OrderLine {
                order_id: id[i].clone()?,
                sku: sku[i].clone()?,
                customer: customer[i].clone()?,
                month: Month::parse(month[i].as_deref()?)?,
                qty: qty[i].unwrap_or(0.0),
            })
        })
        .collect())
}

/// The `sales_history` table's lines from `since` on, each in the month it shipped (or was
/// ordered, while not shipped).
pub fn shipment_lines(df: &DataFrame, since: Month) -> Result<Vec<OrderLine>, AnalysisError> {
    let month_of = |name: &str| -> Result<Vec<Option<i32>>, AnalysisError> {
        let c = df.column(name)?.cast(&DataType::Date)?;
        Ok(c.date()?.physical().iter().collect())
    };
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("date");
    let to_month = |d: i32| {
        use chrono::Datelike;
        let date = epoch + chrono::Duration::days(i64::from(d));
        Month(date.year() * 12 + date.month0() as i32)
    };
    let ordered = month_of("order_date")?;
    let shipped = month_of("ship_date")?;
    let id = col_str(df, "order_id")?;
    let sku = col_str(df, "sku")?;
    let customer = col_str(df, "customer")?;
    let qty = col_f64(df, "qty")?;
    Ok((0..df.height())
        .filter_map(|i| {
            let month = to_month(shipped[i].or(ordered[i])?);
            (month >= since).then(|| {
                Some(OrderLine {
                    order_id: id[i].clone()?,
                    sku: sku[i].clone()?,
                    customer: customer[i].clone()?,
                    month,
                    qty: qty[i].unwrap_or(0.0),
                })
            })?
        })
        .collect())
}

/// Customer to account manager (the `customers` table).
pub fn account_managers(df: &DataFrame) -> Result<BTreeMap<String, String>, AnalysisError> {
    let c = col_str(df, "customer")?;
    let a = col_str(df, "account_manager")?;
    Ok(c.into_iter().zip(a).filter_map(|(c, a)| Some((c?, a?))).collect())
}

/// The narrative's view of a log: totals, the largest shortfalls, and last cycle's score.
pub fn narrative_facts(log: &CommitmentLog, last: Option<&LoopFacts>) -> serde_json::Value {
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let short: f64 = log.lines.iter().map(|l| l.requested - l.committed).sum();
    let mut largest: Vec<&CommitmentLine> = log.lines.iter().collect();
    largest.sort_by(|a, b| (b.requested - b.committed).total_cmp(&(a.requested - a.committed)));
    let owners: BTreeSet<&str> = log.lines.iter().map(|l| l.owner.as_str()).collect();
    let by_status: BTreeMap<&str, usize> =
        STATUSES.iter().map(|s| (*s, log.lines.iter().filter(|l| l.status == *s).count())).collect();
    serde_json::json!({
        "cycle": log.cycle,
        "communicate_by": log.communicate_by,
        "lines": log.lines.len(),
        "short_units": round(short),
        "account_managers": owners.len(),
        "by_status": by_status,
        "orders_not_covered_units": round(log.lines.iter().map(|l| l.orders_not_covered).sum()),
        "lines_breaking_orders": log.lines.iter().filter(|l| l.orders_not_covered > EPS).count(),
        "to_book_units": round(log.to_book.iter().map(|t| t.to_book).sum()),
        "to_book_lines": log.to_book.len(),
        "book_through": log.book_through,
        "min_units": log.min_units,
        "lines_below_min_units": log.left_out.lines_below_min_units,
        "largest_shortfalls": largest.iter().take(5).map(|l| serde_json::json!({
            "customer": l.customer,
            "sku": l.sku,
            "month": l.month,
            "requested": round(l.requested),
            "committed": round(l.committed),
            "constraint": l.constraint,
            "owner": l.owner,
            "moved_to": l.moved_to,
        })).collect::<Vec<_>>(),
        "last_cycle": last.map(|f| serde_json::json!({
            "cycle": f.scored_cycle,
            "kept": f.kept,
            "missed": f.missed,
            "renegotiated": f.renegotiated,
            "missed_units": round(f.missed_units),
            "orders_outside_plan": f.orders_outside_plan.len(),
            "units_outside_plan": round(f.orders.units_outside_plan),
        })),
    })
}

#[cfg(test)]
mod tests;
