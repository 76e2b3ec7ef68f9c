//! The demand review on the committed demo fixture: a golden test of its facts, the workbook a
//! planner opens read back with calamine, and a second cycle that scores the first from the store.

use std::path::Path;

use calamine::{DataType, Reader};
use snop::config::Workspace;
use snop::contract::Month;
use snop::pipeline::{self, RunOutcome};
use snop::sop::Agent;

use crate::common::{Db, block_on, copy_dir, json, on_both_backends, repo};

/// A workspace over a copy of the committed fixture, its store on `db`.
fn fixture_workspace(dir: &Path, db: Db) -> Workspace {
    snop::demo::init(dir, snop::demo::DEMO_COMPANY).unwrap();
    copy_dir(&repo().join("fixtures/demo/data"), &dir.join("data"));
    let mut ws = Workspace::load(dir).unwrap();
    ws.store_url = db.fresh_store();
    ws
}

fn run(ws: &Workspace, cycle: &str) -> snop::store::RunRow {
    block_on(async {
        let store = pipeline::open_store(ws).await.unwrap();
        match pipeline::run(ws, &store, Agent::DemandReview, Month::parse(cycle).unwrap(), &snop::Progress::hidden())
            .await
            .unwrap()
        {
            RunOutcome::Recorded { run, .. } => run,
            RunOutcome::Unchanged { .. } => panic!("a first run is recorded"),
        }
    })
}

#[test]
fn golden_demand_consensus_on_the_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture_workspace(tmp.path(), Db::Sqlite);
    let run = run(&ws, "2026-12");
    let folder = tmp.path().join(&run.folder);
    let facts = json(&folder.join("facts.json"));
    let round = |v: &serde_json::Value| v.as_f64().map(|x| format!("{x:.3}")).unwrap_or_else(|| v.to_string());
    let mut golden = String::new();
    golden += &format!("series: {}\n", facts["series_count"]);
    for k in [
        "statistical_units",
        "sales_adjustment_units",
        "marketing_adjustment_units",
        "final_units",
        "final_revenue",
        "budget_revenue",
    ] {
        golden += &format!("total {k}: {}\n", round(&facts["totals"][k]));
    }
    golden += &format!("methods: {}\nclasses: {}\n", facts["methods"], facts["classes"]);
    for a in facts["accuracy"].as_array().unwrap() {
        golden += &format!(
            "accuracy lag {} {} ({}): wmape {} bias {}\n",
            a["lag_months"],
            a["layer"],
            a["source"],
            round(&a["wmape"]),
            round(&a["bias"])
        );
    }
    for o in facts["owners"].as_array().unwrap() {
        golden += &format!(
            "owner {} {}: {} adjustments, {} units\n",
            o["owner"],
            o["layer"],
            o["adjustments"],
            round(&o["net_units"])
        );
    }
    golden += &format!("launches: {}\ndiscontinued: {}\n", facts["launches_planned"], facts["discontinued_cut"]);
    insta::assert_snapshot!("demand_fixture", golden);

    // Every layer adds up: final = statistical + sales + marketing (never below zero).
    let t = &facts["totals"];
    let parts = t["statistical_units"].as_f64().unwrap()
        + t["sales_adjustment_units"].as_f64().unwrap()
        + t["marketing_adjustment_units"].as_f64().unwrap();
    assert!(t["final_units"].as_f64().unwrap() >= parts - 1e-6);

    // The workbook a planner opens, read back with calamine.
    let mut book = calamine::open_workbook_auto(folder.join("demand-consensus-2026-12.xlsx")).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["Agenda", "Summary", "Consensus", "Totals", "Accuracy", "Value added", "Adjustments", "Variance"]
    );
    // The one-page agenda, as the draft holds it, for those who work in Excel.
    let agenda = book.worksheet_range("Agenda").unwrap();
    let cells: Vec<String> = agenda.rows().map(|r| r[0].to_string()).collect();
    assert_eq!(cells[0], "Agenda: demand review, 2026-12-08 to 2026-12-10");
    for heading in [
        "1. Last cycle's commitments: kept, missed, re-negotiated",
        "2. This cycle's output",
        "3. Top 3 risks and open questions",
        "4. Decisions needed from the next meeting up",
    ] {
        assert!(cells.iter().any(|c| c == heading), "{heading} in {cells:?}");
    }
    assert!(cells.iter().any(|c| c == "No earlier cycle to score."), "{cells:?}");
    let consensus = book.worksheet_range("Consensus").unwrap();
    let rows: Vec<_> = consensus.rows().skip(3).collect();
    assert_eq!(rows[0][4].to_string(), "Layer");
    let series = facts["series_count"].as_u64().unwrap() as usize;
    assert_eq!(rows.len() - 1, series * 4, "four layers per series");
    assert_eq!(
        (rows[1][4].to_string(), rows[2][4].to_string(), rows[3][4].to_string(), rows[4][4].to_string()),
        ("statistical".into(), "sales adjustment".into(), "marketing adjustment".into(), "final consensus".into())
    );
    let grand: f64 =
        rows.iter().skip(1).filter(|r| r[4] == "final consensus").map(|r| r[5 + 18].get_float().unwrap()).sum();
    assert!((grand - t["final_units"].as_f64().unwrap()).abs() < 1e-6, "the workbook's finals add up to the facts");
    let adjustments = book.worksheet_range("Adjustments").unwrap();
    let owners: std::collections::BTreeSet<String> = adjustments.rows().skip(1).map(|r| r[4].to_string()).collect();
    assert!(owners.contains("maya.brooks") && owners.contains("ana.lopez"), "{owners:?}");
    assert!(adjustments.rows().skip(1).all(|r| !r[4].to_string().is_empty()), "every adjustment has an owner");

    // The sample facts `snop validate` checks the templates against are exactly what a run
    // builds its prompt from.
    crate::common::golden_json(&folder.join("narrative-facts.json"), "prompts/demand-review/sample-facts.json");

    // The narrative: drafted through the mock over HTTP, grounded, with what is needed to audit it.
    let narrative = json(&folder.join("narrative.json"));
    assert_eq!(narrative["source"], "model");
    assert!(narrative["raw_reply"].as_str().is_some_and(|r| !r.is_empty()));
    let prompt = narrative["prompt"].to_string();
    assert!(!prompt.contains("C10001"), "customer names are masked in the prompt");
}

/// A workbook over the row limit (forced to 50 rows a sheet; Excel's is 1,048,576) is laid out
/// to fit rather than refused: a summary by family and month on the Consensus sheet and each
/// family's series on sheets of their own, the long lists continued on numbered sheets. Read back
/// with calamine: no sheet over the limit, every series' four rows in exactly one place and
/// equal to `tables/consensus.csv`, every adjustment once, and the summary's family totals
/// equal to sums of `consensus.parquet` computed here.
#[test]
fn a_workbook_over_the_row_limit_splits_by_family_and_keeps_every_row_once() {
    use std::collections::BTreeMap;

    use polars::prelude::SerReader as _;
    const LIMIT: usize = 50;
    let tmp = tempfile::tempdir().unwrap();
    let mut ws = fixture_workspace(tmp.path(), Db::Sqlite);
    ws.sheet_max_rows = LIMIT as u32;
    let run = run(&ws, "2026-12");
    let folder = tmp.path().join(&run.folder);
    let facts = json(&folder.join("facts.json"));
    let series = facts["series_count"].as_u64().unwrap() as usize;
    assert!(series * 4 > 4 * LIMIT, "{series} series: the fixture must need several sheets");
    let mut book = calamine::open_workbook_auto(folder.join("demand-consensus-2026-12.xlsx")).unwrap();
    let names = book.sheet_names();
    for name in &names {
        let range = book.worksheet_range(name).unwrap();
        let rows = range.end().map_or(0, |(r, _)| r as usize + 1);
        assert!(rows <= LIMIT, "`{name}` has {rows} rows");
    }
    // The detail sheets: `Consensus <family>` (and `(2)` on), after the summary.
    let detail: Vec<&String> =
        names.iter().filter(|n| n.starts_with("Consensus ") && !n.starts_with("Consensus (")).collect();
    assert!(detail.len() > 8, "more sheets than the 8 families: {names:?}");
    assert!(names.iter().any(|n| n == "Consensus centrifugal-pumps (2)"), "{names:?}");
    assert!(names.iter().any(|n| n == "Adjustments (2)") && names.iter().any(|n| n == "Accuracy (2)"), "{names:?}");
    // Every (SKU, customer, layer) row of the detail sheets, with the sheet it is on.
    type Key = (String, String, String);
    let mut seen: BTreeMap<Key, Vec<(String, Vec<f64>)>> = BTreeMap::new();
    for name in &detail {
        let range = book.worksheet_range(name).unwrap();
        let rows: Vec<_> = range.rows().skip(3).collect();
        assert_eq!(rows[0][0].to_string(), "SKU", "`{name}`");
        let family = rows[1][2].to_string();
        assert!(name.contains(&family), "`{name}` holds {family}");
        for r in rows.iter().skip(1) {
            assert_eq!(r[2].to_string(), family, "one family a sheet");
            let values: Vec<f64> = (5..5 + 19).map(|c| r[c].get_float().unwrap()).collect();
            seen.entry((r[0].to_string(), r[1].to_string(), r[4].to_string()))
                .or_default()
                .push((name.to_string(), values));
        }
    }
    let csv = fs_err::read_to_string(folder.join("tables/consensus.csv")).unwrap();
    let mut csv_rows = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let key = (f[0].to_string(), f[1].to_string(), f[4].to_string());
        let places = seen.get(&key).unwrap_or_else(|| panic!("{key:?} is on no sheet"));
        assert_eq!(places.len(), 1, "{key:?} is on {places:?}");
        for (c, v) in f[5..].iter().enumerate() {
            let v: f64 = v.parse().unwrap();
            assert!((places[0].1[c] - v).abs() <= 0.005 + 1e-9, "{key:?} column {c}: {} against {v}", places[0].1[c]);
        }
        csv_rows += 1;
    }
    assert_eq!((csv_rows, seen.len()), (series * 4, series * 4), "every series' four rows, each once");
    // The summary: each family's final consensus by month against consensus.parquet summed here.
    let cells = polars::prelude::ParquetReader::new(std::io::Cursor::new(
        fs_err::read(folder.join("consensus.parquet")).unwrap(),
    ))
    .finish()
    .unwrap();
    let mut finals: BTreeMap<String, f64> = BTreeMap::new();
    let (fam, fin) = (cells.column("family").unwrap().str().unwrap(), cells.column("final").unwrap().f64().unwrap());
    for (f, v) in fam.iter().zip(fin.iter()) {
        *finals.entry(f.unwrap().to_string()).or_default() += v.unwrap();
    }
    let summary = book.worksheet_range("Consensus").unwrap();
    let mut summed = 0;
    for r in summary.rows().skip(5).filter(|r| r[2] == "final consensus" && r[0] != "all families") {
        let total = r[3 + 18].get_float().unwrap();
        assert!(
            (total - finals[&r[0].to_string()]).abs() < 1e-6,
            "{}: {total} against {}",
            r[0],
            finals[&r[0].to_string()]
        );
        summed += 1;
    }
    assert_eq!(summed, finals.len(), "every family summed");
    // Every adjustment once, over however many sheets they take.
    let adjustments = polars::prelude::ParquetReader::new(std::io::Cursor::new(
        fs_err::read(folder.join("adjustments.parquet")).unwrap(),
    ))
    .finish()
    .unwrap()
    .height();
    let on_sheets: usize = names
        .iter()
        .filter(|n| n.starts_with("Adjustments"))
        .map(|n| book.worksheet_range(n).unwrap().rows().skip(1).count())
        .sum();
    assert_eq!(on_sheets, adjustments);
}

/// Two cycles: the second reads the first's consensus from the store and scores it.
fn the_next_cycle_scores_the_last_one(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    snop::demo::init(dir, "Two Cycles Ltd").unwrap();
    let spec = |cycle: &str| snop::demo::Spec {
        skus: 30,
        customers: 10,
        months: 36,
        cycle: Month::parse(cycle).unwrap(),
        as_of: Month::parse(cycle).unwrap(),
        seed: 3,
    };
    snop::demo::generate(dir, spec("2026-11")).unwrap();
    let mut ws = Workspace::load(dir).unwrap();
    ws.store_url = db.fresh_store();
    let first = run(&ws, "2026-11");
    assert!(json(&dir.join(&first.folder).join("facts.json"))["variance"].is_null());
    // A month later the extracts have a month more history.
    fs_err::remove_dir_all(dir.join("data")).unwrap();
    snop::demo::generate(dir, spec("2026-12")).unwrap();
    let second = run(&ws, "2026-12");
    let facts = json(&dir.join(&second.folder).join("facts.json"));
    let v = &facts["variance"];
    assert_eq!((v["month"].as_str(), v["against_cycle"].as_str()), (Some("2026-11"), Some("2026-11")));
    let effects =
        v["volume_effect"].as_f64().unwrap() + v["mix_effect"].as_f64().unwrap() + v["price_effect"].as_f64().unwrap();
    let revenue_variance = v["actual_revenue"].as_f64().unwrap() - v["plan_revenue"].as_f64().unwrap();
    assert!((effects - revenue_variance).abs() < 1e-6, "price + volume + mix = the revenue variance");
    let earlier: Vec<_> = facts["accuracy"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["source"].as_str().unwrap().starts_with("earlier"))
        .collect();
    assert_eq!(earlier.len(), 4, "statistical, sales, marketing and final at lag 1: {earlier:?}");
    let changes = &facts["changes_since_last_consensus"];
    assert_eq!((changes["from_month"].as_str(), changes["to_month"].as_str()), (Some("2026-12"), Some("2028-04")));
    let by_family: f64 =
        changes["by_family"].as_array().unwrap().iter().map(|f| f["change_units"].as_f64().unwrap()).sum();
    assert!(
        (by_family - changes["change_units"].as_f64().unwrap()).abs() < 1e-6,
        "families add up to the total change"
    );
}

/// The supply review plans against the demand consensus the store holds for the cycle.
fn the_supply_review_plans_against_the_stored_consensus(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture_workspace(tmp.path(), db);
    // Without a consensus the supply review says which meeting has to happen first.
    let err = block_on(async {
        let store = pipeline::open_store(&ws).await.unwrap();
        pipeline::run(&ws, &store, Agent::SupplyReview, Month::parse("2026-12").unwrap(), &snop::Progress::hidden())
            .await
            .err()
            .unwrap()
    });
    assert_eq!(snop::Fault::of(&err), snop::Fault::User);
    assert!(err.to_string().contains("run `snop run demand-review --cycle 2026-12` first"), "{err}");

    let demand = run(&ws, "2026-12");
    let supply = block_on(async {
        let store = pipeline::open_store(&ws).await.unwrap();
        match pipeline::run(
            &ws,
            &store,
            Agent::SupplyReview,
            Month::parse("2026-12").unwrap(),
            &snop::Progress::hidden(),
        )
        .await
        .unwrap()
        {
            RunOutcome::Recorded { run, .. } => run,
            RunOutcome::Unchanged { .. } => panic!("recorded"),
        }
    });
    let d = json(&tmp.path().join(&demand.folder).join("facts.json"));
    let s = json(&tmp.path().join(&supply.folder).join("facts.json"));
    let consensus = d["totals"]["final_units"].as_f64().unwrap();
    let planned = s["totals"]["demand_units"].as_f64().unwrap()
        - s["totals"]["open_orders_above_consensus_units"].as_f64().unwrap();
    assert!(
        (consensus - planned).abs() < 1e-2,
        "the supply review plans the consensus (its totals keep 3 decimals): {consensus} vs {planned}"
    );
    for kind in ["capacity_gaps", "labour_gaps", "material_gaps", "supplier_gaps"] {
        assert!(s["totals"][kind].as_u64().unwrap() > 0, "the demo has {kind}");
    }
    crate::common::golden_json(
        &tmp.path().join(&supply.folder).join("narrative-facts.json"),
        "prompts/supply-review/sample-facts.json",
    );
    let book = calamine::open_workbook_auto(tmp.path().join(&supply.folder).join("supply-plan-2026-12.xlsx")).unwrap();
    assert_eq!(book.sheet_names()[..3], ["Agenda", "Gap summary", "Gaps"], "the agenda, then the gap report");
}

/// A new run whose narrative facts are unchanged is served from the store's response cache:
/// the same draft, no LLM call.
fn an_unchanged_narrative_is_served_from_the_cache(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture_workspace(tmp.path(), db);
    let first = run(&ws, "2026-12");
    // Open orders do not enter the demand consensus: the inputs change, the facts do not.
    let path = tmp.path().join("data/erp/open_orders.csv");
    let mut text = fs_err::read_to_string(&path).unwrap();
    text.push_str("SO-NEW-1,CE-0001,C10001,2027-01,3\n");
    fs_err::write(&path, text).unwrap();
    let second = run(&ws, "2026-12");
    assert_ne!(first.id, second.id);
    let report = json(&tmp.path().join(&second.folder).join("report.json"));
    assert_eq!(report["narrative"]["cache_hits"], 1, "{report}");
    assert_eq!(report["narrative"]["llm_calls"], 0);
    let a = json(&tmp.path().join(&first.folder).join("narrative.json"));
    let b = json(&tmp.path().join(&second.folder).join("narrative.json"));
    assert_eq!(a["text"], b["text"], "the same draft");
}

on_both_backends!(
    the_next_cycle_scores_the_last_one,
    the_supply_review_plans_against_the_stored_consensus,
    an_unchanged_narrative_is_served_from_the_cache,
);

/// A few M3-like series (the layout `bench/m3_workspace.py` writes M3 in: one item per series,
/// one customer, one order line per month) through `snop run demand-review`: the product's
/// `tables/statistical_forecast.parquet` holds, for every series, exactly the engine's
/// forecast of the same history (`forecast::forecast`, 18 months), method included.
/// A workspace whose demand review reads four series as items, one customer and monthly
/// order lines (as `bench/m3_workspace.py` loads M3), with `demand` as its `[demand]` table:
/// a seasonal series with a trend over 11 years (longer than the default window), a trending
/// one of 30 months, a noisy level of 20 and an intermittent one of 36. The series and cycle.
fn series_workspace(dir: &Path, demand: &str) -> (Vec<(&'static str, Vec<f64>)>, Month) {
    snop::demo::init(dir, "M3 bench").unwrap();
    // The demand review's pipeline only: the other agents' files are not there.
    for agent in ["supply-review", "reconciliation", "executive", "commit-back"] {
        fs_err::remove_file(dir.join(format!("pipelines/{agent}.toml"))).unwrap();
    }
    fs_err::write(
        dir.join("pipelines/demand-review.toml"),
        format!(
            "agent = \"demand-review\"\nhistory_months = \"all\"\n\
             [[sources]]\ntable = \"items\"\ntype = \"csv\"\npath = \"data/items.csv\"\n\
             [[sources]]\ntable = \"customers\"\ntype = \"csv\"\npath = \"data/customers.csv\"\n\
             [[sources]]\ntable = \"sales_history\"\ntype = \"csv\"\npath = \"data/sales_history.csv\"\n\
             {demand}"
        ),
    )
    .unwrap();
    let season = [0.3, 0.2, 0.1, -0.1, -0.3, -0.4, -0.3, -0.1, 0.0, 0.1, 0.2, 0.3];
    let noise = [4.0, -6.0, 2.0, 7.0, -3.0, 0.0, -5.0];
    let series: Vec<(&str, Vec<f64>)> = vec![
        ("N1", (0..132).map(|t| 1000.0 + 3.0 * t as f64 + 400.0 * season[t % 12] + 10.0 * noise[t % 7]).collect()),
        ("N2", (0..30).map(|t| 50.0 + 2.5 * t as f64 + noise[t % 7]).collect()),
        ("N3", (0..20).map(|t| 80.0 + noise[t % 7]).collect()),
        ("N4", (0..36).map(|t| if t % 3 == 1 { 6.0 + (t % 2) as f64 } else { 0.0 }).collect()),
    ];
    let cycle = Month::parse("2027-01").unwrap();
    let mut items = String::from("sku,family,uom,unit_price,unit_cost,make_site,lifecycle,end_month\n");
    let mut lines = String::from("order_id,order_date,ship_date,sku,customer,qty,net_revenue\n");
    for (sku, y) in &series {
        items += &format!("{sku},N,EA,1,1,M3,active,\n");
        let start = cycle.plus(-(y.len() as i32));
        for (t, v) in y.iter().enumerate() {
            // A zero month has no order line: the series is dense from its first sale.
            if *v > 0.0 {
                let day = format!("{}-01", start.plus(t as i32));
                lines += &format!("{sku}-{t},{day},{day},{sku},M3,{v},{v}\n");
            }
        }
    }
    fs_err::create_dir_all(dir.join("data")).unwrap();
    fs_err::write(dir.join("data/items.csv"), items).unwrap();
    fs_err::write(
        dir.join("data/customers.csv"),
        "customer,channel,region,account_manager,priority\nM3,direct,all,nobody,1\n",
    )
    .unwrap();
    fs_err::write(dir.join("data/sales_history.csv"), lines).unwrap();
    (series, cycle)
}

/// The run folder's `tables/statistical_forecast.parquet`.
fn statistical_table(folder: &Path) -> polars::prelude::DataFrame {
    use polars::prelude::*;
    let path = folder.join("tables/statistical_forecast.parquet");
    ParquetReader::new(std::io::Cursor::new(fs_err::read(&path).unwrap())).finish().unwrap()
}

#[test]
fn series_through_the_demand_review_forecast_as_the_engine() {
    use snop::analysis::forecast;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (series, cycle) = series_workspace(dir, "");
    let mut ws = Workspace::load(dir).unwrap();
    ws.store_url = Db::Sqlite.fresh_store();
    let run = run(&ws, "2027-01");
    let df = statistical_table(&dir.join(&run.folder));
    let text =
        |c: &str| df.column(c).unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect::<Vec<_>>();
    let num = |c: &str| df.column(c).unwrap().f64().unwrap().iter().map(|v| v.unwrap()).collect::<Vec<_>>();
    let (skus, months, methods, point, lower, upper) =
        (text("sku"), text("month"), text("method"), num("statistical"), num("lower"), num("upper"));
    let cfg = forecast::Config { horizon: 18, ..forecast::Config::default() };
    for (sku, y) in &series {
        // N4's history starts at its first sale (month 1): the engine sees the same.
        let from = y.iter().position(|v| *v > 0.0).unwrap();
        let engine = forecast::forecast(&y[from..], &cfg);
        let rows: Vec<usize> = (0..skus.len()).filter(|i| skus[*i] == *sku).collect();
        assert_eq!(rows.len(), 18, "{sku}");
        let method = serde_json::to_value(engine.method).unwrap();
        for (h, i) in rows.iter().enumerate() {
            assert_eq!(months[*i], cycle.plus(h as i32).to_string(), "{sku}");
            assert_eq!(methods[*i], method.as_str().unwrap(), "{sku}");
            assert_eq!(
                (point[*i], lower[*i], upper[*i]),
                (engine.point[h], engine.lower[h], engine.upper[h]),
                "{sku} month {h}"
            );
        }
    }
}

#[test]
fn the_horizon_carries_through_the_forecast_the_consensus_and_the_workbook() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Out of range: `snop validate` names the file, the line and the key.
    series_workspace(dir, "[demand]\nhorizon_months = 0\n");
    let err = Workspace::load(dir).unwrap_err().to_string();
    assert!(
        err.contains("line 16, key `demand.horizon_months`: `0` must be a number of months between 1 and 60"),
        "{err}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (series, cycle) = series_workspace(dir, "[demand]\nhorizon_months = 24\n");
    let mut ws = Workspace::load(dir).unwrap();
    ws.store_url = Db::Sqlite.fresh_store();
    let run = run(&ws, "2027-01");
    let folder = dir.join(&run.folder);
    let months: Vec<String> = (0..24).map(|h| cycle.plus(h).to_string()).collect();
    // The forecast: 24 rows per series, the months from the cycle on, and they equal the
    // engine's forecast of 24 months (the first 18 of which are its 18-month forecast).
    let df = statistical_table(&folder);
    assert_eq!(df.height(), series.len() * 24);
    let month_col: Vec<String> =
        df.column("month").unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect();
    let point: Vec<f64> = df.column("statistical").unwrap().f64().unwrap().iter().map(|v| v.unwrap()).collect();
    let n2 = snop::analysis::forecast::forecast(
        &series[1].1,
        &snop::analysis::forecast::Config { horizon: 24, ..Default::default() },
    );
    assert_eq!(month_col[24..48], months[..]);
    assert_eq!(point[24..48], n2.point[..]);
    // The consensus: its months, and every series' row in `tables/consensus.csv` with 24 of them.
    let facts = json(&folder.join("facts.json"));
    assert_eq!(facts["months"], serde_json::json!(months));
    let csv = fs_err::read_to_string(folder.join("tables/consensus.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(header[5..], [&months.iter().map(String::as_str).collect::<Vec<_>>()[..], &["total"]].concat()[..]);
    // The workbook: the Consensus sheet's header runs over the 24 months and no further.
    let mut book = calamine::open_workbook_auto(folder.join("demand-consensus-2027-01.xlsx")).unwrap();
    let sheet = book.worksheet_range("Consensus").unwrap();
    let titles: Vec<String> = sheet
        .rows()
        .find(|r| r.first().is_some_and(|c| c.get_string() == Some("SKU")))
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(titles[5..29], months[..], "{titles:?}");
    assert_eq!(titles[29..], ["Total".to_string()], "{titles:?}");
}
