//! The supply review on the committed demo company: every gap kind is found, and the key
//! figures are pinned.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use snop::analysis::supply::{GapKind, SupplyFacts, SupplyInputs, SupplyParams, supply_review, supply_review_cut};
use snop::config::Workspace;
use snop::contract::{Month, PLAN_MONTHS, Table};
use snop::ingest::{self, Window};
use snop::sop::Agent;

use crate::common::{block_on, copy_dir, repo};

/// The tables of both agents' pipelines for a workspace holding `data/`.
pub fn demo_tables(dir: &Path, cycle: Month) -> BTreeMap<Table, DataFrame> {
    let ws = Workspace::load(dir).unwrap();
    let mut tables = BTreeMap::new();
    for agent in [Agent::SupplyReview, Agent::DemandReview] {
        let pipeline = ws.pipeline(agent).unwrap();
        let window =
            Window { cycle, history_months: pipeline.history_months, plan_months: snop::contract::PLAN_MONTHS };
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

/// The committed demo company's supply tables and a stand-in demand, cycle 2026-12.
fn demo_inputs() -> (BTreeMap<Table, DataFrame>, DataFrame, Month) {
    let tmp = tempfile::tempdir().unwrap();
    snop::demo::init(tmp.path(), "Demo").unwrap();
    copy_dir(&repo().join("fixtures/demo/data"), &tmp.path().join("data"));
    let cycle = Month::parse("2026-12").unwrap();
    let tables = demo_tables(tmp.path(), cycle);
    let demand = stand_in_demand(&tables, cycle);
    (tables, demand, cycle)
}

/// The demo company's supply facts, as the supply review makes them.
pub fn demo_facts() -> SupplyFacts {
    let (tables, demand, cycle) = demo_inputs();
    let params = SupplyParams::default();
    supply_review(&SupplyInputs { tables: &tables, demand: &demand, cycle, params: &params }).unwrap()
}

/// The committed demo company's optimiser problem, cut at its connected components, prices
/// every gap as the whole problem does: the same plan and cost, every gap's figures the same
/// (the demo is one component; the problems that do cut are the optimiser's property test).
#[test]
fn pricing_through_the_pieces_equals_the_whole_on_the_demo() {
    use snop::analysis::supply::lp::SplitOptions;
    let (tables, demand, cycle) = demo_inputs();
    let params = SupplyParams::default();
    let inputs = SupplyInputs { tables: &tables, demand: &demand, cycle, params: &params };
    let cut = supply_review_cut(&inputs, SplitOptions::default()).unwrap();
    let whole = supply_review_cut(&inputs, SplitOptions::whole()).unwrap();
    // The demo company is one connected component (every site's finished goods share the
    // sub-assemblies and raw parts), so the cut is the whole: one piece either way.
    assert_eq!((whole.totals.optimiser_pieces, cut.totals.optimiser_pieces), (1, 1));
    assert!(!cut.totals.optimiser_approximate);
    assert!((cut.totals.recommended_cost_money - whole.totals.recommended_cost_money).abs() < 0.015);
    assert_eq!(cut.totals.re_solves, whole.totals.re_solves);
    assert_eq!(cut.gaps.len(), whole.gaps.len());
    for (a, b) in cut.gaps.iter().zip(&whole.gaps) {
        assert_eq!(a, b, "gap {}", a.id);
    }
    assert_eq!(cut.constrained_plan, whole.constrained_plan);
}

#[test]
fn the_demo_company_has_every_gap_kind() {
    let facts = demo_facts();
    let t = &facts.totals;
    // The key figures of the committed demo company (cycle 2026-12, stand-in demand).
    assert_eq!(
        (t.capacity_gaps, t.labour_gaps, t.material_gaps, t.supplier_gaps),
        (17, 17, 53, 8),
        "{}",
        serde_json::to_string_pretty(t).unwrap()
    );
    assert_eq!(t.demand_units, 133197.6);
    assert_eq!(t.open_orders_above_consensus_units, 6.6);
    // The least-cost plan's: it loads the sub-assemblies' routings too (each SKU's sub-assembly
    // on its site's CNC-2 and labour pool), which the old greedy plan did not (it served
    // 80,725.133 units); the generator sizes capacity for both, except the short line and the
    // short labour pool (85 % of the finished goods' own load). The sums below check these
    // against the plan's lines.
    assert_eq!(t.constrained_units, 78319.258);
    assert_eq!(t.revenue_unconstrained_money, 31486787.98);
    assert_eq!(t.revenue_constrained_money, 19759099.58);
    assert_eq!(t.margin_constrained_money, 7990675.32);
    assert_eq!(t.budget_revenue_money, 28531946.0);
    // The least-cost plan's cost: spend on fixes plus the margin it loses.
    assert_eq!(t.recommended_cost_money, 5197543.67);
    assert_eq!((t.plan_cost.overtime_money, t.plan_cost.expedite_money), (25536.0, 115287.06));
    // An alternate supplier would be offered only for the components `component_suppliers`
    // lists (every fourth raw part from RM-00002), naming the second source; an alternate
    // routing is named as the data names it.
    let second: std::collections::BTreeSet<String> = (0..20).map(|i| format!("RM-{:05}", 4 * i + 2)).collect();
    let mut alternate_suppliers = 0;
    for g in &facts.gaps {
        for o in g.options.iter().filter(|o| o.kind == snop::analysis::supply::OptionKind::AlternateSupplier) {
            let c = g.component.as_deref().unwrap_or_default();
            assert!(second.contains(c), "{c}: {}", o.detail);
            alternate_suppliers += 1;
        }
        for o in g.options.iter().filter(|o| o.kind == snop::analysis::supply::OptionKind::AlternateSite) {
            assert!(o.detail.contains("alt-"), "{}", o.detail);
        }
    }
    // The least-cost plan buys from none of the demo's second sources (each costs more than
    // what it would save): no purchase premium, so no gap offers one.
    assert_eq!((alternate_suppliers, t.plan_cost.purchase_premium_money), (0, 0.0));
    // The short line and the short labour pool, every plan month; the window is Jan-Feb 2027.
    assert_eq!(facts.near_term_months, ["2027-01", "2027-02"]);
    let cent = facts.capacity.iter().find(|r| r.resource == "LEE-LINE-CENT").unwrap();
    assert_eq!(cent.first_overload_month.as_deref(), Some("2027-01"));
    assert!(facts.near_term_overloads.iter().any(|o| o.resource == "MON-LABOUR" && o.month == "2027-01"));
    // Every gap outside the frozen horizon is priced: its options are plans, accepting the
    // shortfall among them, none cheaper than the recommended one (the least cost), and what
    // the recommendation closes plus what it accepts is what accepting would leave short.
    for g in &facts.gaps {
        assert!(g.units_short >= 0.0 && g.margin_at_risk_money >= 0.0, "{g:?}");
        if !g.frozen {
            assert!(g.options.iter().any(|o| o.kind == snop::analysis::supply::OptionKind::AcceptShortfall));
            let best = g.options[0].cost_money;
            assert!(g.options.iter().all(|o| o.cost_money >= best - 0.05), "{g:?}");
            assert!((g.options[0].spend_money + g.options[0].lost_margin_money - best).abs() < 0.02, "{g:?}");
        } else {
            let kinds: Vec<_> = g.options.iter().map(|o| o.kind).collect();
            assert_eq!(kinds, [snop::analysis::supply::OptionKind::AcceptShortfall], "a notice is not re-priced");
        }
        let covered: f64 = g.recommended.iter().map(|s| s.units).sum();
        assert!((covered - g.units_short).abs() < 0.01, "{g:?}");
        assert!(!g.skus_hit.is_empty() && !g.customers_hit.is_empty(), "{g:?}");
    }
    // Computed once from the plan: revenue at risk is demand's revenue less the plan's, and the
    // plan's revenue is its lines' at their prices (a plain loop over the plan).
    assert!((t.revenue_at_risk_money - (t.revenue_unconstrained_money - t.revenue_constrained_money)).abs() < 0.02);
    let by_family: f64 = facts.financials.iter().map(|f| f.revenue_constrained_money).sum();
    assert!((by_family - t.revenue_constrained_money).abs() < 1.0, "{by_family}");
    let unmet: f64 = facts.constrained_plan.iter().map(|l| l.demand_units - l.constrained_units).sum();
    assert!((unmet - t.unmet_units).abs() < 0.5, "{unmet}");
    assert!((t.plan_cost.spend() + t.plan_cost.lost_margin_money - t.recommended_cost_money).abs() < 0.1);
    // Forbidding every fix never raises revenue.
    assert!(t.revenue_without_fixes_money.unwrap() <= t.revenue_constrained_money + 0.01);
    // Receipts from suppliers below the OTIF threshold feed the supplier gaps.
    assert!(facts.suppliers.iter().any(|s| s.below_threshold));
    assert!(facts.receipts_at_risk.iter().any(|r| !r.feeds_gaps.is_empty()));
    // The constrained plan never exceeds demand.
    assert!(facts.constrained_plan.iter().all(|l| l.constrained_units <= l.demand_units + 1e-9));
}

#[test]
fn the_supply_plan_workbook_opens_with_the_gaps_first() {
    use calamine::{DataType, Reader, Xlsx};
    let facts = demo_facts();
    use snop::analysis::locale::Locale;
    let bytes = snop::artifacts::supply_plan::supply_plan_xlsx(&facts, "Demo Pumps", None, Locale::EnUs).unwrap();
    let again = snop::artifacts::supply_plan::supply_plan_xlsx(&facts, "Demo Pumps", None, Locale::EnUs).unwrap();
    assert!(bytes == again, "the workbook is not deterministic");
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["Gap summary", "Gaps", "Load by resource", "Shortages", "Constrained plan", "Financials"]
    );
    let gaps = book.worksheet_range("Gaps").unwrap();
    assert_eq!(gaps.height(), facts.gaps.len() + 1);
    assert_eq!(gaps.get((0, 0)).unwrap().to_string(), "Gap");
    // Largest margin at risk first: the first row is the gap with the most, found by a loop.
    let mut top = &facts.gaps[0];
    for g in &facts.gaps {
        if g.margin_at_risk_money > top.margin_at_risk_money
            || (g.margin_at_risk_money == top.margin_at_risk_money && g.id < top.id)
        {
            top = g;
        }
    }
    assert_eq!(gaps.get((1, 0)).unwrap().to_string(), top.id);
    // The options' texts (column 14) write numbers in the locale: en-US `1,234.5`, de-DE
    // `1.234,5`; the top gap's first option's units as `format_number` writes them.
    let de = snop::artifacts::supply_plan::supply_plan_xlsx(&facts, "Demo Pumps", None, Locale::DeDe).unwrap();
    let mut de: Xlsx<_> = Xlsx::new(std::io::Cursor::new(de)).unwrap();
    let de_gaps = de.worksheet_range("Gaps").unwrap();
    let (german, english) = (regex::Regex::new(r"\d\.\d{3}\b").unwrap(), regex::Regex::new(r"\d,\d{3}\b").unwrap());
    let (mut en_grouped, mut de_grouped) = (0, 0);
    for r in 1..gaps.height() {
        let (en_text, de_text) = (gaps.get((r, 14)).unwrap().to_string(), de_gaps.get((r, 14)).unwrap().to_string());
        assert!(!german.is_match(&en_text) && !english.is_match(&de_text), "{en_text} / {de_text}");
        assert_eq!(de_text, Locale::DeDe.localize(&en_text));
        en_grouped += usize::from(english.is_match(&en_text));
        de_grouped += usize::from(german.is_match(&de_text));
    }
    assert!(en_grouped > 0 && de_grouped == en_grouped, "{en_grouped} {de_grouped}");
    let first = &top.options[0];
    let cell = gaps.get((1, 14)).unwrap().to_string();
    assert!(cell.contains(&format!("{} units", snop::analysis::format_number(first.closes_units))), "{cell}");
    let margin: Vec<f64> = (1..gaps.height()).map(|r| gaps.get((r, 10)).unwrap().get_float().unwrap()).collect();
    assert!(margin.windows(2).all(|w| w[0] >= w[1]), "sorted by margin at risk");
    // The summary: the gaps of each kind counted, and their total (row 5) is every gap's.
    let summary = book.worksheet_range("Gap summary").unwrap();
    assert_eq!(summary.get((5, 0)).unwrap().to_string(), "All gaps (overlapping)");
    assert_eq!(summary.get((5, 1)).unwrap().get_float().unwrap(), facts.gaps.len() as f64);
    let total: f64 = facts.gaps.iter().map(|g| g.margin_at_risk_money).sum();
    assert!((summary.get((5, 4)).unwrap().get_float().unwrap() - total).abs() < 1e-6);
    let load = book.worksheet_range("Load by resource").unwrap();
    assert_eq!(load.height(), facts.capacity.len() * 18 + 1);
    let plan = book.worksheet_range("Constrained plan").unwrap();
    assert_eq!(plan.height(), facts.constrained_plan.len() + 1);
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
    let t = &facts.totals;
    assert_eq!((t.capacity_gaps, t.labour_gaps, t.material_gaps, t.supplier_gaps), (17, 17, 364, 53));
    for kind in [GapKind::Capacity, GapKind::Labour, GapKind::Material, GapKind::Supplier] {
        assert!(facts.gaps.iter().any(|g| g.kind == kind), "no {kind:?} gap");
    }
}
