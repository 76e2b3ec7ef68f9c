//! Hand-checkable cases of the reconciliation.

use std::collections::BTreeMap;

use super::*;
use crate::analysis::supply::{FamilyMonthFinancials, GapOption, PlanLine, SupplyParams, Totals};

fn step(kind: OptionKind, units: f64, cost: f64) -> RecommendedStep {
    RecommendedStep { kind, units, cost_money: cost }
}

fn option(kind: OptionKind, units: f64, cost: f64) -> GapOption {
    GapOption {
        kind,
        detail: String::new(),
        closes_units: units,
        closes_percent: 0.0,
        fully_closes: false,
        cost_money: cost,
        cost_per_unit_money: cost / units,
        spend_money: cost,
        lost_margin_money: 0.0,
        revenue_kept_money: 0.0,
        margin_kept_money: 0.0,
        customers_served: vec![],
    }
}

fn gap(id: &str, units: f64, revenue: f64, margin: f64, recommended: Vec<RecommendedStep>) -> Gap {
    Gap {
        id: id.into(),
        kind: GapKind::Capacity,
        resource: Some("ASM-1".into()),
        site: Some("NORTH".into()),
        component: None,
        supplier: None,
        month: "2027-02".into(),
        near_term: true,
        frozen: false,
        hours_short: Some(units),
        component_units_short: None,
        units_short: units,
        revenue_at_risk_money: revenue,
        margin_at_risk_money: margin,
        skus_hit: vec!["A".into()],
        customers_hit: vec!["C1".into()],
        options: recommended.iter().map(|s| option(s.kind, s.units, s.cost_money)).collect(),
        recommended_cost_money: recommended.iter().map(|s| s.cost_money).sum(),
        recommended_closes_units: recommended
            .iter()
            .filter(|s| s.kind != OptionKind::AcceptShortfall)
            .map(|s| s.units)
            .sum(),
        recommended,
        next_best_extra_cost_money: None,
        priced_by: crate::analysis::supply::PricedBy::ReSolve,
    }
}

fn facts(gaps: Vec<Gap>) -> SupplyFacts {
    SupplyFacts {
        cycle: "2027-01".into(),
        plan_months: (1..=6).map(|m| format!("2027-{m:02}")).collect(),
        near_term_months: vec![],
        params: SupplyParams::default(),
        totals: Totals {
            demand_units: 300.0,
            open_orders_above_consensus_units: 0.0,
            demand_rows_outside_horizon: 0,
            constrained_units: 250.0,
            unmet_units: 50.0,
            capacity_gaps: gaps.len(),
            labour_gaps: 0,
            material_gaps: 0,
            supplier_gaps: 0,
            revenue_unconstrained_money: 30_000.0,
            revenue_constrained_money: 25_000.0,
            margin_unconstrained_money: 12_000.0,
            margin_constrained_money: 10_000.0,
            budget_revenue_money: 28_000.0,
            revenue_at_risk_money: 5_000.0,
            margin_at_risk_money: 2_000.0,
            recommended_cost_money: 3_700.0,
            plan_cost: crate::analysis::supply::lp::Cost {
                overtime_money: 2_100.0,
                lost_margin_money: 1_600.0,
                ..Default::default()
            },
            revenue_without_fixes_money: Some(22_000.0),
            frozen_gaps: 0,
            re_solves: 0,
            gaps_priced_by_plan: 0,
            optimiser_pieces: 1,
            optimiser_approximate: false,
        },
        requirements: vec![],
        capacity: vec![],
        near_term_overloads: vec![],
        shortages: vec![],
        suppliers: vec![],
        receipts_at_risk: vec![],
        gaps,
        constrained_plan: vec![
            PlanLine {
                sku: "A".into(),
                customer: "C1".into(),
                month: "2027-01".into(),
                demand_units: 100.0,
                constrained_units: 100.0,
            },
            PlanLine {
                sku: "A".into(),
                customer: "C1".into(),
                month: "2027-02".into(),
                demand_units: 100.0,
                constrained_units: 50.0,
            },
            PlanLine {
                sku: "B".into(),
                customer: "C1".into(),
                month: "2027-04".into(),
                demand_units: 100.0,
                constrained_units: 100.0,
            },
        ],
        unmet_by_customer: vec![],
        financials: vec![
            fin("PUMPS", "2027-01", 10_000.0, 10_000.0, Some(9_000.0)),
            fin("PUMPS", "2027-02", 10_000.0, 5_000.0, Some(9_000.0)),
            fin("VALVES", "2027-04", 10_000.0, 10_000.0, None),
        ],
    }
}

fn fin(family: &str, month: &str, unconstrained: f64, constrained: f64, budget: Option<f64>) -> FamilyMonthFinancials {
    FamilyMonthFinancials {
        family: family.into(),
        month: month.into(),
        revenue_unconstrained_money: unconstrained,
        revenue_constrained_money: constrained,
        margin_unconstrained_money: 0.0,
        margin_constrained_money: 0.0,
        budget_revenue_money: budget,
        constrained_vs_budget_money: None,
    }
}

fn items() -> BTreeMap<String, (String, f64)> {
    [("A".to_string(), ("PUMPS".to_string(), 100.0)), ("B".to_string(), ("VALVES".to_string(), 100.0))]
        .into_iter()
        .collect()
}

fn run(gaps: Vec<Gap>, last: Option<SignedPlanLines>) -> ReconciliationFacts {
    run_with(&facts(gaps), last, 10)
}

fn run_with(supply: &SupplyFacts, last: Option<SignedPlanLines>, cap: usize) -> ReconciliationFacts {
    let items = items();
    let params = ReconcileParams { leads_may_approve_up_to: 1_000.0, max_executive_decisions: cap };
    reconcile(&ReconcileInputs {
        supply,
        items: &items,
        last_signed: last,
        params: &params,
        demand_signed: true,
        supply_signed: true,
        executive_date: "2027-01-13".into(),
        decision_owner: "the COO (Olivia Chen)".into(),
        demand: None,
        owners: [("supply_lead".to_string(), "Sam Okafor (supply lead)".to_string())].into_iter().collect(),
        locale: Default::default(),
        consensus: None,
        last_consensus: None,
        unit_costs: BTreeMap::new(),
    })
}

/// Limit 1,000. G1: overtime closes all 10 units for 800: resolved. G2: overtime closes all
/// 20 units for 1,500: over the limit, a decision. G3: overtime closes 30 of 50 units for 600
/// and 20 are accepted short: a decision though cheap. G2 and G3 are both on ASM-1 in 2027-Q1:
/// one decision, `RES-ASM-1-2027-Q1`, with 6,000 of margin at risk.
#[test]
fn gaps_are_resolved_within_the_limit_and_the_rest_grouped_into_one_decision() {
    let f = run(
        vec![
            gap("G1", 10.0, 1_000.0, 400.0, vec![step(OptionKind::Overtime, 10.0, 800.0)]),
            gap("G2", 20.0, 2_000.0, 2_000.0, vec![step(OptionKind::Overtime, 20.0, 1_500.0)]),
            gap(
                "G3",
                50.0,
                5_000.0,
                4_000.0,
                vec![step(OptionKind::Overtime, 30.0, 600.0), step(OptionKind::AcceptShortfall, 20.0, 1_600.0)],
            ),
        ],
        None,
    );
    assert_eq!(f.resolved.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["G1"]);
    let ids: Vec<(&str, usize, Vec<&str>)> =
        f.trade_offs.iter().map(|t| (t.id.as_str(), t.rank, t.gap_ids())).collect();
    assert_eq!(ids, [("RES-ASM-1-2027-Q1", 1, vec!["G2", "G3"])]);
    let d = &f.trade_offs[0];
    assert_eq!((d.units_short, d.margin_at_risk_money, d.revenue_at_risk_money), (70.0, 6_000.0, 7_000.0));
    // The cheapest fixes close 20 + 30 of 70 units: 20 accepted short.
    assert!(d.why.contains("20 of 70 units would be accepted short"), "{}", d.why);
    // G2's overtime and G3's overtime are the cheapest fixes themselves: no separate option.
    let keys: Vec<&str> = d.options.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["cheapest_fixes", "accept_shortfall"]);
    // Cheapest fixes: spend 1,500 + 600 = 2,100; margin kept 2,000 + 30/50 x 4,000 = 4,400,
    // net 2,300 > 0 (accepting keeps nothing): recommended. Service of A in 2027-02 (the one
    // SKU-month both hit): 50 of 100 planned, plus 50 closed = 100%.
    let r = &d.recommendation;
    assert_eq!((r.option.as_str(), r.cost_money), ("cheapest_fixes", 2_100.0));
    assert_eq!(r.buys, "closes 50 of 70 units for 2,100, keeps 4,400 of margin; service 50.0% to 100.0%");
    assert_eq!((r.owner.as_str(), r.due.as_str()), ("the COO (Olivia Chen)", "2027-01-13"));
    // The supply plan is the least-cost plan, the plan with the recommended decisions: its
    // revenue (25,000), the demand's revenue it leaves (30,000 - 25,000), its spend and lost
    // margin apart, never summed over the gaps.
    let fin = &f.financial;
    assert_eq!(fin.revenue_with_recommendations_money, 25_000.0);
    assert_eq!(fin.revenue_at_risk_money, 5_000.0);
    assert_eq!((fin.spend_money, fin.lost_margin_money), (2_100.0, 1_600.0));
    assert_eq!(fin.revenue_without_fixes_money, Some(22_000.0));
    assert!(f.open_questions.iter().any(|q| q.contains("no signed plan of the previous cycle")));
}

/// A gap of any kind, with its options (an `accept_shortfall` option always added, priced at
/// the margin at risk, as the supply plan does).
#[allow(clippy::too_many_arguments)]
fn gap_of(
    id: &str,
    kind: GapKind,
    place: &str,
    month: &str,
    (units, revenue, margin): (f64, f64, f64),
    options: &[(OptionKind, f64, f64)],
    recommended: Vec<RecommendedStep>,
    customers: &[&str],
) -> Gap {
    let mut g = gap(id, units, revenue, margin, recommended);
    g.kind = kind;
    g.month = month.into();
    g.customers_hit = customers.iter().map(|c| c.to_string()).collect();
    g.options = options.iter().map(|&(k, u, c)| option(k, u, c)).collect();
    g.options.push(option(OptionKind::AcceptShortfall, units, margin));
    match kind {
        GapKind::Capacity | GapKind::Labour => g.resource = Some(place.into()),
        GapKind::Material => {
            (g.resource, g.site, g.hours_short) = (None, None, None);
            (g.component, g.supplier) = (Some(place.into()), Some("S1".into()));
        }
        GapKind::Supplier => {
            (g.resource, g.site, g.hours_short) = (None, None, None);
            (g.component, g.supplier) = (Some("C2".into()), Some(place.into()));
        }
    }
    g
}

/// The hand-made supply plan of the grouping tests: frozen horizon 1 month (2027-01), limit
/// 1,000. Expected, gap by gap:
/// - F1 (R1, 2027-01): frozen, a notice whatever its fixes;
/// - G1 (R2, 2027-02): overtime closes all for 800: resolved by the leads;
/// - G3 (R1, 2027-02) and G2 (R1, 2027-03): decision `RES-R1-2027-Q1` (margin 4,000 + 2,000);
/// - G4 (material C1, 2027-04): expedite for 1,200: decision `COMP-C1` (margin 1,500);
/// - G5 (supplier S9, 2027-02): an alternate supplier for 1,100 keeps 300 of margin: decision
///   `SUPPLIER-S9` (margin 300), whose recommendation is to accept the shortfall;
/// - G6 (material C3, 2027-05): no fix: a notice of family PUMPS (SKU A) in 2027-Q2.
fn grouping_plan() -> SupplyFacts {
    let ot = OptionKind::Overtime;
    let mut supply = facts(vec![
        gap_of(
            "F1",
            GapKind::Capacity,
            "R1",
            "2027-01",
            (10.0, 1_000.0, 500.0),
            &[(ot, 10.0, 100.0)],
            vec![step(ot, 10.0, 100.0)],
            &["C1"],
        ),
        gap_of(
            "G1",
            GapKind::Capacity,
            "R2",
            "2027-02",
            (10.0, 1_000.0, 400.0),
            &[(ot, 10.0, 800.0)],
            vec![step(ot, 10.0, 800.0)],
            &["C1"],
        ),
        gap_of(
            "G2",
            GapKind::Capacity,
            "R1",
            "2027-03",
            (20.0, 2_000.0, 2_000.0),
            &[(ot, 20.0, 1_500.0), (OptionKind::BuildAhead, 12.0, 600.0)],
            vec![step(ot, 20.0, 1_500.0)],
            &["C2"],
        ),
        gap_of(
            "G3",
            GapKind::Capacity,
            "R1",
            "2027-02",
            (50.0, 5_000.0, 4_000.0),
            &[(ot, 30.0, 600.0)],
            vec![step(ot, 30.0, 600.0), step(OptionKind::AcceptShortfall, 20.0, 1_600.0)],
            &["C1", "C3"],
        ),
        gap_of(
            "G4",
            GapKind::Material,
            "C1",
            "2027-04",
            (40.0, 4_000.0, 1_500.0),
            &[(OptionKind::Expedite, 40.0, 1_200.0)],
            vec![step(OptionKind::Expedite, 40.0, 1_200.0)],
            &["C1"],
        ),
        gap_of(
            "G5",
            GapKind::Supplier,
            "S9",
            "2027-02",
            (5.0, 500.0, 300.0),
            &[(OptionKind::AlternateSupplier, 5.0, 1_100.0)],
            vec![step(OptionKind::AlternateSupplier, 5.0, 1_100.0)],
            &["C4"],
        ),
        gap_of(
            "G6",
            GapKind::Material,
            "C3",
            "2027-05",
            (8.0, 800.0, 200.0),
            &[],
            vec![step(OptionKind::AcceptShortfall, 8.0, 200.0)],
            &["C1"],
        ),
    ]);
    supply.params.frozen_months = 1;
    supply.constrained_plan.push(PlanLine {
        sku: "A".into(),
        customer: "C1".into(),
        month: "2027-03".into(),
        demand_units: 100.0,
        constrained_units: 80.0,
    });
    supply
}

#[test]
fn gaps_are_grouped_by_root_cause_into_decisions_and_notices() {
    let f = run_with(&grouping_plan(), None, 10);
    assert_eq!(f.resolved.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["G1"]);
    let decisions: Vec<(usize, &str, Vec<&str>)> =
        f.trade_offs.iter().map(|t| (t.rank, t.id.as_str(), t.gap_ids())).collect();
    assert_eq!(
        decisions,
        [(1, "RES-R1-2027-Q1", vec!["G3", "G2"]), (2, "COMP-C1", vec!["G4"]), (3, "SUPPLIER-S9", vec!["G5"]),]
    );
    let notices: Vec<(&str, NoticeKind, Vec<&str>)> =
        f.notices.iter().map(|n| (n.id.as_str(), n.kind, n.gaps.iter().map(String::as_str).collect())).collect();
    assert_eq!(
        notices,
        [
            ("FROZEN-2027-01-capacity", NoticeKind::Frozen, vec!["F1"]),
            ("FAM-PUMPS-2027-Q2", NoticeKind::NoFix, vec!["G6"])
        ]
    );
    assert!(f.notices[0].text.starts_with("inside the frozen horizon (2027-01)"), "{}", f.notices[0].text);
    // Every gap is in exactly one place.
    let mut all: Vec<&str> = f.resolved.iter().map(|r| r.id.as_str()).collect();
    all.extend(f.trade_offs.iter().flat_map(|t| t.gap_ids()));
    all.extend(f.notices.iter().flat_map(|n| n.gaps.iter().map(String::as_str)));
    all.sort();
    assert_eq!(all, ["F1", "G1", "G2", "G3", "G4", "G5", "G6"]);
    // The alternate supplier spends 1,100 to keep 300 of margin by these estimates, but it is
    // the plan's own recommended step for the gap: the recommendation follows the plan (the
    // optimiser's least cost), never an estimate against it.
    let s9 = &f.trade_offs[2];
    assert_eq!(s9.recommendation.option, "cheapest_fixes");
    assert_eq!(s9.options.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["cheapest_fixes", "accept_shortfall"]);
    assert!(f.trade_offs.iter().all(|t| (2..=decisions::MAX_OPTIONS).contains(&t.options.len())));
}

/// With a cap of 2, the third decision (SUPPLIER-S9, the least margin) is a notice below the
/// cap; the executive gets two.
#[test]
fn the_cap_leaves_the_least_margin_to_notices() {
    let f = run_with(&grouping_plan(), None, 2);
    assert_eq!(f.trade_offs.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["RES-R1-2027-Q1", "COMP-C1"]);
    let below: Vec<&Notice> = f.notices.iter().filter(|n| n.kind == NoticeKind::BelowCap).collect();
    assert_eq!(below.len(), 1);
    assert_eq!((below[0].id.as_str(), below[0].gaps.as_slice()), ("SUPPLIER-S9", &["G5".to_string()][..]));
    assert!(below[0].text.contains("beyond the executive's 2 decisions (ranked 3)"), "{}", below[0].text);
    assert_eq!(f.max_executive_decisions, 2);
    assert_eq!(notices_of(&f, NoticeKind::BelowCap), 1);
}

/// The options of `RES-R1-2027-Q1` (G3: 50 short, overtime 30 for 600; G2: 20 short, overtime
/// 20 for 1,500 or build ahead 12 for 600) against sums computed here over the member gaps'
/// own options, with plain loops. By hand:
/// - cheapest fixes: closes 30 + 20 = 50; revenue 5,000 x 0.6 + 2,000 = 5,000; margin 4,000 x
///   0.6 + 2,000 = 4,400; spend 2,100; lost 6,000 - 4,400 = 1,600;
/// - build ahead: only G2 offers it: closes 12 of G2, and G3 keeps its cheapest fixes (30 for
///   600, as the executive's re-plan does): closes 42; revenue 2,000 x 0.6 + 3,000 = 4,200;
///   margin 1,200 + 2,400 = 3,600; spend 1,200; lost 2,400;
/// - overtime does what the cheapest fixes do: left out; accepting: closes 0, lost 6,000.
///
/// Service: A in 2027-02 (100 asked, 50 planned) and 2027-03 (100, 80): 130 of 200 = 65%; with
/// the cheapest fixes 180 = 90%; with build ahead 172 = 86%.
#[test]
fn a_decisions_options_are_the_sums_of_its_gaps() {
    let supply = grouping_plan();
    let f = run_with(&supply, None, 10);
    let d = &f.trade_offs[0];
    let members: Vec<&Gap> = supply.gaps.iter().filter(|g| g.id == "G2" || g.id == "G3").collect();
    // Independently: per option key, per gap, (units closed, spend) from the gap's own options.
    let per_gap = |g: &Gap, key: &str| -> (f64, f64) {
        match key {
            "cheapest_fixes" => g
                .recommended
                .iter()
                .filter(|s| s.kind != OptionKind::AcceptShortfall)
                .fold((0.0, 0.0), |a, s| (a.0 + s.units, a.1 + s.cost_money)),
            "accept_shortfall" => (0.0, 0.0),
            k => {
                // A gap without the option keeps its cheapest fixes.
                let mut out = None;
                for o in &g.options {
                    if option_key(o.kind) == k {
                        out = Some((o.closes_units.min(g.units_short), o.cost_money));
                    }
                }
                out.unwrap_or_else(|| {
                    g.recommended
                        .iter()
                        .filter(|s| s.kind != OptionKind::AcceptShortfall)
                        .fold((0.0, 0.0), |a, s| (a.0 + s.units, a.1 + s.cost_money))
                })
            }
        }
    };
    let keys: Vec<&str> = d.options.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["cheapest_fixes", "build_ahead", "accept_shortfall"]);
    for o in &d.options {
        let (mut units, mut spend, mut revenue, mut margin, mut at_risk) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for g in &members {
            let (u, c) = per_gap(g, &o.key);
            units += u;
            spend += c;
            revenue += g.revenue_at_risk_money * u / g.units_short;
            margin += g.margin_at_risk_money * u / g.units_short;
            at_risk += g.margin_at_risk_money;
        }
        assert_eq!(o.closes_units, r2(units), "{}", o.key);
        assert_eq!(o.spend_money, r2(spend), "{}", o.key);
        assert_eq!(o.revenue_kept_money, r2(revenue), "{}", o.key);
        assert_eq!(o.margin_kept_money, r2(margin), "{}", o.key);
        assert_eq!(o.lost_margin_money, r2(at_risk - margin), "{}", o.key);
    }
    let figures: Vec<(f64, f64, f64, f64, Option<f64>)> = d
        .options
        .iter()
        .map(|o| (o.closes_units, o.revenue_kept_money, o.margin_kept_money, o.spend_money, o.service_level_percent))
        .collect();
    assert_eq!(
        figures,
        [
            (50.0, 5_000.0, 4_400.0, 2_100.0, Some(90.0)),
            (42.0, 4_200.0, 3_600.0, 1_200.0, Some(86.0)),
            (0.0, 0.0, 0.0, 0.0, Some(65.0)),
        ]
    );
    assert_eq!(d.service_level_percent, Some(65.0));
    // G3 is only partly closed by every option: its customers stay hit; G2 is closed by the
    // cheapest fixes.
    assert_eq!(d.options[0].customers_still_hit, ["C1", "C3"]);
    assert_eq!(d.options[1].customers_still_hit, ["C1", "C2", "C3"]);
}

/// The decision `RES-R1-2027-Q1` taken with its cheapest fixes, and its gap G3 decided
/// otherwise (its shortfall accepted): only G2's 20 hours of overtime reach the plan (G1's 10,
/// the leads' resolution, too). A decision recorded on a gap id before decisions were grouped
/// (`G4`, expedite) still counts for its decision; `SUPPLIER-S9` stays undecided. A later
/// decision on the whole group supersedes the override.
/// A gap whose recommendation starts with a step of 0 units (overtime 0, then build-ahead 40 for
/// 1,500: over the limit, a decision): its recommended option is overtime, which its cheapest
/// fixes' steps leave out. Choosing the cheapest fixes still imposes nothing (the least-cost
/// plan), and a gap whose only step is 0 units is not made to accept its shortfall.
#[test]
fn the_cheapest_fixes_impose_nothing_when_a_step_is_zero_units() {
    use crate::analysis::executive::{DecisionRow, adjustments};
    let zero_first = gap(
        "Z1",
        40.0,
        4_000.0,
        2_000.0,
        vec![step(OptionKind::Overtime, 0.0, 0.0), step(OptionKind::BuildAhead, 40.0, 1_500.0)],
    );
    let mut only_zero = gap(
        "Z2",
        40.0,
        4_000.0,
        1_000.0,
        vec![step(OptionKind::Overtime, 0.0, 0.0), step(OptionKind::AcceptShortfall, 40.0, 0.0)],
    );
    only_zero.resource = Some("OTHER".into());
    only_zero.options.push(option(OptionKind::Expedite, 40.0, 900.0));
    let supply = facts(vec![zero_first, only_zero]);
    let pack = run_with(&supply, None, 10);
    let ids: Vec<&str> = pack.trade_offs.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["RES-ASM-1-2027-Q1", "RES-OTHER-2027-Q1"]);
    assert_eq!(crate::analysis::supply::recommended_option(&supply.gaps[0]), OptionKind::Overtime);
    let rows: Vec<DecisionRow> =
        ids.iter().enumerate().map(|(i, d)| DecisionRow::option(i as i64 + 1, "2027-01", d, CHEAPEST_FIXES)).collect();
    let (adj, log) = adjustments(&pack, &supply, &rows);
    assert!(adj.forbidden_kinds("Z1").is_empty(), "{:?}", adj.forbidden_kinds("Z1"));
    assert!(adj.forbidden_kinds("Z2").is_empty(), "{:?}", adj.forbidden_kinds("Z2"));
    let effect = |gap: &str| log.lines.iter().find(|l| l.tradeoff_id == gap).unwrap().effect.clone();
    assert_eq!(effect("Z1"), "as recommended (overtime): the least-cost plan; build ahead, as recommended");
    assert_eq!(effect("Z2"), "as recommended (overtime): the least-cost plan");
}

#[test]
fn a_decision_with_a_gap_decided_otherwise_reaches_the_plan() {
    use crate::analysis::executive::{Choice, DecisionRow, adjustments};
    let supply = grouping_plan();
    let pack = run_with(&supply, None, 10);
    let row = |id: i64, on: &str, option: &str| DecisionRow {
        id,
        cycle: "2027-01".into(),
        tradeoff_id: Some(on.into()),
        choice: Choice::Option { option: option.into() },
        owner: None,
        due: None,
        note: None,
        decided_by: "olivia.chen".into(),
        role: "coo".into(),
        decided_at: "2027-01-13T10:00:00Z".into(),
        scenario: None,
    };
    let rows =
        vec![row(1, "G4", "expedite"), row(2, "RES-R1-2027-Q1", "cheapest_fixes"), row(3, "G3", "accept_shortfall")];
    let (adj, log) = adjustments(&pack, &supply, &rows);
    // What each gap's choice does to the re-plan: the recommended fixes impose nothing, an
    // accepted shortfall forbids every fix of its gap.
    let chosen = |gap: &str| adj.chosen.get(gap).map(|k| k.iter().copied().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(chosen("G2"), [OptionKind::Overtime]);
    assert!(adj.forbidden_kinds("G2").is_empty(), "G2's recommended overtime: the least-cost plan");
    assert_eq!(chosen("G3"), [OptionKind::AcceptShortfall]);
    assert_eq!(adj.forbidden_kinds("G3"), crate::analysis::supply::FIX_KINDS, "G3's shortfall is accepted");
    assert_eq!(chosen("G1"), [OptionKind::Overtime], "the leads' resolution of G1");
    assert_eq!(chosen("G4"), [OptionKind::Expedite], "G4 expedited, decided on its gap id");
    assert!(adj.forbidden_kinds("G4").is_empty());
    assert_eq!(log.undecided, ["SUPPLIER-S9"]);
    let line = |gap: &str| log.lines.iter().find(|l| l.tradeoff_id == gap).unwrap();
    assert_eq!(line("G3").decision.as_ref().map(|d| d.id), Some(3));
    assert_eq!(line("G3").decision_id.as_deref(), Some("RES-R1-2027-Q1"));
    assert_eq!(line("G2").decision.as_ref().map(|d| d.id), Some(2));
    assert_eq!(line("G2").effect, "as recommended (overtime): the least-cost plan");
    // Decided again for the whole group, later: both gaps accept their shortfall.
    let mut later = rows.clone();
    later.push(row(4, "RES-R1-2027-Q1", "accept_shortfall"));
    let (adj, _) = adjustments(&pack, &supply, &later);
    assert_eq!(adj.forbidden_kinds("G2"), crate::analysis::supply::FIX_KINDS);
    assert_eq!(adj.forbidden_kinds("G3"), crate::analysis::supply::FIX_KINDS);
}

/// The agreed plan by family and quarter: PUMPS 2027-Q1 is 100 + 50 units, revenue 10,000 +
/// 5,000 against a budget of 18,000; VALVES 2027-Q2 100 units, no budget. The last signed plan
/// had 120 units of A in 2027-02 (price 100: 12,000) and a month outside this plan (ignored).
#[test]
fn the_agreed_plan_by_family_and_quarter_against_budget_and_the_last_signed_plan() {
    let last = Some((
        "2026-12".to_string(),
        vec![("A".to_string(), "2027-02".to_string(), 120.0), ("A".to_string(), "2026-12".to_string(), 999.0)],
    ));
    let f = run(vec![], last);
    assert_eq!(f.last_signed_plan_cycle.as_deref(), Some("2026-12"));
    let pumps = f.agreed_plan.iter().find(|l| l.family == "PUMPS" && l.quarter == "2027-Q1").unwrap();
    assert_eq!((pumps.units, pumps.revenue_money, pumps.budget_revenue_money), (150.0, 15_000.0, Some(18_000.0)));
    assert_eq!((pumps.last_signed_units, pumps.last_signed_revenue_money), (Some(120.0), Some(12_000.0)));
    let valves = f.agreed_plan.iter().find(|l| l.family == "VALVES").unwrap();
    assert_eq!((valves.quarter.as_str(), valves.units, valves.budget_revenue_money), ("2027-Q2", 100.0, None));
    assert_eq!(valves.last_signed_units, None);
    assert!(f.trade_offs.is_empty() && f.resolved.is_empty() && f.notices.is_empty());
}

#[test]
fn quarters_and_option_keys() {
    assert_eq!(quarter_of("2027-01"), "2027-Q1");
    assert_eq!(quarter_of("2027-03"), "2027-Q1");
    assert_eq!(quarter_of("2027-04"), "2027-Q2");
    assert_eq!(quarter_of("2027-12"), "2027-Q4");
    for k in ["overtime", "build_ahead", "alternate_site", "expedite", "alternate_supplier", "accept_shortfall"] {
        assert_eq!(option_key(option_from_key(k).unwrap()), k);
    }
    assert_eq!(option_from_key("magic"), None);
}

/// The risks of the grouping plan, with a near-term overload of R1 in 2027-02 (130%, 30 h over;
/// its gap G3 has 4,000 of margin at risk), supplier S9 below its OTIF threshold (its gap G5:
/// 300), S1 below it too (the supplier G4 and G6 name: 1,500 + 200 = 1,700), S7 below it
/// feeding no gap (no risk); the constrained plan's revenue
/// 25,000 against the budget 28,000: 3,000 (10.7%) short, the consensus 30,000 above it. From
/// the demand review: the sales layer lost 2.5 points (owner Ana Lopez -4.0), last cycle 3
/// commitments missed (12.5 units; Ben Carter 10 of them), 40 of 100 order lines off the plan.
/// Ranked by money: OVERLOAD 4,000, BUDGET 3,000, OTIF-S1 1,700, OTIF-S9 300; then the demand
/// review's, in kind order.
#[test]
fn risks_are_computed_from_the_facts_and_ranked() {
    use crate::analysis::supply::{NearTermOverload, SupplierOtif};
    let mut supply = grouping_plan();
    supply.near_term_overloads.push(NearTermOverload {
        resource: "R1".into(),
        site: "NORTH".into(),
        kind: "line".into(),
        month: "2027-02".into(),
        overload_hours: 30.0,
        utilisation_percent: 130.0,
    });
    let otif = |s: &str, p: f64, below: bool| SupplierOtif {
        supplier: s.into(),
        deliveries: 10,
        on_time_percent: Some(p),
        in_full_percent: Some(100.0),
        otif_percent: Some(p),
        below_threshold: below,
        open_po_units: 0.0,
        at_risk_po_units: 0.0,
    };
    supply.suppliers =
        vec![otif("S1", 80.0, true), otif("S7", 50.0, true), otif("S9", 60.0, true), otif("S2", 99.0, false)];
    let demand_facts = serde_json::json!({
        "totals": { "final_revenue": 30_000.0, "budget_revenue": 28_000.0 },
        "value_added": [
            { "layer": "statistical", "lag_months": 1, "source": "backtest", "value_added_points": 7.9 },
            { "layer": "sales", "lag_months": 1, "source": "earlier cycles (2026-12)", "value_added_points": -2.5 },
            { "layer": "sales", "lag_months": 3, "source": "earlier cycles (2026-12)", "value_added_points": -1.0 }
        ],
        "value_added_by_owner": [
            { "owner": "ana.lopez", "layer": "sales", "value_added_points": -4.0 },
            { "owner": "ben.carter", "layer": "sales", "value_added_points": 1.0 }
        ]
    });
    let last = serde_json::json!({
        "scored_cycle": "2026-12", "missed": 3, "missed_units": 12.5,
        "by_owner": [ { "name": "ana.lopez", "missed_units": 2.5 }, { "name": "ben.carter", "missed_units": 10.0 } ],
        "orders": { "order_lines": 100, "lines_beyond_plan": 15, "lines_without_plan": 25, "units_outside_plan": 480.0 }
    });
    let names: BTreeMap<String, String> = [("ana.lopez", "Ana Lopez"), ("ben.carter", "Ben Carter")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let signals = risks::DemandSignals::from_json(&demand_facts, Some(&last), &names);
    let items = items();
    let params = ReconcileParams::default();
    let f = reconcile(&ReconcileInputs {
        supply: &supply,
        items: &items,
        last_signed: None,
        params: &params,
        demand_signed: true,
        supply_signed: true,
        executive_date: "2027-01-13".into(),
        decision_owner: "the COO (Olivia Chen)".into(),
        demand: Some(signals),
        owners: [("supply_lead", "Sam Okafor (supply lead)"), ("sales_lead", "Leo Grant (sales lead)")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        locale: Default::default(),
        consensus: None,
        last_consensus: None,
        unit_costs: BTreeMap::new(),
    });
    let got: Vec<(usize, &str, Option<f64>, &str)> =
        f.risks.iter().map(|r| (r.rank, r.id.as_str(), r.at_stake_money, r.owner.as_str())).collect();
    assert_eq!(
        got,
        [
            (1, "OVERLOAD-R1-2027-02", Some(4_000.0), "Sam Okafor (supply lead)"),
            (2, "BUDGET", Some(3_000.0), "Sam Okafor (supply lead)"),
            (3, "OTIF-S1", Some(1_700.0), "Sam Okafor (supply lead)"),
            (4, "OTIF-S9", Some(300.0), "Sam Okafor (supply lead)"),
            (5, "FVA-sales", None, "Leo Grant (sales lead)"),
            (6, "MISSED-2026-12", None, "Ben Carter"),
            (7, "OFFPLAN-2026-12", None, "Leo Grant (sales lead)"),
        ]
    );
    let text = |id: &str| f.risks.iter().find(|r| r.id == id).unwrap().text.clone();
    assert_eq!(
        text("OVERLOAD-R1-2027-02"),
        "R1 at NORTH is loaded to 130.0% of its regular hours in 2027-02 (30 hours over), inside the 6-12-week window; 4,000 of margin at risk"
    );
    assert_eq!(text("BUDGET"), "the constrained supply plan's revenue 25,000 is 3,000 (10.7%) below the budget 28,000");
    assert_eq!(
        text("OTIF-S1"),
        "S1 delivers 80.0% on time and in full (threshold 90.0%), feeding 1 constrained SKU(s) through 2 gap(s); 1,700 of margin at risk"
    );
    assert!(text("FVA-sales").contains("-2.5 points of accuracy lost at lag 1 (earlier cycles (2026-12)); adjustments that hurt most: Ana Lopez (-4.0 points)"));
    assert_eq!(text("MISSED-2026-12"), "3 commitment(s) to customers of 2026-12 were missed (12.5 units short)");
    assert_eq!(text("OFFPLAN-2026-12"), "40 of 100 order lines (480 units) were booked outside 2026-12's signed plan");
    // The pack's narrative facts carry the top 3, as computed.
    let n = narrative_facts(&f);
    assert_eq!(n["top_risks"].as_array().unwrap().len(), 3);
    assert_eq!(n["top_risks"][0]["id"], "OVERLOAD-R1-2027-02");
}

/// A pack made before decisions were grouped: its trade-off is one gap (its id the gap's), its
/// options the gap's options and its recommendation an option kind. It still reads, as a
/// decision of that one gap, and a decision recorded on it reaches the plan.
#[test]
fn a_pack_made_before_decisions_were_grouped_still_reads() {
    use crate::analysis::executive::{Choice, DecisionRow, adjustments};
    let supply = grouping_plan();
    let mut pack = serde_json::to_value(run_with(&supply, None, 10)).unwrap();
    pack["trade_offs"] = serde_json::json!([{
        "rank": 1, "id": "G4", "kind": "material", "place": "C1 from S1", "month": "2027-04", "near_term": false,
        "units_short": 40.0, "revenue_at_risk_money": 4000.0, "margin_at_risk_money": 1500.0, "customers_hit": ["C1"],
        "why": "its fixes cost 1,200, over the 1,000 the leads may approve",
        "options": [
            { "kind": "expedite", "detail": "expedite", "closes_units": 40.0, "closes_percent": 100.0, "fully_closes": true, "cost_money": 1200.0, "cost_per_unit_money": 30.0 },
            { "kind": "accept_shortfall", "detail": "accept", "closes_units": 40.0, "closes_percent": 100.0, "fully_closes": true, "cost_money": 1500.0, "cost_per_unit_money": 37.5 }
        ],
        "recommendation": { "option": "expedite", "steps": [{ "kind": "expedite", "units": 40.0, "cost_money": 1200.0 }], "cost_money": 1200.0, "buys": "closes 40 of 40 units", "owner": "the COO", "due": "2027-01-13" }
    }]);
    for key in ["notices", "risks", "max_executive_decisions"] {
        pack.as_object_mut().unwrap().remove(key);
    }
    let pack: ReconciliationFacts = serde_json::from_value(pack).unwrap();
    let t = &pack.trade_offs[0];
    assert_eq!((t.gap_ids(), t.root, t.recommendation.option.as_str()), (vec!["G4"], Root::Gap, "expedite"));
    assert_eq!(
        t.options.iter().map(|o| (o.key.as_str(), o.spend_money)).collect::<Vec<_>>(),
        [("expedite", 1200.0), ("accept_shortfall", 1500.0)]
    );
    let row = DecisionRow {
        id: 1,
        cycle: "2027-01".into(),
        tradeoff_id: Some("G4".into()),
        choice: Choice::Option { option: "expedite".into() },
        owner: None,
        due: None,
        note: None,
        decided_by: "olivia.chen".into(),
        role: "coo".into(),
        decided_at: "2027-01-13T10:00:00Z".into(),
        scenario: None,
    };
    let (adj, log) = adjustments(&pack, &supply, &[row]);
    assert_eq!(adj.chosen.get("G4").map(|k| k.iter().copied().collect::<Vec<_>>()), Some(vec![OptionKind::Expedite]));
    assert!(log.undecided.is_empty());
}

/// Random gaps (kind, resource or component, month, size, options): every gap lands in exactly
/// one place (resolved, a decision, a notice), the executive gets at most the cap, ranked by
/// margin at risk, each decision with 2 to 4 options that close no more than its gaps are short
/// and keep no more margin than is at risk.
mod grouping_properties {
    use proptest::prelude::*;

    use super::*;

    fn arb_gap() -> impl Strategy<Value = (u8, u8, u8, f64, f64, f64, f64, bool)> {
        (0u8..4, 0u8..3, 1u8..7, 1.0f64..100.0, 0.0f64..1.0, 0.1f64..3.0, 1.0f64..5_000.0, any::<bool>())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn every_gap_lands_once_and_the_cap_holds(raw in proptest::collection::vec(arb_gap(), 0..30), cap in 1usize..5) {
            let kinds = [GapKind::Capacity, GapKind::Labour, GapKind::Material, GapKind::Supplier];
            let gaps: Vec<Gap> = raw
                .iter()
                .enumerate()
                .map(|(i, &(k, place, month, units, closes, margin_per_unit, cost, partial))| {
                    let kind = kinds[k as usize];
                    let fix = if kind == GapKind::Supplier { OptionKind::AlternateSupplier } else { OptionKind::Overtime };
                    let closed = units * closes;
                    let mut recommended = vec![step(fix, closed, cost)];
                    if partial || closed < units {
                        recommended.push(step(OptionKind::AcceptShortfall, units - closed, margin_per_unit * (units - closed)));
                    }
                    let options: Vec<(OptionKind, f64, f64)> = if closes < 0.05 { vec![] } else { vec![(fix, closed, cost)] };
                    gap_of(
                        &format!("G{i}"),
                        kind,
                        &format!("P{place}"),
                        &format!("2027-{month:02}"),
                        (units, units * 100.0, units * margin_per_unit),
                        &options,
                        recommended,
                        &["C1"],
                    )
                })
                .collect();
            let mut supply = facts(gaps.clone());
            supply.params.frozen_months = 1;
            let f = run_with(&supply, None, cap);
            let mut placed: Vec<String> = f.resolved.iter().map(|r| r.id.clone()).collect();
            placed.extend(f.trade_offs.iter().flat_map(|t| t.gap_ids().into_iter().map(str::to_string)));
            placed.extend(f.notices.iter().flat_map(|n| n.gaps.clone()));
            placed.sort();
            let mut all: Vec<String> = gaps.iter().map(|g| g.id.clone()).collect();
            all.sort();
            prop_assert_eq!(placed, all);
            prop_assert!(f.trade_offs.len() <= cap);
            prop_assert!(f.trade_offs.windows(2).all(|w| w[0].margin_at_risk_money >= w[1].margin_at_risk_money));
            for t in &f.trade_offs {
                prop_assert!((2..=decisions::MAX_OPTIONS).contains(&t.options.len()), "{:?}", t.options);
                prop_assert!(t.options.iter().any(|o| o.key == t.recommendation.option));
                for o in &t.options {
                    prop_assert!(o.closes_units <= t.units_short + 0.01, "{o:?}");
                    prop_assert!(o.margin_kept_money <= t.margin_at_risk_money + 0.01, "{o:?}");
                    prop_assert!(o.lost_margin_money >= -0.01, "{o:?}");
                }
            }
        }
    }
}

/// The plan of a hand-worked case for the combined check: SKU A (margin 4 a unit) in 2027-02 to
/// C1 (priority 1) and C2 (priority 2), 100 units each demanded; `served` (C1, C2) and the spend.
fn plan_of(before: &SupplyFacts, served: (f64, f64), spend: f64) -> SupplyFacts {
    let mut p = before.clone();
    let line = |customer: &str, units: f64| PlanLine {
        sku: "A".into(),
        customer: customer.into(),
        month: "2027-02".into(),
        demand_units: 100.0,
        constrained_units: units,
    };
    p.constrained_plan = vec![line("C1", served.0), line("C2", served.1)];
    let unmet = |customer: &str, priority: i64, units: f64| crate::analysis::supply::CustomerUnmet {
        customer: customer.into(),
        priority,
        demand_units: 100.0,
        constrained_units: units,
        unmet_units: 100.0 - units,
        unmet_revenue_money: (100.0 - units) * 10.0,
    };
    p.unmet_by_customer = vec![unmet("C1", 1, served.0), unmet("C2", 2, served.1)];
    let units = served.0 + served.1;
    let t = &mut p.totals;
    (t.demand_units, t.constrained_units, t.unmet_units) = (200.0, units, 200.0 - units);
    (t.revenue_unconstrained_money, t.revenue_constrained_money) = (2_000.0, units * 10.0);
    (t.margin_unconstrained_money, t.margin_constrained_money) = (800.0, units * 4.0);
    t.revenue_at_risk_money = (200.0 - units) * 10.0;
    t.plan_cost = crate::analysis::supply::lp::Cost {
        overtime_money: spend,
        lost_margin_money: (200.0 - units) * 4.0,
        ..Default::default()
    };
    p
}

/// Two decisions, `RES-ASM-1-2027-Q1` (D1, margin at risk 400) and `RES-ASM-1-2027-Q2` (D2,
/// 300), each with the cheapest fixes, an alternate site and accepting the shortfall. The plans
/// by choice (C1, C2 served; spend; margin 4 a unit, so margin after fixes = 4 x units - spend):
/// - the supply plan (nothing decided, or the cheapest fixes): 100, 50; 100: 600 - 100 = 500;
/// - D1 at the alternate site alone: 100, 60; 120: 640 - 120 = 520 (+20);
/// - D2 at the alternate site alone: 100, 60; 115: 640 - 115 = 525 (+25);
/// - both at the alternate site: 100, 55; 140: 620 - 140 = 480 (-20 against the supply plan);
/// - either's shortfall accepted: 100, 30; 60: 520 - 60 = 460.
///
/// Each decision recommends its alternate site (520 and 525 beat 500 and 460), and together they
/// give 480, less than the supply plan's 500. Tried in rank order: D1's alternate site on the
/// supply plan gives 520 (stands); D2's on top gives 480, 40 less, and C1 (priority 1) gets no
/// more: withdrawn, D2 recommends its cheapest fixes. The recommended decisions give 520 (margin
/// 640, spend 120). Re-solves: 3 + 3 options, the plan with both, D1's and D2's tries, the plan
/// with what stands: 10. When both together serve C1 103 (margin 632, spend 140: 492, below the
/// supply plan and 28 less than 520), D2's alternate site stands for the priority customer, and
/// says so.
#[test]
fn recommendations_that_each_help_but_together_lose_margin_are_withdrawn() {
    let mut g1 = gap("CAP-ASM-1-2027-02", 10.0, 1_000.0, 400.0, vec![step(OptionKind::Overtime, 10.0, 30.0)]);
    let mut g2 = gap("CAP-ASM-1-2027-05", 10.0, 800.0, 300.0, vec![step(OptionKind::Overtime, 10.0, 30.0)]);
    g2.month = "2027-05".into();
    for g in [&mut g1, &mut g2] {
        g.options.push(option(OptionKind::AlternateSite, 10.0, 50.0));
    }
    let base = facts(vec![g1, g2]);
    let before = plan_of(&base, (100.0, 50.0), 100.0);
    let items = items();
    let rparams = ReconcileParams { leads_may_approve_up_to: 0.0, ..Default::default() };
    let pack = reconcile(&testkit::inputs(&before, &items, &rparams));
    let ids: Vec<&str> = pack.trade_offs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["RES-ASM-1-2027-Q1", "RES-ASM-1-2027-Q2"]);
    for d in &pack.trade_offs {
        let keys: Vec<&str> = d.options.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["cheapest_fixes", "alternate_site", "accept_shortfall"], "{}", d.id);
    }
    for priority_case in [false, true] {
        let plan = |choices: &[whole::Choice]| -> Result<SupplyFacts, ()> {
            let has = |d: &str, o: &str| choices.iter().any(|(x, y)| x == d && y == o);
            let (alt1, alt2) = (has("RES-ASM-1-2027-Q1", "alternate_site"), has("RES-ASM-1-2027-Q2", "alternate_site"));
            let accept = has("RES-ASM-1-2027-Q1", "accept_shortfall") || has("RES-ASM-1-2027-Q2", "accept_shortfall");
            Ok(match (alt1, alt2, accept) {
                (_, _, true) => plan_of(&before, (100.0, 30.0), 60.0),
                (true, true, _) if priority_case => plan_of(&before, (103.0, 55.0), 140.0),
                (true, true, _) => plan_of(&before, (100.0, 55.0), 140.0),
                (true, false, _) => plan_of(&before, (100.0, 60.0), 120.0),
                (false, true, _) => plan_of(&before, (100.0, 60.0), 115.0),
                (false, false, _) => before.clone(),
            })
        };
        let mut f = pack.clone();
        assert_eq!(whole::re_solve(&mut f, &before, true, plan).unwrap(), 10);
        let (d1, d2) = (&f.trade_offs[0], &f.trade_offs[1]);
        assert_eq!(d1.recommendation.option, "alternate_site");
        let c = f.financial.combined.as_ref().unwrap();
        assert_eq!(
            (c.supply_plan_net_money, c.each_recommended_net_money),
            (500.0, if priority_case { 492.0 } else { 480.0 })
        );
        assert_eq!(c.interactions.len(), 1);
        let x = &c.interactions[0];
        assert_eq!((x.rank, x.option.as_str(), x.alone_money), (2, "alternate_site", Some(25.0)));
        // What stands, re-planned by the closure, and its margin by plain loops over its rows.
        let stands: Vec<whole::Choice> =
            f.trade_offs.iter().map(|d| (d.id.clone(), d.recommendation.option.clone())).collect();
        let p = plan(&stands).unwrap();
        let mut margin = 0.0;
        for l in &p.constrained_plan {
            margin += l.constrained_units * (10.0 - 6.0);
        }
        let spend = p.totals.plan_cost.overtime_money;
        assert_eq!(f.financial.margin_with_recommendations_money, Some(margin));
        assert_eq!((f.financial.spend_money, c.recommended_net_money), (spend, margin - spend));
        if priority_case {
            // 4 x 158 - 140 = 492 with it, 520 without: 28 less, for C1's 3 more units.
            assert_eq!((margin, spend), (632.0, 140.0));
            assert!(!x.withdrawn);
            assert_eq!((x.with_money, x.without_money, x.priority_units), (492.0, 520.0, 3.0));
            assert_eq!(d2.recommendation.option, "alternate_site");
            assert!(
                d2.recommendation.buys.ends_with(
                    "; alternate site kept for the first-priority customers: with D1 as recommended it loses 28 of margin after fixes (492 with it, 520 without) and serves them 3 more units"
                ),
                "{}",
                d2.recommendation.buys
            );
        } else {
            // 4 x 160 - 120 = 520: D1's alternate site alone.
            assert_eq!((margin, spend), (640.0, 120.0));
            assert!(x.withdrawn);
            assert_eq!((x.with_money, x.without_money, x.priority_units), (480.0, 520.0, 0.0));
            assert_eq!(d2.recommendation.option, "cheapest_fixes");
            assert_eq!(d2.recommendation.cost_money, d2.options[0].spend_money);
            assert!(
                d2.recommendation.buys.ends_with(
                    "; alternate site not recommended: alone it adds 25 of margin after fixes, with D1 as recommended it loses 40 (480 with it, 520 without) and serves no more units to the first-priority customers"
                ),
                "{}",
                d2.recommendation.buys
            );
            // The options' differences are now to the cheapest fixes' plan (the supply plan's).
            assert_eq!(d2.options[0].plan.as_ref().unwrap().vs_recommended, whole::Delta::default());
            assert_eq!(d2.options[1].plan.as_ref().unwrap().vs_recommended.margin_money, 40.0);
        }
        assert!(c.recommended_net_money >= c.supply_plan_net_money || !x.withdrawn);
    }
    // Recommendations that together do not lose margin stand with one re-solve of them all.
    let plan = |choices: &[whole::Choice]| -> Result<SupplyFacts, ()> {
        let alt = choices.iter().filter(|(_, o)| o == "alternate_site").count() as f64;
        let accept = choices.iter().any(|(_, o)| o == "accept_shortfall");
        Ok(if accept {
            plan_of(&before, (100.0, 30.0), 60.0)
        } else {
            plan_of(&before, (100.0, 50.0 + 10.0 * alt), 100.0 + 10.0 * alt)
        })
    };
    let mut f = pack.clone();
    assert_eq!(whole::re_solve(&mut f, &before, true, plan).unwrap(), 7);
    let c = f.financial.combined.as_ref().unwrap();
    // 4 x 170 - 120 = 560 against 500.
    assert_eq!((c.each_recommended_net_money, c.recommended_net_money, c.interactions.len()), (560.0, 560.0, 0));
}

/// An option that spends less than accepting the shortfall, or loses margin, says so in words:
/// no "for -4,582" or "keeps -300 of margin" on a slide.
#[test]
fn what_an_option_buys_reads_without_negative_amounts() {
    let option = |spend: f64, kept: f64| -> DecisionOption {
        serde_json::from_value(serde_json::json!({
            "key": "cheapest_fixes", "closes_units": 1183.0, "spend_money": spend, "margin_kept_money": kept
        }))
        .unwrap()
    };
    let buys = |o: &DecisionOption| super::decisions::buys(o, 2_000.0, Some(91.0));
    assert_eq!(
        buys(&option(-4_582.4, 12_000.0)),
        "closes 1,183 of 2,000 units and spends 4,582 less, keeps 12,000 of margin"
    );
    assert_eq!(buys(&option(3_000.0, -300.0)), "closes 1,183 of 2,000 units for 3,000, loses 300 of margin");
    // A spend that rounds to nothing is not "less".
    assert_eq!(buys(&option(-0.0004, 0.0)), "closes 1,183 of 2,000 units for 0, keeps 0 of margin");
}
