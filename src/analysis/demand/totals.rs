//! The final layer's totals, bottom-up: every total (overall, month, family, customer) is a sum
//! of cells, with the budget's revenue next to it where a budget is given.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::super::{AnalysisError, col_f64, col_str};
use super::history::Item;
use super::{LayerTotals, Series};
use crate::contract::Month;

/// The totals of the final layer, per month, family and customer, with the methods and
/// demand classes counted over the series.
pub(super) struct Totals {
    pub(super) totals: LayerTotals,
    pub(super) by_month: BTreeMap<String, LayerTotals>,
    pub(super) by_family: BTreeMap<String, LayerTotals>,
    pub(super) by_customer: BTreeMap<String, LayerTotals>,
    pub(super) methods: BTreeMap<String, usize>,
    pub(super) classes: BTreeMap<String, usize>,
}

/// Sums the cells of every series over the plan months, bottom-up, and puts the budget's
/// revenue next to the family, month and overall totals.
pub(super) fn layer_totals(
    series: &[Series],
    items: &BTreeMap<String, Item>,
    plan: &[Month],
    budget: &BTreeMap<String, BTreeMap<Month, f64>>,
) -> Totals {
    let mut totals = LayerTotals::default();
    let mut by_month: BTreeMap<String, LayerTotals> =
        plan.iter().map(|m| (m.to_string(), LayerTotals::default())).collect();
    let mut by_family: BTreeMap<String, LayerTotals> = BTreeMap::new();
    let mut by_customer: BTreeMap<String, LayerTotals> = BTreeMap::new();
    let mut methods = BTreeMap::new();
    let mut classes = BTreeMap::new();
    for s in series {
        *methods.entry(s.method.clone()).or_insert(0) += 1;
        *classes.entry(s.class.clone()).or_insert(0) += 1;
        let price = items.get(&s.sku).map_or(0.0, |i| i.price);
        for (m, month) in plan.iter().enumerate() {
            let f = s.final_units(m);
            for t in [
                &mut totals,
                by_month.get_mut(&month.to_string()).expect("month"),
                by_family.entry(s.family.clone()).or_default(),
                by_customer.entry(s.customer.clone()).or_default(),
            ] {
                t.statistical_units += s.statistical[m];
                t.sales_adjustment_units += s.sales[m];
                t.marketing_adjustment_units += s.marketing[m];
                t.final_units += f;
                t.final_revenue += f * price;
            }
        }
    }
    for (fam, t) in by_family.iter_mut() {
        t.budget_revenue = budget.get(fam).map(|b| plan.iter().filter_map(|m| b.get(m)).sum());
    }
    for (m, t) in by_month.iter_mut() {
        let m = Month::parse(m).expect("month");
        let sum: f64 = budget.values().filter_map(|b| b.get(&m)).sum();
        t.budget_revenue = (!budget.is_empty()).then_some(sum);
    }
    totals.budget_revenue = (!budget.is_empty()).then(|| by_month.values().filter_map(|t| t.budget_revenue).sum());
    Totals { totals, by_month, by_family, by_customer, methods, classes }
}

/// The budget's revenue per family and month; empty without a budget.
pub(super) fn budget_by_family_month(
    budget: Option<&DataFrame>,
) -> Result<BTreeMap<String, BTreeMap<Month, f64>>, AnalysisError> {
    let mut out: BTreeMap<String, BTreeMap<Month, f64>> = BTreeMap::new();
    let Some(b) = budget else { return Ok(out) };
    let (f, m, r) = (col_str(b, "family")?, col_str(b, "month")?, col_f64(b, "revenue")?);
    for i in 0..f.len() {
        if let (Some(f), Some(m)) = (&f[i], m[i].as_deref().and_then(Month::parse)) {
            *out.entry(f.clone()).or_default().entry(m).or_default() += r[i].unwrap_or(0.0);
        }
    }
    Ok(out)
}
