//! The rough-cut capacity phase: routings (operations at the make site, other sites' routings
//! as alternates), capacity per resource and month with the decisions' extra hours, the load
//! the production requirement puts on each resource, and the capacity facts (utilisation,
//! overloads, the near-term window's overloads).

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::DataFrame;

use super::super::AnalysisError;
use super::columns::{numbers0, table, texts};
use super::masters::Masters;
use super::{EPS, NearTermOverload, ResourceLoad, ResourceMonth, r2};
use crate::contract::{Month, Table};

/// A resource's hours in a month: regular hours available, the overtime ceiling and its cost
/// per hour.
#[derive(Clone, Copy, Default)]
pub(super) struct Cap {
    pub(super) available: f64,
    pub(super) overtime: f64,
    pub(super) rate: f64,
}

/// Each SKU's routings as (resource, hours per unit), sorted by resource.
pub(super) struct Routes {
    /// The operations of the SKU's primary routing (`routings.routing`, by default its rows at
    /// the make site); every one is loaded by its production.
    pub(super) primary: Vec<Vec<(usize, f64)>>,
    /// Its alternate routings, by name (by default the site): where the production could move.
    pub(super) alternates: Vec<BTreeMap<String, Vec<(usize, f64)>>>,
}

/// Reads the routings into each finished SKU's primary operations and its alternates (see
/// [`super::sourcing::routings`] for the default when `routing` is empty). A SKU whose routings
/// are all named alternates is made by the first of them.
pub(super) fn read_routes(masters: &Masters<'_>, tables: &BTreeMap<Table, DataFrame>) -> Result<Routes, AnalysisError> {
    let Masters { ref items, ref sku_ix, ref res_ix, .. } = *masters;
    let mut primary: Vec<Vec<(usize, f64)>> = vec![Vec::new(); items.len()];
    let mut alternates: Vec<BTreeMap<String, Vec<(usize, f64)>>> = vec![BTreeMap::new(); items.len()];
    for (sku, list) in super::sourcing::routings(tables)? {
        let Some(&s) = sku_ix.get(&sku) else { continue };
        for (k, routing) in list.into_iter().enumerate() {
            let ops: Vec<(usize, f64)> = routing
                .operations
                .iter()
                .filter_map(|o| res_ix.get(&o.resource).map(|&r| (r, o.hours_per_unit)))
                .collect();
            if routing.is_primary() || k == 0 {
                primary[s] = ops;
            } else {
                alternates[s].insert(routing.name, ops);
            }
        }
    }
    Ok(Routes { primary, alternates })
}

/// Reads capacity per resource and plan month.
pub(super) fn read_capacity(
    masters: &Masters<'_>,
    tables: &BTreeMap<Table, DataFrame>,
) -> Result<Vec<Vec<Cap>>, AnalysisError> {
    let Masters { n, ref resources, ref res_ix, .. } = *masters;
    let month_index = |m: Month| masters.month_index(m);
    let df = table(tables, Table::Capacity)?;
    let (c_res, c_month, c_av, c_ot, c_rate) = (
        texts(df, "capacity", "resource")?,
        texts(df, "capacity", "month")?,
        numbers0(df, "capacity", "available_hours")?,
        numbers0(df, "capacity", "max_overtime_hours")?,
        numbers0(df, "capacity", "overtime_cost_per_hour")?,
    );
    let mut cap = vec![vec![Cap::default(); n]; resources.len()];
    for i in 0..c_res.len() {
        if let (Some(&r), Some(mi)) = (res_ix.get(c_res[i].as_str()), Month::parse(&c_month[i]).and_then(month_index)) {
            cap[r][mi] = Cap { available: c_av[i], overtime: c_ot[i], rate: c_rate[i] };
        }
    }
    Ok(cap)
}

/// The load the production requirement puts on each resource and month (unconstrained).
pub(super) struct Load {
    /// Hours: production x hours per unit, summed over the SKUs routed on the resource.
    pub(super) load: Vec<Vec<f64>>,
    /// Units produced on the resource.
    pub(super) units_on: Vec<Vec<f64>>,
    /// The SKUs loading the resource in the month.
    pub(super) skus_on: Vec<Vec<BTreeSet<usize>>>,
}

/// Loads every operation at the make site with hours per unit x production (operations with
/// no hours are skipped).
pub(super) fn rough_cut(masters: &Masters<'_>, routes: &Routes, prod: &[Vec<f64>]) -> Load {
    let Masters { n, ref items, ref resources, .. } = *masters;
    let primary = &routes.primary;
    let nr = resources.len();
    let mut load = vec![vec![0.0f64; n]; nr];
    let mut units_on = vec![vec![0.0f64; n]; nr];
    let mut skus_on: Vec<Vec<BTreeSet<usize>>> = vec![vec![BTreeSet::new(); n]; nr];
    for s in 0..items.len() {
        for mi in 0..n {
            let q = prod[s][mi];
            if q <= EPS {
                continue;
            }
            for &(r, h) in &primary[s] {
                if h <= 0.0 {
                    continue;
                }
                load[r][mi] += q * h;
                units_on[r][mi] += q;
                skus_on[r][mi].insert(s);
            }
        }
    }
    Load { load, units_on, skus_on }
}

/// The capacity facts: per resource, the months' load, utilisation and overloads (beyond
/// regular hours, beyond overtime too), and the overloads that fall in the near-term window.
pub(super) fn capacity_facts(
    masters: &Masters<'_>,
    cap: &[Vec<Cap>],
    load: &Load,
) -> (Vec<ResourceLoad>, Vec<NearTermOverload>) {
    let Masters { n, ref months, ref near_term, ref resources, .. } = *masters;
    let load = &load.load;
    let nr = resources.len();
    let mut capacity = Vec::with_capacity(nr);
    let mut near_term_overloads = Vec::new();
    for (r, res) in resources.iter().enumerate() {
        let mut rows = Vec::with_capacity(n);
        let (mut first_over, mut first_break, mut peak) = (None, None, 0.0f64);
        for mi in 0..n {
            let c = cap[r][mi];
            let over = (load[r][mi] - c.available).max(0.0);
            let beyond = (load[r][mi] - c.available - c.overtime).max(0.0);
            let util = if c.available > 0.0 {
                100.0 * load[r][mi] / c.available
            } else if load[r][mi] > 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
            let util = if util.is_finite() { r2(util) } else { 9999.0 };
            peak = peak.max(util);
            if over > 1e-6 && first_over.is_none() {
                first_over = Some(months[mi].to_string());
            }
            if beyond > 1e-6 && first_break.is_none() {
                first_break = Some(months[mi].to_string());
            }
            if over > 1e-6 && near_term[mi] {
                near_term_overloads.push(NearTermOverload {
                    resource: res.name.clone(),
                    site: res.site.clone(),
                    kind: res.kind.clone(),
                    month: months[mi].to_string(),
                    overload_hours: r2(over),
                    utilisation_percent: util,
                });
            }
            rows.push(ResourceMonth {
                month: months[mi].to_string(),
                load_hours: r2(load[r][mi]),
                available_hours: r2(c.available),
                max_overtime_hours: r2(c.overtime),
                utilisation_percent: util,
                overload_hours: r2(over),
                beyond_overtime_hours: r2(beyond),
            });
        }
        capacity.push(ResourceLoad {
            resource: res.name.clone(),
            site: res.site.clone(),
            kind: res.kind.clone(),
            months: rows,
            first_overload_month: first_over,
            first_break_month: first_break,
            peak_utilisation_percent: peak,
        });
    }
    near_term_overloads.sort_by(|a, b| (&a.month, &a.resource).cmp(&(&b.month, &b.resource)));
    (capacity, near_term_overloads)
}
