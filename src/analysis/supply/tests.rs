//! Tests of `analysis::supply`: hand-computed cases and properties.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn cycle() -> Month {
    Month::parse("2026-12").unwrap()
}

/// A tiny company: SKU `P1` (price 150, cost 100, made at `S1`) on line `R1` at 2 h/unit;
/// `R1` has 15 regular hours a month, 3 hours of overtime at 50/h. Customers `C1`
/// (priority 1) and `C2` (priority 2). No BOM, stock or suppliers unless a test adds them.
/// supplier, component, promised, delivered, qty promised, qty delivered
type Delivery = (&'static str, &'static str, &'static str, Option<&'static str>, f64, f64);

#[derive(Debug, Clone)]
struct Case {
    items: Vec<(&'static str, &'static str, f64, f64, &'static str)>,
    customers: Vec<(&'static str, i64)>,
    resources: Vec<(&'static str, &'static str, &'static str)>,
    routings: Vec<(&'static str, &'static str, f64)>,
    bom: Vec<(&'static str, &'static str, f64)>,
    components: Vec<(&'static str, &'static str, i64, f64)>,
    /// `component_suppliers`: component, supplier, unit cost, lead time days (none: no table).
    suppliers: Vec<(&'static str, &'static str, f64, i64)>,
    inventory: Vec<(&'static str, &'static str, f64, f64)>,
    pos: Vec<(&'static str, &'static str, &'static str, f64)>,
    capacity: Vec<(&'static str, f64, f64, f64)>,
    deliveries: Vec<Delivery>,
    open_orders: Vec<(&'static str, &'static str, &'static str, f64)>,
    budget: Vec<(&'static str, &'static str, f64)>,
    demand: Vec<(&'static str, &'static str, &'static str, f64)>,
    params: SupplyParams,
}

impl Case {
    fn new() -> Case {
        Case {
            items: vec![("P1", "pumps", 150.0, 100.0, "S1")],
            customers: vec![("C1", 1), ("C2", 2)],
            resources: vec![("R1", "S1", "line")],
            routings: vec![("P1", "R1", 2.0)],
            bom: vec![],
            components: vec![],
            suppliers: vec![],
            inventory: vec![],
            pos: vec![],
            capacity: vec![("R1", 15.0, 3.0, 50.0)],
            deliveries: vec![],
            open_orders: vec![],
            budget: vec![],
            demand: vec![],
            params: SupplyParams::default(),
        }
    }

    fn tables(&self) -> BTreeMap<Table, DataFrame> {
        let mut t = BTreeMap::new();
        let s = |v: Vec<&str>| v.into_iter().map(str::to_string).collect::<Vec<String>>();
        t.insert(
            Table::Items,
            df!("sku" => s(self.items.iter().map(|x| x.0).collect()),
                "family" => s(self.items.iter().map(|x| x.1).collect()),
                "unit_price" => self.items.iter().map(|x| x.2).collect::<Vec<_>>(),
                "unit_cost" => self.items.iter().map(|x| x.3).collect::<Vec<_>>(),
                "make_site" => s(self.items.iter().map(|x| x.4).collect()))
            .unwrap(),
        );
        t.insert(
            Table::Customers,
            df!("customer" => s(self.customers.iter().map(|x| x.0).collect()),
                "priority" => self.customers.iter().map(|x| x.1).collect::<Vec<_>>())
            .unwrap(),
        );
        t.insert(
            Table::Resources,
            df!("resource" => s(self.resources.iter().map(|x| x.0).collect()),
                "site" => s(self.resources.iter().map(|x| x.1).collect()),
                "kind" => s(self.resources.iter().map(|x| x.2).collect()))
            .unwrap(),
        );
        t.insert(
            Table::Routings,
            df!("sku" => s(self.routings.iter().map(|x| x.0).collect()),
                "resource" => s(self.routings.iter().map(|x| x.1).collect()),
                "hours_per_unit" => self.routings.iter().map(|x| x.2).collect::<Vec<_>>())
            .unwrap(),
        );
        t.insert(
            Table::Bom,
            df!("parent_sku" => s(self.bom.iter().map(|x| x.0).collect()),
                "component" => s(self.bom.iter().map(|x| x.1).collect()),
                "qty_per" => self.bom.iter().map(|x| x.2).collect::<Vec<_>>())
            .unwrap(),
        );
        t.insert(
            Table::Components,
            df!("component" => s(self.components.iter().map(|x| x.0).collect()),
                "supplier" => s(self.components.iter().map(|x| x.1).collect()),
                "lead_time_days" => self.components.iter().map(|x| x.2).collect::<Vec<_>>(),
                "unit_cost" => self.components.iter().map(|x| x.3).collect::<Vec<_>>())
            .unwrap(),
        );
        if !self.suppliers.is_empty() {
            t.insert(
                Table::ComponentSuppliers,
                df!("component" => s(self.suppliers.iter().map(|x| x.0).collect()),
                    "supplier" => s(self.suppliers.iter().map(|x| x.1).collect()),
                    "unit_cost" => self.suppliers.iter().map(|x| x.2).collect::<Vec<_>>(),
                    "lead_time_days" => self.suppliers.iter().map(|x| x.3).collect::<Vec<_>>())
                .unwrap(),
            );
        }
        t.insert(
            Table::Inventory,
            df!("item" => s(self.inventory.iter().map(|x| x.0).collect()),
                "site" => s(self.inventory.iter().map(|x| x.1).collect()),
                "on_hand" => self.inventory.iter().map(|x| x.2).collect::<Vec<_>>(),
                "safety_stock" => self.inventory.iter().map(|x| x.3).collect::<Vec<_>>())
            .unwrap(),
        );
        t.insert(
            Table::OpenPurchaseOrders,
            df!("component" => s(self.pos.iter().map(|x| x.0).collect()),
                "supplier" => s(self.pos.iter().map(|x| x.1).collect()),
                "due_date" => self.pos.iter().map(|x| d(x.2)).collect::<Vec<_>>(),
                "qty" => self.pos.iter().map(|x| x.3).collect::<Vec<_>>())
            .unwrap(),
        );
        let (mut cr, mut cm, mut ca, mut co, mut cc) = (vec![], vec![], vec![], vec![], vec![]);
        for &(r, a, o, c) in &self.capacity {
            for k in 0..PLAN_MONTHS as i32 {
                cr.push(r.to_string());
                cm.push(cycle().plus(k).to_string());
                ca.push(a);
                co.push(o);
                cc.push(c);
            }
        }
        t.insert(
            Table::Capacity,
            df!("resource" => cr, "month" => cm, "available_hours" => ca, "max_overtime_hours" => co,
                "overtime_cost_per_hour" => cc)
            .unwrap(),
        );
        t.insert(
            Table::SupplierDeliveries,
            df!("supplier" => s(self.deliveries.iter().map(|x| x.0).collect()),
                "component" => s(self.deliveries.iter().map(|x| x.1).collect()),
                "promised_date" => self.deliveries.iter().map(|x| d(x.2)).collect::<Vec<_>>(),
                "delivered_date" => self.deliveries.iter().map(|x| x.3.map(d)).collect::<Vec<_>>(),
                "qty_promised" => self.deliveries.iter().map(|x| x.4).collect::<Vec<_>>(),
                "qty_delivered" => self.deliveries.iter().map(|x| x.5).collect::<Vec<_>>())
            .unwrap(),
        );
        t.insert(
            Table::OpenOrders,
            df!("order_id" => (0..self.open_orders.len()).map(|i| format!("SO-{i}")).collect::<Vec<_>>(),
                "sku" => s(self.open_orders.iter().map(|x| x.0).collect()),
                "customer" => s(self.open_orders.iter().map(|x| x.1).collect()),
                "requested_month" => s(self.open_orders.iter().map(|x| x.2).collect()),
                "qty" => self.open_orders.iter().map(|x| x.3).collect::<Vec<_>>())
            .unwrap(),
        );
        t.insert(
            Table::Budget,
            df!("family" => s(self.budget.iter().map(|x| x.0).collect()),
                "month" => s(self.budget.iter().map(|x| x.1).collect()),
                "revenue" => self.budget.iter().map(|x| x.2).collect::<Vec<_>>())
            .unwrap(),
        );
        t
    }

    fn demand_frame(&self) -> DataFrame {
        let s = |v: Vec<&str>| v.into_iter().map(str::to_string).collect::<Vec<String>>();
        df!("sku" => s(self.demand.iter().map(|x| x.0).collect()),
            "customer" => s(self.demand.iter().map(|x| x.1).collect()),
            "month" => s(self.demand.iter().map(|x| x.2).collect()),
            "qty" => self.demand.iter().map(|x| x.3).collect::<Vec<_>>())
        .unwrap()
    }

    fn run(&self) -> Result<SupplyFacts, AnalysisError> {
        let tables = self.tables();
        let demand = self.demand_frame();
        supply_review(&SupplyInputs { tables: &tables, demand: &demand, cycle: cycle(), params: &self.params })
    }

    /// The supply optimiser's problem over this case's tables.
    fn problem(&self) -> lp::Problem {
        let tables = self.tables();
        let demand = self.demand_frame();
        let inputs = SupplyInputs { tables: &tables, demand: &demand, cycle: cycle(), params: &self.params };
        lp::Problem::from_inputs(&inputs).unwrap()
    }
}

fn option(g: &Gap, kind: OptionKind) -> &GapOption {
    g.options.iter().find(|o| o.kind == kind).unwrap_or_else(|| panic!("no {kind:?} in {:?}", g.options))
}

fn planned(f: &SupplyFacts, sku: &str, customer: &str, month: &str) -> f64 {
    f.constrained_plan
        .iter()
        .find(|l| l.sku == sku && l.customer == customer && l.month == month)
        .map_or(0.0, |l| l.constrained_units)
}

/// December: 5 units x 2 h = 10 h of 15 (5 h spare); January: 10 units = 20 h, 5 h over. The
/// least cost by hand: 2.5 units built in December and held a month at 2 % of 100 = 2 a unit:
/// 5.0; overtime (3 h at 50 = 100 a unit) costs more than the 50 of margin a unit it saves, so
/// the optimum does not use it. Accepting instead: 2.5 units x 50 = 125 lost.
#[test]
fn capacity_gap_is_priced_and_built_ahead() {
    let mut c = Case::new();
    c.demand = vec![("P1", "C1", "2026-12", 5.0), ("P1", "C1", "2027-01", 10.0)];
    let f = c.run().unwrap();
    assert_eq!(f.gaps.len(), 1, "{:#?}", f.gaps);
    let g = &f.gaps[0];
    assert_eq!((g.kind, g.id.as_str(), g.month.as_str()), (GapKind::Capacity, "CAP-R1-2027-01", "2027-01"));
    assert_eq!(g.hours_short, Some(5.0));
    assert_eq!(g.units_short, 2.5); // 5 h / 2 h per unit, what accepting leaves
    assert_eq!(g.revenue_at_risk_money, 375.0); // 2.5 x 150
    assert_eq!(g.margin_at_risk_money, 125.0); // 2.5 x (150 - 100)
    assert_eq!(g.customers_hit, vec!["C1"]);
    assert_eq!(g.recommended, vec![RecommendedStep { kind: OptionKind::BuildAhead, units: 2.5, cost_money: 5.0 }]);
    assert_eq!((g.recommended_cost_money, g.recommended_closes_units), (5.0, 2.5));
    let kinds: Vec<OptionKind> = g.options.iter().map(|o| o.kind).collect();
    assert_eq!(kinds, [OptionKind::BuildAhead, OptionKind::AcceptShortfall], "overtime is not used: {kinds:?}");
    let o = option(g, OptionKind::BuildAhead);
    assert_eq!((o.closes_units, o.closes_percent, o.fully_closes), (2.5, 100.0, true));
    assert_eq!((o.spend_money, o.lost_margin_money, o.cost_money), (5.0, 0.0, 5.0));
    assert_eq!(
        (o.revenue_kept_money, o.margin_kept_money, o.customers_served.clone()),
        (375.0, 125.0, vec!["C1".to_string()])
    );
    assert!(o.detail.contains("2.5 units of P1 built ahead into 2027-01"), "{}", o.detail);
    let a = option(g, OptionKind::AcceptShortfall);
    assert_eq!((a.closes_units, a.spend_money, a.lost_margin_money, a.cost_money), (0.0, 0.0, 125.0, 125.0));
    assert_eq!(g.next_best_extra_cost_money, Some(120.0));
    // The plan is the least-cost plan: January is served in full, from December's production.
    assert_eq!(planned(&f, "P1", "C1", "2027-01"), 10.0);
    assert_eq!(f.totals.unmet_units, 0.0);
    assert_eq!((f.totals.plan_cost.holding_money, f.totals.plan_cost.lost_margin_money), (5.0, 0.0));
    assert_eq!(f.totals.recommended_cost_money, 5.0);
    // With every fix forbidden January makes 7.5: revenue 5 x 150 + 7.5 x 150.
    assert_eq!(f.totals.revenue_without_fixes_money, Some(1875.0));
    let r1 = &f.capacity[0];
    assert_eq!(r1.first_overload_month.as_deref(), Some("2027-01"));
    // 20 h > 15 + 3: beyond the overtime ceiling too.
    assert_eq!(r1.first_break_month.as_deref(), Some("2027-01"));
    assert_eq!(r1.months[1].utilisation_percent, 133.33);
}

/// The capacity gap above with a pricing budget of 0 re-solves: priced by the least-cost plan
/// alone, marked so. Its fix is the plan's (2.5 units built ahead, holding 5.0), the units it
/// buys are not known without a re-solve (0), nothing is short in the plan (January served),
/// and there is no other option and no next-best cost. Re-solves: the plan's own and the one
/// with every fix forbidden (revenue 1875, as with the budget).
#[test]
fn beyond_the_budget_a_gap_is_priced_by_the_plan() {
    let mut c = Case::new();
    c.demand = vec![("P1", "C1", "2026-12", 5.0), ("P1", "C1", "2027-01", 10.0)];
    c.params.max_re_solves = 0;
    let f = c.run().unwrap();
    let g = &f.gaps[0];
    assert_eq!(g.priced_by, PricedBy::Plan);
    assert_eq!(g.recommended, vec![RecommendedStep { kind: OptionKind::BuildAhead, units: 0.0, cost_money: 5.0 }]);
    assert_eq!((g.units_short, g.margin_at_risk_money, g.recommended_cost_money), (0.0, 0.0, 5.0));
    assert_eq!(g.options.len(), 1);
    assert_eq!((g.options[0].kind, g.options[0].spend_money), (OptionKind::BuildAhead, 5.0));
    assert!(g.options[0].detail.contains("2.5 units of P1 built ahead into 2027-01"), "{}", g.options[0].detail);
    assert_eq!(g.next_best_extra_cost_money, None);
    assert_eq!((f.totals.re_solves, f.totals.gaps_priced_by_plan), (2, 1));
    assert_eq!(f.totals.revenue_without_fixes_money, Some(1875.0));
    // With the default budget the same gap is re-solved.
    c.params.max_re_solves = SupplyParams::default().max_re_solves;
    let f = c.run().unwrap();
    assert_eq!((f.gaps[0].priced_by, f.totals.gaps_priced_by_plan), (PricedBy::ReSolve, 0));
}

/// Two independent lines (two pieces of the optimiser's problem), each with the capacity gap
/// above: P1 on R1 (cost 100: 2.5 units built ahead, holding 2 % x 100 = 2 a unit, 5.0 at
/// stake) and P2 on R2 (price 300, cost 200: holding 4 a unit, 10.0 at stake, so priced first).
/// The piece budget, counted by hand: the plan with every fix forbidden solves both pieces cold
/// (both plans build ahead): 2 x 100 = 200; each gap's one re-solve (one kind used, so
/// `2k - 1` is one) solves its own piece warm: 1. Its revenue: each line makes 7.5 in January,
/// so 12.5 x 150 + 12.5 x 300 = 5625.
#[test]
fn the_piece_budget_stops_where_it_says() {
    let mut c = Case::new();
    c.items = vec![("P1", "pumps", 150.0, 100.0, "S1"), ("P2", "pumps", 300.0, 200.0, "S1")];
    c.resources = vec![("R1", "S1", "line"), ("R2", "S1", "line")];
    c.routings = vec![("P1", "R1", 2.0), ("P2", "R2", 2.0)];
    c.capacity = vec![("R1", 15.0, 3.0, 50.0), ("R2", 15.0, 3.0, 50.0)];
    c.demand = vec![
        ("P1", "C1", "2026-12", 5.0),
        ("P1", "C1", "2027-01", 10.0),
        ("P2", "C1", "2026-12", 5.0),
        ("P2", "C1", "2027-01", 10.0),
    ];
    let priced =
        |f: &SupplyFacts| -> Vec<(String, PricedBy)> { f.gaps.iter().map(|g| (g.id.clone(), g.priced_by)).collect() };
    let by = |a: PricedBy, b: PricedBy| vec![("CAP-R1-2027-01".to_string(), a), ("CAP-R2-2027-01".to_string(), b)];
    let run = |budget: u32| {
        let mut c = c.clone();
        c.params.max_piece_solves = budget;
        c.run().unwrap()
    };

    // Enough for everything: both gaps re-solved, the figure computed.
    let f = run(SupplyParams::default().max_piece_solves);
    assert_eq!((f.totals.optimiser_pieces, f.totals.optimiser_approximate), (2, false));
    assert_eq!(priced(&f), by(PricedBy::ReSolve, PricedBy::ReSolve));
    assert_eq!(f.totals.revenue_without_fixes_money, Some(5625.0));
    let p2 = &f.gaps[1];
    assert_eq!(p2.recommended, vec![RecommendedStep { kind: OptionKind::BuildAhead, units: 2.5, cost_money: 10.0 }]);
    // Plan, P2's accept re-solve, P1's, the plan with every fix forbidden.
    assert_eq!(f.totals.re_solves, 4);

    // 201: the figure (200) and the gap with the most at stake (P2, 1); P1 would make 202.
    let f = run(201);
    assert_eq!(priced(&f), by(PricedBy::Plan, PricedBy::ReSolve));
    assert_eq!(f.totals.revenue_without_fixes_money, Some(5625.0));
    assert_eq!((f.totals.re_solves, f.totals.gaps_priced_by_plan), (3, 1));
    // Beyond the budget, nothing invented: the plan's fix and its spend, no units bought, one
    // option, no next-best cost, nothing short (the plan serves January).
    let p1 = &f.gaps[0];
    assert_eq!(p1.recommended, vec![RecommendedStep { kind: OptionKind::BuildAhead, units: 0.0, cost_money: 5.0 }]);
    assert_eq!((p1.options.len(), p1.next_best_extra_cost_money, p1.units_short), (1, None, 0.0));
    assert_eq!((p1.options[0].closes_units, p1.options[0].revenue_kept_money), (0.0, 0.0));

    // 200: the figure only.
    let f = run(200);
    assert_eq!(priced(&f), by(PricedBy::Plan, PricedBy::Plan));
    assert_eq!(f.totals.revenue_without_fixes_money, Some(5625.0));

    // 199: the figure does not fit and is left out (nothing spent on it); both gaps fit (2).
    let f = run(199);
    assert_eq!(priced(&f), by(PricedBy::ReSolve, PricedBy::ReSolve));
    assert_eq!(f.totals.revenue_without_fixes_money, None);
    assert_eq!(f.totals.re_solves, 3);

    // 1: the gap with the most at stake only.
    let f = run(1);
    assert_eq!(priced(&f), by(PricedBy::Plan, PricedBy::ReSolve));
    assert_eq!(f.totals.revenue_without_fixes_money, None);

    // 0: nothing re-solved.
    let f = run(0);
    assert_eq!(priced(&f), by(PricedBy::Plan, PricedBy::Plan));
    assert_eq!((f.totals.re_solves, f.totals.revenue_without_fixes_money), (1, None));
}

/// `max_piece_solves` is checked like the other `[supply]` keys.
#[test]
fn max_piece_solves_is_validated() {
    let p: SupplyParams = toml::from_str("max_piece_solves = 20000000").unwrap();
    let problems = p.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "max_piece_solves");
    assert!(problems[0].1.contains("20000000"), "{}", problems[0].1);
    let p: SupplyParams = toml::from_str("max_re_solves = 10\nmax_piece_solves = 0").unwrap();
    assert!(p.problems().is_empty());
    assert_eq!((p.max_re_solves, p.max_piece_solves), (10, 0));
}

/// December: 10 units x 2 h = 20 h of 15 on a labour pool, no earlier month. Overtime at 20/h
/// costs 40 a unit, under the 50 of margin: the 3 h ceiling buys 1.5 units for 60; the other
/// unit is lost (50). Accepting all: 2.5 x 50 = 125, 15 more than the recommendation's 110.
#[test]
fn labour_gap_with_overtime_and_the_rest_accepted() {
    let mut c = Case::new();
    c.resources = vec![("R1", "S1", "labour")];
    c.capacity = vec![("R1", 15.0, 3.0, 20.0)];
    c.demand = vec![("P1", "C1", "2026-12", 10.0)];
    let f = c.run().unwrap();
    let g = &f.gaps[0];
    assert_eq!((g.kind, g.id.as_str()), (GapKind::Labour, "LAB-R1-2026-12"));
    assert!(g.options.iter().all(|o| o.kind != OptionKind::BuildAhead));
    assert_eq!(
        g.recommended,
        vec![
            RecommendedStep { kind: OptionKind::Overtime, units: 1.5, cost_money: 60.0 },
            RecommendedStep { kind: OptionKind::AcceptShortfall, units: 1.0, cost_money: 50.0 },
        ]
    );
    assert_eq!((g.recommended_cost_money, g.recommended_closes_units), (110.0, 1.5));
    let o = option(g, OptionKind::Overtime);
    assert_eq!((o.closes_units, o.closes_percent, o.fully_closes), (1.5, 60.0, false));
    assert_eq!((o.spend_money, o.lost_margin_money, o.cost_per_unit_money), (60.0, 50.0, 40.0));
    assert_eq!(option(g, OptionKind::AcceptShortfall).cost_money, 125.0);
    assert_eq!(g.next_best_extra_cost_money, Some(15.0));
    assert_eq!(f.totals.labour_gaps, 1);
    assert_eq!(f.totals.capacity_gaps, 0);
}

/// 5 h over on R1 = 2.5 units; R2 at S2 makes one in 1 h (10 h spare) at a premium of 5 % of
/// 100: 2.5 x 5 = 12.5.
#[test]
fn alternate_site_with_a_routing_takes_the_overload() {
    let mut c = Case::new();
    c.resources.push(("R2", "S2", "line"));
    c.routings.push(("P1", "R2", 1.0));
    c.capacity.push(("R2", 10.0, 0.0, 0.0));
    c.demand = vec![("P1", "C1", "2026-12", 10.0)];
    let f = c.run().unwrap();
    assert_eq!(f.gaps.len(), 1, "R2 carries no load of its own: {:#?}", f.gaps);
    let g = &f.gaps[0];
    let o = option(g, OptionKind::AlternateSite);
    assert_eq!((o.closes_units, o.cost_money, o.fully_closes), (2.5, 12.5, true));
    assert!(o.detail.contains("made on S2"), "{}", o.detail);
    assert_eq!(g.recommended_cost_money, 12.5);
    assert_eq!(f.totals.plan_cost.routing_premium_money, 12.5);
}

#[test]
fn material_gap_inside_lead_time_and_new_orders_outside() {
    let mut c = Case::new();
    c.capacity = vec![("R1", 1000.0, 0.0, 0.0)];
    c.components = vec![("M1", "SUPA", 60, 10.0)];
    c.bom = vec![("P1", "M1", 2.0)];
    c.demand = vec![("P1", "C1", "2026-12", 5.0), ("P1", "C1", "2027-01", 5.0), ("P1", "C1", "2027-02", 5.0)];
    let f = c.run().unwrap();
    // Needs of 10 M1 on Dec 15, Jan 15 and Feb 15; orders 60 days earlier: Oct 16 and
    // Nov 16 fall before the cycle (Dec 1): gaps. Dec 17 is in time: a new order.
    let ids: Vec<&str> = f.gaps.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["MAT-M1-2026-12", "MAT-M1-2027-01"]);
    let dec = &f.gaps[0];
    assert_eq!((dec.component_units_short, dec.units_short), (Some(10.0), 5.0));
    // Expedited lead time 30 days: Dec 15 - 30 = Nov 15, still too late: only accepting.
    assert_eq!(dec.options.len(), 1);
    assert_eq!(dec.recommended_cost_money, 250.0); // 5 x 50 margin
    let jan = &f.gaps[1];
    // Jan 15 - 30 = Dec 16: expedite reaches. 10 units x 10 x 15 % = 15. No second source in
    // the data: no alternate supplier is offered.
    assert_eq!(option(jan, OptionKind::Expedite).cost_money, 15.0);
    assert!(jan.options.iter().all(|o| o.kind != OptionKind::AlternateSupplier), "{:#?}", jan.options);
    assert_eq!(jan.recommended, vec![RecommendedStep { kind: OptionKind::Expedite, units: 5.0, cost_money: 15.0 }]);
    let feb = f.shortages.iter().find(|s| s.month == "2027-02").unwrap();
    assert_eq!((feb.within_lead_time_units, feb.new_order_units), (0.0, 10.0));
    assert_eq!(feb.order_by.as_deref(), Some("2026-12-17"));
    // A second source, faster and dearer: SUPF sells M1 at 11 in 10 days. Ordered Dec 1, it
    // is here Dec 11, before Dec 15: it reaches the Dec gap that no expedite could, 10 M1 x
    // (11 - 10) = 10 for 5 units, against 250 of lost margin.
    let mut fast = c.clone();
    fast.suppliers = vec![("M1", "SUPF", 11.0, 10)];
    let g = fast.run().unwrap().gaps.into_iter().find(|g| g.id == "MAT-M1-2026-12").unwrap();
    assert_eq!(
        g.recommended,
        vec![RecommendedStep { kind: OptionKind::AlternateSupplier, units: 5.0, cost_money: 10.0 }]
    );
    // A supplier that cannot expedite offers none: the Jan gap keeps only accepting.
    let mut slow = c.clone();
    slow.suppliers = vec![("M1", "SUPA", 10.0, 60)];
    let mut t = slow.tables();
    t.insert(
        Table::ComponentSuppliers,
        df!("component" => ["M1"], "supplier" => ["SUPA"], "unit_cost" => [10.0], "lead_time_days" => [60i64],
            "can_expedite" => ["no"])
        .unwrap(),
    );
    let demand = slow.demand_frame();
    let f2 =
        supply_review(&SupplyInputs { tables: &t, demand: &demand, cycle: cycle(), params: &slow.params }).unwrap();
    let jan2 = f2.gaps.iter().find(|g| g.id == "MAT-M1-2027-01").unwrap();
    assert_eq!(jan2.options.iter().map(|o| o.kind).collect::<Vec<_>>(), vec![OptionKind::AcceptShortfall]);
    // Nothing can be made in Dec; Jan is made with the expedite, Feb with a new order.
    assert_eq!(planned(&f, "P1", "C1", "2026-12"), 0.0);
    assert_eq!(planned(&f, "P1", "C1", "2027-01"), 5.0);
    assert_eq!(planned(&f, "P1", "C1", "2027-02"), 5.0);
    assert_eq!(option(jan, OptionKind::AcceptShortfall).cost_money, 250.0); // 5 x 50
}

#[test]
fn multi_level_lead_times_add_up() {
    let mut c = Case::new();
    c.capacity = vec![("R1", 1000.0, 0.0, 0.0)];
    c.components = vec![("SA1", "INTERNAL", 10, 50.0), ("M2", "SUPA", 40, 5.0)];
    c.bom = vec![("P1", "SA1", 1.0), ("SA1", "M2", 3.0)];
    c.demand = vec![("P1", "C1", "2027-01", 2.0)];
    let f = c.run().unwrap();
    // SA1 is needed Jan 15 and released Jan 5 (in time); M2 is needed Jan 5, ordered 40 days
    // before: Nov 26, before the cycle: 6 M2 short. The optimiser has no lead time for making
    // a sub-assembly: M2 ordered now is there by Jan 15, so its plan leaves nothing short.
    assert_eq!(f.gaps.len(), 1, "{:#?}", f.gaps);
    let g = &f.gaps[0];
    assert_eq!((g.id.as_str(), g.component_units_short, g.units_short), ("MAT-M2-2027-01", Some(6.0), 0.0));
    assert_eq!(planned(&f, "P1", "C1", "2027-01"), 2.0);
    let sa = f.shortages.iter().find(|s| s.component == "SA1").unwrap();
    assert_eq!((sa.new_order_units, sa.order_by.as_deref()), (2.0, Some("2027-01-05")));
    // Stock of the raw part above safety stock covers it.
    c.inventory = vec![("M2", "S1", 10.0, 4.0)];
    assert!(c.run().unwrap().gaps.is_empty());
}

fn deliveries() -> Vec<Delivery> {
    vec![
        ("SUPB", "M1", "2026-06-10", Some("2026-06-10"), 100.0, 100.0), // on time, in full
        ("SUPB", "M1", "2026-07-10", Some("2026-07-12"), 100.0, 100.0), // 2 days late
        ("SUPB", "M1", "2026-08-10", Some("2026-08-09"), 100.0, 90.0),  // short
        ("SUPB", "M1", "2026-09-10", Some("2026-09-10"), 100.0, 100.0), // on time, in full
        ("SUPB", "M1", "2025-10-10", None, 100.0, 0.0),                 // before the window
    ]
}

#[test]
fn otif_over_the_trailing_window() {
    let mut c = Case::new();
    c.components = vec![("M1", "SUPB", 60, 10.0)];
    c.deliveries = deliveries();
    let f = c.run().unwrap();
    let s = &f.suppliers[0];
    // 4 deliveries in Dec 2025 - Nov 2026: 3 on time, 3 in full, 2 both.
    assert_eq!(
        (s.deliveries, s.on_time_percent, s.in_full_percent, s.otif_percent),
        (4, Some(75.0), Some(75.0), Some(50.0))
    );
    assert!(s.below_threshold);
    // Two days of tolerance: all 4 on time, 3 both.
    c.params.on_time_tolerance_days = 2;
    let s = &c.run().unwrap().suppliers[0];
    assert_eq!((s.on_time_percent, s.otif_percent), (Some(100.0), Some(75.0)));
}

/// SUPB (OTIF 50 %) promises 10 M1 on Jan 10: the plan expects 5 in January and 5 in
/// February; January needs 10 (5 units x 2): 5 M1 = 2.5 units short. By hand: SUPB expedites
/// (15 % of 10 = 1.5 a unit, 30 days: January) 5 M1 for 7.5, under the 125 of margin (2.5 x 50)
/// they save. A second source SUPC at 10.5 in 30 days does it for 5 x 0.5 = 2.5.
#[test]
fn supplier_gap_from_receipts_at_risk() {
    let mut c = Case::new();
    c.capacity = vec![("R1", 1000.0, 0.0, 0.0)];
    c.components = vec![("M1", "SUPB", 60, 10.0)];
    c.bom = vec![("P1", "M1", 2.0)];
    c.deliveries = deliveries();
    c.pos = vec![("M1", "SUPB", "2027-01-10", 10.0)];
    c.demand = vec![("P1", "C1", "2027-01", 5.0)];
    let f = c.run().unwrap();
    assert_eq!(f.gaps.len(), 1, "{:#?}", f.gaps);
    let g = &f.gaps[0];
    assert_eq!((g.kind, g.id.as_str()), (GapKind::Supplier, "SUP-M1-2027-01"));
    assert_eq!((g.component_units_short, g.units_short, g.supplier.as_deref()), (Some(5.0), 2.5, Some("SUPB")));
    assert_eq!(g.recommended, vec![RecommendedStep { kind: OptionKind::Expedite, units: 2.5, cost_money: 7.5 }]);
    assert_eq!(option(g, OptionKind::AcceptShortfall).cost_money, 125.0); // 2.5 x 50
    assert_eq!(f.receipts_at_risk.len(), 1);
    assert_eq!(f.receipts_at_risk[0].expected_units, 5.0);
    assert_eq!(f.receipts_at_risk[0].feeds_gaps, vec!["SUP-M1-2027-01"]);
    assert_eq!(planned(&f, "P1", "C1", "2027-01"), 5.0);
    c.suppliers = vec![("M1", "SUPC", 10.5, 30)];
    let f = c.run().unwrap();
    let g = &f.gaps[0];
    assert_eq!(
        g.options.iter().map(|o| o.kind).collect::<Vec<_>>(),
        [OptionKind::AlternateSupplier, OptionKind::AcceptShortfall]
    );
    let o = option(g, OptionKind::AlternateSupplier);
    assert_eq!((o.cost_money, o.closes_units), (2.5, 2.5));
    assert!(o.detail.contains("SUPC"), "{}", o.detail);
}

#[test]
fn a_bom_loop_is_named() {
    let mut c = Case::new();
    c.components = vec![("A", "X", 1, 1.0), ("B", "X", 1, 1.0)];
    c.bom = vec![("P1", "A", 1.0), ("A", "B", 1.0), ("B", "A", 1.0)];
    c.demand = vec![("P1", "C1", "2026-12", 1.0)];
    let err = c.run().unwrap_err();
    assert_eq!(err.to_string(), "the bill of materials has a loop: `A` -> `B` -> `A`");
    assert!(err.is_user_fault());
}

#[test]
fn allocation_by_priority_then_margin() {
    let mut c = Case::new();
    c.customers = vec![("C1", 2), ("C2", 1)];
    c.demand = vec![("P1", "C1", "2026-12", 5.0), ("P1", "C2", "2026-12", 5.0)];
    let f = c.run().unwrap();
    // 15 h / 2 h = 7.5 units: priority 1 (C2) gets its 5, C1 the other 2.5.
    assert_eq!((planned(&f, "P1", "C2", "2026-12"), planned(&f, "P1", "C1", "2026-12")), (5.0, 2.5));
    let c1 = f.unmet_by_customer.iter().find(|u| u.customer == "C1").unwrap();
    assert_eq!((c1.unmet_units, c1.unmet_revenue_money), (2.5, 375.0));
    assert_eq!(f.gaps[0].customers_hit, vec!["C1"]);

    // One customer, two SKUs on R1: the one with the higher margin first.
    let mut c = Case::new();
    c.items.push(("P2", "pumps", 100.0, 90.0, "S1"));
    c.routings.push(("P2", "R1", 2.0));
    c.demand = vec![("P1", "C1", "2026-12", 5.0), ("P2", "C1", "2026-12", 5.0)];
    let f = c.run().unwrap();
    assert_eq!((planned(&f, "P1", "C1", "2026-12"), planned(&f, "P2", "C1", "2026-12")), (5.0, 2.5));
}

#[test]
fn inventory_nets_and_open_orders_are_a_floor() {
    let mut c = Case::new();
    c.capacity = vec![("R1", 1000.0, 0.0, 0.0)];
    // 8 on hand, 3 safety stock at the make site: 5 usable; stock elsewhere is not.
    c.inventory = vec![("P1", "S1", 8.0, 3.0), ("P1", "S9", 100.0, 0.0)];
    c.demand = vec![("P1", "C1", "2026-12", 4.0), ("P1", "C1", "2027-01", 4.0)];
    // A late order of 6 is due now and is above December's consensus of 4.
    c.open_orders = vec![("P1", "C1", "2026-11", 6.0)];
    c.budget = vec![("pumps", "2026-12", 1000.0)];
    let f = c.run().unwrap();
    assert_eq!(f.totals.open_orders_above_consensus_units, 2.0);
    let r: Vec<(f64, f64, f64)> =
        f.requirements.iter().map(|r| (r.demand_units, r.from_inventory_units, r.production_units)).collect();
    assert_eq!(r, [(6.0, 5.0, 1.0), (4.0, 0.0, 4.0)]);
    let dec = f.financials.iter().find(|x| x.month == "2026-12").unwrap();
    // 6 x 150 = 900 revenue against a budget of 1000.
    assert_eq!((dec.revenue_constrained_money, dec.constrained_vs_budget_money), (900.0, Some(-100.0)));
    assert_eq!(f.totals.budget_revenue_money, 1000.0);
}

#[test]
fn zero_demand_rows_plan_nothing() {
    let mut c = Case::new();
    c.demand = vec![("P1", "C1", "2026-12", 0.0), ("P1", "C2", "2027-01", 1.0)];
    let f = c.run().unwrap();
    assert_eq!(f.constrained_plan.len(), 1);
    assert_eq!(f.totals.demand_units, 1.0);
}

#[test]
fn unknown_sku_in_the_demand_is_named() {
    let mut c = Case::new();
    c.demand = vec![("P1", "C1", "2026-12", 1.0), ("ZZ", "C1", "2026-12", 1.0)];
    assert_eq!(c.run().unwrap_err().to_string(), "demand row 2: unknown sku `ZZ`");
}

#[test]
fn params_default_from_an_empty_table() {
    let p: SupplyParams = toml::from_str("otif_threshold = 0.8").unwrap();
    assert_eq!(p.otif_threshold, 0.8);
    assert_eq!(p.otif_window_months, 12);
    assert_eq!(p.allocation, AllocationRule::PriorityFirst);
    assert!(toml::from_str::<SupplyParams>("otif = 1").is_err());
    // The old names still load.
    let old: SupplyParams = toml::from_str("allocation = \"margin_then_priority\"").unwrap();
    assert_eq!(old.allocation, AllocationRule::CostFirst);
    let old: SupplyParams = toml::from_str("allocation = \"priority_then_margin\"").unwrap();
    assert_eq!(old.allocation, AllocationRule::PriorityFirst);
}

/// A random small company: 1-3 SKUs on 1-2 resources, 1-3 customers, demand in the first
/// 4 months; capacity per resource either ample (`slack` >= 1 of the load) or random.
fn random_case() -> impl Strategy<Value = (Case, bool)> {
    (
        prop::collection::vec((0.1f64..3.0, 0usize..2, 1.0f64..200.0, 0.3f64..1.0), 1..4),
        prop::collection::vec(prop::collection::vec(0.0f64..40.0, 4), 1..7),
        prop::collection::vec(0.0f64..150.0, 2),
        any::<bool>(),
    )
        .prop_map(|(skus, cells, hours, ample)| {
            const SKUS: [&str; 3] = ["P1", "P2", "P3"];
            const CUSTS: [&str; 3] = ["C1", "C2", "C3"];
            const MONTHS: [&str; 4] = ["2026-12", "2027-01", "2027-02", "2027-03"];
            let mut c = Case::new();
            c.customers = vec![("C1", 2), ("C2", 1), ("C3", 3)];
            c.resources = vec![("R1", "S1", "line"), ("R2", "S1", "labour")];
            c.items = skus.iter().enumerate().map(|(i, s)| (SKUS[i], "f", s.2, s.2 * s.3, "S1")).collect();
            c.routings = skus.iter().enumerate().map(|(i, s)| (SKUS[i], ["R1", "R2"][s.1], s.0)).collect();
            for (k, row) in cells.iter().enumerate() {
                let sku = k % skus.len();
                let cust = (k / skus.len()) % 3;
                for (m, q) in row.iter().enumerate() {
                    c.demand.push((SKUS[sku], CUSTS[cust], MONTHS[m], (q * 10.0).round() / 10.0));
                }
            }
            if ample {
                let mut max = [0.0f64; 2];
                for m in MONTHS {
                    let mut load = [0.0f64; 2];
                    for &(s, _, mm, q) in &c.demand {
                        if mm == m {
                            let i = SKUS.iter().position(|x| *x == s).unwrap();
                            load[skus[i].1] += q * skus[i].0;
                        }
                    }
                    max = [max[0].max(load[0]), max[1].max(load[1])];
                }
                c.capacity = vec![("R1", max[0] + 0.01, 5.0, 40.0), ("R2", max[1] + 0.01, 5.0, 40.0)];
            } else {
                c.capacity = vec![("R1", hours[0], 5.0, 40.0), ("R2", hours[1], 5.0, 40.0)];
            }
            (c, ample)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn constrained_plan_respects_demand_and_capacity((case, ample) in random_case()) {
        let f = case.run().unwrap();
        if ample {
            prop_assert!(f.gaps.is_empty(), "capacity covers demand yet: {:?}", f.gaps);
            prop_assert!((f.totals.unmet_units).abs() < 1e-6);
        }
        // Never above demand.
        for l in &f.constrained_plan {
            prop_assert!(l.constrained_units <= l.demand_units + 1e-9, "{l:?}");
            prop_assert!(l.constrained_units >= 0.0);
        }
        // Never above the hours there are: production only moves earlier (build-ahead), so
        // the hours served through each month fit the regular hours plus the overtime ceiling
        // through that month (no stock, no alternate routing in these cases).
        let hpu: BTreeMap<&str, (&str, f64)> = case.routings.iter().map(|r| (r.0, (r.1, r.2))).collect();
        let mut used: BTreeMap<(&str, &str), f64> = BTreeMap::new();
        for l in &f.constrained_plan {
            let (r, h) = hpu[l.sku.as_str()];
            *used.entry((r, l.month.as_str())).or_default() += l.constrained_units * h;
        }
        for (r, available, overtime, _) in &case.capacity {
            let (mut through, mut hours) = (0.0, 0.0);
            for m in &f.plan_months {
                through += available + overtime;
                hours += used.get(&(*r, m.as_str())).copied().unwrap_or(0.0);
                prop_assert!(hours <= through + 0.01, "{r} through {m}: {hours} > {through}");
            }
        }
        // Totals are preserved however they are grouped.
        let demand: f64 = case.demand.iter().map(|d| d.3).sum();
        prop_assert!((f.totals.demand_units - demand).abs() < 1e-6);
        let lines: f64 = f.constrained_plan.iter().map(|l| l.constrained_units).sum();
        prop_assert!((f.totals.constrained_units - lines).abs() < 0.01);
        let by_customer: f64 = f.unmet_by_customer.iter().map(|u| u.unmet_units).sum();
        prop_assert!((f.totals.unmet_units - by_customer).abs() < 0.01);
        for u in &f.unmet_by_customer {
            prop_assert!((u.demand_units - u.constrained_units - u.unmet_units).abs() < 0.01);
        }
        let revenue: f64 = f.financials.iter().map(|x| x.revenue_unconstrained_money).sum();
        prop_assert!((f.totals.revenue_unconstrained_money - revenue).abs() < 0.1);
        // Every gap's recommendation covers the gap exactly.
        for g in &f.gaps {
            let covered: f64 = g.recommended.iter().map(|s| s.units).sum();
            prop_assert!((covered - g.units_short).abs() < 0.01, "{g:?}");
        }
    }

    #[test]
    fn identical_inputs_give_identical_facts((case, _) in random_case()) {
        let a = serde_json::to_string(&case.run().unwrap()).unwrap();
        let b = serde_json::to_string(&case.run().unwrap()).unwrap();
        prop_assert_eq!(a, b);
    }

    /// The least-cost plan is never dearer than the greedy baseline re-costed by the same cost
    /// function: the greedy plan buys no fix, so its cost is the margin it loses, and it is a
    /// feasible plan of the LP.
    #[test]
    fn lp_cost_is_never_above_the_greedy_plans((mut case, _) in random_case()) {
        case.params.allocation = AllocationRule::CostFirst;
        let tables = case.tables();
        let demand = case.demand_frame();
        let inputs = SupplyInputs { tables: &tables, demand: &demand, cycle: cycle(), params: &case.params };
        let greedy = greedy_baseline(&inputs).unwrap().lost_margin_money;
        let p = case.problem();
        let s = lp::solve(&p).unwrap();
        let (v, what) = lp::check::largest_violation(&p, &s);
        prop_assert!(v < 1e-6, "violation {} ({})", v, what);
        // The facts round money to cents.
        prop_assert!(s.cost.total() <= greedy + 0.05, "LP {} > greedy {}", s.cost.total(), greedy);
    }
}

/// The optimiser's problem carries the new data (hand-made tables, cycle 2026-12: the need
/// dates Dec 15, Jan 15 and Feb 15 are 14, 45 and 76 days after Dec 1):
/// - P1's primary routing (R1 at its make site S1) and the alternate at S2 (R2) at 5 % of its
///   unit cost 100 = 5 a unit; the sub-assembly SA1 made on R3 (its own routing, primary);
/// - M1 from SUPA (10.0, 60 days: Feb; expedited 30 days: Jan, 1.5 a unit) and its second
///   source SUPF (11.0, 10 days: Dec; expedited 5 days: Dec, 11 x 15 % = 1.65), and no
///   invented "alternate supplier";
/// - the frozen horizon of `[supply]`.
#[test]
fn lp_problem_carries_suppliers_routings_and_the_frozen_horizon() {
    let mut c = Case::new();
    c.resources = vec![("R1", "S1", "line"), ("R2", "S2", "line"), ("R3", "S1", "machine")];
    c.routings = vec![("P1", "R1", 2.0), ("P1", "R2", 1.0), ("SA1", "R3", 0.5)];
    c.capacity = vec![("R1", 100.0, 0.0, 0.0), ("R2", 100.0, 0.0, 0.0), ("R3", 100.0, 0.0, 0.0)];
    c.components = vec![("SA1", "INTERNAL", 5, 50.0), ("M1", "SUPA", 60, 10.0)];
    c.suppliers = vec![("M1", "SUPF", 11.0, 10)];
    c.bom = vec![("P1", "SA1", 1.0), ("SA1", "M1", 2.0)];
    c.demand = vec![("P1", "C1", "2027-01", 5.0)];
    c.params.frozen_months = 2;
    let p = c.problem();
    assert_eq!(p.frozen_months, 2);
    let names: Vec<&str> = p.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["R1", "R2", "R3"]);
    let op = |resource: usize, hours_per_unit: f64| lp::Operation { resource, hours_per_unit };
    let p1 = p.items.iter().find(|i| i.name == "P1").unwrap();
    let got: Vec<(&str, f64, Vec<lp::Operation>)> =
        p1.routings.iter().map(|r| (r.label.as_str(), r.premium_per_unit, r.operations.clone())).collect();
    assert_eq!(got, vec![("S1", 0.0, vec![op(0, 2.0)]), ("S2", 5.0, vec![op(1, 1.0)])]);
    let sa = p.items.iter().find(|i| i.name == "SA1").unwrap();
    assert_eq!(
        sa.routings,
        vec![lp::Routing { label: "primary".into(), premium_per_unit: 0.0, operations: vec![op(2, 0.5)] }]
    );
    let m1 = p.components.iter().find(|c| c.name == "M1").unwrap();
    let by_name = |o: &lp::SupplierOption| p.suppliers[o.supplier].name.as_str();
    let got: Vec<(&str, f64, usize, f64, usize)> = m1
        .options
        .iter()
        .map(|o| {
            (by_name(o), o.unit_cost, o.lead_time_months, r2(o.expedite_premium_per_unit), o.expedite_lead_time_months)
        })
        .collect();
    assert_eq!(got, vec![("SUPA", 10.0, 2, 1.5, 1), ("SUPF", 11.0, 0, 1.65, 0)]);
    assert!(p.suppliers.iter().all(|s| s.name == "SUPA" || s.name == "SUPF"), "{:?}", p.suppliers);
    let bom: Vec<(usize, lp::Part, f64)> = p.bom.iter().map(|e| (e.parent, e.child, e.qty_per)).collect();
    let (p1_ix, sa_ix) =
        (p.items.iter().position(|i| i.name == "P1").unwrap(), p.items.iter().position(|i| i.name == "SA1").unwrap());
    assert!(
        bom.contains(&(p1_ix, lp::Part::Item(sa_ix), 1.0)) && bom.contains(&(sa_ix, lp::Part::Component(0), 2.0)),
        "{bom:?}"
    );

    // Named routings: P1's two S1 rows are alternatives (`primary` on R1, `fast` on R3), its S2
    // row a third; a component with no second source has one option.
    let mut tables = c.tables();
    tables.insert(
        Table::Routings,
        df!("sku" => ["P1", "P1", "P1", "SA1"], "resource" => ["R1", "R3", "R2", "R3"],
            "hours_per_unit" => [2.0, 1.5, 1.0, 0.5], "routing" => [Some("primary"), Some("fast"), None, None])
        .unwrap(),
    );
    tables.remove(&Table::ComponentSuppliers);
    let demand = c.demand_frame();
    let p =
        lp::Problem::from_inputs(&SupplyInputs { tables: &tables, demand: &demand, cycle: cycle(), params: &c.params })
            .unwrap();
    let p1 = p.items.iter().find(|i| i.name == "P1").unwrap();
    let got: Vec<(&str, Vec<lp::Operation>)> =
        p1.routings.iter().map(|r| (r.label.as_str(), r.operations.clone())).collect();
    assert_eq!(got, vec![("S1", vec![op(0, 2.0)]), ("S2", vec![op(1, 1.0)]), ("fast", vec![op(2, 1.5)])]);
    let m1 = p.components.iter().find(|c| c.name == "M1").unwrap();
    assert_eq!(m1.options.len(), 1);
}

/// The levers every fix of a random case could use: overtime on each resource and building
/// ahead of each item, in each month; `which` keeps all (0), overtime (1), building ahead (2),
/// the first three months' (3), or the first resource's overtime only (4: a piece on the other is not reached).
fn fix_levers(p: &lp::Problem, which: usize) -> BTreeSet<lp::Lever> {
    let mut out = BTreeSet::new();
    for month in 0..p.months.len() {
        if which == 3 && month >= 3 {
            continue;
        }
        if which == 4 {
            out.insert(lp::Lever::Overtime { resource: 0, month });
            continue;
        }
        if which != 2 {
            out.extend((0..p.resources.len()).map(|resource| lp::Lever::Overtime { resource, month }));
        }
        if which != 1 && month > 0 {
            out.extend((0..p.items.len()).map(|item| lp::Lever::BuildAhead { item, month }));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The plan with levers forbidden from the pricer (only the pieces whose plan uses one
    /// solved) is the cold solve of every piece, every stage, to the bit: its revenue and every
    /// value.
    #[test]
    fn the_plan_without_fixes_is_the_cold_solve((case, _) in random_case(), which in 0usize..5, cost_first in any::<bool>()) {
        let mut case = case;
        if cost_first {
            case.params.allocation = AllocationRule::CostFirst;
        }
        let p = case.problem();
        let levers = fix_levers(&p, which);
        let opts = lp::SplitOptions::default();
        let (mut pricer, _) = lp::Pricer::with_plan(&p, &BTreeSet::new(), opts).unwrap();
        let to_solve = pricer.plan_pieces_to_solve(&levers).len();
        let cheap = pricer.plan_without(&levers).unwrap();
        prop_assert!(pricer.plan_pieces_solved <= to_solve);
        let (cold, solved) = lp::solve_with_memo(&p, &levers, usize::MAX, opts, false).unwrap();
        prop_assert_eq!(solved, pricer.split().pieces.len());
        let revenue = |s: &lp::Solution| -> f64 {
            let mut r = 0.0;
            for (d, line) in p.demand.iter().enumerate() {
                r += s.served[d] * line.unit_price;
            }
            r
        };
        prop_assert_eq!(revenue(&cheap).to_bits(), revenue(&cold).to_bits());
        prop_assert_eq!(&cheap, &cold);
    }
}
