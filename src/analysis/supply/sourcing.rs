//! The data the supply optimizer reads beyond the greedy plan's, in plain structs: every
//! supplier a component can be bought from with its terms (`components` and
//! `component_suppliers`), and every SKU's routings (a finished item's or a sub-assembly's) with
//! what each row is: an operation of the primary routing or of a named alternate
//! (`routings.routing`, or the documented default when it is empty or absent).
//!
//! Defaults, so old workspaces keep working:
//! - without `component_suppliers` (or for a component it does not list) the supplier of
//!   `components` is the only option; a `component_suppliers` row for that same supplier gives
//!   its terms. `min_order_qty` 0; `can_expedite` yes; `expedite_premium_percent` and the
//!   expedited lead time from `[supply]` (`expedite_premium_percent`, the lead time x
//!   `expedited_lead_time_percent`).
//! - an empty `routing`: `primary` at the item's make site, else the alternate named after the
//!   resource's site; an item with no row at its make site (and a sub-assembly, which has no make
//!   site) has all its unnamed rows `primary`.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::DataFrame;

use super::super::AnalysisError;
use super::SupplyParams;
use super::columns::{numbers, numbers0, table, texts};
use crate::contract::{ROUTING_PRIMARY, Table};

/// One supplier of a component and its terms.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplierOption {
    pub supplier: String,
    pub unit_cost: f64,
    pub lead_time_days: i64,
    /// The smallest order this supplier takes (0: any).
    pub min_order_qty: f64,
    pub can_expedite: bool,
    /// Premium of an expedited order, percent of `unit_cost`.
    pub expedite_premium_percent: f64,
    /// Lead time of an expedited order (days; the default is a share of `lead_time_days`, so it
    /// may be fractional).
    pub expedited_lead_time_days: f64,
    /// Whether this is the supplier `components` names: the one the plan orders from today.
    pub current: bool,
}

/// One operation of a routing: the resource it loads and the hours each unit takes there.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub resource: String,
    pub hours_per_unit: f64,
}

/// One way of making a SKU: its operations are successive (each loaded by every unit made this
/// way); a SKU's routings are alternatives.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    /// `primary`, or the alternate's name (by default its site).
    pub name: String,
    /// Sorted by resource.
    pub operations: Vec<Operation>,
}

impl Routing {
    pub fn is_primary(&self) -> bool {
        self.name == ROUTING_PRIMARY
    }
}

/// The sourcing and routing data of a cycle.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourcingData {
    /// Per component: its suppliers, the current one first, then by supplier.
    pub suppliers: BTreeMap<String, Vec<SupplierOption>>,
    /// Per SKU (finished item or sub-assembly): its routings, `primary` first, then by name.
    pub routings: BTreeMap<String, Vec<Routing>>,
    /// Components with a bill of materials of their own: made in-house from their children
    /// (sub-assemblies), so their routings load capacity.
    pub made: BTreeSet<String>,
}

/// Reads the suppliers of every component, every SKU's routings and the sub-assemblies.
pub fn sourcing_data(
    tables: &BTreeMap<Table, DataFrame>,
    params: &SupplyParams,
) -> Result<SourcingData, AnalysisError> {
    let components: BTreeSet<String> = match tables.get(&Table::Components) {
        Some(df) => texts(df, "components", "component")?.into_iter().collect(),
        None => BTreeSet::new(),
    };
    let made = match tables.get(&Table::Bom) {
        Some(df) => texts(df, "bom", "parent_sku")?.into_iter().filter(|p| components.contains(p)).collect(),
        None => BTreeSet::new(),
    };
    Ok(SourcingData { suppliers: supplier_options(tables, params)?, routings: routings(tables)?, made })
}

/// An optional text column: its values, or `None` when the source has no such column.
fn opt_texts(df: &DataFrame, name: &str, column: &str) -> Result<Option<Vec<String>>, AnalysisError> {
    if df.column(column).is_err() {
        return Ok(None);
    }
    texts(df, name, column).map(Some)
}

/// An optional number column, as `None` per row where it is empty or absent.
fn opt_numbers(df: &DataFrame, name: &str, column: &str) -> Result<Vec<Option<f64>>, AnalysisError> {
    if df.column(column).is_err() {
        return Ok(vec![None; df.height()]);
    }
    numbers(df, name, column)
}

/// Every component's suppliers: the one `components` names (current), and those
/// `component_suppliers` lists.
pub fn supplier_options(
    tables: &BTreeMap<Table, DataFrame>,
    p: &SupplyParams,
) -> Result<BTreeMap<String, Vec<SupplierOption>>, AnalysisError> {
    let option = |supplier: &str, unit_cost: f64, lead: i64, current: bool| SupplierOption {
        supplier: supplier.to_string(),
        unit_cost,
        lead_time_days: lead,
        min_order_qty: 0.0,
        can_expedite: true,
        expedite_premium_percent: p.expedite_premium_percent,
        expedited_lead_time_days: lead as f64 * p.expedited_lead_time_percent / 100.0,
        current,
    };
    let mut out: BTreeMap<String, Vec<SupplierOption>> = BTreeMap::new();
    let df = table(tables, Table::Components)?;
    let name = "components";
    let (c, s, lt, uc) = (
        texts(df, name, "component")?,
        texts(df, name, "supplier")?,
        numbers0(df, name, "lead_time_days")?,
        numbers0(df, name, "unit_cost")?,
    );
    for i in 0..c.len() {
        out.entry(c[i].clone()).or_default().push(option(&s[i], uc[i], lt[i] as i64, true));
    }
    if let Some(df) = tables.get(&Table::ComponentSuppliers) {
        let name = "component_suppliers";
        let (c, s, uc, lt) = (
            texts(df, name, "component")?,
            texts(df, name, "supplier")?,
            numbers0(df, name, "unit_cost")?,
            numbers0(df, name, "lead_time_days")?,
        );
        let moq = opt_numbers(df, name, "min_order_qty")?;
        let can = opt_texts(df, name, "can_expedite")?;
        let premium = opt_numbers(df, name, "expedite_premium_percent")?;
        let fast = opt_numbers(df, name, "expedited_lead_time_days")?;
        for i in 0..c.len() {
            let options = out.entry(c[i].clone()).or_default();
            let current = options.iter().any(|o| o.current && o.supplier == s[i]);
            options.retain(|o| o.supplier != s[i]);
            let mut o = option(&s[i], uc[i], lt[i] as i64, current);
            o.min_order_qty = moq[i].unwrap_or(0.0);
            o.can_expedite = can.as_ref().is_none_or(|v| v[i] != "no");
            o.expedite_premium_percent = premium[i].unwrap_or(o.expedite_premium_percent);
            o.expedited_lead_time_days = fast[i].unwrap_or(o.expedited_lead_time_days);
            options.push(o);
        }
    }
    for options in out.values_mut() {
        options.sort_by(|a, b| b.current.cmp(&a.current).then_with(|| a.supplier.cmp(&b.supplier)));
    }
    Ok(out)
}

/// Every SKU's routings, with the default of an empty `routing` applied (see the module's doc).
pub fn routings(tables: &BTreeMap<Table, DataFrame>) -> Result<BTreeMap<String, Vec<Routing>>, AnalysisError> {
    let make_site: BTreeMap<String, String> = {
        let df = table(tables, Table::Items)?;
        texts(df, "items", "sku")?.into_iter().zip(texts(df, "items", "make_site")?).collect()
    };
    let site: BTreeMap<String, String> = {
        let df = table(tables, Table::Resources)?;
        texts(df, "resources", "resource")?.into_iter().zip(texts(df, "resources", "site")?).collect()
    };
    let df = table(tables, Table::Routings)?;
    let name = "routings";
    let (r_sku, r_res, r_h) =
        (texts(df, name, "sku")?, texts(df, name, "resource")?, numbers0(df, name, "hours_per_unit")?);
    let r_routing = opt_texts(df, name, "routing")?.unwrap_or_else(|| vec![String::new(); r_sku.len()]);
    // Per SKU: (routing as written, resource's site, operation).
    let mut rows: BTreeMap<&str, Vec<(&str, &str, Operation)>> = BTreeMap::new();
    for i in 0..r_sku.len() {
        let Some(res_site) = site.get(&r_res[i]) else { continue };
        let op = Operation { resource: r_res[i].clone(), hours_per_unit: r_h[i] };
        rows.entry(r_sku[i].as_str()).or_default().push((r_routing[i].trim(), res_site.as_str(), op));
    }
    let mut out = BTreeMap::new();
    for (sku, rows) in rows {
        let home = make_site.get(sku);
        // Unnamed rows at the make site, or (no row there at all) all unnamed rows, are the
        // primary.
        let any_at_home = rows.iter().any(|(_, s, _)| Some(*s) == home.map(String::as_str));
        let mut by_name: BTreeMap<String, Vec<Operation>> = BTreeMap::new();
        for (written, res_site, op) in rows {
            let name = if !written.is_empty() {
                written.to_string()
            } else if !any_at_home || Some(res_site) == home.map(String::as_str) {
                ROUTING_PRIMARY.to_string()
            } else {
                res_site.to_string()
            };
            by_name.entry(name).or_default().push(op);
        }
        let mut list: Vec<Routing> = by_name
            .into_iter()
            .map(|(name, mut operations)| {
                operations.sort_by(|a, b| a.resource.cmp(&b.resource));
                Routing { name, operations }
            })
            .collect();
        list.sort_by(|a, b| b.is_primary().cmp(&a.is_primary()).then_with(|| a.name.cmp(&b.name)));
        out.insert(sku.to_string(), list);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;

    use super::*;

    fn masters() -> BTreeMap<Table, DataFrame> {
        let mut t = BTreeMap::new();
        t.insert(Table::Items, df!("sku" => ["P1", "P2", "P3"], "make_site" => ["S1", "S1", "S1"]).unwrap());
        t.insert(
            Table::Resources,
            df!("resource" => ["R1", "R2", "R3", "X1"], "site" => ["S1", "S1", "S2", "S3"]).unwrap(),
        );
        t
    }

    fn ops(list: &[(&str, f64)]) -> Vec<Operation> {
        list.iter().map(|(r, h)| Operation { resource: r.to_string(), hours_per_unit: *h }).collect()
    }

    /// Without a `routing` column: P1's rows at S1 are two successive operations of the primary
    /// routing, its row at S2 the alternate `S2`; P2 has no row at its make site, so both its
    /// rows (S2 and S3) are the primary, as the supply review has always loaded them.
    #[test]
    fn routing_kinds_default_to_the_site_rule() {
        let mut t = masters();
        t.insert(
            Table::Routings,
            df!("sku" => ["P1", "P1", "P1", "P2", "P2"],
                "resource" => ["R2", "R1", "R3", "R3", "X1"],
                "hours_per_unit" => [0.5, 2.0, 1.5, 1.0, 3.0])
            .unwrap(),
        );
        let r = routings(&t).unwrap();
        assert_eq!(
            r["P1"],
            vec![
                Routing { name: "primary".into(), operations: ops(&[("R1", 2.0), ("R2", 0.5)]) },
                Routing { name: "S2".into(), operations: ops(&[("R3", 1.5)]) },
            ]
        );
        assert_eq!(r["P2"], vec![Routing { name: "primary".into(), operations: ops(&[("R3", 1.0), ("X1", 3.0)]) }]);
        assert!(r["P1"][0].is_primary() && !r["P1"][1].is_primary());
    }

    /// An explicit `routing` wins over the site rule: P1's two S1 rows are alternatives of each
    /// other (`primary` on R1, `fast` on R2), and a sub-assembly `SA` (no make site) has its own
    /// routing; an empty cell takes the default.
    #[test]
    fn explicit_routing_names_alternatives_and_sub_assemblies() {
        let mut t = masters();
        t.insert(
            Table::Routings,
            df!("sku" => ["P1", "P1", "P3", "SA"],
                "resource" => ["R1", "R2", "R3", "R2"],
                "hours_per_unit" => [2.0, 2.5, 1.0, 0.25],
                "routing" => [Some("primary"), Some("fast"), None, None])
            .unwrap(),
        );
        let r = routings(&t).unwrap();
        assert_eq!(
            r["P1"],
            vec![
                Routing { name: "primary".into(), operations: ops(&[("R1", 2.0)]) },
                Routing { name: "fast".into(), operations: ops(&[("R2", 2.5)]) },
            ]
        );
        // P3's only row is at S2, not its make site: primary. With a named row at its make site,
        // an unnamed row elsewhere is that site's alternate, not part of the primary.
        let mut t2 = masters();
        t2.insert(
            Table::Routings,
            df!("sku" => ["P1", "P1"], "resource" => ["R1", "R3"], "hours_per_unit" => [2.0, 1.0],
                "routing" => [Some("primary"), None])
            .unwrap(),
        );
        let names: Vec<String> = routings(&t2).unwrap()["P1"].iter().map(|r| r.name.clone()).collect();
        assert_eq!(names, ["primary", "S2"]);
        assert_eq!(r["P3"], vec![Routing { name: "primary".into(), operations: ops(&[("R3", 1.0)]) }]);
        assert_eq!(r["SA"], vec![Routing { name: "primary".into(), operations: ops(&[("R2", 0.25)]) }]);
    }

    /// M1 has its current supplier A (from `components`: 10.0, 60 days) and a second one B
    /// (12.5, 20 days, minimum 100, expedite 30 % to 10 days); a row for A itself gives A's
    /// minimum and refuses expediting. M2 is not listed: its one supplier with the `[supply]`
    /// defaults (15 %, 50 % of 40 days = 20 days).
    #[test]
    fn supplier_options_merge_both_tables() {
        let mut t = BTreeMap::new();
        t.insert(
            Table::Components,
            df!("component" => ["M1", "M2"], "supplier" => ["A", "C"], "lead_time_days" => [60i64, 40],
                "unit_cost" => [10.0, 4.0])
            .unwrap(),
        );
        t.insert(
            Table::ComponentSuppliers,
            df!("component" => ["M1", "M1"], "supplier" => ["B", "A"], "unit_cost" => [12.5, 10.0],
                "lead_time_days" => [20i64, 60], "min_order_qty" => [Some(100.0), Some(50.0)],
                "can_expedite" => [None, Some("no")], "expedite_premium_percent" => [Some(30.0), None],
                "expedited_lead_time_days" => [Some(10i64), None])
            .unwrap(),
        );
        let got = supplier_options(&t, &SupplyParams::default()).unwrap();
        let a = SupplierOption {
            supplier: "A".into(),
            unit_cost: 10.0,
            lead_time_days: 60,
            min_order_qty: 50.0,
            can_expedite: false,
            expedite_premium_percent: 15.0,
            expedited_lead_time_days: 30.0,
            current: true,
        };
        let b = SupplierOption {
            supplier: "B".into(),
            unit_cost: 12.5,
            lead_time_days: 20,
            min_order_qty: 100.0,
            can_expedite: true,
            expedite_premium_percent: 30.0,
            expedited_lead_time_days: 10.0,
            current: false,
        };
        assert_eq!(got["M1"], vec![a, b]);
        let c = &got["M2"];
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].supplier.as_str(), c[0].expedited_lead_time_days, c[0].current), ("C", 20.0, true));
        // Without the table, every component has its one supplier.
        t.remove(&Table::ComponentSuppliers);
        let got = supplier_options(&t, &SupplyParams::default()).unwrap();
        assert_eq!(got["M1"].iter().map(|o| o.supplier.as_str()).collect::<Vec<_>>(), ["A"]);
    }
}
