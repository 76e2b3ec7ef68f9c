//! The sales and marketing layers: the planners' adjustment spreadsheets and the CRM pipeline,
//! each move kept per cell with its owner and reason.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::super::{AnalysisError, col_f64, col_str};
use super::history::Item;
use super::statistical::{cell, month_index};
use super::{DemandInputs, Layer, Series, Trace, UNASSIGNED};
use crate::contract::Month;

/// Applies a spreadsheet of adjustments (sku, customer or family, month, delta or override).
/// An adjustment aimed at more than one cell is spread over them in proportion to their current
/// value (evenly when they are all zero); an override sets their total.
pub(super) fn apply_adjustments(
    adj: &DataFrame,
    layer: Layer,
    plan: &[Month],
    items: &BTreeMap<String, Item>,
    series: &mut Vec<Series>,
    index: &mut BTreeMap<(String, String), usize>,
    owners: &mut BTreeMap<(String, Layer), (usize, f64)>,
) -> Result<(), AnalysisError> {
    let months = plan.len();
    let (sk, cu, fa, mo, de, ov, re, ow) = (
        col_str(adj, "sku")?,
        col_str(adj, "customer")?,
        col_str(adj, "family")?,
        col_str(adj, "month")?,
        col_f64(adj, "delta")?,
        col_f64(adj, "override")?,
        col_str(adj, "reason")?,
        col_str(adj, "owner")?,
    );
    for i in 0..mo.len() {
        let Some(mi) = mo[i].as_deref().and_then(Month::parse).and_then(|m| month_index(plan, m)) else { continue };
        let targets: Vec<usize> = match (&sk[i], &cu[i], &fa[i]) {
            (Some(sku), Some(cust), _) => {
                let family = items.get(sku).map(|i| i.family.clone()).unwrap_or_default();
                vec![cell(series, index, sku, cust, &family, months)]
            }
            (Some(sku), None, _) => {
                let found: Vec<usize> = (0..series.len()).filter(|k| &series[*k].sku == sku).collect();
                if found.is_empty() {
                    let family = items.get(sku).map(|i| i.family.clone()).unwrap_or_default();
                    vec![cell(series, index, sku, UNASSIGNED, &family, months)]
                } else {
                    found
                }
            }
            (None, cust, Some(fam)) => (0..series.len())
                .filter(|k| &series[*k].family == fam && cust.as_ref().is_none_or(|c| &series[*k].customer == c))
                .collect(),
            (None, _, None) => continue, // the contract's row rule forbids it
        };
        if targets.is_empty() {
            continue;
        }
        let current: Vec<f64> = targets
            .iter()
            .map(|k| {
                let s = &series[*k];
                s.statistical[mi] + s.sales[mi] + if layer == Layer::Marketing { s.marketing[mi] } else { 0.0 }
            })
            .collect();
        let delta = match (de[i], ov[i]) {
            (_, Some(o)) => o - current.iter().sum::<f64>(),
            (Some(d), None) => d,
            (None, None) => continue,
        };
        let owner = ow[i].clone().unwrap_or_default();
        let reason = re[i].clone().unwrap_or_default();
        for (k, d) in targets.iter().zip(spread(&current, delta)) {
            let s = &mut series[*k];
            match layer {
                Layer::Marketing => s.marketing[mi] += d,
                _ => s.sales[mi] += d,
            }
            s.traces[mi].push(Trace { layer, owner: owner.clone(), reason: reason.clone(), delta_units: d });
        }
        let e = owners.entry((owner, layer)).or_default();
        e.0 += 1;
        e.1 += delta;
    }
    Ok(())
}

/// An adjustment's `delta` aimed at several cells, spread over them in proportion to their
/// `current` value (evenly when they are all zero): each cell's part. The rule of every layer
/// (the planners' spreadsheets and a scenario's demand change).
pub(super) fn spread(current: &[f64], delta: f64) -> Vec<f64> {
    let total: f64 = current.iter().sum();
    let n = current.len() as f64;
    current.iter().map(|c| delta * if total > 0.0 { c / total } else { 1.0 / n }).collect()
}

/// The CRM pipeline in the sales layer: each open opportunity at or above the minimum
/// probability, weighted by its probability, owned by the customer's account manager.
pub(super) fn add_pipeline(
    p: &DataFrame,
    inputs: &DemandInputs<'_>,
    items: &BTreeMap<String, Item>,
    managers: &BTreeMap<String, String>,
    series: &mut Vec<Series>,
    index: &mut BTreeMap<(String, String), usize>,
    owners: &mut BTreeMap<(String, Layer), (usize, f64)>,
) -> Result<(), AnalysisError> {
    let plan = inputs.params.plan(inputs.cycle);
    let months = plan.len();
    let (opp, cu, sk, mo, qt, pr) = (
        col_str(p, "opportunity")?,
        col_str(p, "customer")?,
        col_str(p, "sku")?,
        col_str(p, "month")?,
        col_f64(p, "qty")?,
        col_f64(p, "probability")?,
    );
    for i in 0..opp.len() {
        let prob = pr[i].unwrap_or(0.0);
        let (Some(sku), Some(cust), Some(m)) = (&sk[i], &cu[i], mo[i].as_deref().and_then(Month::parse)) else {
            continue;
        };
        if prob < inputs.params.min_pipeline_probability {
            continue;
        }
        let Some(mi) = month_index(&plan, m) else { continue };
        let family = items.get(sku).map(|i| i.family.clone()).unwrap_or_default();
        let k = cell(series, index, sku, cust, &family, months);
        let delta = qt[i].unwrap_or(0.0) * prob;
        let owner = managers.get(cust).cloned().unwrap_or_default();
        series[k].sales[mi] += delta;
        series[k].traces[mi].push(Trace {
            layer: Layer::Sales,
            owner: owner.clone(),
            reason: format!("CRM opportunity {} at {:.0}%", opp[i].as_deref().unwrap_or(""), prob * 100.0),
            delta_units: delta,
        });
        let e = owners.entry((owner, Layer::Sales)).or_default();
        e.0 += 1;
        e.1 += delta;
    }
    Ok(())
}
