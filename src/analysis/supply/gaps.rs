//! Gap detection: where the unconstrained requirement does not fit as it is. Capacity and
//! labour gaps are months where a resource's load exceeds its regular hours; material gaps are
//! component shortfalls inside the lead time (receipts as promised); supplier gaps are the extra
//! in-lead-time shortfall when at-risk suppliers deliver only their OTIF share. Each gap says
//! which SKUs it hits and which of the optimiser's levers are its own (its scope, priced in
//! `pricing`):
//! - a capacity or labour gap on resource R in month M: overtime on R in M; building its SKUs
//!   ahead into M (their stock carried into M above what they opened with); their alternate
//!   routings in M;
//! - a material or supplier gap on component C in month M: C's expedites and its other
//!   suppliers' purchases arriving after C's previous gap month and by M (what arrives earlier
//!   is the earlier gap's; a material and a supplier gap of one month share their levers).
//!
//! Simplification: a capacity gap's units are hours over the average hours per unit on that
//! resource.

use std::collections::{BTreeMap, BTreeSet};

use super::capacity::Load;
use super::lp::{Lever, Problem};
use super::masters::Masters;
use super::materials::{Short, Shorts};
use super::pricing::{Constrained, Found, Scope};
use super::{EPS, Gap, GapKind, OptionKind, Plan, r2, r3, suppliers};

/// A gap as detected, before the optimiser prices it.
#[allow(clippy::too_many_arguments)] // the detected facts of a gap, each named at the call
fn detected(
    id: String,
    kind: GapKind,
    plan: &Plan<'_>,
    mi: usize,
    units: f64,
    skus: &BTreeSet<usize>,
    where_: (Option<String>, Option<String>, Option<String>, Option<String>),
    short: (Option<f64>, Option<f64>),
) -> Gap {
    let Masters { ref months, ref near_term, ref items, params, .. } = plan.masters;
    let (resource, site, component, supplier) = where_;
    Gap {
        id,
        kind,
        resource,
        site,
        component,
        supplier,
        month: months[mi].to_string(),
        near_term: near_term[mi],
        frozen: mi < params.frozen_months as usize,
        hours_short: short.0,
        component_units_short: short.1,
        units_short: r3(units),
        revenue_at_risk_money: 0.0,
        margin_at_risk_money: 0.0,
        skus_hit: skus.iter().map(|&s| items[s].sku.clone()).collect(),
        customers_hit: Vec::new(),
        options: Vec::new(),
        recommended: Vec::new(),
        recommended_cost_money: 0.0,
        recommended_closes_units: 0.0,
        next_best_extra_cost_money: None,
        priced_by: super::PricedBy::ReSolve,
    }
}

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
                    if self.unmet(s, c, mi) > super::pricing::UNIT_EPS {
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
/// resource's load exceeds its regular hours, with its levers in `problem`.
pub(super) fn capacity_gaps(plan: &Plan<'_>, problem: &Problem) -> Vec<Found> {
    let Masters { n, ref months, ref resources, .. } = plan.masters;
    let Load { ref load, ref units_on, ref skus_on, .. } = plan.load;
    let cap = &plan.cap;
    let mut gaps = Vec::new();
    for mi in 0..n {
        for (r, res) in resources.iter().enumerate() {
            let over = load[r][mi] - cap[r][mi].available;
            if over <= 1e-6 {
                continue;
            }
            let avg_h = load[r][mi] / units_on[r][mi].max(EPS);
            let kind = if res.kind == "labour" { GapKind::Labour } else { GapKind::Capacity };
            let id = format!("{}-{}-{}", if kind == GapKind::Labour { "LAB" } else { "CAP" }, res.name, months[mi]);
            let skus = &skus_on[r][mi];
            let gap = detected(
                id,
                kind,
                plan,
                mi,
                over / avg_h,
                skus,
                (Some(res.name.clone()), Some(res.site.clone()), None, None),
                (Some(r2(over)), None),
            );
            let mut levers = vec![(OptionKind::Overtime, Lever::Overtime { resource: r, month: mi })];
            for &s in skus {
                if mi > 0 {
                    levers.push((OptionKind::BuildAhead, Lever::BuildAhead { item: s, month: mi }));
                }
                for k in 1..problem.items.get(s).map_or(0, |it| it.routings.len()) {
                    levers.push((OptionKind::AlternateSite, Lever::Routing { item: s, routing: k, month: mi }));
                }
            }
            gaps.push(Found { gap, scope: Scope { skus: skus.clone(), month: mi, levers } });
        }
    }
    gaps
}

/// A component's in-lead-time shortfall for one finished SKU: component and finished units.
#[derive(Clone, Copy, Default)]
struct Agg {
    comp: f64,
    fg: f64,
}

/// Material gaps (baseline in-lead-time shortfalls, per component and month of the production
/// they go into) and supplier gaps (the extra shortfall when at-risk receipts deliver only
/// their OTIF share), with their levers in `problem`.
pub(super) fn material_gaps(plan: &Plan<'_>, problem: &Problem) -> Vec<Found> {
    let Masters { params: p, ref months, .. } = plan.masters;
    let nodes = &plan.bom.nodes;
    let Shorts { base: ref base_shorts, risk: ref risk_shorts } = plan.shorts;
    let at_risk = |supplier: &str| suppliers::at_risk(&plan.otif, p, supplier);
    let mut gaps: Vec<(usize, Found)> = Vec::new();
    let aggregate = |shorts: &[Short]| -> BTreeMap<(usize, usize), BTreeMap<usize, Agg>> {
        let mut out: BTreeMap<(usize, usize), BTreeMap<usize, Agg>> = BTreeMap::new();
        for sh in shorts.iter().filter(|s| s.within_lead_time) {
            let a = out.entry((sh.node, sh.need.root_month)).or_default().entry(sh.need.root).or_default();
            a.comp += sh.need.qty;
            a.fg += sh.need.qty / sh.need.factor.max(EPS);
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
        if comp <= 1e-6 {
            return;
        }
        let skus: BTreeSet<usize> = by_root.keys().copied().collect();
        let supplier = if kind == GapKind::Supplier && !po_suppliers[node].is_empty() {
            po_suppliers[node].iter().cloned().collect::<Vec<_>>().join(", ")
        } else {
            nd.supplier.clone()
        };
        let id = format!("{}-{}-{}", if kind == GapKind::Material { "MAT" } else { "SUP" }, nd.name, months[mi]);
        let gap = detected(
            id,
            kind,
            plan,
            mi,
            units,
            &skus,
            (None, None, Some(nd.name.clone()), Some(supplier)),
            (None, Some(r3(comp))),
        );
        gaps.push((node, Found { gap, scope: Scope { skus, month: mi, levers: Vec::new() } }));
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
            let d = Agg { comp: (a.comp - b.comp).max(0.0), fg: (a.fg - b.fg).max(0.0) };
            if d.comp > 1e-6 {
                extra.insert(s, d);
            }
        }
        if !extra.is_empty() {
            material_gap(GapKind::Supplier, node, mi, &extra);
        }
    }
    // Each gap's levers: arrivals after the component's previous gap month, up to its own.
    let mut months_of: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (node, f) in &gaps {
        months_of.entry(*node).or_default().insert(f.scope.month);
    }
    gaps.into_iter()
        .map(|(node, mut f)| {
            let mi = f.scope.month;
            let from = months_of[&node].range(..mi).next_back().map_or(0, |m| m + 1);
            if let Some(c) = problem.components.iter().position(|c| c.name == nodes[node].name) {
                for t in from..=mi {
                    f.scope.levers.push((OptionKind::Expedite, Lever::Expedite { component: c, month: t }));
                    for o in 1..problem.components[c].options.len() {
                        let lever = Lever::Purchase { component: c, option: o, month: t };
                        f.scope.levers.push((OptionKind::AlternateSupplier, lever));
                    }
                }
            }
            f
        })
        .collect()
}
