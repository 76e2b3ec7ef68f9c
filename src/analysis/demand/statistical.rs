//! The statistical layer: a forecast per SKU x customer with history, discontinued SKUs cut at
//! their end month, and new SKUs without history planned from their launch plan. Also the
//! helpers that create and find the cells every layer writes to.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use super::super::forecast::{self, Config, DemandClass, Method};
use super::super::{AnalysisError, col_f64, col_str};
use super::history::Item;
use super::{Series, UNASSIGNED};
use crate::contract::Month;

/// The statistical layer, with what the backtest needs of it.
pub(super) struct StatisticalLayer {
    /// The SKU x customer cells with history, in key order, with their histories and
    /// forecasts (parallel vectors).
    pub(super) keys: Vec<(String, String)>,
    pub(super) histories: Vec<Vec<f64>>,
    pub(super) fcs: Vec<forecast::SeriesForecast>,
    /// The series so far and their index by (sku, customer).
    pub(super) series: Vec<Series>,
    pub(super) index: BTreeMap<(String, String), usize>,
    /// Discontinued SKUs whose forecast was cut after their end month.
    pub(super) discontinued_cut: BTreeSet<String>,
}

/// Forecasts every SKU x customer with history (SKUs missing from the item master are left
/// out) and cuts discontinued SKUs after their end month. Takes the history whole, so its keys
/// and values move into the layer rather than being copied (at 484,000 series and 10 years of
/// history, a copy is about 0.5 GB).
pub(super) fn statistical_layer(
    history: BTreeMap<(String, String), Vec<f64>>,
    items: &BTreeMap<String, Item>,
    plan: &[Month],
) -> StatisticalLayer {
    let months = plan.len();
    let (keys, histories): (Vec<(String, String)>, Vec<Vec<f64>>) = history.into_iter().unzip();
    let cfg = Config { horizon: months, ..Config::default() };
    let fcs = forecast::forecast_many(&histories, &cfg);
    let mut series: Vec<Series> = Vec::with_capacity(keys.len());
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut discontinued_cut = BTreeSet::new();
    for ((sku, cust), fc) in keys.iter().zip(&fcs) {
        let Some(item) = items.get(sku) else { continue };
        let mut s = new_series(sku, cust, &item.family, months);
        s.method = method_name(fc.method);
        s.class = class_name(fc.class);
        s.statistical = fc.point.clone();
        s.lower = fc.lower.clone();
        s.upper = fc.upper.clone();
        if let Some(end) = item.end_month.filter(|_| item.lifecycle == "discontinued") {
            for (m, month) in plan.iter().enumerate() {
                if *month > end {
                    s.statistical[m] = 0.0;
                    s.lower[m] = 0.0;
                    s.upper[m] = 0.0;
                }
            }
            discontinued_cut.insert(sku.clone());
        }
        index.insert((sku.clone(), cust.clone()), series.len());
        series.push(s);
    }
    StatisticalLayer { keys, histories, fcs, series, index, discontinued_cut }
}

/// New SKUs without history take their launch plan, in a cell of no customer yet
/// ([`UNASSIGNED`]). Returns the SKUs so planned.
pub(super) fn plan_launches(
    launches: Option<&DataFrame>,
    plan: &[Month],
    items: &BTreeMap<String, Item>,
    series: &mut Vec<Series>,
    index: &mut BTreeMap<(String, String), usize>,
) -> Result<BTreeSet<String>, AnalysisError> {
    let months = plan.len();
    let mut launches_planned = BTreeSet::new();
    if let Some(launches) = launches {
        let (ls, lm, lq) = (col_str(launches, "sku")?, col_str(launches, "month")?, col_f64(launches, "qty")?);
        // The SKUs sold to a customer: a set, not a scan of every series per launch line (the
        // loop adds only cells of no customer yet, so the set holds throughout).
        let with_history: BTreeSet<String> =
            series.iter().filter(|s| s.customer != UNASSIGNED).map(|s| s.sku.clone()).collect();
        for i in 0..ls.len() {
            let (Some(sku), Some(m)) = (&ls[i], lm[i].as_deref().and_then(Month::parse)) else { continue };
            if with_history.contains(sku) {
                continue; // it has history: the statistics speak for it
            }
            let Some(mi) = month_index(plan, m) else { continue };
            let family = items.get(sku).map(|i| i.family.clone()).unwrap_or_default();
            let k = cell(series, index, sku, UNASSIGNED, &family, months);
            series[k].method = "launch_plan".into();
            series[k].class = "new".into();
            series[k].statistical[mi] += lq[i].unwrap_or(0.0);
            launches_planned.insert(sku.clone());
        }
    }
    Ok(launches_planned)
}

pub(super) fn method_name(m: Method) -> String {
    serde_json::to_value(m).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}
pub(super) fn class_name(c: DemandClass) -> String {
    serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn new_series(sku: &str, customer: &str, family: &str, months: usize) -> Series {
    Series {
        sku: sku.to_string(),
        customer: customer.to_string(),
        family: family.to_string(),
        method: "no_history".into(),
        class: "no_history".into(),
        statistical: vec![0.0; months],
        lower: vec![0.0; months],
        upper: vec![0.0; months],
        sales: vec![0.0; months],
        marketing: vec![0.0; months],
        traces: vec![Vec::new(); months],
    }
}

/// The series of a SKU x customer, created (all zero) when there is none yet.
pub(super) fn cell(
    series: &mut Vec<Series>,
    index: &mut BTreeMap<(String, String), usize>,
    sku: &str,
    customer: &str,
    family: &str,
    months: usize,
) -> usize {
    *index.entry((sku.to_string(), customer.to_string())).or_insert_with(|| {
        series.push(new_series(sku, customer, family, months));
        series.len() - 1
    })
}

/// The position of `m` in the plan's months, `None` outside them.
pub(super) fn month_index(plan: &[Month], m: Month) -> Option<usize> {
    let i = m.0 - plan.first()?.0;
    (0..plan.len() as i32).contains(&i).then_some(i as usize)
}
