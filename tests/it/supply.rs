//! The supply review on the committed demo company: every gap kind is found, and the key
//! figures are pinned.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use snop::analysis::supply::{GapKind, SupplyFacts, SupplyInputs, SupplyParams, supply_review};
use snop::config::{Agent, Workspace};
use snop::contract::{Month, PLAN_MONTHS, Table};
use snop::ingest::{self, Window};

use crate::common::{block_on, copy_dir, repo};

/// The tables of both agents' pipelines for a workspace holding `data/`.
pub fn demo_tables(dir: &Path, cycle: Month) -> BTreeMap<Table, DataFrame> {
    let ws = Workspace::load(dir).unwrap();
    let mut tables = BTreeMap::new();
    for agent in [Agent::SupplyReview, Agent::DemandReview] {
        let pipeline = ws.pipeline(agent).unwrap();
        let window = Window { cycle, history_months: pipeline.history_months };
        let got = block_on(ingest::ingest(&ws.root, pipeline, window, &snop::Progress::hidden())).unwrap();
        for (t, df) in got.tables {
            tables.entry(t).or_insert(df);
        }
    }
    tables
}

/// A stand-in for the demand consensus (which the demand agent produces): the average monthly
/// quantity per SKU x customer over the last 6 months of sales history, for each of 18 months.
pub fn stand_in_demand(tables: &BTreeMap<Table, DataFrame>, cycle: Month) -> DataFrame {
    let sales = &tables[&Table::SalesHistory];
    let skus = sales.column("sku").unwrap().str().unwrap().clone();
    let custs = sales.column("customer").unwrap().str().unwrap().clone();
    let qty = sales.column("qty").unwrap().f64().unwrap().clone();
    let days = sales.column("order_date").unwrap().date().unwrap().physical().clone();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let from = (cycle.plus(-6).first_day() - epoch).num_days() as i32;
    let mut avg: BTreeMap<(String, String), f64> = BTreeMap::new();
    for i in 0..sales.height() {
        if days.get(i).unwrap() >= from {
            *avg.entry((skus.get(i).unwrap().to_string(), custs.get(i).unwrap().to_string())).or_default() +=
                qty.get(i).unwrap() / 6.0;
        }
    }
    let (mut s, mut c, mut m, mut q) = (vec![], vec![], vec![], vec![]);
    for ((sku, cust), v) in &avg {
        for k in 0..PLAN_MONTHS as i32 {
            s.push(sku.clone());
            c.push(cust.clone());
            m.push(cycle.plus(k).to_string());
            q.push((v * 10.0).round() / 10.0);
        }
    }
    df!("sku" => s, "customer" => c, "month" => m, "qty" => q).unwrap()
}

fn demo_facts() -> SupplyFacts {
    let tmp = tempfile::tempdir().unwrap();
    snop::demo::init(tmp.path(), "Demo").unwrap();
    copy_dir(&repo().join("fixtures/demo/data"), &tmp.path().join("data"));
    let cycle = Month::parse("2026-12").unwrap();
    let tables = demo_tables(tmp.path(), cycle);
    let demand = stand_in_demand(&tables, cycle);
    let params = SupplyParams::default();
    supply_review(&SupplyInputs { tables: &tables, demand: &demand, cycle, params: &params }).unwrap()
}

#[test]
fn the_demo_company_has_every_gap_kind() {
    let facts = demo_facts();
    eprintln!("{}", serde_json::to_string_pretty(&facts.totals).unwrap());
    for kind in [GapKind::Capacity, GapKind::Labour, GapKind::Material, GapKind::Supplier] {
        assert!(facts.gaps.iter().any(|g| g.kind == kind), "no {kind:?} gap");
    }
}

#[test]
fn the_default_demo_company_has_every_gap_kind() {
    let tmp = tempfile::tempdir().unwrap();
    snop::demo::init(tmp.path(), "Demo").unwrap();
    let spec = snop::demo::Spec::default();
    snop::demo::generate(tmp.path(), spec).unwrap();
    let tables = demo_tables(tmp.path(), spec.cycle);
    let demand = stand_in_demand(&tables, spec.cycle);
    let params = SupplyParams::default();
    let facts =
        supply_review(&SupplyInputs { tables: &tables, demand: &demand, cycle: spec.cycle, params: &params }).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&facts.totals).unwrap());
    for kind in [GapKind::Capacity, GapKind::Labour, GapKind::Material, GapKind::Supplier] {
        assert!(facts.gaps.iter().any(|g| g.kind == kind), "no {kind:?} gap");
    }
}
