//! Hand-checkable cases of the reconciliation.

use std::collections::BTreeMap;

use super::*;
use crate::analysis::supply::{FamilyMonthFinancials, PlanLine, SupplyParams, Totals};

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
    let supply = facts(gaps);
    let items = items();
    let params = ReconcileParams { leads_may_approve_up_to: 1_000.0 };
    reconcile(&ReconcileInputs {
        supply: &supply,
        items: &items,
        last_signed: last,
        params: &params,
        demand_signed: true,
        supply_signed: true,
        executive_date: "2027-01-13".into(),
        decision_owner: "the COO (Olivia Chen)".into(),
    })
}

/// Limit 1,000. G1: overtime closes all 10 units for 800: resolved. G2: overtime closes all
/// 20 units for 1,500: over the limit, a trade-off. G3: overtime closes 30 of 50 units for 600
/// and 20 are accepted short: a trade-off though cheap. Ranked by margin at risk: G3 (4,000)
/// before G2 (2,000).
#[test]
fn gaps_are_resolved_within_the_limit_and_trade_offs_ranked_by_margin() {
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
    let ids: Vec<(&str, usize)> = f.trade_offs.iter().map(|t| (t.id.as_str(), t.rank)).collect();
    assert_eq!(ids, [("G3", 1), ("G2", 2)]);
    assert!(f.trade_offs[0].why.contains("20 of 50 units would be accepted short"), "{}", f.trade_offs[0].why);
    assert!(f.trade_offs[1].why.contains("cost 1,500, over the 1,000"), "{}", f.trade_offs[1].why);
    // G3's recommendation is overtime (the first fix), costing 600 + 1,600 lost margin; it
    // closes 30 of 50 units: 30/50 of 4,000 margin = 2,400 kept.
    let r = &f.trade_offs[0].recommendation;
    assert_eq!(r.option, OptionKind::Overtime);
    assert_eq!(r.cost_money, 2_200.0);
    assert_eq!(r.buys, "closes 30 of 50 units, keeps 2,400 of margin");
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
    assert!(f.trade_offs.is_empty() && f.resolved.is_empty());
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
