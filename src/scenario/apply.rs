//! A scenario's changes applied to the cycle's ingested tables and demand, in memory (never to
//! the files); a demand change as a layer of the consensus, by the demand review's rules
//! (`analysis::demand::Relayered`). Pure: no I/O, no clock. Every change says what it did in a note computed from
//! the tables before and after; a name the tables do not know is a problem with the scenario
//! file's line and key.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use super::spec::{Amount, Change, ChangeKind, Months, Scenario};
use crate::analysis::demand::{DemandAmount, DemandChange, LayerTotals, Relayered};
use crate::analysis::supply::SupplierWindow;
use crate::config::{ConfigError, Problem};
use crate::contract::{Month, PLAN_MONTHS, Table};

/// The tables and the demand with a scenario's changes, and what each change did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub tables: BTreeMap<Table, DataFrame>,
    /// The consensus's final layer with the scenario's demand layer: `sku`, `customer`,
    /// `month`, `qty`, as the supply review reads it.
    pub demand: DataFrame,
    /// The consensus's layers summed, with the scenario's (revenue at the scenario's prices).
    pub consensus: LayerTotals,
    /// The scenario layer's units, in all (before the final layer's floor at zero).
    pub scenario_units: f64,
    /// Suppliers delivering nothing in a window (the plan's `PlanAdjustments::unavailable`).
    pub unavailable: Vec<SupplierWindow>,
    /// One line per change, in the file's order.
    pub notes: Vec<String>,
}

/// Why a scenario could not be applied: a problem of its file (a name the data does not know,
/// months outside the plan), or a table that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("applying the scenario failed: {0}")]
    Polars(#[from] PolarsError),
    #[error("the scenario needs the `{0}` table, which the supply review's pipeline does not provide")]
    Missing(Table),
    #[error("layering the scenario's demand on the consensus failed: {0}")]
    Layers(#[from] crate::analysis::AnalysisError),
}

/// Applies every change of `s`, in the file's order, to copies of `tables` and to the
/// consensus `cells` (the demand review's stored cells, every layer:
/// [`crate::analysis::demand::CELL_COLUMNS`]).
pub fn apply(
    s: &Scenario,
    tables: &BTreeMap<Table, DataFrame>,
    cells: &DataFrame,
    cycle: Month,
) -> Result<Applied, ApplyError> {
    let items = tables.get(&Table::Items).ok_or(ApplyError::Missing(Table::Items))?;
    let mut layers = Relayered::from_cells(cells, items, cycle)?;
    let mut a = Applied {
        tables: tables.clone(),
        demand: DataFrame::empty(),
        consensus: LayerTotals::default(),
        scenario_units: 0.0,
        unavailable: Vec::new(),
        notes: Vec::new(),
    };
    let mut problems = Vec::new();
    let last = cycle.plus(PLAN_MONTHS as i32 - 1);
    for c in &s.changes {
        let problem = |key: &str, message: String| Problem {
            file: s.file.clone().unwrap_or_default(),
            line: Some(c.line),
            key: if key.is_empty() { c.key.clone() } else { format!("{}.{key}", c.key) },
            message,
        };
        if let Some(m) = months_of(&c.kind)
            && (m.from > last || m.to.is_some_and(|t| t < cycle))
        {
            problems.push(problem("from", format!("{m} is outside the plan of {cycle} ({cycle} to {last})")));
            continue;
        }
        match one(c, &mut a, &mut layers, cycle, &s.holidays) {
            Ok(note) => a.notes.push(format!("{}: {note}", c.key)),
            Err(Fault::Unknown { key, message }) => problems.push(problem(key, message)),
            Err(Fault::Polars(e)) => return Err(e.into()),
            Err(Fault::Missing(t)) => return Err(ApplyError::Missing(t)),
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError { problems }.into());
    }
    a.demand = layers.demand()?;
    a.consensus = layers.totals(table(&a, Table::Items).map_err(|_| ApplyError::Missing(Table::Items))?)?;
    a.scenario_units = layers.scenario_units();
    Ok(a)
}

enum Fault {
    Unknown { key: &'static str, message: String },
    Polars(PolarsError),
    Missing(Table),
}

impl From<PolarsError> for Fault {
    fn from(e: PolarsError) -> Fault {
        Fault::Polars(e)
    }
}

fn months_of(k: &ChangeKind) -> Option<Months> {
    match k {
        ChangeKind::Capacity { months, .. }
        | ChangeKind::SiteDown { months, .. }
        | ChangeKind::SupplierUnavailable { months, .. }
        | ChangeKind::Demand { months, .. } => Some(*months),
        _ => None,
    }
}

fn one(
    c: &Change,
    a: &mut Applied,
    layers: &mut Relayered,
    cycle: Month,
    holidays: &BTreeSet<chrono::NaiveDate>,
) -> Result<String, Fault> {
    let in_plan = |m: Month| m >= cycle && m < cycle.plus(PLAN_MONTHS as i32);
    match &c.kind {
        ChangeKind::Capacity { resource, months, hours, max_overtime_hours, shift } => {
            known(a, Table::Resources, "resource", resource, "resource")?;
            let set = BTreeSet::from([resource.clone()]);
            let when = |m: Month| in_plan(m) && months.contains(m);
            let hours_of = |m: Month| shift.as_ref().map_or(*hours, |s| s.hours_in(m, holidays).1);
            let (cells, added) = change_capacity(a, &set, when, hours_of, *max_overtime_hours, cycle)?;
            let ot = max_overtime_hours.map(|o| format!(", overtime ceiling {o} h")).unwrap_or_default();
            let what = match shift {
                None => format!("{:+} h a month", hours),
                Some(s) => {
                    let by_month: Vec<String> = (0..PLAN_MONTHS as i32)
                        .map(|k| cycle.plus(k))
                        .filter(|m| when(*m))
                        .map(|m| {
                            let (days, h) = s.hours_in(m, holidays);
                            format!("{m} {days} day(s) {h} h")
                        })
                        .collect();
                    format!("{s} ({})", by_month.join(", "))
                }
            };
            Ok(format!(
                "{resource} {what} in {months}{ot}: {cells} resource-month(s), {} regular hours in all",
                signed(added)
            ))
        }
        ChangeKind::SiteDown { site, months } => {
            let res = table(a, Table::Resources)?;
            let (names, sites) = (texts(res, "resource")?, texts(res, "site")?);
            let at: BTreeSet<String> =
                names.into_iter().zip(sites).filter(|(_, s)| s == site).map(|(r, _)| r).collect();
            if at.is_empty() {
                return Err(unknown("site", format!("no resource is at site `{site}`")));
            }
            let (cells, added) =
                change_capacity(a, &at, |m| in_plan(m) && months.contains(m), |_| f64::NEG_INFINITY, Some(0.0), cycle)?;
            Ok(format!(
                "site {site} down in {months}: {} resource(s) at 0 h, overtime none, {cells} resource-month(s), {} regular hours",
                at.len(),
                signed(added)
            ))
        }
        ChangeKind::SupplierUnavailable { supplier, months } => supplier_unavailable(a, supplier, *months, cycle),
        ChangeKind::LeadTime { supplier, days } => {
            let n = set_lead_time(a, supplier, |_| Some(*days as f64))?;
            Ok(format!("{supplier}'s lead time {days} days on {n} supply row(s)"))
        }
        ChangeKind::Item { sku, unit_cost, unit_price, cost_percent, price_percent } => {
            let df = a.tables.get_mut(&Table::Items).ok_or(Fault::Missing(Table::Items))?;
            let i = texts(df, "sku")?
                .iter()
                .position(|x| x == sku)
                .ok_or_else(|| unknown("sku", format!("no item `{sku}` in the items table")))?;
            let mut out = Vec::new();
            for (col, new, pct) in [("unit_cost", unit_cost, cost_percent), ("unit_price", unit_price, price_percent)] {
                let mut v = nums(df, col)?;
                let old = v[i].unwrap_or(0.0);
                let next = new.unwrap_or(old * (1.0 + pct / 100.0));
                if next != old {
                    v[i] = Some(next);
                    set_nums(df, col, v)?;
                    out.push(format!("{col} {} -> {}", money(old), money(next)));
                }
            }
            Ok(format!("{sku}: {}", if out.is_empty() { "no change".into() } else { out.join(", ") }))
        }
        ChangeKind::Demand { family, customer, sku, months, amount } => {
            demand_change(a, layers, family.as_deref(), customer.as_deref(), sku.as_deref(), *months, *amount, cycle)
        }
        ChangeKind::Priority { customer, priority } => {
            let df = a.tables.get_mut(&Table::Customers).ok_or(Fault::Missing(Table::Customers))?;
            let i = texts(df, "customer")?
                .iter()
                .position(|x| x == customer)
                .ok_or_else(|| unknown("customer", format!("no customer `{customer}` in the customers table")))?;
            let mut v = nums(df, "priority")?;
            let old = v[i].unwrap_or(0.0);
            v[i] = Some(*priority as f64);
            set_nums(df, "priority", v)?;
            Ok(format!("{customer}'s priority {old} -> {priority}"))
        }
    }
}

fn unknown(key: &'static str, message: String) -> Fault {
    Fault::Unknown { key, message }
}

fn table(a: &Applied, t: Table) -> Result<&DataFrame, Fault> {
    a.tables.get(&t).ok_or(Fault::Missing(t))
}

fn known(a: &Applied, t: Table, col: &str, v: &str, key: &'static str) -> Result<(), Fault> {
    if texts(table(a, t)?, col)?.iter().any(|x| x == v) {
        Ok(())
    } else {
        Err(unknown(key, format!("no {col} `{v}` in the {} table", t.name())))
    }
}

fn money(x: f64) -> String {
    crate::analysis::format_number(x)
}

fn signed(x: f64) -> String {
    if x > 0.0 { format!("+{}", money(x)) } else { money(x) }
}

/// Adds `hours` to the regular hours (never below 0) of `resources` in the months `when` says,
/// and sets their overtime ceiling when given; a month with no capacity row gets one. Returns
/// the resource-months changed and the regular hours added (negative: removed).
fn change_capacity(
    a: &mut Applied,
    resources: &BTreeSet<String>,
    when: impl Fn(Month) -> bool,
    hours_of: impl Fn(Month) -> f64,
    max_overtime: Option<f64>,
    cycle: Month,
) -> Result<(usize, f64), Fault> {
    let df = a.tables.get_mut(&Table::Capacity).ok_or(Fault::Missing(Table::Capacity))?;
    let (res, mon) = (texts(df, "resource")?, texts(df, "month")?);
    let (mut av, mut ot) = (nums(df, "available_hours")?, nums(df, "max_overtime_hours")?);
    let (mut cells, mut added) = (0usize, 0.0);
    let mut seen = BTreeSet::new();
    for i in 0..res.len() {
        let Some(m) = Month::parse(&mon[i]) else { continue };
        if !(resources.contains(&res[i]) && when(m)) {
            continue;
        }
        seen.insert((res[i].clone(), m));
        let old = av[i].unwrap_or(0.0);
        let new = (old + hours_of(m)).max(0.0);
        added += new - old;
        av[i] = Some(new);
        if let Some(o) = max_overtime {
            ot[i] = Some(o);
        }
        cells += 1;
    }
    set_nums(df, "available_hours", av)?;
    set_nums(df, "max_overtime_hours", ot)?;
    // Hours added in a month the extract has no row for: a new row (no overtime unless set).
    let mut extra: Vec<(String, Month)> = Vec::new();
    for r in resources {
        for k in 0..PLAN_MONTHS as i32 {
            let m = cycle.plus(k);
            if when(m) && hours_of(m) > 0.0 && !seen.contains(&(r.clone(), m)) {
                extra.push((r.clone(), m));
            }
        }
    }
    if !extra.is_empty() {
        let n = extra.len();
        let rows = vec![
            ("resource", extra.iter().map(|(r, _)| r.clone()).collect()),
            ("month", extra.iter().map(|(_, m)| m.to_string()).collect()),
            ("available_hours", extra.iter().map(|(_, m)| hours_of(*m).to_string()).collect()),
            ("max_overtime_hours", vec![max_overtime.unwrap_or(0.0).to_string(); n]),
            ("overtime_cost_per_hour", vec!["0".to_string(); n]),
        ];
        append(df, &rows)?;
        cells += n;
        added += extra.iter().map(|(_, m)| hours_of(*m)).sum::<f64>();
    }
    Ok((cells, added))
}

/// A supplier unavailable in `months`: its open orders due in the window are lost (it delivers
/// nothing then; what the plan still needs it buys again, after the window or elsewhere), those
/// due before or after it kept; and the plan's window ([`SupplierWindow`]): none of its
/// purchases or expedites arrives in the window, before and after it as usual.
fn supplier_unavailable(a: &mut Applied, supplier: &str, months: Months, cycle: Month) -> Result<String, Fault> {
    let listed = texts(table(a, Table::Components)?, "supplier")?.iter().any(|s| s == supplier)
        || a.tables
            .get(&Table::ComponentSuppliers)
            .map_or(Ok(false), |df| texts(df, "supplier").map(|v| v.iter().any(|s| s == supplier)))?;
    if !listed {
        return Err(unknown("supplier", format!("no supplier `{supplier}` in `components` or `component_suppliers`")));
    }
    // Its open orders due in the window do not arrive (one overdue is due in the cycle month).
    let (mut dropped, mut units, mut kept) = (0usize, 0.0, 0usize);
    if let Some(df) = a.tables.get_mut(&Table::OpenPurchaseOrders) {
        let (sup, due, qty) = (texts(df, "supplier")?, texts(df, "due_date")?, nums(df, "qty")?);
        let keep: Vec<bool> = (0..sup.len())
            .map(|i| {
                if sup[i] != supplier {
                    return true;
                }
                let gone = due[i].get(..7).and_then(Month::parse).is_some_and(|m| months.contains(m.max(cycle)));
                if gone {
                    dropped += 1;
                    units += qty[i].unwrap_or(0.0);
                } else {
                    kept += 1;
                }
                !gone
            })
            .collect();
        *df = df.filter(&BooleanChunked::from_slice("keep".into(), &keep))?;
    }
    a.unavailable.push(SupplierWindow { supplier: supplier.to_string(), from: months.from, until: months.to });
    let after = months.to.map_or("not again in the plan".to_string(), |t| format!("again from {}", t.plus(1)));
    Ok(format!(
        "{supplier} unavailable {months}: {dropped} open order(s) due then lost ({} units), {kept} due before or after kept; no new order or expedite of it arrives in {months}, it delivers before and {after}",
        money(units)
    ))
}

/// Sets the lead time (`f(old)`) of every supply row of `supplier`, in `components` and
/// `component_suppliers` (an expedite keeps its own terms: the `[supply]` share of the new lead
/// time, or the row's own). Returns the rows changed.
fn set_lead_time(a: &mut Applied, supplier: &str, f: impl Fn(Option<f64>) -> Option<f64>) -> Result<usize, Fault> {
    let mut n = 0;
    for t in [Table::Components, Table::ComponentSuppliers] {
        let Some(df) = a.tables.get_mut(&t) else {
            if t == Table::Components {
                return Err(Fault::Missing(t));
            }
            continue;
        };
        let sup = texts(df, "supplier")?;
        let mut lt = nums(df, "lead_time_days")?;
        for i in 0..sup.len() {
            if sup[i] == supplier {
                lt[i] = f(lt[i]);
                n += 1;
            }
        }
        set_nums(df, "lead_time_days", lt)?;
    }
    Ok(n)
}

/// A demand change as the scenario layer of the consensus ([`Relayered::apply`]: the demand
/// review's rules), after its names are checked against the tables.
#[allow(clippy::too_many_arguments)] // the change's fields, as the file gives them
fn demand_change(
    a: &Applied,
    layers: &mut Relayered,
    family: Option<&str>,
    customer: Option<&str>,
    sku: Option<&str>,
    months: Months,
    amount: Amount,
    cycle: Month,
) -> Result<String, Fault> {
    let items = table(a, Table::Items)?;
    let fam: BTreeMap<String, String> = texts(items, "sku")?.into_iter().zip(texts(items, "family")?).collect();
    if let Some(f) = family
        && !fam.values().any(|v| v == f)
    {
        return Err(unknown("family", format!("no item of family `{f}` in the items table")));
    }
    if let Some(s) = sku
        && !fam.contains_key(s)
    {
        return Err(unknown("sku", format!("no item `{s}` in the items table")));
    }
    if let Some(c) = customer {
        known(a, Table::Customers, "customer", c, "customer")?;
    }
    let last = cycle.plus(PLAN_MONTHS as i32 - 1);
    let change = DemandChange {
        family,
        customer,
        sku,
        from: months.from.max(cycle),
        to: months.to.unwrap_or(last).min(last),
        amount: match amount {
            Amount::Percent(p) => DemandAmount::Percent(p),
            Amount::UnitsPerMonth(u) => DemandAmount::UnitsPerMonth(u),
        },
    };
    let done = layers.apply(&change);
    let what = [
        family.map(|f| format!("family {f}")),
        customer.map(|c| format!("customer {c}")),
        sku.map(|s| format!("SKU {s}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let by = match amount {
        Amount::Percent(p) => format!("{p:+} %"),
        Amount::UnitsPerMonth(u) => format!("{u:+} units a month"),
    };
    let mut also = String::new();
    if done.added_cells > 0 {
        also += &format!("; {} new cell(s) for what had no consensus", done.added_cells);
    }
    if done.discontinued_cells > 0 {
        also += &format!(
            "; {} cell(s) of discontinued SKUs after their end month left at 0 (the lifecycle rule)",
            done.discontinued_cells
        );
    }
    if done.unplaced_units != 0.0 {
        also += &format!(
            "; {} units had no consensus demand of theirs to go onto in a month (name a SKU, and a customer, to add a line)",
            money(done.unplaced_units)
        );
    }
    Ok(format!(
        "demand of {what} {by} in {months}, as a layer of the consensus: {} units -> {} ({} units) on {} cell(s){also}",
        money(done.before_units),
        money(done.after_units),
        signed(done.after_units - done.before_units),
        done.cells
    ))
}

// ---------------------------------------------------------------------------------------------
// Frames as plain vectors

fn texts(df: &DataFrame, col: &str) -> PolarsResult<Vec<String>> {
    let c = df.column(col)?.cast(&DataType::String)?;
    Ok(c.str()?.iter().map(|v| v.unwrap_or_default().to_string()).collect())
}

fn nums(df: &DataFrame, col: &str) -> PolarsResult<Vec<Option<f64>>> {
    let c = df.column(col)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().collect())
}

/// Replaces a column's values, keeping its type (an integer column stays one).
fn set_nums(df: &mut DataFrame, col: &str, v: Vec<Option<f64>>) -> PolarsResult<()> {
    let dtype = df.column(col)?.dtype().clone();
    let v: Vec<Option<f64>> = if dtype.is_integer() { v.into_iter().map(|x| x.map(f64::round)).collect() } else { v };
    let c = Column::new(col.into(), v).cast(&dtype)?;
    df.with_column(c)?;
    Ok(())
}

/// Appends rows given as text per column, each cast to the frame's type of the column; the
/// frame's other columns are left empty.
fn append(df: &mut DataFrame, rows: &[(&str, Vec<String>)]) -> PolarsResult<()> {
    let n = rows.first().map_or(0, |r| r.1.len());
    let mut cols = Vec::new();
    for field in df.schema().iter_fields() {
        let name = field.name().as_str();
        let c = match rows.iter().find(|(c, _)| *c == name) {
            Some((_, v)) => Column::new(name.into(), v.clone()).cast(field.dtype())?,
            None => Column::full_null(name.into(), n, field.dtype()),
        };
        cols.push(c);
    }
    let extra = DataFrame::new(n, cols)?;
    df.vstack_mut(&extra)?;
    Ok(())
}
