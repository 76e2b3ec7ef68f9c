//! The baseline: the old greedy allocation the least-cost plan replaced, kept only as the point
//! of comparison of `snop bench supply` and of the property test "the least-cost plan is never
//! dearer than the greedy one". Month by month, demand is served from finished goods, then from
//! production limited by regular hours and by material, in the order of the allocation rule
//! (customer priority 1 first, then unit margin, or the reverse). It buys no fix, never exceeds
//! demand nor regular hours, and assumes receipts arrive as promised.

use std::collections::BTreeMap;

use super::capacity::{self, Cap, Routes};
use super::masters::Masters;
use super::netting::{self, Netting};
use super::pricing::Constrained;
use super::{AllocationRule, EPS, SupplyInputs, materials, suppliers};
use crate::analysis::AnalysisError;

/// The greedy plan's outcome, costed as the optimiser costs a plan: it buys no fix, so its cost
/// is the margin it loses.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Baseline {
    pub demand_units: f64,
    pub served_units: f64,
    pub unmet_units: f64,
    pub lost_margin_money: f64,
}

/// The greedy allocation over the supply review's inputs (see the module's doc).
pub fn greedy_baseline(inputs: &SupplyInputs<'_>) -> Result<Baseline, AnalysisError> {
    let tables = inputs.tables;
    let masters = Masters::read(inputs)?;
    let demand = netting::read_demand(&masters, inputs)?;
    let net = netting::net_finished_goods(&masters, tables, &demand.cells)?;
    let routes = capacity::read_routes(&masters, tables)?;
    let cap = capacity::read_capacity(&masters, tables)?;
    let bom = materials::read_bom(&masters, tables)?;
    let otif = suppliers::supplier_otif(tables, masters.cycle, masters.params)?;
    let at_risk = |supplier: &str| suppliers::at_risk(&otif, masters.params, supplier);
    let shorts = materials::explode_requirements(&masters, &bom, &net.prod, &at_risk);
    let mat_cap = materials::material_limits(&shorts.base, &net.prod);
    let plan = allocate(&masters, &demand.cells, &net, &routes, &cap, &mat_cap);
    let mut out = Baseline { demand_units: 0.0, served_units: 0.0, unmet_units: 0.0, lost_margin_money: 0.0 };
    for (key, d) in &demand.cells {
        let margin = masters.items[key.0].margin();
        for (mi, q) in d.iter().enumerate() {
            let k = plan.get(key).map_or(0.0, |v| v[mi]);
            out.demand_units += q;
            out.served_units += k;
            out.unmet_units += q - k;
            out.lost_margin_money += (q - k) * margin;
        }
    }
    Ok(out)
}

/// Allocates supply to demand month by month (see the module's doc). `mat_cap` is the
/// material-limited production per SKU and month.
fn allocate(
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
