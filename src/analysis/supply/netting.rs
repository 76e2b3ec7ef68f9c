//! The netting phase: the demand to plan (the consensus, with booked open orders as a floor)
//! and its netting against finished goods, which leaves the production requirement.

use std::collections::BTreeMap;

use super::super::AnalysisError;
use super::columns::{numbers0, table, texts};
use super::masters::Masters;
use super::{EPS, Requirement, SupplyInputs, r3};
use crate::contract::{Month, Table};

/// The demand to plan per (SKU, customer) and plan month.
pub(super) struct Demand {
    /// (SKU, customer) to units per plan month: the consensus, raised to the booked orders
    /// where those are higher.
    pub(super) cells: BTreeMap<(usize, usize), Vec<f64>>,
    /// Consensus rows whose month falls outside the horizon (not planned).
    pub(super) outside: usize,
    /// Units by which booked orders exceed the consensus, summed over all cells.
    pub(super) above_consensus: f64,
}

/// Reads the demand consensus and raises each SKU x customer x month to its booked open
/// orders where those exceed it. Open orders are inside the consensus, so they are a floor,
/// never added; orders requested before the cycle month are due in the cycle month. A demand
/// row with an unknown SKU or customer, a bad month or a negative quantity is an error.
pub(super) fn read_demand(masters: &Masters<'_>, inputs: &SupplyInputs<'_>) -> Result<Demand, AnalysisError> {
    let Masters { n, cycle, ref sku_ix, ref cust_ix, .. } = *masters;
    let month_index = |mo: Month| masters.month_index(mo);
    let df = inputs.demand;
    let (d_sku, d_cust, d_month, d_qty) = (
        texts(df, "demand", "sku")?,
        texts(df, "demand", "customer")?,
        texts(df, "demand", "month")?,
        numbers0(df, "demand", "qty")?,
    );
    let mut cells: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    let mut outside = 0usize;
    for i in 0..d_sku.len() {
        let row = i + 1;
        let s = *sku_ix
            .get(d_sku[i].as_str())
            .ok_or_else(|| AnalysisError::Demand { row, detail: format!("unknown sku `{}`", d_sku[i]) })?;
        let c = *cust_ix
            .get(d_cust[i].as_str())
            .ok_or_else(|| AnalysisError::Demand { row, detail: format!("unknown customer `{}`", d_cust[i]) })?;
        let m = Month::parse(&d_month[i])
            .ok_or_else(|| AnalysisError::Demand { row, detail: format!("month `{}` is not `YYYY-MM`", d_month[i]) })?;
        if d_qty[i] < 0.0 || !d_qty[i].is_finite() {
            return Err(AnalysisError::Demand { row, detail: format!("qty `{}` must be >= 0", d_qty[i]) });
        }
        match month_index(m) {
            Some(mi) => cells.entry((s, c)).or_insert_with(|| vec![0.0; n])[mi] += d_qty[i],
            None => outside += 1,
        }
    }
    let mut above_consensus = 0.0;
    if let Some(df) = inputs.tables.get(&Table::OpenOrders) {
        let (s, c, m, q) = (
            texts(df, "open_orders", "sku")?,
            texts(df, "open_orders", "customer")?,
            texts(df, "open_orders", "requested_month")?,
            numbers0(df, "open_orders", "qty")?,
        );
        let mut booked: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
        for i in 0..s.len() {
            let (Some(&si), Some(&ci), Some(month)) =
                (sku_ix.get(s[i].as_str()), cust_ix.get(c[i].as_str()), Month::parse(&m[i]))
            else {
                continue; // ingest has judged these; a row it kept always resolves
            };
            // Late orders are due now.
            let mi = if month < cycle { Some(0) } else { month_index(month) };
            if let Some(mi) = mi {
                booked.entry((si, ci)).or_insert_with(|| vec![0.0; n])[mi] += q[i];
            }
        }
        for (key, b) in booked {
            let cell = cells.entry(key).or_insert_with(|| vec![0.0; n]);
            for mi in 0..n {
                if b[mi] > cell[mi] {
                    above_consensus += b[mi] - cell[mi];
                    cell[mi] = b[mi];
                }
            }
        }
    }
    Ok(Demand { cells, outside, above_consensus })
}

/// Demand per SKU and month and how it is met before capacity: from finished goods or from
/// production.
pub(super) struct Netting {
    /// Demand per SKU and plan month (summed over customers).
    pub(super) dem_sku: Vec<Vec<f64>>,
    /// Finished goods used per SKU and plan month.
    pub(super) inv_used: Vec<Vec<f64>>,
    /// The production requirement per SKU and plan month: demand less finished goods used.
    pub(super) prod: Vec<Vec<f64>>,
}

/// Nets each SKU's demand against its finished goods above safety stock at its make site, in
/// month order; what is left is the production requirement. Safety stock is not rebuilt, and
/// stock at other sites is not used.
pub(super) fn net_finished_goods(
    masters: &Masters<'_>,
    tables: &BTreeMap<Table, polars::prelude::DataFrame>,
    cells: &BTreeMap<(usize, usize), Vec<f64>>,
) -> Result<Netting, AnalysisError> {
    let Masters { n, ref items, ref sku_ix, .. } = *masters;
    let mut fg_avail = vec![0.0f64; items.len()];
    let df = table(tables, Table::Inventory)?;
    let (inv_item, inv_site, inv_on, inv_ss) = (
        texts(df, "inventory", "item")?,
        texts(df, "inventory", "site")?,
        numbers0(df, "inventory", "on_hand")?,
        numbers0(df, "inventory", "safety_stock")?,
    );
    for i in 0..inv_item.len() {
        if let Some(&s) = sku_ix.get(inv_item[i].as_str())
            && items[s].site == inv_site[i]
        {
            fg_avail[s] += (inv_on[i] - inv_ss[i]).max(0.0);
        }
    }
    let mut dem_sku = vec![vec![0.0f64; n]; items.len()];
    for (&(s, _), q) in cells {
        for mi in 0..n {
            dem_sku[s][mi] += q[mi];
        }
    }
    let mut inv_used = vec![vec![0.0f64; n]; items.len()];
    let mut prod = vec![vec![0.0f64; n]; items.len()];
    for s in 0..items.len() {
        let mut left = fg_avail[s];
        for mi in 0..n {
            let take = dem_sku[s][mi].min(left);
            left -= take;
            inv_used[s][mi] = take;
            prod[s][mi] = dem_sku[s][mi] - take;
        }
    }
    Ok(Netting { dem_sku, inv_used, prod })
}

/// The requirements table: per SKU and month with demand, the demand, the part met from
/// finished goods and the production requirement.
pub(super) fn requirements(masters: &Masters<'_>, net: &Netting) -> Vec<Requirement> {
    let Masters { n, ref months, ref items, .. } = *masters;
    let Netting { ref dem_sku, ref inv_used, ref prod } = *net;
    let mut requirements = Vec::new();
    for (s, it) in items.iter().enumerate() {
        for mi in 0..n {
            if dem_sku[s][mi] > EPS {
                requirements.push(Requirement {
                    sku: it.sku.clone(),
                    site: it.site.clone(),
                    month: months[mi].to_string(),
                    demand_units: r3(dem_sku[s][mi]),
                    from_inventory_units: r3(inv_used[s][mi]),
                    production_units: r3(prod[s][mi]),
                });
            }
        }
    }
    requirements
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;

    use super::*;
    use crate::analysis::supply::SupplyParams;
    use crate::analysis::supply::masters::Item;

    /// One SKU `P1` made at `S1`, over a three-month horizon.
    fn masters(params: &SupplyParams) -> Masters<'_> {
        let cycle = Month::parse("2026-12").unwrap();
        Masters {
            params,
            cycle,
            n: 3,
            months: (0..3).map(|i| cycle.plus(i)).collect(),
            cycle_start: 0,
            near_term: vec![false; 3],
            items: vec![Item {
                sku: "P1".to_string(),
                family: "F".to_string(),
                price: 150.0,
                cost: 100.0,
                site: "S1".to_string(),
            }],
            sku_ix: BTreeMap::from([("P1".to_string(), 0)]),
            customers: vec![("C1".to_string(), 1), ("C2".to_string(), 2)],
            cust_ix: BTreeMap::from([("C1".to_string(), 0), ("C2".to_string(), 1)]),
            resources: Vec::new(),
            res_ix: BTreeMap::new(),
        }
    }

    /// 25 on hand at the make site above a safety stock of 5 leaves 20 to use; the 7 at `S2`
    /// are not used. Demand 10 + 2, 6, 9 by month: stock covers 12, 6, then 2 of the 9, so
    /// production is 0, 0, 7.
    #[test]
    fn finished_goods_net_demand_in_month_order() {
        let params = SupplyParams::default();
        let m = masters(&params);
        let inventory = df!(
            "item" => ["P1", "P1"],
            "site" => ["S1", "S2"],
            "on_hand" => [25.0, 7.0],
            "safety_stock" => [5.0, 0.0],
        )
        .unwrap();
        let tables = BTreeMap::from([(Table::Inventory, inventory)]);
        let cells = BTreeMap::from([((0, 0), vec![10.0, 6.0, 9.0]), ((0, 1), vec![2.0, 0.0, 0.0])]);
        let net = net_finished_goods(&m, &tables, &cells).unwrap();
        assert_eq!(net.dem_sku, vec![vec![12.0, 6.0, 9.0]]);
        assert_eq!(net.inv_used, vec![vec![12.0, 6.0, 2.0]]);
        assert_eq!(net.prod, vec![vec![0.0, 0.0, 7.0]]);
    }
}
