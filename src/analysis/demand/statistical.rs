//! The statistical layer: a forecast per SKU x customer with history, discontinued SKUs cut at
//! their end month, and new SKUs without history planned from their launch plan. Also the
//! helpers that create and find the cells every layer writes to.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use rayon::prelude::*;

use super::super::forecast::{self, Config, DemandClass, Method};
use super::super::{AnalysisError, col_f64, col_str};
use super::accuracy::{Backtest, Point, backtest_points};
use super::history::Item;
use super::{Series, UNASSIGNED};
use crate::contract::Month;

/// The statistical layer and its backtest's accuracy.
pub(super) struct StatisticalLayer {
    /// The series so far and their index by (sku, customer).
    pub(super) series: Vec<Series>,
    pub(super) index: BTreeMap<(String, String), usize>,
    /// Discontinued SKUs whose forecast was cut after their end month.
    pub(super) discontinued_cut: BTreeSet<String>,
    /// The backtest's accuracy sums of every SKU x customer with history, in key order.
    pub(super) backtest: Backtest,
}

/// Series forecast and scored at a time: the map over partitions of series keeps only one
/// partition's forecasts and backtests in memory besides the layer itself.
const PARTITION: usize = 8_192;

/// Forecasts every SKU x customer with history (SKUs missing from the item master are left
/// out of the layer, not of the backtest), cuts discontinued SKUs after their end month and
/// scores the backtest ([`backtest_points`]). Takes the history whole and consumes it
/// partition by partition (each forecast in parallel, the backtest's sums reduced in key
/// order): the histories and the forecasts are never all held twice (at 484,000 series and
/// 10 years of history, a copy of the histories is about 0.5 GB).
pub(super) fn statistical_layer(
    history: BTreeMap<(String, String), Vec<f64>>,
    items: &BTreeMap<String, Item>,
    plan: &[Month],
) -> StatisticalLayer {
    statistical_layer_in(history, items, plan, PARTITION)
}

/// [`statistical_layer`] with partitions of `partition` series (at least one).
pub(super) fn statistical_layer_in(
    history: BTreeMap<(String, String), Vec<f64>>,
    items: &BTreeMap<String, Item>,
    plan: &[Month],
    partition: usize,
) -> StatisticalLayer {
    let months = plan.len();
    let cfg = Config { horizon: months, ..Config::default() };
    let mut layer = StatisticalLayer {
        series: Vec::with_capacity(history.len()),
        index: BTreeMap::new(),
        discontinued_cut: BTreeSet::new(),
        backtest: Backtest::default(),
    };
    let mut rest = history.into_iter();
    loop {
        let part: Vec<((String, String), Vec<f64>)> = rest.by_ref().take(partition.max(1)).collect();
        if part.is_empty() {
            break;
        }
        let done: Vec<(forecast::SeriesForecast, Vec<Point>)> = part
            .par_iter()
            .map(|(_, h)| {
                let (fc, chosen) = forecast::forecast_fitted(h, &cfg);
                let points = backtest_points(h, fc.method, chosen.as_ref());
                (fc, points)
            })
            .collect();
        for ((key, _), (fc, points)) in part.into_iter().zip(done) {
            let item = items.get(&key.0);
            layer.backtest.add(&key, item.map_or("", |i| i.family.as_str()), &points);
            let Some(item) = item else { continue };
            add_series(&mut layer, key, item, fc, plan);
        }
    }
    layer
}

/// The statistical layer's cell of one forecast series, cut after its SKU's end month when
/// discontinued.
fn add_series(
    layer: &mut StatisticalLayer,
    key: (String, String),
    item: &Item,
    fc: forecast::SeriesForecast,
    plan: &[Month],
) {
    let (sku, cust) = &key;
    let mut s = new_series(sku, cust, &item.family, plan.len());
    s.method = method_name(fc.method);
    s.class = class_name(fc.class);
    s.statistical = fc.point;
    s.lower = fc.lower;
    s.upper = fc.upper;
    if item.end_month.is_some() && item.lifecycle == "discontinued" {
        for (m, month) in plan.iter().enumerate() {
            if !item.sells_in(*month) {
                s.statistical[m] = 0.0;
                s.lower[m] = 0.0;
                s.upper[m] = 0.0;
            }
        }
        layer.discontinued_cut.insert(sku.clone());
    }
    layer.index.insert(key, layer.series.len());
    layer.series.push(s);
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
        scenario: Vec::new(),
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
