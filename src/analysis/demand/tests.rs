//! Tests of `analysis::demand`: a hand-made company through the whole review.

use super::*;

fn frame(cols: Vec<Column>) -> DataFrame {
    DataFrame::new_infer_height(cols).unwrap()
}
fn s(name: &str, v: &[&str]) -> Column {
    Column::new(
        name.into(),
        v.iter().map(|x| if x.is_empty() { None } else { Some(x.to_string()) }).collect::<Vec<_>>(),
    )
}
fn n(name: &str, v: &[Option<f64>]) -> Column {
    Column::new(name.into(), v.to_vec())
}

/// A hand-made company: P-1 sells 10 a month to C-1 and 5 to C-2, P-2 sells 4 to C-1 and is
/// discontinued after 2027-01, P-3 is new and launches in 2027-02. Cycle 2026-12.
fn tables() -> BTreeMap<Table, DataFrame> {
    let mut t = BTreeMap::new();
    t.insert(
        Table::Items,
        frame(vec![
            s("sku", &["P-1", "P-2", "P-3"]),
            s("family", &["A", "A", "B"]),
            n("unit_price", &[Some(10.0), Some(20.0), Some(50.0)]),
            s("lifecycle", &["active", "discontinued", "new"]),
            s("end_month", &["", "2027-01", ""]),
        ]),
    );
    t.insert(Table::Customers, frame(vec![s("customer", &["C-1", "C-2"]), s("account_manager", &["ana", "ben"])]));
    let (mut sku, mut cust, mut date, mut qty, mut rev) = (vec![], vec![], vec![], vec![], vec![]);
    for m in 0..36 {
        let month = Month::parse("2023-12").unwrap().plus(m);
        for (k, c, q, r) in [("P-1", "C-1", 10.0, 100.0), ("P-1", "C-2", 5.0, 40.0), ("P-2", "C-1", 4.0, 80.0)] {
            sku.push(k);
            cust.push(c);
            date.push(format!("{month}-15"));
            qty.push(Some(q));
            rev.push(Some(r));
        }
    }
    let sales = frame(vec![
        s("sku", &sku),
        s("customer", &cust),
        Column::new("order_date".into(), date),
        n("qty", &qty),
        n("net_revenue", &rev),
    ])
    .lazy()
    .with_column(col("order_date").str().to_date(StrptimeOptions::default()))
    .collect()
    .unwrap();
    t.insert(Table::SalesHistory, sales);
    t.insert(Table::Launches, frame(vec![s("sku", &["P-3"]), s("month", &["2027-02"]), n("qty", &[Some(30.0)])]));
    t.insert(
        Table::SalesAdjustments,
        frame(vec![
            s("sku", &["P-1", "P-1"]),
            s("customer", &["C-1", ""]),
            s("family", &["", ""]),
            s("month", &["2026-12", "2027-01"]),
            n("delta", &[Some(6.0), None]),
            n("override", &[None, Some(30.0)]),
            s("reason", &["project won", "destocking ends"]),
            s("owner", &["ana", "ben"]),
        ]),
    );
    t.insert(
        Table::MarketingAdjustments,
        frame(vec![
            s("sku", &[""]),
            s("customer", &[""]),
            s("family", &["A"]),
            s("month", &["2027-02"]),
            n("delta", &[Some(12.0)]),
            n("override", &[None]),
            s("reason", &["spring promotion"]),
            s("owner", &["maya"]),
        ]),
    );
    t.insert(
        Table::Pipeline,
        frame(vec![
            s("opportunity", &["OPP-1"]),
            s("customer", &["C-2"]),
            s("sku", &["P-1"]),
            s("month", &["2027-03"]),
            n("qty", &[Some(100.0)]),
            n("probability", &[Some(0.25)]),
        ]),
    );
    t
}

fn run(tables: &BTreeMap<Table, DataFrame>, earlier: &[EarlierConsensus]) -> Consensus {
    let params = DemandParams::default();
    demand_review(&DemandInputs {
        tables,
        cycle: Month::parse("2026-12").unwrap(),
        history_months: 36,
        earlier,
        params: &params,
    })
    .unwrap()
}

fn series<'a>(c: &'a Consensus, sku: &str, cust: &str) -> &'a Series {
    c.series.iter().find(|s| s.sku == sku && s.customer == cust).unwrap()
}

#[test]
fn layers_apply_in_order_with_owners_kept_per_cell() {
    let c = run(&tables(), &[]);
    let p11 = series(&c, "P-1", "C-1");
    let p12 = series(&c, "P-1", "C-2");
    // A constant history forecasts constant.
    assert!(p11.statistical.iter().all(|v| (v - 10.0).abs() < 1e-6), "{:?}", p11.statistical);
    // 2026-12: ana's +6 on the cell.
    assert!((p11.final_units(0) - 16.0).abs() < 1e-6);
    assert_eq!(
        p11.traces[0],
        vec![Trace { layer: Layer::Sales, owner: "ana".into(), reason: "project won".into(), delta_units: 6.0 }]
    );
    // 2027-01: ben overrides P-1's total (10 + 5 = 15) to 30: +15 split 10:5.
    assert!((p11.final_units(1) - 20.0).abs() < 1e-6);
    assert!((p12.final_units(1) - 10.0).abs() < 1e-6);
    assert_eq!(p12.traces[1][0].owner, "ben");
    // 2027-02: maya's +12 on family A spread 10:5:0 (P-2 is cut after 2027-01).
    assert!((p11.marketing[2] - 8.0).abs() < 1e-6 && (p12.marketing[2] - 4.0).abs() < 1e-6);
    let p2 = series(&c, "P-2", "C-1");
    assert!((p2.final_units(1) - 4.0).abs() < 1e-6 && p2.final_units(2) == 0.0, "cut after its end month");
    // 2027-03: the CRM opportunity, 100 at 25%, in ben's sales layer.
    assert!((p12.sales[3] - 25.0).abs() < 1e-6);
    assert_eq!(p12.traces[3][0].reason, "CRM opportunity OPP-1 at 25%");
    // The launch plan for the new SKU, not yet anyone's customer.
    let p3 = series(&c, "P-3", UNASSIGNED);
    assert_eq!((p3.method.as_str(), p3.statistical[2]), ("launch_plan", 30.0));
    // Every final number is its parts: statistical + sales + marketing.
    for s in &c.series {
        for m in 0..18 {
            let traced: f64 = s.traces[m].iter().map(|t| t.delta_units).sum();
            assert!((s.sales[m] + s.marketing[m] - traced).abs() < 1e-9, "{} {} {m}", s.sku, s.customer);
        }
    }
}

#[test]
fn totals_are_the_sum_of_the_cells() {
    let c = run(&tables(), &[]);
    let f = &c.facts;
    // 204 (P-1/C-1) + 124 (P-1/C-2) + 8 (P-2/C-1) + 30 (P-3) units over the 18 months.
    assert!((f.totals.final_units - 366.0).abs() < 1e-6, "{}", f.totals.final_units);
    let fam: f64 = f.by_family.iter().map(|(_, t)| t.final_units).sum();
    let month: f64 = f.by_month.iter().map(|(_, t)| t.final_units).sum();
    let cust: f64 = f.by_customer.iter().map(|(_, t)| t.final_units).sum();
    for x in [fam, month, cust] {
        assert!((x - f.totals.final_units).abs() < 1e-6);
    }
    let ben = f.owners.iter().find(|o| o.owner == "ben").unwrap();
    assert_eq!(ben.adjustments, 2);
    assert!((ben.net_units - 40.0).abs() < 1e-6, "override +15, opportunity +25");
    assert_eq!(f.launches_planned, ["P-3"]);
    assert_eq!(f.discontinued_cut, ["P-2"]);
    assert!(f.variance.is_none() && f.variance_unavailable.is_some());
}

fn earlier() -> EarlierConsensus {
    EarlierConsensus {
        cycle: Month::parse("2026-11").unwrap(),
        signed: false,
        // Its last planned month, 2028-04 (18 months), says how far it planned.
        cells: frame(vec![
            s("sku", &["P-1", "P-2", "P-1", "P-1"]),
            s("customer", &["C-1", "C-1", "C-1", "C-1"]),
            s("family", &["A", "A", "A", "A"]),
            s("month", &["2026-11", "2026-11", "2026-12", "2028-04"]),
            n("statistical", &[Some(10.0), Some(4.0), Some(10.0), Some(0.0)]),
            n("sales", &[Some(2.0), Some(0.0), Some(0.0), Some(0.0)]),
            n("marketing", &[Some(0.0), Some(0.0), Some(0.0), Some(0.0)]),
            n("final", &[Some(12.0), Some(4.0), Some(10.0), Some(0.0)]),
        ]),
        adjustments: frame(vec![
            s("sku", &["P-1"]),
            s("customer", &["C-1"]),
            s("month", &["2026-11"]),
            s("layer", &["sales"]),
            s("owner", &["ana"]),
            s("reason", &["optimism"]),
            n("delta", &[Some(2.0)]),
        ]),
    }
}

#[test]
fn variance_splits_into_price_volume_and_mix() {
    let c = run(&tables(), &[earlier()]);
    let v = c.facts.variance.as_ref().unwrap();
    // Plan 12 x 10 + 4 x 20 = 200 for 16 units; actual 19 units, 100 + 40 + 80 = 220.
    assert_eq!((v.plan_units, v.actual_units, v.plan_revenue, v.actual_revenue), (16.0, 19.0, 200.0, 220.0));
    // Volume (19 - 16) x 12.5 = 37.5; at plan prices 15 x 10 + 4 x 20 = 230, mix 230 - 19 x 12.5
    // = -7.5; price 220 - 230 = -10. They add up to +20.
    assert!((v.volume_effect - 37.5).abs() < 1e-9);
    assert!((v.mix_effect + 7.5).abs() < 1e-9);
    assert!((v.price_effect + 10.0).abs() < 1e-9);
    assert_eq!(v.against, "last consensus (unsigned)");
    // Since last cycle's consensus, over 2026-12 .. 2028-04 (the months both plan): family A
    // had 10 (P-1/C-1 in 2026-12 only); this cycle plans, in those 17 months, P-1/C-1
    // 10 x 17 + 6 + 10 + 8 = 194, P-1/C-2 5 x 17 + 5 + 4 + 25 = 119, P-2 4 + 4 = 8.
    let ch = c.facts.changes_since_last_consensus.as_ref().unwrap();
    assert_eq!((ch.from_month.as_str(), ch.to_month.as_str()), ("2026-12", "2028-04"));
    let a = ch.by_family.iter().find(|f| f.family == "A").unwrap();
    assert!((a.last_units - 10.0).abs() < 1e-9);
    assert!((a.this_units - 321.0).abs() < 1e-6, "{}", a.this_units);
}

#[test]
fn value_added_per_layer_and_owner_from_the_earlier_cycle() {
    let c = run(&tables(), &[earlier()]);
    let f = &c.facts;
    let acc = |layer| {
        f.accuracy.iter().find(|a| a.lag_months == 1 && a.layer == layer && a.source.starts_with("earlier")).unwrap()
    };
    // Actuals 10, 5 (unplanned), 4 = 19. Statistical errors 0 + 5 + 0; after sales 2 + 5 + 0.
    assert!((acc(Layer::Statistical).wmape.unwrap() - 5.0 / 19.0).abs() < 1e-9);
    assert!((acc(Layer::Sales).wmape.unwrap() - 7.0 / 19.0).abs() < 1e-9);
    let sales_va = f.value_added.iter().find(|v| v.layer == Layer::Sales && v.lag_months == 1).unwrap();
    assert!((sales_va.value_added_points.unwrap() - (5.0 - 7.0) / 19.0 * 100.0).abs() < 1e-9, "the sales layer hurt");
    // ana moved one cell from 10 to 12 against an actual of 10: WMAPE 0 without, 0.2 with.
    let ana = f.value_added_by_owner.iter().find(|o| o.owner == "ana").unwrap();
    assert_eq!(ana.cells, 1);
    assert!((ana.value_added_points.unwrap() + 20.0).abs() < 1e-9);
}

#[test]
fn backtest_accuracy_of_a_constant_history_is_perfect() {
    let c = run(&tables(), &[]);
    let stat = c.facts.accuracy.iter().find(|a| a.layer == Layer::Statistical && a.lag_months == 3).unwrap();
    assert_eq!(stat.source, "backtest");
    assert!(stat.wmape.unwrap() < 1e-9 && stat.mape.unwrap() < 1e-9 && stat.bias.unwrap().abs() < 1e-9);
}

#[test]
fn the_analysis_is_deterministic() {
    let a = serde_json::to_string(&run(&tables(), &[earlier()]).facts).unwrap();
    let b = serde_json::to_string(&run(&tables(), &[earlier()]).facts).unwrap();
    assert_eq!(a, b);
}

/// Order lines as the contract's `sales_history` (revenue 10 a unit).
fn sales(rows: &[(&str, &str, Month, f64)]) -> DataFrame {
    let date: Vec<String> = rows.iter().map(|r| format!("{}-15", r.2)).collect();
    frame(vec![
        s("sku", &rows.iter().map(|r| r.0).collect::<Vec<_>>()),
        s("customer", &rows.iter().map(|r| r.1).collect::<Vec<_>>()),
        Column::new("order_date".into(), date),
        n("qty", &rows.iter().map(|r| Some(r.3)).collect::<Vec<_>>()),
        n("net_revenue", &rows.iter().map(|r| Some(10.0 * r.3)).collect::<Vec<_>>()),
    ])
    .lazy()
    .with_column(col("order_date").str().to_date(StrptimeOptions::default()))
    .collect()
    .unwrap()
}

#[test]
fn a_series_starts_at_its_first_sale_and_forecasts_as_the_engine_does() {
    // P-1 x C-1 first sells in 2025-05 (19 months before the 2026-12 cycle), every month, with
    // a trend and noise; P-1 x C-2 sold 15 years ago and since 2024-12. Neither is zero-filled
    // before it started (that would make P-1 x C-1 look intermittent: 101 zeros of 120
    // months), and nothing before the window is read.
    let cycle = Month::parse("2026-12").unwrap();
    let mut rows = Vec::new();
    let mut c1 = Vec::new();
    for m in 0..19 {
        let v = 20.0 + 1.5 * f64::from(m) + [3.0, -2.0, 0.0, 4.0, -3.0][m as usize % 5];
        rows.push(("P-1", "C-1", Month::parse("2025-05").unwrap().plus(m), v));
        c1.push(v);
    }
    rows.push(("P-1", "C-2", cycle.plus(-180), 99.0));
    let mut c2 = Vec::new();
    for m in 0..24 {
        let v = 8.0 + f64::from(m % 3);
        rows.push(("P-1", "C-2", Month::parse("2024-12").unwrap().plus(m), v));
        c2.push(v);
    }
    let mut t = tables();
    t.insert(Table::SalesHistory, sales(&rows));
    let Actuals { history, .. } = history::monthly_history(&sales(&rows), cycle, 120).unwrap();
    assert_eq!(history[&("P-1".to_string(), "C-1".to_string())], c1);
    assert_eq!(history[&("P-1".to_string(), "C-2".to_string())], c2);
    let params = DemandParams::default();
    let c =
        demand_review(&DemandInputs { tables: &t, cycle, history_months: 120, earlier: &[], params: &params }).unwrap();
    let cfg = crate::analysis::forecast::Config { horizon: PLAN_MONTHS as usize, ..Default::default() };
    for (cust, h) in [("C-1", &c1), ("C-2", &c2)] {
        let engine = crate::analysis::forecast::forecast(h, &cfg);
        let product = series(&c, "P-1", cust);
        assert_eq!(product.class, statistical::class_name(engine.class), "{cust}");
        assert_eq!(product.method, statistical::method_name(engine.method), "{cust}");
        assert_eq!((&product.lower, &product.upper), (&engine.lower, &engine.upper), "{cust}");
        // Bit-identical, before any layer is added.
        assert_eq!(product.statistical, engine.point, "{cust}");
    }
    assert_eq!(series(&c, "P-1", "C-1").class, "smooth");
}

#[test]
fn the_statistical_table_has_every_series_and_month_with_its_interval() {
    let c = run(&tables(), &[]);
    let t = statistical_frame(&c, Month::parse("2026-12").unwrap()).unwrap();
    assert_eq!(t.height(), c.series.len() * PLAN_MONTHS as usize);
    let names: Vec<&str> = t.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["sku", "customer", "family", "month", "method", "class", "statistical", "lower", "upper"]);
    let p11 = series(&c, "P-1", "C-1");
    let row = |col: &str| {
        t.column(col)
            .unwrap()
            .f64()
            .unwrap()
            .get(c.series.iter().position(|s| s.sku == "P-1" && s.customer == "C-1").unwrap() * 18)
    };
    assert_eq!(
        (row("statistical"), row("lower"), row("upper")),
        (Some(p11.statistical[0]), Some(p11.lower[0]), Some(p11.upper[0]))
    );
}

#[test]
fn the_horizon_sets_every_layer_s_months() {
    let cycle = Month::parse("2026-12").unwrap();
    let review = |t: &BTreeMap<Table, DataFrame>, horizon_months: u32| {
        let params = DemandParams { horizon_months, ..DemandParams::default() };
        demand_review(&DemandInputs { tables: t, cycle, history_months: 36, earlier: &[], params: &params }).unwrap()
    };
    // 24 months: a sales adjustment in the 21st month (2028-08) lands there.
    let mut t = tables();
    t.insert(
        Table::SalesAdjustments,
        frame(vec![
            s("sku", &["P-1"]),
            s("customer", &["C-1"]),
            s("family", &[""]),
            s("month", &["2028-08"]),
            n("delta", &[Some(6.0)]),
            n("override", &[None]),
            s("reason", &["project won"]),
            s("owner", &["ana"]),
        ]),
    );
    let c = review(&t, 24);
    assert_eq!(c.facts.months.len(), 24);
    assert_eq!(c.facts.months.last().map(String::as_str), Some("2028-11"));
    let p11 = series(&c, "P-1", "C-1");
    assert!(c.series.iter().all(|s| s.statistical.len() == 24 && s.sales.len() == 24 && s.traces.len() == 24));
    assert_eq!(p11.sales[20], 6.0);
    assert_eq!(p11.sales.iter().sum::<f64>(), 6.0);
    let (cells, _) = consensus_frames(&c, cycle).unwrap();
    assert_eq!(cells.height(), c.series.len() * 24);
    assert_eq!(statistical_frame(&c, cycle).unwrap().height(), c.series.len() * 24);
    // 3 months: the launch in month 3 (2027-02) is kept, the CRM opportunity of 2027-03 is
    // outside and adds nothing; the same adjustment in 2028-08 is outside too.
    let c = review(&t, 3);
    assert_eq!(c.facts.months, ["2026-12", "2027-01", "2027-02"]);
    assert_eq!(series(&c, "P-3", UNASSIGNED).statistical, [0.0, 0.0, 30.0]);
    assert_eq!(series(&c, "P-1", "C-1").sales, [0.0; 3]);
    assert!(c.series.iter().all(|s| s.sales.iter().all(|v| *v == 0.0)));
    // Its statistical forecast is the first 3 months of the 18-month one's methods (the same
    // history, the same pick): P-1 x C-1's forecast is a flat 10.
    let long = review(&tables(), 18);
    assert_eq!(series(&c, "P-1", "C-1").statistical[..], series(&long, "P-1", "C-1").statistical[..3]);
    // Against last cycle's 18-month consensus, the months both plan end with the shorter.
    let params = DemandParams { horizon_months: 3, ..DemandParams::default() };
    let with_last = demand_review(&DemandInputs {
        tables: &tables(),
        cycle,
        history_months: 36,
        earlier: &[earlier()],
        params: &params,
    })
    .unwrap();
    let ch = with_last.facts.changes_since_last_consensus.unwrap();
    assert_eq!((ch.from_month.as_str(), ch.to_month.as_str()), ("2026-12", "2027-02"));
    // Out of range: named with the key.
    let bad = DemandParams { horizon_months: 61, ..DemandParams::default() };
    assert_eq!(bad.problems(), [("horizon_months", "`61` must be a number of months between 1 and 60".to_string())]);
}

#[test]
fn the_statistical_layer_by_partitions_equals_it_whole() {
    // 40 series of every kind (smooth with a trend, seasonal over 3 years, intermittent, short,
    // all zero, a SKU missing from the item master, a discontinued one), forecast and scored
    // by partitions of 1, 3, 7 and all at once: the cells and every accuracy figure are the
    // same, bit for bit (the sums are added series by series in key order either way).
    let items = history::read_items(&tables()[&Table::Items]).unwrap();
    let mut history: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for k in 0..40usize {
        let sku = ["P-1", "P-2", "P-3", "X-9"][k % 4];
        let len = [36, 20, 5, 30, 48][k % 5];
        let h: Vec<f64> = (0..len)
            .map(|t| match k % 6 {
                0 => 20.0 + 0.7 * t as f64 + ((t * 7 + k) % 5) as f64,
                1 => 50.0 + 25.0 * ((t % 12) as f64 / 12.0 * std::f64::consts::TAU).sin() + (k % 3) as f64,
                2 => {
                    if (t + k) % 3 == 0 {
                        4.0 + (t % 2) as f64
                    } else {
                        0.0
                    }
                }
                3 => 0.0,
                _ => 10.0 + ((t * 13 + k) % 9) as f64,
            })
            .collect();
        history.insert((sku.to_string(), format!("C-{k:02}")), h);
    }
    let plan = DemandParams::default().plan(Month::parse("2026-12").unwrap());
    let out = |partition: usize| {
        let l = statistical::statistical_layer_in(history.clone(), &items, &plan, partition);
        assert_eq!(l.series.len(), 30, "the 10 series of X-9 have no item: left out of the layer");
        let cells = serde_json::to_string(&l.series).unwrap();
        let accuracy = serde_json::to_string(&l.backtest.finish()).unwrap();
        (cells, accuracy, l.index, l.discontinued_cut)
    };
    let whole = out(usize::MAX);
    for partition in [1, 3, 7] {
        assert!(out(partition) == whole, "partitions of {partition}");
    }
    // The backtest scored X-9 too: its customers are in the accuracy by customer.
    assert!(whole.1.contains("\"C-03\""), "X-9 x C-03 is scored");
}
