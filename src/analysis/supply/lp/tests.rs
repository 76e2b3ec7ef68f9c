//! Hand-worked cases, each isolating one behaviour, with the least cost worked out in the
//! comment; every solution also passes the independent checker.

use std::collections::BTreeSet;

use super::check::largest_violation;
use super::*;

/// A problem of `n` months with nothing in it yet.
fn problem(n: usize) -> Problem {
    Problem {
        months: (0..n).map(|t| format!("2027-{:02}", t + 1)).collect(),
        frozen_months: 0,
        items: Vec::new(),
        resources: Vec::new(),
        components: Vec::new(),
        suppliers: vec![Supplier::new("S1", 1.0)],
        bom: Vec::new(),
        demand: Vec::new(),
        rule: AllocationRule::CostFirst,
    }
}

/// A resource with `regular` hours per month and the same overtime ceiling and rate every month.
fn resource(p: &mut Problem, name: &str, regular: &[f64], ceiling: f64, rate: f64) -> usize {
    let months = regular
        .iter()
        .map(|&h| ResourceMonth { regular_hours: h, overtime_ceiling_hours: ceiling, overtime_cost_per_hour: rate })
        .collect();
    p.resources.push(Resource { name: name.into(), site: "A".into(), kind: "line".into(), months });
    p.resources.len() - 1
}

/// A routing as a test writes it: label, premium per unit, (resource, hours per unit) per
/// operation.
type RoutingSpec<'a> = (&'a str, f64, &'a [(usize, f64)]);

/// An item with one routing per `(label, premium, operations)`.
fn item(p: &mut Problem, name: &str, holding: f64, routings: &[RoutingSpec<'_>]) -> usize {
    let routings = routings
        .iter()
        .map(|(label, premium, ops)| Routing {
            label: (*label).into(),
            premium_per_unit: *premium,
            operations: ops.iter().map(|&(resource, hours_per_unit)| Operation { resource, hours_per_unit }).collect(),
        })
        .collect();
    p.items.push(Item {
        name: name.into(),
        site: "A".into(),
        unit_cost: 10.0,
        opening_stock: 0.0,
        safety_stock: 0.0,
        holding_cost_per_month: holding,
        routings,
    });
    p.items.len() - 1
}

fn demand(p: &mut Problem, item: usize, customer: &str, priority: i64, month: usize, qty: f64, margin: f64) {
    p.demand.push(DemandLine {
        item,
        customer: customer.into(),
        priority,
        month,
        qty,
        unit_price: margin + 10.0,
        unit_margin: margin,
    });
}

/// A component with no stock and the given supplier options.
fn component(p: &mut Problem, name: &str, unit_cost: f64, options: Vec<SupplierOption>) -> usize {
    p.components.push(Component {
        name: name.into(),
        unit_cost,
        opening_stock: 0.0,
        safety_stock: 0.0,
        holding_cost_per_month: 0.0,
        open_pos: Vec::new(),
        options,
    });
    p.components.len() - 1
}

fn option(supplier: usize, unit_cost: f64, lead: usize) -> SupplierOption {
    SupplierOption {
        supplier,
        unit_cost,
        lead_time_months: lead,
        min_order_qty: 0.0,
        can_expedite: false,
        expedite_premium_per_unit: 0.0,
        expedite_lead_time_months: lead,
    }
}

/// Solves and checks the plan against the independent checker.
fn solved(p: &Problem) -> Solution {
    let s = solve(p).expect("solves");
    let (v, what) = largest_violation(p, &s);
    assert!(v < 1e-6, "violation {v}: {what}");
    s
}

/// Equal within the held optima's slack (1e-6 and a part in a billion a stage).
fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-5, "{a} != {b}");
}

/// Month 1 needs 120 h on a 100 h line (1 h a unit, margin 10). Overtime: 20 h x 4 = 80.
/// Build ahead in month 0's spare 100 h: 20 units x holding 5 = 100. Accept: 20 x 10 = 200.
/// Least cost 80, all overtime in month 1.
#[test]
fn overtime_is_cheapest() {
    let mut p = problem(2);
    let r = resource(&mut p, "R1", &[100.0, 100.0], 50.0, 4.0);
    let a = item(&mut p, "A", 5.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut p, a, "K1", 1, 1, 120.0, 10.0);
    let s = solved(&p);
    close(s.cost.total(), 80.0);
    close(s.overtime[r][1], 20.0);
    close(s.overtime[r][0], 0.0);
    close(s.served[0], 120.0);
}

/// As above but the overtime ceiling is 10 h: 10 h overtime (40), then 10 units built in month 0
/// and held a month (10 x 5 = 50, below the margin 10 a unit). Least cost 90; nothing lost.
#[test]
fn overtime_ceiling_then_build_ahead() {
    let mut p = problem(2);
    let r = resource(&mut p, "R1", &[100.0, 100.0], 10.0, 4.0);
    let a = item(&mut p, "A", 5.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut p, a, "K1", 1, 1, 120.0, 10.0);
    let s = solved(&p);
    close(s.cost.total(), 90.0);
    close(s.cost.overtime_money, 40.0);
    close(s.cost.holding_money, 50.0);
    close(s.production[a][0][0], 10.0);
    close(s.item_stock[a][0], 10.0);
    close(s.served[0], 120.0);
}

/// Month 0 is full with its own 100 units and has no overtime, so nothing can be built ahead:
/// month 1 takes its 10 h of overtime (40) and loses 10 units (100). Least cost 140.
#[test]
fn earlier_months_full() {
    let mut p = problem(2);
    let r = resource(&mut p, "R1", &[100.0, 100.0], 10.0, 4.0);
    p.resources[r].months[0].overtime_ceiling_hours = 0.0;
    let a = item(&mut p, "A", 5.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut p, a, "K1", 1, 0, 100.0, 10.0);
    demand(&mut p, a, "K1", 1, 1, 120.0, 10.0);
    let s = solved(&p);
    close(s.cost.total(), 140.0);
    close(s.cost.lost_margin_money, 100.0);
    close(s.served[1], 110.0);
}

/// 130 units on a 100 h line with no overtime; the alternate routing at site B (50 h free)
/// costs a premium of 2 a unit against a margin of 10. Least cost: 30 units at B, 60.
#[test]
fn alternate_routing_at_another_site() {
    let mut p = problem(1);
    let r1 = resource(&mut p, "R1", &[100.0], 0.0, 0.0);
    let r2 = resource(&mut p, "R2", &[50.0], 0.0, 0.0);
    let a = item(&mut p, "A", 1.0, &[("A", 0.0, &[(r1, 1.0)]), ("B", 2.0, &[(r2, 1.0)])]);
    demand(&mut p, a, "K1", 1, 0, 130.0, 10.0);
    let s = solved(&p);
    close(s.cost.total(), 60.0);
    close(s.production[a][0][0], 100.0);
    close(s.production[a][1][0], 30.0);
}

/// 100 h, no fix; priority 1 wants 80, priority 2 wants 50, same SKU and margin 10. Any split
/// loses 30 x 10 = 300; priority 1 is served in full, priority 2 gets the 20 left.
#[test]
fn no_fix_shortfall_by_priority() {
    for rule in [AllocationRule::CostFirst, AllocationRule::PriorityFirst] {
        let mut p = problem(1);
        p.rule = rule;
        let r = resource(&mut p, "R1", &[100.0], 0.0, 0.0);
        let a = item(&mut p, "A", 1.0, &[("A", 0.0, &[(r, 1.0)])]);
        demand(&mut p, a, "K2", 2, 0, 50.0, 10.0);
        demand(&mut p, a, "K1", 1, 0, 80.0, 10.0);
        let s = solved(&p);
        close(s.cost.total(), 300.0);
        close(s.served[1], 80.0);
        close(s.served[0], 20.0);
    }
}

/// One component a unit, none in stock; the supplier's lead time is 3 months, expediting takes 1
/// month at 5 a unit. Demand 10 in months 0, 1 and 3. Month 0 is lost whatever is done; month 3
/// is bought in time at no premium. Margin 8: expediting month 1 (50) beats losing it (80):
/// least cost 80 + 50 = 130. Margin 3: losing month 1 (30) beats expediting (50): 30 + 30 = 60.
#[test]
fn component_short_inside_its_lead_time() {
    for (margin, cost, expedited) in [(8.0, 130.0, 10.0), (3.0, 60.0, 0.0)] {
        let mut p = problem(4);
        let a = item(&mut p, "A", 0.0, &[("A", 0.0, &[])]);
        let mut o = option(0, 10.0, 3);
        o.can_expedite = true;
        o.expedite_premium_per_unit = 5.0;
        o.expedite_lead_time_months = 1;
        let c = component(&mut p, "C", 10.0, vec![o]);
        p.bom.push(BomEdge { parent: a, child: Part::Component(c), qty_per: 1.0 });
        for t in [0, 1, 3] {
            demand(&mut p, a, "K1", 1, t, 10.0, margin);
        }
        let s = solved(&p);
        close(s.cost.total(), cost);
        close(s.expedites[c][0][1], expedited);
        close(s.purchases[c][0][3], 10.0);
    }
}

/// Two SKUs on one 100 h line: A (margin 10, 2 h a unit: 5 an hour), B (margin 6, 1 h: 6 an
/// hour); 40 of each want 120 h. Cutting A by 10 units frees 20 h for 100 lost; cutting B by 20
/// units would lose 120. Least cost 100: A 30, B 40 (not the unit margin's order).
#[test]
fn two_skus_cut_by_margin_per_binding_hour() {
    let mut p = problem(1);
    let r = resource(&mut p, "R1", &[100.0], 0.0, 0.0);
    let a = item(&mut p, "A", 0.0, &[("A", 0.0, &[(r, 2.0)])]);
    let b = item(&mut p, "B", 0.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut p, a, "K1", 1, 0, 40.0, 10.0);
    demand(&mut p, b, "K1", 1, 0, 40.0, 6.0);
    let s = solved(&p);
    close(s.cost.total(), 100.0);
    close(s.served[0], 30.0);
    close(s.served[1], 40.0);
}

/// A component from S1 (10, 3 months) or S2 (13, 1 month). Demand 10 in month 1 (margin 20) and
/// 10 in month 4: month 1 from S2 at a premium of 3 (30, below the 200 lost), month 4 from S1.
/// Least cost 30.
#[test]
fn faster_dearer_alternate_supplier() {
    let mut p = problem(5);
    p.suppliers.push(Supplier::new("S2", 1.0));
    let a = item(&mut p, "A", 0.0, &[("A", 0.0, &[])]);
    let c = component(&mut p, "C", 10.0, vec![option(0, 10.0, 3), option(1, 13.0, 1)]);
    p.bom.push(BomEdge { parent: a, child: Part::Component(c), qty_per: 1.0 });
    demand(&mut p, a, "K1", 1, 1, 10.0, 20.0);
    demand(&mut p, a, "K1", 1, 4, 10.0, 20.0);
    let s = solved(&p);
    close(s.cost.total(), 30.0);
    close(s.purchases[c][1][1], 10.0);
    close(s.purchases[c][0][4], 10.0);
}

/// An open order of 100 due in month 1 from a supplier with OTIF 0.6: 60 arrive in month 1, 40
/// in month 2. Nothing else can arrive in the 3 months (lead time 5). Demand 100 in month 1 at
/// margin 10: 40 lost, 400.
#[test]
fn late_po_from_a_low_otif_supplier() {
    let mut p = problem(3);
    p.suppliers[0].otif = 0.6;
    let a = item(&mut p, "A", 0.0, &[("A", 0.0, &[])]);
    let c = component(&mut p, "C", 10.0, vec![option(0, 10.0, 5)]);
    p.components[c].open_pos.push(OpenPo { month: 1, qty: 100.0, supplier: 0 });
    p.bom.push(BomEdge { parent: a, child: Part::Component(c), qty_per: 1.0 });
    demand(&mut p, a, "K1", 1, 1, 100.0, 10.0);
    let s = solved(&p);
    close(s.cost.total(), 400.0);
    close(s.served[0], 60.0);
    close(s.component_stock[c][2], 40.0);
}

/// A priority-1 customer buys only A (margin 2), a priority-2 customer B (margin 10); both 1 h
/// a unit on a 100 h line, 60 each. `cost_first`: B in full, A 40: 20 x 2 = 40 lost.
/// `priority_first`: A in full, B 40: 20 x 10 = 200 lost.
#[test]
fn priority_one_customer_of_a_low_margin_sku() {
    for (rule, cost, served_a) in
        [(AllocationRule::CostFirst, 40.0, 40.0), (AllocationRule::PriorityFirst, 200.0, 60.0)]
    {
        let mut p = problem(1);
        p.rule = rule;
        let r = resource(&mut p, "R1", &[100.0], 0.0, 0.0);
        let a = item(&mut p, "A", 0.0, &[("A", 0.0, &[(r, 1.0)])]);
        let b = item(&mut p, "B", 0.0, &[("A", 0.0, &[(r, 1.0)])]);
        demand(&mut p, a, "K1", 1, 0, 60.0, 2.0);
        demand(&mut p, b, "K2", 2, 0, 60.0, 10.0);
        let s = solved(&p);
        close(s.cost.total(), cost);
        close(s.served[0], served_a);
    }
}

/// `priority_first` spends no more on fixes than the least-cost plan: priority 1 (margin 1)
/// could be served by 10 h of overtime at 4 an hour, which the least-cost plan does not buy
/// (4 > 1), so it is not bought; the 100 regular hours go to priority 1 first.
#[test]
fn priority_first_buys_no_more_than_least_cost() {
    let mut p = problem(1);
    p.rule = AllocationRule::PriorityFirst;
    let r = resource(&mut p, "R1", &[100.0], 10.0, 4.0);
    let a = item(&mut p, "A", 0.0, &[("A", 0.0, &[(r, 1.0)])]);
    let b = item(&mut p, "B", 0.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut p, a, "K1", 1, 0, 110.0, 1.0);
    demand(&mut p, b, "K2", 2, 0, 10.0, 2.0);
    let s = solved(&p);
    close(s.overtime[r][0], 0.0);
    close(s.served[0], 100.0);
    close(s.served[1], 0.0);
    close(s.cost.total(), 10.0 + 20.0);
}

/// A finished good P takes 2 of a sub-assembly S, made on R2 at 1 h a unit (100 h), from one
/// component C each (200 in stock). P wants 60 (margin 10): S caps P at 50, 10 lost, 100.
#[test]
fn sub_assembly_loads_its_own_resource() {
    let mut p = problem(1);
    let r1 = resource(&mut p, "R1", &[1000.0], 0.0, 0.0);
    let r2 = resource(&mut p, "R2", &[100.0], 0.0, 0.0);
    let fg = item(&mut p, "P", 0.0, &[("A", 0.0, &[(r1, 1.0)])]);
    let sub = item(&mut p, "S", 0.0, &[("A", 0.0, &[(r2, 1.0)])]);
    let c = component(&mut p, "C", 1.0, vec![option(0, 1.0, 5)]);
    p.components[c].opening_stock = 200.0;
    p.bom.push(BomEdge { parent: fg, child: Part::Item(sub), qty_per: 2.0 });
    p.bom.push(BomEdge { parent: sub, child: Part::Component(c), qty_per: 1.0 });
    demand(&mut p, fg, "K1", 1, 0, 60.0, 10.0);
    let s = solved(&p);
    close(s.cost.total(), 100.0);
    close(s.production[sub][0][0], 100.0);
    close(s.component_stock[c][0], 100.0);
}

/// With month 0 frozen, its overtime (cheaper than the margin) cannot be bought: 20 units lost
/// (200); month 1's identical gap takes 20 h of overtime (80). Least cost 280.
#[test]
fn nothing_changes_inside_the_frozen_horizon() {
    let mut p = problem(2);
    p.frozen_months = 1;
    let r = resource(&mut p, "R1", &[100.0, 100.0], 50.0, 4.0);
    let a = item(&mut p, "A", 100.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut p, a, "K1", 1, 0, 120.0, 10.0);
    demand(&mut p, a, "K1", 1, 1, 120.0, 10.0);
    let s = solved(&p);
    close(s.cost.total(), 280.0);
    close(s.overtime[r][0], 0.0);
}

/// Forbidding a lever re-solves without it: without overtime in month 1 the overtime case
/// (80) builds ahead instead (100).
#[test]
fn forbidding_a_lever_prices_the_next_best_way() {
    let mut p = problem(2);
    let r = resource(&mut p, "R1", &[100.0, 100.0], 50.0, 4.0);
    let a = item(&mut p, "A", 5.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut p, a, "K1", 1, 1, 120.0, 10.0);
    let forbid = [Lever::Overtime { resource: r, month: 1 }].into_iter().collect();
    let s = solve_without(&p, &forbid).unwrap();
    close(s.cost.total(), 100.0);
    close(s.item_stock[a][0], 20.0);
}

/// The least-cost stage alone costs what the whole lexicographic solve costs under
/// `cost_first` (the two SKUs case: 100), with its own plan passing the checker.
#[test]
fn the_least_cost_stage_alone_costs_the_same() {
    let mut p = problem(1);
    let r = resource(&mut p, "R1", &[100.0], 0.0, 0.0);
    let a = item(&mut p, "A", 0.0, &[("A", 0.0, &[(r, 2.0)])]);
    let b = item(&mut p, "B", 0.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut p, a, "K1", 1, 0, 40.0, 10.0);
    demand(&mut p, b, "K1", 1, 0, 40.0, 6.0);
    let s = solve_least_cost(&p).unwrap();
    assert!(largest_violation(&p, &s).0 < 1e-6);
    close(s.cost.total(), 100.0);
}

/// Identical problems give byte-identical plans.
#[test]
fn identical_inputs_give_identical_plans() {
    let mut p = problem(3);
    let r = resource(&mut p, "R1", &[100.0, 80.0, 60.0], 10.0, 4.0);
    let a = item(&mut p, "A", 1.0, &[("A", 0.0, &[(r, 1.0)])]);
    let b = item(&mut p, "B", 1.0, &[("A", 0.0, &[(r, 1.0)])]);
    for t in 0..3 {
        demand(&mut p, a, "K1", 1, t, 60.0, 5.0);
        demand(&mut p, b, "K2", 1, t, 60.0, 5.0);
    }
    let one = serde_json::to_string(&solved(&p)).unwrap();
    let two = serde_json::to_string(&solved(&p)).unwrap();
    assert_eq!(one, two);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A random small problem: 3 months, 2 resources, 1-3 items (item i may use item i+1 as a
    /// sub-assembly), 1-2 components with one or two supplier options and an open order,
    /// demand for every item in every month by one of two customers.
    pub(super) fn random_problem() -> impl Strategy<Value = Problem> {
        (
            prop::collection::vec((0.0f64..150.0, 0.0f64..30.0, 1.0f64..20.0), 2),
            prop::collection::vec(
                (0usize..2, 0.1f64..3.0, 0.0f64..5.0, prop::option::of((0usize..2, 0.5f64..3.0, 0.0f64..4.0))),
                1..4,
            ),
            prop::collection::vec((1.0f64..20.0, 0usize..4, 0.0f64..8.0, 0.0f64..60.0, 0.3f64..1.0), 1..3),
            prop::collection::vec((0.0f64..60.0, 0.0f64..25.0, 1i64..3), 3..10),
            any::<bool>(),
        )
            .prop_map(|(res, items, comps, lines, sub)| {
                let n = 3;
                let mut p = problem(n);
                p.suppliers.push(Supplier::new("S2", 1.0));
                for (k, &(h, ot, rate)) in res.iter().enumerate() {
                    resource(&mut p, &format!("R{k}"), &vec![h; n], ot, rate);
                }
                for (i, &(r, h, hold, alt)) in items.iter().enumerate() {
                    let primary = [(r, h)];
                    let alt_ops = alt.map(|(ar, ah, premium)| ([(ar, ah)], premium));
                    let mut routings: Vec<RoutingSpec<'_>> = vec![("A", 0.0, &primary)];
                    if let Some((ops, premium)) = &alt_ops {
                        routings.push(("B", *premium, ops));
                    }
                    item(&mut p, &format!("I{i}"), hold, &routings);
                }
                for (c, &(cost, lead, premium, po, otif)) in comps.iter().enumerate() {
                    let mut fast = option(1, cost + premium, lead.saturating_sub(2));
                    fast.can_expedite = c == 0;
                    fast.expedite_premium_per_unit = premium;
                    fast.expedite_lead_time_months = 0;
                    let k = component(&mut p, &format!("C{c}"), cost, vec![option(0, cost, lead), fast]);
                    p.components[k].open_pos.push(OpenPo { month: 0, qty: po, supplier: 0 });
                    p.suppliers[0].otif = otif;
                    for i in 0..p.items.len() {
                        p.bom.push(BomEdge { parent: i, child: Part::Component(k), qty_per: 1.0 + (i % 2) as f64 });
                    }
                }
                if sub && p.items.len() > 1 {
                    p.bom.push(BomEdge { parent: 0, child: Part::Item(1), qty_per: 1.0 });
                }
                for (k, &(qty, margin, priority)) in lines.iter().enumerate() {
                    let it = k % p.items.len();
                    demand(&mut p, it, &format!("K{priority}"), priority, k % n, qty, margin);
                }
                p
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

        /// Every plan passes the checker, under both rules.
        #[test]
        fn every_plan_passes_the_checker(mut p in random_problem()) {
            for rule in [AllocationRule::CostFirst, AllocationRule::PriorityFirst] {
                p.rule = rule;
                let s = solve(&p).unwrap();
                let (v, what) = largest_violation(&p, &s);
                prop_assert!(v < 1e-6, "violation {} ({}) under {:?}", v, what, rule);
                // The plan's stated cost is its own: recomputed here with plain loops.
                let mut lost = 0.0;
                for (d, line) in p.demand.iter().enumerate() {
                    lost += line.unit_margin * (line.qty - s.served[d]);
                }
                prop_assert!((s.cost.lost_margin_money - lost).abs() < 1e-6);
            }
        }

        /// Taking regular hours away never makes the least-cost plan cheaper.
        #[test]
        fn removing_capacity_never_lowers_the_cost(p in random_problem(), cut in 0.0f64..1.0, which in 0usize..2) {
            let base = solve(&p).unwrap().cost.total();
            let mut less = p.clone();
            for m in &mut less.resources[which].months {
                m.regular_hours *= cut;
            }
            let after = solve(&less).unwrap().cost.total();
            prop_assert!(after >= base - 1e-6 * base.abs().max(1.0), "{} < {}", after, base);
        }
    }
}

/// Two problems side by side, sharing nothing: `b`'s indices moved past `a`'s, the demand lines
/// interleaved (a's first line, b's first, a's second, ...), so the pieces' plans must be merged
/// back in the whole's order.
fn side_by_side(a: &Problem, b: &Problem) -> Problem {
    let mut p = a.clone();
    let (ni, nr, nc, ns) = (a.items.len(), a.resources.len(), a.components.len(), a.suppliers.len());
    p.suppliers.extend(b.suppliers.iter().cloned());
    p.resources.extend(b.resources.iter().cloned());
    for it in &b.items {
        let mut it = it.clone();
        for op in it.routings.iter_mut().flat_map(|r| r.operations.iter_mut()) {
            op.resource += nr;
        }
        p.items.push(it);
    }
    for c in &b.components {
        let mut c = c.clone();
        c.open_pos.iter_mut().for_each(|po| po.supplier += ns);
        c.options.iter_mut().for_each(|o| o.supplier += ns);
        p.components.push(c);
    }
    for e in &b.bom {
        let child = match e.child {
            Part::Item(i) => Part::Item(i + ni),
            Part::Component(c) => Part::Component(c + nc),
        };
        p.bom.push(BomEdge { parent: e.parent + ni, child, qty_per: e.qty_per });
    }
    let moved: Vec<DemandLine> = b.demand.iter().map(|d| DemandLine { item: d.item + ni, ..d.clone() }).collect();
    p.demand.clear();
    for k in 0..a.demand.len().max(moved.len()) {
        p.demand.extend(a.demand.get(k).cloned());
        p.demand.extend(moved.get(k).cloned());
    }
    p
}

/// Every lexicographic stage's objective of a plan, with plain loops: the cost, the units
/// served per priority (1 first), the served units weighted by the months left.
fn objectives(p: &Problem, s: &Solution) -> Vec<f64> {
    let n = p.months.len();
    let mut out = vec![s.cost.total()];
    let mut levels: Vec<i64> = p.demand.iter().map(|d| d.priority).collect();
    levels.sort_unstable();
    levels.dedup();
    for lv in levels {
        let mut served = 0.0;
        for (d, line) in p.demand.iter().enumerate() {
            if line.priority == lv {
                served += s.served[d];
            }
        }
        out.push(served);
    }
    let mut early = 0.0;
    for (d, line) in p.demand.iter().enumerate() {
        early += s.served[d] * (n - line.month) as f64;
    }
    out.push(early);
    out
}

/// Equal to 1e-6 relative (and the held optima's absolute slack).
fn same(a: &[f64], b: &[f64]) -> Result<(), String> {
    for (x, y) in a.iter().zip(b) {
        if (x - y).abs() > 1e-6 * x.abs().max(y.abs()) + 1e-5 {
            return Err(format!("{a:?} != {b:?}"));
        }
    }
    Ok(())
}

/// The overtime case (least cost 80, alone) next to the two SKUs case (100, alone), plus a
/// resource no routing loads and a component nothing consumes: three pieces (two components,
/// the unused nodes last), the plan 80 + 100 = 180 as the whole solve finds it.
#[test]
fn the_problem_is_cut_at_its_connected_components() {
    let mut a = problem(2);
    let r = resource(&mut a, "R1", &[100.0, 100.0], 50.0, 4.0);
    let x = item(&mut a, "A", 5.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut a, x, "K1", 1, 1, 120.0, 10.0);
    let mut b = problem(2);
    let r = resource(&mut b, "R1", &[100.0, 100.0], 0.0, 0.0);
    let x = item(&mut b, "A", 0.0, &[("A", 0.0, &[(r, 2.0)])]);
    let y = item(&mut b, "B", 0.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut b, x, "K1", 1, 0, 40.0, 10.0);
    demand(&mut b, y, "K1", 1, 0, 40.0, 6.0);
    let mut p = side_by_side(&a, &b);
    resource(&mut p, "idle", &[10.0, 10.0], 0.0, 0.0);
    let c = component(&mut p, "unused", 1.0, vec![option(0, 1.0, 0)]);
    p.components[c].opening_stock = 5.0;
    let cut = split::split(&p, SplitOptions::default());
    assert_eq!(cut.pieces.len(), 3);
    assert_eq!((cut.pieces[0].items.clone(), cut.pieces[1].items.clone()), (vec![0], vec![1, 2]));
    assert_eq!(cut.pieces[0].demand, vec![0]);
    assert_eq!(cut.pieces[1].demand, vec![1, 2]);
    assert!(!cut.approximate());
    let s = solved(&p);
    close(s.cost.total(), 180.0);
    close(s.overtime[0][1], 20.0);
    close(s.served[0], 120.0);
    close(s.component_stock[c][1], 5.0);
    let whole = solve_with(&p, &BTreeSet::new(), usize::MAX, SplitOptions::whole()).unwrap();
    assert_eq!(split::split(&p, SplitOptions::whole()).pieces.len(), 1);
    same(&objectives(&p, &s), &objectives(&p, &whole)).unwrap();
}

/// Cut approximately (every finished good its own piece, the shared resource's hours and the
/// shared component's stock split by requirement), the plan still passes the checker on the
/// whole problem and costs no less than the optimum. Here two SKUs share a 100 h line; A needs
/// 60 h (requirement 60), B 60 h: each piece gets 50 h, A loses 10 units (margin 10) and B
/// 10 (margin 6): 160, where the whole finds 120 (B, the lower margin per hour, cut by 20).
/// Forbidding what the least-cost plan does not use solves nothing. As in
/// `overtime_is_cheapest`: month 1 needs 120 h on a 100 h line, least cost 80 (20 h overtime
/// in month 1 at 4). Forbidding month 0's overtime (unused) keeps that plan, no piece solved;
/// forbidding month 1's solves the piece: 20 units built ahead in month 0 at holding 5 = 100.
#[test]
fn forbidding_an_unused_lever_solves_nothing() {
    let mut p = problem(2);
    let r = resource(&mut p, "R1", &[100.0, 100.0], 50.0, 4.0);
    let x = item(&mut p, "A", 5.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut p, x, "K1", 1, 1, 120.0, 10.0);
    let mut pricer = Pricer::new(&p, &BTreeSet::new());
    let reference = pricer.reference().unwrap();
    close(reference.overtime[r][1], 20.0);
    let idle = pricer.solve_without(&BTreeSet::from([Lever::Overtime { resource: r, month: 0 }])).unwrap();
    assert_eq!((pricer.piece_solves, pricer.piece_solves_saved), (1, 1));
    assert_eq!(idle, reference);
    let used = pricer.solve_without(&BTreeSet::from([Lever::Overtime { resource: r, month: 1 }])).unwrap();
    assert_eq!((pricer.piece_solves, pricer.piece_solves_saved), (2, 1));
    close(used.overtime[r][1], 0.0);
    close(used.item_stock[x][0], 20.0);
    close(used.cost.total(), 100.0);
    close(reference.cost.total(), 80.0);
}

#[test]
fn an_approximate_cut_is_feasible_and_never_cheaper() {
    let mut p = problem(1);
    let r = resource(&mut p, "R1", &[100.0], 0.0, 0.0);
    let a = item(&mut p, "A", 0.0, &[("A", 0.0, &[(r, 1.0)])]);
    let b = item(&mut p, "B", 0.0, &[("A", 0.0, &[(r, 1.0)])]);
    demand(&mut p, a, "K1", 1, 0, 60.0, 10.0);
    demand(&mut p, b, "K1", 1, 0, 60.0, 6.0);
    let opts = SplitOptions { connected: true, approximate_above_items: Some(1), piece_items: 1 };
    let cut = split::split(&p, opts);
    assert_eq!(cut.pieces.len(), 2);
    assert!(cut.approximate());
    close(cut.pieces[0].problem.resources[0].months[0].regular_hours, 50.0);
    let s = solve_with(&p, &BTreeSet::new(), usize::MAX, opts).unwrap();
    assert!(largest_violation(&p, &s).0 < 1e-6);
    close(s.cost.total(), 160.0);
    close(solve(&p).unwrap().cost.total(), 120.0);
}

/// A re-plan re-solves only the piece its change reaches, and its plan is the uncached one to
/// the bit. Three pieces side by side: (a) month 1 needs 130 h on a 100 h line (margin 11,
/// overtime at 3: least cost 30 h x 3 = 90); (b) and (c) as (a) on lines of their own. The
/// plan first; then month 1's overtime on (a)'s line forbidden: (a) builds 30 ahead in month 0
/// at holding 4 = 120 (cheaper than losing 30 x 11 = 330), (b) and (c) are taken from the memo.
/// Total 90 + 90 + 90 = 270 before, 120 + 90 + 90 = 300 after.
#[test]
fn a_re_plan_re_solves_only_the_piece_that_changed() {
    let one = || {
        let mut a = problem(2);
        let r = resource(&mut a, "R1", &[100.0, 100.0], 50.0, 3.0);
        let x = item(&mut a, "A", 4.0, &[("A", 0.0, &[(r, 1.0)])]);
        demand(&mut a, x, "K7", 1, 1, 130.0, 11.0);
        a
    };
    let p = side_by_side(&side_by_side(&one(), &one()), &one());
    let opts = SplitOptions::default();
    assert_eq!(split::split(&p, opts).pieces.len(), 3);
    let none = BTreeSet::new();
    let (plan, _) = solve_with_memo(&p, &none, usize::MAX, opts, true).unwrap();
    close(plan.cost.total(), 270.0);
    // The same plan again: every piece from the memo, equal to the bit.
    let (again, solved) = solve_with_memo(&p, &none, usize::MAX, opts, true).unwrap();
    assert_eq!((solved, &again), (0, &plan));
    let forbid = BTreeSet::from([Lever::Overtime { resource: 0, month: 1 }]);
    let (cached, solved) = solve_with_memo(&p, &forbid, usize::MAX, opts, true).unwrap();
    assert_eq!(solved, 1);
    let (uncached, solved) = solve_with_memo(&p, &forbid, usize::MAX, opts, false).unwrap();
    assert_eq!(solved, 3);
    assert_eq!(cached, uncached);
    close(cached.cost.total(), 300.0);
    close(cached.item_stock[0][0], 30.0);
    close(cached.overtime[1][1], 30.0);
    // The pricer's plan reuses the pieces too, and is the same plan.
    let (pricer, with_plan) = Pricer::with_plan(&p, &forbid, opts).unwrap();
    assert_eq!((pricer.plan_pieces_reused, &with_plan), (3, &cached));
}

mod decomposition {
    use proptest::prelude::*;

    use super::properties::random_problem;
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Two random problems side by side: cut at the components, every stage's objective
        /// equals the whole solve's (`cost_first`; the least-cost stage under `priority_first`),
        /// the plan passes the checker, and pricing a
        /// lever through its piece costs what re-solving the whole costs.
        #[test]
        fn the_cut_problem_solves_as_the_whole(a in random_problem(), b in random_problem(), rule in 0usize..2) {
            let mut p = side_by_side(&a, &b);
            p.rule = [AllocationRule::CostFirst, AllocationRule::PriorityFirst][rule];
            prop_assert!(split::split(&p, SplitOptions::default()).pieces.len() >= 2);
            let cut = solve(&p).unwrap();
            let whole = solve_with(&p, &BTreeSet::new(), usize::MAX, SplitOptions::whole()).unwrap();
            let (v, what) = largest_violation(&p, &cut);
            prop_assert!(v < 1e-6, "violation {} ({})", v, what);
            if p.rule == AllocationRule::CostFirst {
                prop_assert!(same(&objectives(&p, &cut), &objectives(&p, &whole)).is_ok(),
                    "{:?} != {:?}", objectives(&p, &cut), objectives(&p, &whole));
            } else {
                // `priority_first` caps each fix at the least-cost plan the solver found; where
                // several least-cost plans tie, the cut and the whole may find different ones,
                // so only the least-cost stage is the same.
                let least = |o: SplitOptions| solve_with(&p, &BTreeSet::new(), 1, o).unwrap().cost.total();
                same(&[least(SplitOptions::default())], &[least(SplitOptions::whole())]).unwrap();
            }
            let mut pieces = Pricer::new(&p, &BTreeSet::new());
            let mut one = Pricer::with(&p, &BTreeSet::new(), SplitOptions::whole());
            same(&[pieces.reference().unwrap().cost.total()], &[one.reference().unwrap().cost.total()]).unwrap();
            for r in 0..p.resources.len() {
                let forbid: BTreeSet<Lever> = (0..p.months.len()).map(|month| Lever::Overtime { resource: r, month }).collect();
                let x = pieces.solve_without(&forbid).unwrap();
                let y = one.solve_without(&forbid).unwrap();
                prop_assert!(same(&[x.cost.total(), x.cost.spend()], &[y.cost.total(), y.cost.spend()]).is_ok(),
                    "resource {}: {:?} != {:?}", r, x.cost, y.cost);
                prop_assert!(largest_violation(&p, &x).0 < 1e-6);
            }
        }

        /// The pricer's plan and reference come from one lexicographic solve per piece: the plan
        /// is `solve_with`'s and the reference the least-cost plan a cold solve finds, both
        /// identical to the last bit. A pricer keeping one warm model (every other dropped and
        /// built again when its piece comes back) prices every lever at the same cost as one
        /// keeping them all (and as a cold solve of the whole).
        #[test]
        fn the_plan_gives_the_reference_and_few_warm_models_price_alike(
            a in random_problem(), b in random_problem(), rule in 0usize..2,
        ) {
            let mut p = side_by_side(&a, &b);
            p.rule = [AllocationRule::CostFirst, AllocationRule::PriorityFirst][rule];
            let (mut one, plan) = Pricer::with_plan(&p, &BTreeSet::new(), SplitOptions::default()).unwrap();
            prop_assert_eq!(&plan, &solve_with(&p, &BTreeSet::new(), usize::MAX, SplitOptions::default()).unwrap());
            let mut all = Pricer::new(&p, &BTreeSet::new());
            prop_assert_eq!(one.reference().unwrap(), all.reference().unwrap());
            prop_assert_eq!(one.models_built, 0);
            one.max_warm = 1;
            // Each resource's overtime, then the first again: the pieces come back in turn.
            let resources: Vec<usize> = (0..p.resources.len()).chain(0..1).collect();
            for r in resources {
                let forbid: BTreeSet<Lever> = (0..p.months.len()).map(|month| Lever::Overtime { resource: r, month }).collect();
                let x = one.solve_without(&forbid).unwrap();
                let y = all.solve_without(&forbid).unwrap();
                prop_assert!(same(&[x.cost.total(), x.cost.spend()], &[y.cost.total(), y.cost.spend()]).is_ok(),
                    "resource {}: {:?} != {:?}", r, x.cost, y.cost);
                // A cold solve of the whole, no pricer: pieces whose plan used no overtime on
                // the resource were not solved again, and that is exact.
                let z = solve_least_cost_without(&p, &forbid).unwrap();
                prop_assert!(same(&[x.cost.total()], &[z.cost.total()]).is_ok(), "resource {}: {:?} != {:?}", r, x.cost, z.cost);
            }
            prop_assert!(one.live_models() <= 1);
        }

        /// A plan with pieces reused from the memo equals the plan solved afresh, to the bit,
        /// with any one resource's overtime forbidden (only the pieces it reaches re-solved).
        #[test]
        fn reused_pieces_give_the_uncached_plan(a in random_problem(), b in random_problem(), r in 0usize..4) {
            let p = side_by_side(&a, &b);
            let opts = SplitOptions::default();
            let none = BTreeSet::new();
            let first = solve_with_memo(&p, &none, usize::MAX, opts, true).unwrap().0;
            prop_assert_eq!(&first, &solve_with_memo(&p, &none, usize::MAX, opts, false).unwrap().0);
            let forbid: BTreeSet<Lever> = (0..p.months.len()).map(|month| Lever::Overtime { resource: r, month }).collect();
            let (cached, solved) = solve_with_memo(&p, &forbid, usize::MAX, opts, true).unwrap();
            prop_assert!(solved <= 1, "{} pieces solved for one resource's levers", solved);
            prop_assert_eq!(&cached, &solve_with_memo(&p, &forbid, usize::MAX, opts, false).unwrap().0);
        }

        /// Cut approximately, every piece one finished good: the merged plan is feasible for the
        /// whole and never cheaper than its optimum.
        #[test]
        fn an_approximate_plan_is_feasible(a in random_problem(), b in random_problem()) {
            let p = side_by_side(&a, &b);
            let opts = SplitOptions { connected: true, approximate_above_items: Some(0), piece_items: 1 };
            let s = solve_with(&p, &BTreeSet::new(), 1, opts).unwrap();
            let (v, what) = largest_violation(&p, &s);
            prop_assert!(v < 1e-6, "violation {} ({})", v, what);
            let best = solve_least_cost(&p).unwrap().cost.total();
            prop_assert!(s.cost.total() >= best - 1e-6 * best.abs().max(1.0), "{} < {}", s.cost.total(), best);
        }
    }
}
