//! Gap detection: where the unconstrained plan breaks. Capacity and labour gaps are months
//! where a resource's load exceeds its regular hours; material gaps are component shortfalls
//! inside the lead time (receipts as promised); supplier gaps are the extra in-lead-time
//! shortfall when at-risk suppliers deliver only their OTIF share. Each gap is priced with its
//! options (see `options`), and says which SKUs and customers it hits.
//!
//! Simplifications: a capacity gap's units are hours over the average hours per unit on that
//! resource, and spare hours a recommendation uses are reserved so two gaps never count them
//! twice.

use std::collections::{BTreeMap, BTreeSet};

use super::capacity::Load;
use super::constrained::Constrained;
use super::masters::Masters;
use super::materials::{Need, Short, Shorts};
use super::options::{Overload, Reach, capacity_options, material_options, recommend};
use super::{EPS, Gap, GapKind, OptionKind, Plan, r2, r3, suppliers};

/// Which customers a gap hits: for the SKUs and month, the customers whose demand the
/// constrained plan leaves short, or, if none is short, every customer with demand.
pub(super) struct CustomersHit<'x> {
    customers: &'x [(String, i64)],
    cells: &'x BTreeMap<(usize, usize), Vec<f64>>,
    constrained: &'x Constrained,
    /// Per SKU: the customers with a demand cell.
    customers_of: Vec<BTreeSet<usize>>,
}

impl<'x> CustomersHit<'x> {
    pub(super) fn new(
        masters: &'x Masters<'_>,
        cells: &'x BTreeMap<(usize, usize), Vec<f64>>,
        constrained: &'x Constrained,
    ) -> CustomersHit<'x> {
        let mut customers_of: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); masters.items.len()];
        for &(s, c) in cells.keys() {
            customers_of[s].insert(c);
        }
        CustomersHit { customers: &masters.customers, cells, constrained, customers_of }
    }

    /// Demand the constrained plan leaves unmet for a SKU, customer and month.
    fn unmet(&self, s: usize, c: usize, mi: usize) -> f64 {
        let d = self.cells.get(&(s, c)).map_or(0.0, |v| v[mi]);
        let k = self.constrained.get(&(s, c)).map_or(0.0, |v| v[mi]);
        (d - k).max(0.0)
    }

    /// The customers hit in month `mi` through `skus`, by name.
    pub(super) fn customers_hit(&self, skus: &BTreeSet<usize>, mi: usize) -> Vec<String> {
        let (cells, customers, customers_of) = (self.cells, self.customers, &self.customers_of);
        let mut short: BTreeSet<&str> = BTreeSet::new();
        let mut any: BTreeSet<&str> = BTreeSet::new();
        for &s in skus {
            for &c in &customers_of[s] {
                if cells[&(s, c)][mi] > EPS {
                    any.insert(&customers[c].0);
                    if self.unmet(s, c, mi) > 1e-6 {
                        short.insert(&customers[c].0);
                    }
                }
            }
        }
        let pick = if short.is_empty() { any } else { short };
        pick.into_iter().map(str::to_string).collect()
    }
}

/// Capacity and labour gaps, month by month and resource by resource: every month where a
/// resource's load exceeds its regular hours, priced with its options. The spare regular hours
/// a recommendation uses (build ahead, alternate site) are taken out before the next gap.
pub(super) fn capacity_gaps(plan: &Plan<'_>, hit: &CustomersHit<'_>) -> Vec<Gap> {
    let Masters { n, ref months, ref near_term, ref items, ref resources, .. } = plan.masters;
    let Load { ref load, ref units_on, ref rev_on, ref cost_on, ref skus_on } = plan.load;
    let cap = &plan.cap;
    let nr = resources.len();
    let customers_hit = |skus: &BTreeSet<usize>, mi: usize| hit.customers_hit(skus, mi);
    let mut gaps: Vec<Gap> = Vec::new();
    let mut spare: Vec<Vec<f64>> =
        (0..nr).map(|r| (0..n).map(|mi| (cap[r][mi].available - load[r][mi]).max(0.0)).collect()).collect();
    for mi in 0..n {
        for r in 0..nr {
            let over = load[r][mi] - cap[r][mi].available;
            if over <= 1e-6 {
                continue;
            }
            let res = &resources[r];
            let avg_h = load[r][mi] / units_on[r][mi].max(EPS);
            let units = over / avg_h;
            let avg_price = rev_on[r][mi] / units_on[r][mi].max(EPS);
            let avg_cost = cost_on[r][mi] / units_on[r][mi].max(EPS);
            let mut options =
                capacity_options(plan, &spare, &Overload { r, mi, over, units, avg_h, avg_price, avg_cost });
            let (recommended, taken) = recommend(&mut options, units);
            for (offer, fraction) in taken {
                for &(rr, mm, h) in &offer.takes {
                    spare[rr][mm] = (spare[rr][mm] - h * fraction).max(0.0);
                }
            }
            let kind = if res.kind == "labour" { GapKind::Labour } else { GapKind::Capacity };
            let skus: Vec<String> = skus_on[r][mi].iter().map(|&s| items[s].sku.clone()).collect();
            gaps.push(Gap {
                id: format!("{}-{}-{}", if kind == GapKind::Labour { "LAB" } else { "CAP" }, res.name, months[mi]),
                kind,
                resource: Some(res.name.clone()),
                site: Some(res.site.clone()),
                component: None,
                supplier: None,
                month: months[mi].to_string(),
                near_term: near_term[mi],
                hours_short: Some(r2(over)),
                component_units_short: None,
                units_short: r3(units),
                revenue_at_risk_money: r2(units * avg_price),
                margin_at_risk_money: r2(units * (avg_price - avg_cost)),
                customers_hit: customers_hit(&skus_on[r][mi], mi),
                skus_hit: skus,
                options: options.iter().map(|o| o.fact(units)).collect(),
                recommended_cost_money: r2(recommended.iter().map(|s| s.cost_money).sum()),
                recommended_closes_units: r3(recommended
                    .iter()
                    .filter(|s| s.kind != OptionKind::AcceptShortfall)
                    .map(|s| s.units)
                    .sum()),
                recommended,
            });
        }
    }
    gaps
}

/// A component's in-lead-time shortfall for one finished SKU: component and finished units,
/// and the part an expedite (`exp`) and the alternate supplier (`alt`) still reach.
#[derive(Clone, Copy, Default)]
struct Agg {
    comp: f64,
    fg: f64,
    exp: Reach,
    alt: Reach,
}

/// Material gaps (baseline in-lead-time shortfalls, per component and month of the production
/// they go into) and supplier gaps (the extra shortfall when at-risk receipts deliver only
/// their OTIF share), priced with their options.
pub(super) fn material_gaps(plan: &Plan<'_>, hit: &CustomersHit<'_>) -> Vec<Gap> {
    let Masters { params: p, cycle_start, ref months, ref near_term, ref items, .. } = plan.masters;
    let nodes = &plan.bom.nodes;
    let Shorts { base: ref base_shorts, risk: ref risk_shorts } = plan.shorts;
    let at_risk = |supplier: &str| suppliers::at_risk(&plan.otif, p, supplier);
    let customers_hit = |skus: &BTreeSet<usize>, mi: usize| hit.customers_hit(skus, mi);
    let mut gaps: Vec<Gap> = Vec::new();
    // Whether an order placed at the cycle start with `lead` days arrives by the need.
    let in_time = |lead: f64, need: &Need| f64::from(need.day) - lead >= f64::from(cycle_start);
    let expedited = |node: usize, need: &Need| nodes[node].expedite.is_some_and(|(lead, _)| in_time(lead, need));
    let alternate = |node: usize, need: &Need| {
        nodes[node].alternate.as_ref().is_some_and(|o| in_time(o.lead_time_days as f64, need))
    };
    let aggregate = |shorts: &[Short]| -> BTreeMap<(usize, usize), BTreeMap<usize, Agg>> {
        let mut out: BTreeMap<(usize, usize), BTreeMap<usize, Agg>> = BTreeMap::new();
        for sh in shorts.iter().filter(|s| s.within_lead_time) {
            let a = out.entry((sh.node, sh.need.root_month)).or_default().entry(sh.need.root).or_default();
            let fg = sh.need.qty / sh.need.factor.max(EPS);
            a.comp += sh.need.qty;
            a.fg += fg;
            if expedited(sh.node, &sh.need) {
                a.exp.add(sh.need.qty, fg);
            }
            if alternate(sh.node, &sh.need) {
                a.alt.add(sh.need.qty, fg);
            }
        }
        out
    };
    let base = aggregate(base_shorts);
    let risk = aggregate(risk_shorts);
    let mut po_suppliers: Vec<BTreeSet<String>> = vec![BTreeSet::new(); nodes.len()];
    for (i, nd) in nodes.iter().enumerate() {
        for (_, _, sup) in &nd.receipts {
            if at_risk(sup).is_some() {
                po_suppliers[i].insert(sup.clone());
            }
        }
    }
    let mut material_gap = |kind: GapKind, node: usize, mi: usize, by_root: &BTreeMap<usize, Agg>| {
        let nd = &nodes[node];
        let comp: f64 = by_root.values().map(|a| a.comp).sum();
        let units: f64 = by_root.values().map(|a| a.fg).sum();
        let total = |r: fn(&Agg) -> Reach| {
            by_root.values().map(r).fold(Reach::default(), |mut t, x| {
                t.add(x.comp, x.fg);
                t
            })
        };
        let (exp, alt) = (total(|a| a.exp), total(|a| a.alt));
        if comp <= 1e-6 {
            return;
        }
        let revenue: f64 = by_root.iter().map(|(&s, a)| a.fg * items[s].price).sum();
        let margin: f64 = by_root.iter().map(|(&s, a)| a.fg * items[s].margin()).sum();
        let mut options = material_options(nd, kind, exp, alt, units, margin);
        let (recommended, _) = recommend(&mut options, units);
        let skus: BTreeSet<usize> = by_root.keys().copied().collect();
        let supplier = if kind == GapKind::Supplier && !po_suppliers[node].is_empty() {
            po_suppliers[node].iter().cloned().collect::<Vec<_>>().join(", ")
        } else {
            nd.supplier.clone()
        };
        gaps.push(Gap {
            id: format!("{}-{}-{}", if kind == GapKind::Material { "MAT" } else { "SUP" }, nd.name, months[mi]),
            kind,
            resource: None,
            site: None,
            component: Some(nd.name.clone()),
            supplier: Some(supplier),
            month: months[mi].to_string(),
            near_term: near_term[mi],
            hours_short: None,
            component_units_short: Some(r3(comp)),
            units_short: r3(units),
            revenue_at_risk_money: r2(revenue),
            margin_at_risk_money: r2(margin),
            skus_hit: skus.iter().map(|&s| items[s].sku.clone()).collect(),
            customers_hit: customers_hit(&skus, mi),
            options: options.iter().map(|o| o.fact(units)).collect(),
            recommended_cost_money: r2(recommended.iter().map(|s| s.cost_money).sum()),
            recommended_closes_units: r3(recommended
                .iter()
                .filter(|s| s.kind != OptionKind::AcceptShortfall)
                .map(|s| s.units)
                .sum()),
            recommended,
        });
    };
    for (&(node, mi), by_root) in &base {
        material_gap(GapKind::Material, node, mi, by_root);
    }
    for (&(node, mi), by_root) in &risk {
        let empty = BTreeMap::new();
        let before = base.get(&(node, mi)).unwrap_or(&empty);
        let mut extra: BTreeMap<usize, Agg> = BTreeMap::new();
        for (&s, a) in by_root {
            let b = before.get(&s).copied().unwrap_or_default();
            let d = Agg {
                comp: (a.comp - b.comp).max(0.0),
                fg: (a.fg - b.fg).max(0.0),
                exp: a.exp.minus(b.exp),
                alt: a.alt.minus(b.alt),
            };
            if d.comp > 1e-6 {
                extra.insert(s, d);
            }
        }
        if !extra.is_empty() {
            material_gap(GapKind::Supplier, node, mi, &extra);
        }
    }
    gaps
}
