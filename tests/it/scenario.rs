//! What-if scenarios: the file validated with file, line and key; hand-checked cases (an extra
//! shift, a lost supplier, a promotion) re-planned by the supply review's linear program; the
//! comparison's figures against an independent computation.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use snop::analysis::supply::{PlanAdjustments, SupplyFacts, SupplyInputs, SupplyParams, supply_review_with};
use snop::contract::{Month, PLAN_MONTHS, Table};
use snop::scenario::{self, Comparison, Outcome};

fn cycle() -> Month {
    Month::parse("2026-12").unwrap()
}

fn d(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// A tiny company: SKU `P1` (family `pumps`, price 150, cost 100, margin 50, made at `S1`) on
/// line `R1` at 2 h a unit, 15 regular hours a month and 3 of overtime at 20/h; one
/// component `M1` a unit, from `SUPA` (standard cost 10, 10 days) or its second source `SUPB`
/// (12.5, 10 days); customers `C1` (priority 1) and `C2` (priority 2).
fn tables(pos: &[(&str, &str, &str, f64)]) -> BTreeMap<Table, DataFrame> {
    let mut t = BTreeMap::new();
    t.insert(
        Table::Items,
        df!("sku" => s(&["P1"]), "family" => s(&["pumps"]), "unit_price" => [150.0], "unit_cost" => [100.0],
            "make_site" => s(&["S1"]))
        .unwrap(),
    );
    t.insert(Table::Customers, df!("customer" => s(&["C1", "C2"]), "priority" => [1i64, 2]).unwrap());
    t.insert(Table::Resources, df!("resource" => s(&["R1"]), "site" => s(&["S1"]), "kind" => s(&["line"])).unwrap());
    t.insert(Table::Routings, df!("sku" => s(&["P1"]), "resource" => s(&["R1"]), "hours_per_unit" => [2.0]).unwrap());
    t.insert(Table::Bom, df!("parent_sku" => s(&["P1"]), "component" => s(&["M1"]), "qty_per" => [1.0]).unwrap());
    t.insert(
        Table::Components,
        df!("component" => s(&["M1"]), "supplier" => s(&["SUPA"]), "lead_time_days" => [10i64], "unit_cost" => [10.0])
            .unwrap(),
    );
    t.insert(
        Table::ComponentSuppliers,
        df!("component" => s(&["M1"]), "supplier" => s(&["SUPB"]), "unit_cost" => [12.5], "lead_time_days" => [10i64])
            .unwrap(),
    );
    t.insert(
        Table::Inventory,
        df!("item" => Vec::<String>::new(), "site" => Vec::<String>::new(), "on_hand" => Vec::<f64>::new(),
            "safety_stock" => Vec::<f64>::new())
        .unwrap(),
    );
    t.insert(
        Table::OpenPurchaseOrders,
        df!("component" => pos.iter().map(|p| p.0.to_string()).collect::<Vec<_>>(),
            "supplier" => pos.iter().map(|p| p.1.to_string()).collect::<Vec<_>>(),
            "due_date" => pos.iter().map(|p| d(p.2)).collect::<Vec<_>>(),
            "qty" => pos.iter().map(|p| p.3).collect::<Vec<_>>())
        .unwrap(),
    );
    let months: Vec<String> = (0..PLAN_MONTHS as i32).map(|k| cycle().plus(k).to_string()).collect();
    let n = months.len();
    t.insert(
        Table::Capacity,
        df!("resource" => vec!["R1".to_string(); n], "month" => months, "available_hours" => vec![15.0; n],
            "max_overtime_hours" => vec![3.0; n], "overtime_cost_per_hour" => vec![20.0; n])
        .unwrap(),
    );
    t.insert(
        Table::SupplierDeliveries,
        df!("supplier" => Vec::<String>::new(), "component" => Vec::<String>::new(),
            "promised_date" => Vec::<chrono::NaiveDate>::new(), "delivered_date" => Vec::<Option<chrono::NaiveDate>>::new(),
            "qty_promised" => Vec::<f64>::new(), "qty_delivered" => Vec::<f64>::new())
        .unwrap(),
    );
    t.insert(
        Table::OpenOrders,
        df!("order_id" => Vec::<String>::new(), "sku" => Vec::<String>::new(), "customer" => Vec::<String>::new(),
            "requested_month" => Vec::<String>::new(), "qty" => Vec::<f64>::new())
        .unwrap(),
    );
    t.insert(
        Table::Budget,
        df!("family" => Vec::<String>::new(), "month" => Vec::<String>::new(), "revenue" => Vec::<f64>::new()).unwrap(),
    );
    t
}

/// The consensus's cells as the demand review stores them, all in the statistical layer.
fn demand(rows: &[(&str, &str, &str, f64)]) -> DataFrame {
    let layered: Vec<(&str, &str, &str, [f64; 3])> = rows.iter().map(|r| (r.0, r.1, r.2, [r.3, 0.0, 0.0])).collect();
    cells(&layered)
}

/// The consensus's cells (`consensus.parquet`): per SKU, customer and month, the statistical,
/// sales and marketing layers, and the final one (their sum, never below 0).
fn cells(rows: &[(&str, &str, &str, [f64; 3])]) -> DataFrame {
    df!("sku" => rows.iter().map(|r| r.0.to_string()).collect::<Vec<_>>(),
        "customer" => rows.iter().map(|r| r.1.to_string()).collect::<Vec<_>>(),
        "family" => vec!["pumps".to_string(); rows.len()],
        "month" => rows.iter().map(|r| r.2.to_string()).collect::<Vec<_>>(),
        "statistical" => rows.iter().map(|r| r.3[0]).collect::<Vec<_>>(),
        "sales" => rows.iter().map(|r| r.3[1]).collect::<Vec<_>>(),
        "marketing" => rows.iter().map(|r| r.3[2]).collect::<Vec<_>>(),
        "final" => rows.iter().map(|r| r.3.iter().sum::<f64>().max(0.0)).collect::<Vec<_>>(),
        "method" => vec!["ses".to_string(); rows.len()])
    .unwrap()
}

/// Writes `scenarios/<name>.toml` under `root` and loads it.
fn scenario_file(root: &Path, name: &str, text: &str) -> Result<scenario::Scenario, snop::config::ConfigError> {
    fs_err::create_dir_all(root.join("scenarios")).unwrap();
    fs_err::write(root.join("scenarios").join(format!("{name}.toml")), text).unwrap();
    scenario::load(root, name)
}

/// The plan of `sc` over the tables and demand, and its outcome.
fn plan(sc: &scenario::Scenario, t: &BTreeMap<Table, DataFrame>, dm: &DataFrame) -> (SupplyFacts, Outcome) {
    let a = scenario::apply(sc, t, dm, cycle()).unwrap();
    let params = SupplyParams::default();
    let inputs = SupplyInputs { tables: &a.tables, demand: &a.demand, cycle: cycle(), params: &params };
    let windows = PlanAdjustments { unavailable: a.unavailable.clone(), ..PlanAdjustments::default() };
    let f = supply_review_with(&inputs, &windows).unwrap();
    let fam = BTreeMap::from([("P1".to_string(), "pumps".to_string())]);
    let o =
        scenario::outcome(&sc.name, &sc.description, &f, &fam, a.notes).with_consensus(&a.consensus, a.scenario_units);
    (f, o)
}

fn ids(o: &Outcome) -> Vec<&str> {
    o.gaps.iter().map(|g| g.id.as_str()).collect()
}

fn figure(c: &Comparison, label: &str) -> Vec<f64> {
    c.figures.iter().find(|r| r.label == label).unwrap_or_else(|| panic!("no row `{label}`")).values.clone()
}

/// An extra shift closes a capacity gap at its overtime cost. December only (nothing to build
/// ahead from): 9 units x 2 h = 18 h on 15 regular hours, 3 h over. Base: the 3 h of overtime
/// at 20/h make the last 1.5 units for 60 (40 a unit, under their margin of 50): all 9 served,
/// spend 60, margin 9 x 50 = 450, after fixes 390; gap CAP-R1-2026-12 (3 h short). With a
/// Saturday shift of 8 h: 23 h regular, no overtime, no gap, margin after fixes 450: the shift
/// is worth exactly the 60 of overtime it saves.
#[test]
fn an_extra_shift_closes_a_capacity_gap_at_its_overtime_cost() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tables(&[]);
    let dm = demand(&[("P1", "C1", "2026-12", 9.0)]);
    let shift = scenario_file(
        tmp.path(),
        "shift",
        "description = \"Saturday shift\"\n[[capacity]]\nresource = \"R1\"\nfrom = \"2026-12\"\nto = \"2026-12\"\nhours = 8\n",
    )
    .unwrap();
    let base = scenario::load(tmp.path(), scenario::BASE).unwrap();
    let ((bf, b), (sf, o)) = (plan(&base, &t, &dm), plan(&shift, &t, &dm));
    assert_eq!(ids(&b), ["CAP-R1-2026-12"]);
    assert_eq!(bf.gaps[0].hours_short, Some(3.0));
    assert_eq!(
        (b.cost.overtime_money, b.unmet_units, b.margin_money, b.margin_after_fixes_money),
        (60.0, 0.0, 450.0, 390.0)
    );
    assert!(ids(&o).is_empty(), "{:?}", sf.gaps);
    assert_eq!((o.cost.overtime_money, o.unmet_units, o.margin_after_fixes_money), (0.0, 0.0, 450.0));
    assert_eq!(o.changes, ["capacity[0]: R1 +8 h a month in 2026-12: 1 resource-month(s), +8 regular hours in all"]);

    let c = scenario::compare(vec![b, o]);
    assert_eq!(figure(&c, "Overtime"), [60.0, 0.0]);
    assert_eq!(figure(&c, "Margin after fixes"), [390.0, 450.0]);
    assert_eq!(c.gaps.len(), 1);
    assert_eq!((c.gaps[0].change.as_str(), c.gaps[0].id.as_str()), ("closed", "CAP-R1-2026-12"));
    let words = &c.explained[0].lines;
    assert_eq!(
        words[0],
        "shift: margin after fixes +60 against base (390 -> 450); service level 100% -> 100%; unmet units 0 -> 0."
    );
    assert!(words.contains(&"overtime spend -60 (60 -> 0)".to_string()), "{words:#?}");
}

/// A lost supplier moves volume to the alternate at its premium. January needs 7 M1 (7 P1 for
/// C1, 14 h of R1's 15). Base: an open order of 4 from SUPA due 5 January and 3 more bought
/// from SUPA at the standard cost: no premium, all served, margin 7 x 50 = 350. SUPA
/// unavailable December to February: the open order does not arrive and SUPA's new orders
/// arrive from March, so all 7 come from SUPB at 12.5, 2.5 over the standard cost: a premium of
/// 7 x 2.5 = 17.5, far under the 50 of margin a unit, so all 7 are served. Margin after fixes
/// falls from 350 to 332.5. Without the second source, the 7 are lost: 350 of margin.
#[test]
fn a_lost_supplier_moves_volume_to_the_alternate_at_its_premium() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tables(&[("M1", "SUPA", "2027-01-05", 4.0)]);
    let dm = demand(&[("P1", "C1", "2027-01", 7.0)]);
    let lost = scenario_file(
        tmp.path(),
        "lost",
        "[[supplier]]\nsupplier = \"SUPA\"\nunavailable_from = \"2026-12\"\nunavailable_to = \"2027-02\"\n",
    )
    .unwrap();
    let base = scenario::load(tmp.path(), scenario::BASE).unwrap();
    let ((_, b), (_, o)) = (plan(&base, &t, &dm), plan(&lost, &t, &dm));
    assert_eq!((b.cost.purchase_premium_money, b.unmet_units, b.margin_after_fixes_money), (0.0, 0.0, 350.0));
    assert_eq!(b.spend_money, 0.0);
    assert_eq!((o.cost.purchase_premium_money, o.unmet_units, o.margin_after_fixes_money), (17.5, 0.0, 332.5));
    assert_eq!(o.spend_money, 17.5);
    let note = &o.changes[0];
    assert!(
        note.starts_with("supplier[0]: SUPA unavailable 2026-12 to 2027-02: 1 open order(s) due then lost (4 units)"),
        "{note}"
    );
    let c = scenario::compare(vec![b, o]);
    assert_eq!(figure(&c, "Second sources"), [0.0, 17.5]);
    // Without its second source the same loss cannot be covered: 7 units lost at 50.
    let mut alone = t.clone();
    alone.remove(&Table::ComponentSuppliers);
    let (_, o2) = plan(&lost, &alone, &dm);
    assert_eq!((o2.unmet_units, o2.cost.lost_margin_money), (7.0, 350.0));
}

/// A supplier lost for plan months 3 to 5 (February to April 2027; December 2026 is month 1)
/// moves those months' volume to the alternate at its premium, and only those. P1 for C1: 7
/// units a month, January to June (14 h of R1's 15 each). SUPA's open orders: 4 due 5 January
/// (before the window: kept), 5 due 10 March (inside: lost), 6 due 5 June (after: kept).
/// Holding at 30 % a month (3 a month for M1, more than SUPB's premium of 2.5), so nothing is
/// bought ahead. Base: every M1 from SUPA, no premium; margin 6 x 7 x 50 = 2,100. Lost:
/// January 4 (open order) + 3 bought from SUPA; February, March, April 7 each from SUPB (21 x
/// 2.5 = 52.5); May 7 from SUPA; June 6 (open order) + 1 from SUPA. Margin after fixes
/// 2,100 - 52.5 = 2,047.5. The old approximation (new orders only after the window) would have
/// bought January's 3 from SUPB too (60). At the default holding (2 % a month, 0.2 for M1),
/// buying ahead beats the premium: January buys 3 + 21 = 24 from SUPA, nothing from SUPB.
#[test]
fn a_supplier_lost_for_months_three_to_five_moves_only_those_months_to_the_alternate() {
    use snop::analysis::supply::lp;
    let tmp = tempfile::tempdir().unwrap();
    let t = tables(&[
        ("M1", "SUPA", "2027-01-05", 4.0),
        ("M1", "SUPA", "2027-03-10", 5.0),
        ("M1", "SUPA", "2027-06-05", 6.0),
    ]);
    let months = ["2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06"];
    let rows: Vec<(&str, &str, &str, f64)> = months.iter().map(|m| ("P1", "C1", *m, 7.0)).collect();
    let dm = demand(&rows);
    let lost = scenario_file(
        tmp.path(),
        "lost",
        "[[supplier]]\nsupplier = \"SUPA\"\nunavailable_from = \"2027-02\"\nunavailable_to = \"2027-04\"\n",
    )
    .unwrap();
    let a = scenario::apply(&lost, &t, &dm, cycle()).unwrap();
    assert_eq!(
        a.notes,
        [
            "supplier[0]: SUPA unavailable 2027-02 to 2027-04: 1 open order(s) due then lost (5 units), 2 due before or after kept; no new order or expedite of it arrives in 2027-02 to 2027-04, it delivers before and again from 2027-05"
        ]
    );
    assert_eq!(a.tables[&Table::OpenPurchaseOrders].height(), 2);
    // Bought per supplier and month, from the plan's own linear program with the window.
    let bought = |holding: f64, window: bool| -> (BTreeMap<(String, usize), f64>, SupplyFacts) {
        let params = SupplyParams { holding_cost_percent_per_month: holding, ..SupplyParams::default() };
        let tables = if window { &a.tables } else { &t };
        let inputs = SupplyInputs { tables, demand: &a.demand, cycle: cycle(), params: &params };
        let mut p = lp::Problem::from_inputs(&inputs).unwrap();
        if window {
            assert!(p.close_supplier("SUPA", 2, 4));
        }
        let sol = lp::solve(&p).unwrap();
        let mut out = BTreeMap::new();
        for (o, opt) in p.components[0].options.iter().enumerate() {
            for (k, q) in sol.purchases[0][o].iter().enumerate() {
                if *q > 1e-9 {
                    *out.entry((p.suppliers[opt.supplier].name.clone(), k)).or_default() += *q;
                }
            }
        }
        let adjust = PlanAdjustments {
            unavailable: if window { a.unavailable.clone() } else { Vec::new() },
            ..PlanAdjustments::default()
        };
        (out, supply_review_with(&inputs, &adjust).unwrap())
    };
    let key = |s: &str, k: usize| (s.to_string(), k);
    let (base, bf) = bought(30.0, false);
    assert_eq!(
        base,
        BTreeMap::from([
            (key("SUPA", 1), 3.0),
            (key("SUPA", 2), 7.0),
            (key("SUPA", 3), 2.0),
            (key("SUPA", 4), 7.0),
            (key("SUPA", 5), 7.0),
            (key("SUPA", 6), 1.0)
        ])
    );
    assert_eq!((bf.totals.plan_cost.purchase_premium_money, bf.totals.margin_constrained_money), (0.0, 2100.0));
    let (got, f) = bought(30.0, true);
    assert_eq!(
        got,
        BTreeMap::from([
            (key("SUPA", 1), 3.0),
            (key("SUPB", 2), 7.0),
            (key("SUPB", 3), 7.0),
            (key("SUPB", 4), 7.0),
            (key("SUPA", 5), 7.0),
            (key("SUPA", 6), 1.0)
        ])
    );
    let c = &f.totals.plan_cost;
    assert_eq!((c.purchase_premium_money, c.lost_margin_money, f.totals.unmet_units), (52.5, 0.0, 0.0));
    assert_eq!(f.totals.margin_constrained_money - c.spend(), 2047.5);
    // At 2 % a month, SUPA's months before the window buy ahead for it.
    let (ahead, f) = bought(2.0, true);
    assert_eq!(ahead, BTreeMap::from([(key("SUPA", 1), 24.0), (key("SUPA", 5), 7.0), (key("SUPA", 6), 1.0)]));
    assert_eq!(f.totals.plan_cost.purchase_premium_money, 0.0);
}

/// A promotion raises demand and opens a gap. Base: 7 units in December = 14 h of 15: no gap,
/// no spend, revenue 1,050. Promotion +50 %: 10.5 units = 21 h, 6 h over: overtime's 3 h make
/// 1.5 units for 60; 1.5 units are lost (75 of margin). Served 9: revenue 1,350, margin 450,
/// after fixes 390; gap CAP-R1-2026-12 opened, 6 h short and 1.5 units short (what overtime
/// cannot make).
#[test]
fn a_promotion_raises_demand_and_opens_a_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tables(&[]);
    let dm = demand(&[("P1", "C1", "2026-12", 7.0)]);
    let promo = scenario_file(
        tmp.path(),
        "promo",
        "[[demand]]\nfamily = \"pumps\"\nfrom = \"2026-12\"\nto = \"2026-12\"\npercent = 50\n",
    )
    .unwrap();
    let base = scenario::load(tmp.path(), scenario::BASE).unwrap();
    let ((_, b), (pf, o)) = (plan(&base, &t, &dm), plan(&promo, &t, &dm));
    assert!(ids(&b).is_empty());
    assert_eq!((b.revenue_money, b.spend_money, b.demand_units), (1050.0, 0.0, 7.0));
    assert_eq!(ids(&o), ["CAP-R1-2026-12"]);
    assert_eq!((pf.gaps[0].hours_short, pf.gaps[0].units_short), (Some(6.0), 1.5));
    assert_eq!((o.demand_units, o.served_units, o.unmet_units), (10.5, 9.0, 1.5));
    assert_eq!((o.revenue_money, o.cost.overtime_money, o.cost.lost_margin_money), (1350.0, 60.0, 75.0));
    assert_eq!(o.margin_after_fixes_money, 390.0);
    assert_eq!(o.service_level_percent, 85.71); // 9 / 10.5
    assert_eq!(o.unmet_by_customer[0].units, 1.5);
    assert_eq!(o.unmet_by_family, [scenario::compare::Unmet { key: "pumps".into(), units: 1.5, revenue_money: 225.0 }]);
    let c = scenario::compare(vec![b, o]);
    assert_eq!((c.gaps[0].change.as_str(), c.gaps[0].id.as_str()), ("opened", "CAP-R1-2026-12"));
    assert_eq!(c.unmet_by_customer[0].values, [0.0, 1.5]);
}

/// A promotion of +20 % on the pumps family for three months goes through the demand layers.
/// The consensus: December to April, C1 at statistical 4 + sales 1 = 5 a month and C2 at
/// statistical 2 + marketing 0.5 = 2.5: 7.5 units a month, 15 h of R1's 15 (no gap, no spend).
/// +20 % January to March is 20 % of each cell's final layer: C1 5 -> 6, C2 2.5 -> 3, so 9 a
/// month = 18 h, 3 h over, which is R1's overtime ceiling: 1.5 units a month on overtime at
/// 2 h x 20 = 40 a unit, 60 a month, 180 in all; everything served. Consensus: 5 x 7.5 = 37.5
/// units (5,625 at 150) -> 37.5 + 3 x 1.5 = 42 (6,300); the scenario layer 4.5 units. Margin
/// after fixes: 37.5 x 50 = 1,875 -> 42 x 50 - 180 = 1,920. Gaps opened: CAP-R1-2027-01 to
/// -03, 3 h short each. The sales and marketing layers are the consensus's: the promotion is
/// 20 % of what they make, not of the statistical forecast alone.
#[test]
fn a_promotion_goes_through_the_demand_layers_and_opens_a_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tables(&[]);
    let mut rows = Vec::new();
    for m in ["2026-12", "2027-01", "2027-02", "2027-03", "2027-04"] {
        rows.push(("P1", "C1", m, [4.0, 1.0, 0.0]));
        rows.push(("P1", "C2", m, [2.0, 0.0, 0.5]));
    }
    let cl = cells(&rows);
    let promo = scenario_file(
        tmp.path(),
        "promo",
        "[[demand]]\nfamily = \"pumps\"\nfrom = \"2027-01\"\nto = \"2027-03\"\npercent = 20\n",
    )
    .unwrap();
    let base = scenario::load(tmp.path(), scenario::BASE).unwrap();
    let a = scenario::apply(&promo, &t, &cl, cycle()).unwrap();
    // The demand the supply review reads, cell by cell, by hand.
    let got = |df: &DataFrame| -> BTreeMap<(String, String), f64> {
        let (sk, cu, mo) = (
            df.column("sku").unwrap().str().unwrap(),
            df.column("customer").unwrap().str().unwrap(),
            df.column("month").unwrap().str().unwrap(),
        );
        let q = df.column("qty").unwrap().f64().unwrap();
        (0..df.height())
            .map(|i| {
                (
                    (format!("{}:{}", sk.get(i).unwrap(), cu.get(i).unwrap()), mo.get(i).unwrap().to_string()),
                    q.get(i).unwrap(),
                )
            })
            .collect()
    };
    let want = |cell: &str, m: &str| -> f64 {
        let promo = ["2027-01", "2027-02", "2027-03"].contains(&m);
        match (cell, promo) {
            ("P1:C1", false) => 5.0,
            ("P1:C1", true) => 6.0,
            ("P1:C2", false) => 2.5,
            _ => 3.0,
        }
    };
    let demand = got(&a.demand);
    assert_eq!(demand.len(), 10);
    for ((cell, m), q) in &demand {
        assert!((q - want(cell, m)).abs() < 1e-9, "{cell} {m}: {q}");
    }
    assert!((a.consensus.final_units - 42.0).abs() < 1e-9);
    assert!((a.consensus.final_revenue - 6300.0).abs() < 1e-6);
    assert!((a.scenario_units - 4.5).abs() < 1e-9);
    assert_eq!(
        a.notes,
        [
            "demand[0]: demand of family pumps +20 % in 2027-01 to 2027-03, as a layer of the consensus: 22.5 units -> 27 (+4.5 units) on 6 cell(s)"
        ]
    );

    let (_, b) = plan(&base, &t, &cl);
    let (pf, o) = plan(&promo, &t, &cl);
    assert!(ids(&b).is_empty());
    assert_eq!((b.consensus_units, b.consensus_revenue_money, b.margin_after_fixes_money), (37.5, 5625.0, 1875.0));
    assert_eq!(ids(&o), ["CAP-R1-2027-01", "CAP-R1-2027-02", "CAP-R1-2027-03"]);
    assert!(pf.gaps.iter().all(|g| g.hours_short == Some(3.0)), "{:?}", pf.gaps);
    assert_eq!((o.consensus_units, o.consensus_revenue_money, o.scenario_layer_units), (42.0, 6300.0, 4.5));
    assert_eq!((o.demand_units, o.served_units, o.unmet_units), (42.0, 42.0, 0.0));
    assert_eq!((o.cost.overtime_money, o.spend_money, o.margin_after_fixes_money), (180.0, 180.0, 1920.0));
    let c = scenario::compare(vec![b, o]);
    assert_eq!(figure(&c, "Consensus revenue"), [5625.0, 6300.0]);
    assert_eq!(figure(&c, "Revenue"), [5625.0, 6300.0]);
    let opened: Vec<&str> = c.gaps.iter().filter(|g| g.change == "opened").map(|g| g.id.as_str()).collect();
    assert_eq!(opened, ["CAP-R1-2027-01", "CAP-R1-2027-02", "CAP-R1-2027-03"]);
}

/// Every figure of the comparison against a computation from the facts with plain loops: the
/// plan lines summed, the cost kinds added by hand, gaps set against each other.
#[test]
fn comparison_figures_agree_with_plain_loops_over_the_facts() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tables(&[("M1", "SUPA", "2027-01-05", 4.0)]);
    let dm = demand(&[
        ("P1", "C1", "2026-12", 6.0),
        ("P1", "C2", "2026-12", 4.0),
        ("P1", "C1", "2027-01", 8.0),
        ("P1", "C2", "2027-02", 9.0),
    ]);
    let sc = scenario_file(
        tmp.path(),
        "mix",
        "[[demand]]\ncustomer = \"C2\"\nfrom = \"2027-01\"\nunits = 3\n\n[[site_down]]\nsite = \"S1\"\nfrom = \"2027-01\"\nto = \"2027-01\"\n\n[[customer]]\ncustomer = \"C2\"\npriority = 1\n",
    )
    .unwrap();
    let base = scenario::load(tmp.path(), scenario::BASE).unwrap();
    let (bf, b) = plan(&base, &t, &dm);
    let (sf, o) = plan(&sc, &t, &dm);
    let c = scenario::compare(vec![b.clone(), o.clone()]);
    for (k, f) in [bf, sf].iter().enumerate() {
        let (mut dem, mut served) = (0.0, 0.0);
        let mut unmet: BTreeMap<&str, f64> = BTreeMap::new();
        for l in &f.constrained_plan {
            dem += l.demand_units;
            served += l.constrained_units;
            *unmet.entry(l.customer.as_str()).or_default() += l.demand_units - l.constrained_units;
        }
        let x = &f.totals.plan_cost;
        let spend =
            x.overtime_money + x.holding_money + x.routing_premium_money + x.purchase_premium_money + x.expedite_money;
        let close = |a: f64, b: f64| (a - b).abs() < 0.011;
        assert!(close(figure(&c, "Demand units")[k], dem), "{k}: {dem}");
        assert!(close(figure(&c, "Served units")[k], served), "{k}: {served}");
        assert!(close(figure(&c, "Unmet units")[k], dem - served));
        assert!(close(figure(&c, "Service level %")[k], 100.0 * served / dem));
        assert!(close(figure(&c, "Spend on fixes")[k], spend));
        assert!(close(figure(&c, "Margin after fixes")[k], f.totals.margin_constrained_money - spend));
        assert_eq!(figure(&c, "Gaps")[k], f.gaps.len() as f64);
        for row in &c.unmet_by_customer {
            assert!(close(row.values[k], unmet.get(row.label.as_str()).copied().unwrap_or(0.0)), "{}", row.label);
        }
    }
    // Demand, a layer of the consensus: C2's cell (P1 x C2) has 0 in January and 9 in
    // February (the consensus's last month); +3 a month on it: 3 and 12. 27 + 6 = 33 units.
    assert_eq!(figure(&c, "Demand units"), [27.0, 33.0]);
    assert_eq!(figure(&c, "Consensus units"), [27.0, 33.0]);
    assert_eq!(figure(&c, "Scenario demand layer units"), [0.0, 6.0]);
    assert!(o.changes[0].contains("9 units -> 15 (+6 units) on 2 cell(s)"), "{}", o.changes[0]);
    // The site down in January: R1 at 0 h, no overtime: January's 8 units can only be built
    // ahead in December (15 + 3 h = 9 units, 10 wanted there already).
    assert!(
        o.changes[1].starts_with("site_down[0]: site S1 down in 2027-01: 1 resource(s) at 0 h"),
        "{}",
        o.changes[1]
    );
    assert_eq!(o.changes[2], "customer[0]: C2's priority 2 -> 1");
    let (bg, sg): (Vec<&str>, Vec<&str>) = (ids(&b), ids(&o));
    for g in &c.gaps {
        let (in_b, in_s) = (bg.contains(&g.id.as_str()), sg.contains(&g.id.as_str()));
        assert_eq!(g.change, if in_s && !in_b { "opened" } else { "closed" });
        assert!(in_b != in_s);
    }
    let moved = bg.iter().filter(|g| !sg.contains(g)).count() + sg.iter().filter(|g| !bg.contains(g)).count();
    assert_eq!(c.gaps.len(), moved);
}

/// Every problem of a scenario file with its file, line and key; a name the data does not know
/// is placed the same way when the scenario is applied.
#[test]
fn scenario_files_are_validated_with_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "description = \"bad\"\n\n[[capacity]]\nresource = \"R1\"\nfrom = \"2027-13\"\nhours = 8\n\n[[demand]]\nsku = \"P1\"\nfrom = \"2027-01\"\npercent = 10\nunits = 5\n\n[[supplier]]\nsupplier = \"SUPA\"\nlead_time = 3\n";
    let err = scenario_file(tmp.path(), "bad", text).unwrap_err();
    let got: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    assert!(
        got.iter().any(|p| p.starts_with("`scenarios/bad.toml` line 16") && p.contains("unknown field `lead_time`")),
        "{got:#?}"
    );
    // Once the unknown key is reported, nothing else is judged (the file does not read).
    let text = text.replace("lead_time = 3", "lead_time_days = 30");
    let err = scenario_file(tmp.path(), "bad", &text).unwrap_err();
    let got: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "`scenarios/bad.toml` line 3, key `capacity[0]`: `from` is `2027-13`: a month is written `YYYY-MM`",
            "`scenarios/bad.toml` line 8, key `demand[0]`: give `percent` or `units` (one of them)",
        ]
    );
    assert_eq!(snop::scenario::check_all(tmp.path()).len(), 2);

    let ok = scenario_file(tmp.path(), "unknown", "[[capacity]]\nresource = \"R9\"\nfrom = \"2026-12\"\nhours = 8\n")
        .unwrap();
    let err = scenario::apply(&ok, &tables(&[]), &demand(&[]), cycle()).unwrap_err();
    assert_eq!(
        err.to_string().lines().nth(1).unwrap().trim(),
        "- `scenarios/unknown.toml` line 1, key `capacity[0].resource`: no resource `R9` in the resources table"
    );
    let err = scenario::load(tmp.path(), "Bad Name").unwrap_err();
    assert!(err.to_string().contains("is not a scenario name"), "{err}");
}

/// A supplier's lead time changed: SUPA at 120 days arrives in April at the earliest (the 15th
/// of April is 135 days after 1 December; of March, 104), its expedite (50 % of the lead time,
/// 60 days) in February. The open order of 4 still arrives on 5 January; the other 3 units of
/// January come from SUPB at 2.5 over the standard cost: 7.5, margin after fixes 350 - 7.5.
#[test]
fn a_longer_lead_time_moves_the_rest_to_the_second_source() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tables(&[("M1", "SUPA", "2027-01-05", 4.0)]);
    let dm = demand(&[("P1", "C1", "2027-01", 7.0)]);
    let slow = scenario_file(tmp.path(), "slow", "[[supplier]]\nsupplier = \"SUPA\"\nlead_time_days = 120\n").unwrap();
    let a = scenario::apply(&slow, &t, &dm, cycle()).unwrap();
    let lead = a.tables[&Table::Components].column("lead_time_days").unwrap().i64().unwrap().get(0);
    assert_eq!(lead, Some(120));
    assert_eq!(a.tables[&Table::ComponentSuppliers].height(), 1, "no row added: an expedite keeps its terms");
    assert_eq!(a.notes, ["supplier[0]: SUPA's lead time 120 days on 1 supply row(s)"]);
    let (_, o) = plan(&slow, &t, &dm);
    assert_eq!((o.cost.purchase_premium_money, o.unmet_units, o.margin_after_fixes_money), (7.5, 0.0, 342.5));
}

/// `[reconciliation] pack_scenario` names a scenario file that is there, checked when the
/// workspace loads, with the file, line and key.
#[test]
fn the_pack_scenario_is_validated_with_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    snop::demo::init(root, "Test Co").unwrap();
    let toml = root.join("snop.toml");
    let text = fs_err::read_to_string(&toml).unwrap();
    let line = text.lines().position(|l| l.starts_with("max_executive_decisions")).unwrap() + 2;
    let with = |name: &str| {
        let t = text.replacen(
            "max_executive_decisions = 10\n",
            &format!("max_executive_decisions = 10\npack_scenario = \"{name}\"\n"),
            1,
        );
        fs_err::write(&toml, t).unwrap();
        snop::config::Workspace::load_without_inputs(root).map(|w| w.pack_scenario)
    };
    let problems = |r: Result<Option<String>, snop::config::ConfigError>| -> Vec<String> {
        r.unwrap_err().problems.iter().map(ToString::to_string).collect()
    };
    let at = format!("`snop.toml` line {line}, key `reconciliation.pack_scenario`: ");
    assert_eq!(problems(with("night-shift")), [format!("{at}no scenario file `scenarios/night-shift.toml`")]);
    assert_eq!(
        problems(with("base")),
        [format!("{at}`base` is the plan with no change: name a scenario to compare with it")]
    );
    assert!(problems(with("Night Shift"))[0].starts_with(&format!("{at}`Night Shift` is not a scenario name")));
    fs_err::write(&toml, &text).unwrap();
    snop::demo::enable_pack_scenario(root, cycle()).unwrap();
    let ws = snop::config::Workspace::load_without_inputs(root).unwrap();
    assert_eq!(ws.pack_scenario.as_deref(), Some(snop::demo::PACK_SCENARIO));
}

/// A shift pattern's hours come from the calendar, month by month. Hand-worked: 1 December 2026
/// is a Tuesday, so December's Saturdays are the 5th, 12th, 19th and 26th: 4 x 8 h = 32 h for
/// one crew; 1 January 2027 is a Friday, so January's are the 2nd, 9th, 16th, 23rd and 30th:
/// 5 x 8 = 40 h, 80 h for two crews. With Boxing Day (Saturday 26 December) a holiday,
/// December has 3: 24 h. Applied, R1's regular hours are the extract's plus those.
#[test]
fn a_shift_pattern_counts_the_weekdays_of_each_month_less_the_holidays() {
    use scenario::spec::Shift;
    let sat = |crews| Shift { days: vec![chrono::Weekday::Sat], hours_per_day: 8.0, crews };
    let none = std::collections::BTreeSet::new();
    let boxing = std::collections::BTreeSet::from([d("2026-12-26")]);
    let m = |s: &str| Month::parse(s).unwrap();
    assert_eq!(sat(1).hours_in(m("2026-12"), &none), (4, 32.0));
    assert_eq!(sat(1).hours_in(m("2027-01"), &none), (5, 40.0));
    assert_eq!(sat(2).hours_in(m("2027-01"), &none), (5, 80.0));
    assert_eq!(sat(1).hours_in(m("2026-12"), &boxing), (3, 24.0));
    // Mondays and Fridays of February 2027 (1 February is a Monday): 4 + 4, at 6 h: 48 h.
    let two = Shift { days: vec![chrono::Weekday::Mon, chrono::Weekday::Fri], hours_per_day: 6.0, crews: 1 };
    assert_eq!(two.hours_in(m("2027-02"), &none), (8, 48.0));

    let tmp = tempfile::tempdir().unwrap();
    let text = "[[capacity]]\nresource = \"R1\"\nfrom = \"2026-12\"\nto = \"2027-01\"\nshift = { days = [\"sat\"], hours_per_day = 8 }\n";
    let sc = scenario_file(tmp.path(), "saturdays", text).unwrap();
    let t = tables(&[]);
    let hours = |t: &BTreeMap<Table, DataFrame>, month: &str| -> f64 {
        let df = &t[&Table::Capacity];
        let (r, mo) = (
            df.column("resource").unwrap().str().unwrap(),
            df.column("month").unwrap().cast(&DataType::String).unwrap(),
        );
        let av = df.column("available_hours").unwrap().cast(&DataType::Float64).unwrap();
        (0..df.height())
            .filter(|&i| r.get(i) == Some("R1") && mo.str().unwrap().get(i) == Some(month))
            .map(|i| av.f64().unwrap().get(i).unwrap_or(0.0))
            .sum()
    };
    for (holidays, dec) in [(none.clone(), 32.0), (boxing.clone(), 24.0)] {
        let sc = sc.clone().with_holidays(holidays);
        let a = scenario::apply(&sc, &t, &demand(&[]), cycle()).unwrap();
        assert_eq!(hours(&a.tables, "2026-12") - hours(&t, "2026-12"), dec);
        assert_eq!(hours(&a.tables, "2027-01") - hours(&t, "2027-01"), 40.0);
        assert_eq!(hours(&a.tables, "2027-02"), hours(&t, "2027-02"), "outside the months: as it was");
        let note = &a.notes[0];
        let days = if dec == 32.0 { 4 } else { 3 };
        let want = format!(
            "R1 shift sat x 8 h x 1 crew(s) (2026-12 {days} day(s) {dec} h, 2027-01 5 day(s) 40 h) in 2026-12 to 2027-01"
        );
        assert!(note.contains(&want), "{note}");
    }

    // Written wrong: each problem at its line and key.
    let bad = |shift: &str| -> Vec<String> {
        let text = format!("description = \"x\"\n\n[[capacity]]\nresource = \"R1\"\nfrom = \"2026-12\"\n{shift}\n");
        let err = scenario_file(tmp.path(), "bad", &text).unwrap_err();
        err.problems.iter().map(ToString::to_string).collect()
    };
    let at = "`scenarios/bad.toml` line 3, key `capacity[0]`: ";
    assert_eq!(
        bad("shift = { days = [\"sa\"], hours_per_day = 8 }"),
        [format!("{at}`shift.days` has `sa`: days are mon, tue, wed, thu, fri, sat, sun")]
    );
    assert_eq!(
        bad("hours = 8\nshift = { days = [\"sat\"], hours_per_day = 8 }"),
        [format!("{at}give `hours` or `shift`, not both")]
    );
    assert_eq!(
        bad("shift = { days = [\"sat\"], hours_per_day = 30, crews = 1 }"),
        [format!("{at}`shift.hours_per_day` is 30: more than 0, at most 24")]
    );
    assert_eq!(
        bad("shift = { days = [\"sat\"], hours_per_day = 8, crews = 0 }"),
        [format!("{at}`shift.crews` is 0: 1 to 10 crews")]
    );
    let unknown = bad("shift = { days = [\"sat\"], hours = 8 }");
    assert!(
        unknown[0].starts_with("`scenarios/bad.toml` line 6") && unknown[0].contains("unknown field `hours`"),
        "{unknown:?}"
    );
}

/// Two processes planning the same scenario over the same inputs at once (two comparisons of
/// one cycle, each running the base) record one run: each records with `record_run_once`, on
/// its own connection pool and its own thread, and the second, under the store's write lock,
/// finds the first's run with its identity and writes nothing. A third with other inputs is
/// recorded.
fn two_scenario_runs_at_once_record_one_base_run(db: crate::common::Db) {
    use snop::store::Store;
    let tmp = tempfile::tempdir().unwrap();
    let url = db.fresh_store();
    // The store made (its migrations run) before the racers open it.
    crate::common::block_on(async { Store::open(tmp.path(), &url).await.unwrap() });
    let record = |n: usize, identity: &'static str| {
        let (dir, url) = (tmp.path().to_path_buf(), url.clone());
        std::thread::spawn(move || {
            crate::common::block_on(async move {
                let store = Store::open(&dir, &url).await.unwrap();
                let started_at = format!("2027-01-05T10:00:00.{n:03}Z");
                let (run, recorded) = store.record_run_once(base_run(&started_at, identity, n)).await.unwrap();
                (run.id, recorded)
            })
        })
    };
    let threads: Vec<_> = (0..4).map(|n| record(n, "inputs-a")).collect();
    let results: Vec<(i64, bool)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.1).count(), 1, "one recorded: {results:?}");
    assert!(results.iter().all(|r| r.0 == results[0].0), "every caller gets that run: {results:?}");
    let other = record(9, "inputs-b").join().unwrap();
    assert!(other.1 && other.0 != results[0].0, "other inputs are a new run: {other:?}");
    crate::common::block_on(async {
        let store = Store::open(tmp.path(), &url).await.unwrap();
        let runs = store.runs(Some("scenario-base"), Some("2027-01")).await.unwrap();
        assert_eq!(runs.iter().map(|r| r.inputs_sha256.as_str()).collect::<Vec<_>>(), ["inputs-b", "inputs-a"]);
        // No staging folder of the runs not recorded is left behind.
        let left: Vec<_> = fs_err::read_dir(tmp.path().join("runs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".staging"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    });
}

/// A scenario base run of 2027-01 with inputs `identity`, its one file saying `n`.
fn base_run<'a>(started_at: &'a str, identity: &'a str, n: usize) -> snop::store::NewRun<'a> {
    snop::store::NewRun {
        agent: "scenario-base",
        cycle: "2027-01",
        started_at,
        duration_ms: 1,
        outcome: "succeeded",
        inputs_sha256: identity,
        rows_read: 0,
        rows_quarantined: 0,
        rows_kept: 0,
        report_json: "{}",
        inputs: vec![],
        files: vec![("outcome.json".into(), format!("{{\"n\": {n}}}").into_bytes())],
        draft: None,
    }
}

/// Two runs of one process started in the same millisecond (two web jobs) each keep their own
/// files: their staging folders differ although the process and the start time are the same.
fn two_runs_started_the_same_millisecond_keep_their_own_files(db: crate::common::Db) {
    use snop::store::Store;
    let tmp = tempfile::tempdir().unwrap();
    let url = db.fresh_store();
    crate::common::block_on(async {
        let store = Store::open(tmp.path(), &url).await.unwrap();
        let run = |n: usize| base_run("2027-01-05T10:00:00.000Z", if n == 0 { "inputs-a" } else { "inputs-b" }, n);
        let (a, b) = tokio::join!(store.record_run(run(0)), store.record_run(run(1)));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_ne!(a.folder, b.folder);
        for (row, n) in [(&a, 0), (&b, 1)] {
            let text = fs_err::read_to_string(tmp.path().join(&row.folder).join("outcome.json")).unwrap();
            assert_eq!(text, format!("{{\"n\": {n}}}"), "{}", row.folder);
        }
    });
}

crate::common::on_both_backends!(
    two_scenario_runs_at_once_record_one_base_run,
    two_runs_started_the_same_millisecond_keep_their_own_files
);
