//! The independent checker: every balance and limit of a plan recomputed with plain loops over
//! the [`Problem`], never from the solver's matrix.

use super::{Problem, Solution};

/// The largest violation of any balance or limit, with what it is (0 and empty when none).
pub fn largest_violation(p: &Problem, s: &Solution) -> (f64, String) {
    let n = p.months.len();
    let frozen = p.frozen_months.min(n);
    let mut worst = (0.0f64, String::new());
    let mut note = |v: f64, what: &dyn Fn() -> String| {
        if v > worst.0 {
            worst = (v, what());
        }
    };
    // Signs and bounds.
    let all = s
        .production
        .iter()
        .flatten()
        .flatten()
        .chain(s.overtime.iter().flatten())
        .chain(s.item_stock.iter().flatten())
        .chain(s.component_stock.iter().flatten())
        .chain(s.purchases.iter().flatten().flatten())
        .chain(s.expedites.iter().flatten().flatten())
        .chain(s.served.iter());
    for &x in all {
        note(-x, &|| format!("negative quantity {x}"));
    }
    for (d, line) in p.demand.iter().enumerate() {
        note(s.served[d] - line.qty, &|| format!("demand line {d} served above its quantity"));
    }
    // Hours.
    for (r, res) in p.resources.iter().enumerate() {
        for t in 0..n {
            let mut load = 0.0;
            for (i, it) in p.items.iter().enumerate() {
                for (k, routing) in it.routings.iter().enumerate() {
                    for op in &routing.operations {
                        if op.resource == r {
                            load += op.hours_per_unit * s.production[i][k][t];
                        }
                    }
                }
            }
            let m = res.months[t];
            let ot = s.overtime[r][t];
            note(ot - m.overtime_ceiling_hours, &|| format!("overtime of {} in month {t} above its ceiling", res.name));
            if t < frozen {
                note(ot, &|| format!("overtime of {} in frozen month {t}", res.name));
            }
            note(load - m.regular_hours - ot, &|| format!("{} overloaded in month {t}", res.name));
        }
    }
    // Item balances.
    for (i, it) in p.items.iter().enumerate() {
        let mut stock = (it.opening_stock - it.safety_stock).max(0.0);
        for t in 0..n {
            let mut made = 0.0;
            for (k, per_month) in s.production[i].iter().enumerate() {
                made += per_month[t];
                if k > 0 && t < frozen {
                    note(per_month[t], &|| format!("{} on an alternate routing in frozen month {t}", it.name));
                }
            }
            let mut used = 0.0;
            for e in &p.bom {
                if e.child == super::Part::Item(i) {
                    used += e.qty_per * s.production[e.parent].iter().map(|k| k[t]).sum::<f64>();
                }
            }
            for (d, line) in p.demand.iter().enumerate() {
                if line.item == i && line.month == t {
                    used += s.served[d];
                }
            }
            stock += made - used;
            note((stock - s.item_stock[i][t]).abs(), &|| format!("{} stock balance off in month {t}", it.name));
            stock = s.item_stock[i][t];
        }
    }
    // Component balances.
    for (c, comp) in p.components.iter().enumerate() {
        let mut stock = (comp.opening_stock - comp.safety_stock).max(0.0);
        for t in 0..n {
            let mut arriving = 0.0;
            for po in &comp.open_pos {
                let otif = p.suppliers[po.supplier].otif;
                if po.month == t {
                    arriving += po.qty * otif;
                }
                if po.month + 1 == t {
                    arriving += po.qty * (1.0 - otif);
                }
            }
            for (o, opt) in comp.options.iter().enumerate() {
                let bought = s.purchases[c][o][t];
                let rushed = s.expedites[c][o][t];
                if t < opt.lead_time_months || t < frozen {
                    note(bought, &|| format!("{} bought inside its lead time in month {t}", comp.name));
                }
                if !opt.can_expedite || t < opt.expedite_lead_time_months || t < frozen {
                    note(rushed, &|| format!("{} expedited where it cannot be in month {t}", comp.name));
                }
                arriving += bought + rushed;
            }
            let mut used = 0.0;
            for e in &p.bom {
                if e.child == super::Part::Component(c) {
                    used += e.qty_per * s.production[e.parent].iter().map(|k| k[t]).sum::<f64>();
                }
            }
            stock += arriving - used;
            note((stock - s.component_stock[c][t]).abs(), &|| format!("{} stock balance off in month {t}", comp.name));
            stock = s.component_stock[c][t];
        }
    }
    worst
}
