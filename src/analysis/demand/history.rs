//! The inputs read from the contract's tables: the item master, the account managers, and the
//! sales history as units per SKU x customer x month plus last month's actuals.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::super::{AnalysisError, col_f64, col_str};
use crate::contract::Month;

/// An item master row: what the layers and the totals need of a SKU.
pub(super) struct Item {
    pub(super) family: String,
    pub(super) price: f64,
    pub(super) lifecycle: String,
    pub(super) end_month: Option<Month>,
}

impl Item {
    /// Whether the SKU may have demand in `m`: a discontinued SKU has none after its end month
    /// (the lifecycle rule every layer that plans a month follows).
    pub(super) fn sells_in(&self, m: Month) -> bool {
        !(self.lifecycle == "discontinued" && self.end_month.is_some_and(|end| m > end))
    }
}

/// The item master by SKU.
pub(super) fn read_items(items_df: &DataFrame) -> Result<BTreeMap<String, Item>, AnalysisError> {
    let mut items: BTreeMap<String, Item> = BTreeMap::new();
    let (skus, fams, prices, life, ends) = (
        col_str(items_df, "sku")?,
        col_str(items_df, "family")?,
        col_f64(items_df, "unit_price")?,
        col_str(items_df, "lifecycle")?,
        col_str(items_df, "end_month")?,
    );
    for i in 0..skus.len() {
        items.insert(
            skus[i].clone().unwrap_or_default(),
            Item {
                family: fams[i].clone().unwrap_or_default(),
                price: prices[i].unwrap_or(0.0),
                lifecycle: life[i].clone().unwrap_or_default(),
                end_month: ends[i].as_deref().and_then(Month::parse),
            },
        );
    }
    Ok(items)
}

/// The account manager of each customer: the owner of its CRM opportunities.
pub(super) fn account_managers(customers_df: &DataFrame) -> Result<BTreeMap<String, String>, AnalysisError> {
    let managers: BTreeMap<String, String> = col_str(customers_df, "customer")?
        .into_iter()
        .zip(col_str(customers_df, "account_manager")?)
        .map(|(c, m)| (c.unwrap_or_default(), m.unwrap_or_default()))
        .collect();
    Ok(managers)
}

/// The sales history as the review reads it.
pub(super) struct Actuals {
    /// Units per SKU x customer, one value per month from the series' first order line (or the
    /// start of the window, when it sold before) through the month before the cycle: dense, 0
    /// when nothing sold, never padded before the series started.
    pub(super) history: BTreeMap<(String, String), Vec<f64>>,
    /// Actual units and revenue per (sku, customer) for the month before the cycle.
    pub(super) last_month: BTreeMap<(String, String), (f64, f64)>,
}

/// History: units per SKU x customer x month over the `history_months` before `cycle`, each
/// series from its first order line on (a series that starts mid-window is not zero-filled
/// before it: zeros there would make continuous demand look intermittent), and last month's
/// units and revenue per cell.
pub(super) fn monthly_history(sales: &DataFrame, cycle: Month, history_months: u32) -> Result<Actuals, AnalysisError> {
    let h = history_months as i32;
    let first_hist = cycle.plus(-h);
    let monthly = sales
        .clone()
        .lazy()
        .with_column(Month::of_date(col("order_date")).alias("m"))
        .filter(col("m").gt_eq(lit(first_hist.0)).and(col("m").lt(lit(cycle.0))))
        .group_by([col("sku"), col("customer"), col("m")])
        .agg([col("qty").sum().alias("qty"), col("net_revenue").sum().alias("revenue")])
        .sort(["sku", "customer", "m"], SortMultipleOptions::default())
        .collect()?;
    let (hs, hc, hm, hq, hr) = (
        col_str(&monthly, "sku")?,
        col_str(&monthly, "customer")?,
        monthly.column("m")?.i32()?.iter().collect::<Vec<_>>(),
        col_f64(&monthly, "qty")?,
        col_f64(&monthly, "revenue")?,
    );
    let mut history: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    // Actual units and revenue per (sku, customer) for the month before the cycle.
    let mut last_month: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    // Sorted by series then month: the first row of a series is its first month, and sizes
    // the series through the month before the cycle.
    for i in 0..hs.len() {
        let (Some(sku), Some(cust), Some(m)) = (&hs[i], &hc[i], hm[i]) else { continue };
        let v = history.entry((sku.clone(), cust.clone())).or_insert_with(|| vec![0.0; (cycle.0 - m) as usize]);
        let idx = v.len() - (cycle.0 - m) as usize;
        v[idx] += hq[i].unwrap_or(0.0);
        if Month(m) == cycle.plus(-1) {
            let e = last_month.entry((sku.clone(), cust.clone())).or_default();
            e.0 += hq[i].unwrap_or(0.0);
            e.1 += hr[i].unwrap_or(0.0);
        }
    }
    Ok(Actuals { history, last_month })
}
