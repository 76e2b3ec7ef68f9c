//! Test workspaces the reconciliation's and the executive's tests share.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::{ReconcileInputs, ReconcileParams};
use crate::analysis::supply::SupplyFacts;
use crate::contract::Table;

/// The reconciliation's inputs the tests share: both inputs signed, the executive meeting on
/// 2027-01-10 decided by "the COO", no earlier cycle, no demand signals, no owners, en-US, the
/// supply plan's demand as the consensus. A test that differs says so with struct update
/// (`ReconcileInputs { consensus: Some(..), ..inputs(&before, &items, &rparams) }`).
pub fn inputs<'a>(
    before: &'a SupplyFacts,
    items: &'a BTreeMap<String, (String, f64)>,
    rparams: &'a ReconcileParams,
) -> ReconcileInputs<'a> {
    ReconcileInputs {
        supply: before,
        items,
        last_signed: None,
        params: rparams,
        demand_signed: true,
        supply_signed: true,
        executive_date: "2027-01-10".into(),
        decision_owner: "the COO".into(),
        demand: None,
        owners: BTreeMap::new(),
        locale: Default::default(),
        consensus: None,
        last_consensus: None,
        unit_costs: BTreeMap::new(),
    }
}

/// One SKU `A` (price 10, cost 6: margin 4) on one resource `R` (1 h a unit, 100 h a month,
/// at most `overtime` h of overtime at 3 an hour) for customers C1 (priority 1) and C2.
pub fn one_resource(months: &[String], overtime: f64) -> BTreeMap<Table, DataFrame> {
    let mut t = BTreeMap::new();
    t.insert(
        Table::Items,
        df!("sku" => ["A"], "family" => ["F"], "unit_price" => [10.0], "unit_cost" => [6.0], "make_site" => ["S"])
            .unwrap(),
    );
    t.insert(Table::Customers, df!("customer" => ["C1", "C2"], "priority" => [1i64, 2]).unwrap());
    t.insert(Table::Resources, df!("resource" => ["R"], "site" => ["S"], "kind" => ["line"]).unwrap());
    t.insert(Table::Routings, df!("sku" => ["A"], "resource" => ["R"], "hours_per_unit" => [1.0]).unwrap());
    let empty = |cols: &[(&str, bool)]| {
        DataFrame::new_infer_height(
            cols.iter()
                .map(|(c, text)| {
                    if *text {
                        Column::new((*c).into(), Vec::<String>::new())
                    } else {
                        Column::new((*c).into(), Vec::<f64>::new())
                    }
                })
                .collect(),
        )
        .unwrap()
    };
    t.insert(Table::Bom, empty(&[("parent_sku", true), ("component", true), ("qty_per", false)]));
    t.insert(
        Table::Components,
        empty(&[("component", true), ("supplier", true), ("lead_time_days", false), ("unit_cost", false)]),
    );
    t.insert(
        Table::Inventory,
        df!("item" => ["A"], "site" => ["S"], "on_hand" => [0.0], "safety_stock" => [0.0]).unwrap(),
    );
    let n = months.len();
    t.insert(
        Table::Capacity,
        df!(
            "resource" => vec!["R"; n],
            "month" => months.to_vec(),
            "available_hours" => vec![100.0; n],
            "max_overtime_hours" => vec![overtime; n],
            "overtime_cost_per_hour" => vec![3.0; n]
        )
        .unwrap(),
    );
    t
}
