//! The constrained plan (greedy allocation): month by month, demand is served from finished
//! goods, then from production limited by regular hours and by material, in the order of the
//! allocation rule (customer priority 1 first, then unit margin, or the reverse). It never
//! exceeds demand nor regular hours; receipts are assumed to arrive as promised.
//!
//! This phase is self-contained so that an optimiser can replace it: it reads the masters, the
//! demand cells, the netting, the routings, capacity and the material limits, and returns the
//! constrained quantity per (SKU, customer) and month.

use std::collections::BTreeMap;

use super::capacity::{Cap, Routes};
use super::masters::Masters;
use super::netting::Netting;
use super::{AllocationRule, EPS};

/// (SKU, customer) to the constrained units per plan month.
pub(super) type Constrained = BTreeMap<(usize, usize), Vec<f64>>;

/// Allocates supply to demand month by month (see the module's doc). `mat_cap` is the
/// material-limited production per SKU and month.
pub(super) fn allocate(
    masters: &Masters<'_>,
    cells: &BTreeMap<(usize, usize), Vec<f64>>,
    net: &Netting,
    routes: &Routes,
    cap: &[Vec<Cap>],
    mat_cap: &[Vec<f64>],
) -> Constrained {
    let Masters { n, params: p, ref items, ref customers, .. } = *masters;
    let inv_used = &net.inv_used;
    let primary = &routes.primary;
    let margin_of = |s: usize| items[s].margin();
    let mut hours_left: Vec<Vec<f64>> = cap.iter().map(|row| row.iter().map(|c| c.available).collect()).collect();
    let mut constrained: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    for mi in 0..n {
        let mut rows: Vec<(usize, usize, f64)> =
            cells.iter().filter(|(_, q)| q[mi] > EPS).map(|(&(s, c), q)| (s, c, q[mi])).collect();
        rows.sort_by(|a, b| {
            let pa = customers[a.1].1;
            let pb = customers[b.1].1;
            let ma = margin_of(a.0);
            let mb = margin_of(b.0);
            let by_priority = pa.cmp(&pb);
            let by_margin = mb.total_cmp(&ma);
            let first = match p.allocation {
                AllocationRule::PriorityFirst => by_priority.then(by_margin),
                AllocationRule::CostFirst => by_margin.then(by_priority),
            };
            first.then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1))
        });
        let mut inv_left: Vec<f64> = (0..items.len()).map(|s| inv_used[s][mi]).collect();
        let mut mat_left: Vec<f64> = (0..items.len()).map(|s| mat_cap[s][mi]).collect();
        for (s, c, q) in rows {
            let from_inv = q.min(inv_left[s]);
            inv_left[s] -= from_inv;
            let need = q - from_inv;
            let mut limit = mat_left[s];
            for &(r, h) in &primary[s] {
                if h > 0.0 {
                    limit = limit.min(hours_left[r][mi].max(0.0) / h);
                }
            }
            let made = need.min(limit.max(0.0));
            mat_left[s] -= made;
            for &(r, h) in &primary[s] {
                hours_left[r][mi] = (hours_left[r][mi] - made * h).max(0.0);
            }
            constrained.entry((s, c)).or_insert_with(|| vec![0.0; n])[mi] = from_inv + made;
        }
    }
    constrained
}
