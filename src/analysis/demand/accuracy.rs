//! Accuracy and forecast value added: by backtest of the statistical layer against the naive
//! one, and from earlier cycles' stored consensus for every layer and every owner.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use super::super::forecast::{self, Method};
use super::super::{AnalysisError, col_f64, col_str};
use super::{Accuracy, DemandInputs, GroupAccuracy, Layer, OwnerValueAdded, ValueAdded};

/// Sums of |error|, error and actual for WMAPE and bias, plus per-point APE for MAPE.
#[derive(Default, Clone)]
struct ErrorSums {
    abs_err: f64,
    err: f64,
    actual: f64,
    ape: Vec<f64>,
    zero_actual: bool,
}

impl ErrorSums {
    fn add(&mut self, actual: f64, forecast: f64) {
        self.abs_err += (actual - forecast).abs();
        self.err += forecast - actual;
        self.actual += actual.abs();
        if actual == 0.0 {
            self.zero_actual = true;
        } else {
            self.ape.push((actual - forecast).abs() / actual.abs());
        }
    }
    fn wmape(&self) -> Option<f64> {
        (self.actual > 0.0).then(|| self.abs_err / self.actual)
    }
    fn bias(&self) -> Option<f64> {
        (self.actual > 0.0).then(|| self.err / self.actual)
    }
    /// MAPE is defined only where no actual is zero.
    fn mape(&self) -> Option<f64> {
        (!self.zero_actual && !self.ape.is_empty()).then(|| self.ape.iter().sum::<f64>() / self.ape.len() as f64)
    }
}

/// Months of history at the end scored by the backtest.
const BACKTEST_TARGETS: usize = 3;

type BacktestOut = (Vec<Accuracy>, Vec<GroupAccuracy>, Vec<GroupAccuracy>, Vec<GroupAccuracy>, Vec<ValueAdded>);

/// Accuracy at lags 1 and 3 by backtest: for each of the last months of history, the forecast
/// made `lag` months before it by the series' chosen method, and by the naive layer.
pub(super) fn backtest_accuracy(
    keys: &[(String, String)],
    histories: &[Vec<f64>],
    fcs: &[forecast::SeriesForecast],
    family_of: &dyn Fn(&str) -> String,
) -> BacktestOut {
    let mut overall = Vec::new();
    let mut fam_out = Vec::new();
    let mut cust_out = Vec::new();
    let mut sku_out = Vec::new();
    let mut va = Vec::new();
    for lag in [1usize, 3] {
        let mut stat = ErrorSums::default();
        let mut naive = ErrorSums::default();
        let mut fam: BTreeMap<String, (ErrorSums, ErrorSums)> = BTreeMap::new();
        let mut cust: BTreeMap<String, (ErrorSums, ErrorSums)> = BTreeMap::new();
        let mut sku: BTreeMap<String, (ErrorSums, ErrorSums)> = BTreeMap::new();
        for ((key, h), fc) in keys.iter().zip(histories).zip(fcs) {
            let n = h.len();
            for t in n.saturating_sub(BACKTEST_TARGETS)..n {
                let Some(origin) = (t + 1).checked_sub(lag).filter(|o| *o >= 1) else { continue };
                let train = &h[..origin];
                let f = forecast::predict(fc.method, train, lag)
                    .or_else(|| forecast::predict(Method::Mean, train, lag))
                    .map_or(0.0, |p| p[lag - 1].max(0.0));
                let nv = train[origin - 1];
                stat.add(h[t], f);
                naive.add(h[t], nv);
                let fe = fam.entry(family_of(&key.0)).or_default();
                fe.0.add(h[t], f);
                fe.1.add(h[t], nv);
                let ce = cust.entry(key.1.clone()).or_default();
                ce.0.add(h[t], f);
                ce.1.add(h[t], nv);
                let se = sku.entry(key.0.clone()).or_default();
                se.0.add(h[t], f);
                se.1.add(h[t], nv);
            }
        }
        let src = "backtest".to_string();
        for (layer, e) in [(Layer::Naive, &naive), (Layer::Statistical, &stat)] {
            overall.push(Accuracy {
                source: src.clone(),
                lag_months: lag as u32,
                layer,
                wmape: e.wmape(),
                mape: e.mape(),
                bias: e.bias(),
            });
        }
        va.push(value_added(Layer::Statistical, Layer::Naive, lag as u32, &src, naive.wmape(), stat.wmape()));
        for (groups, out) in [(fam, &mut fam_out), (cust, &mut cust_out), (sku, &mut sku_out)] {
            out.extend(groups.into_iter().map(|(group, (s, nv))| GroupAccuracy {
                group,
                lag_months: lag as u32,
                statistical_wmape: s.wmape(),
                statistical_mape: s.mape(),
                statistical_bias: s.bias(),
                naive_wmape: nv.wmape(),
                actual_units: s.actual,
            }));
        }
    }
    (overall, fam_out, cust_out, sku_out, va)
}

fn value_added(
    layer: Layer,
    over: Layer,
    lag: u32,
    source: &str,
    before: Option<f64>,
    after: Option<f64>,
) -> ValueAdded {
    ValueAdded {
        layer,
        over,
        lag_months: lag,
        source: source.to_string(),
        wmape_before: before,
        wmape_after: after,
        value_added_points: before.zip(after).map(|(b, a)| (b - a) * 100.0),
    }
}

type EarlierOut = (Vec<Accuracy>, Vec<ValueAdded>, Vec<OwnerValueAdded>);

/// Accuracy of every layer, and value added per layer and per owner, from the consensus of
/// earlier cycles: the cycle one month back forecast last month at lag 1, three back at lag 3.
pub(super) fn earlier_accuracy(
    inputs: &DemandInputs<'_>,
    actuals: &BTreeMap<(String, String), (f64, f64)>,
) -> Result<EarlierOut, AnalysisError> {
    let target = inputs.cycle.plus(-1);
    let mut acc = Vec::new();
    let mut va = Vec::new();
    let mut by_owner = Vec::new();
    for lag in [1i32, 3] {
        let Some(e) = inputs.earlier.iter().find(|e| e.cycle == inputs.cycle.plus(-lag)) else { continue };
        let cells = e.cells.clone().lazy().filter(col("month").eq(lit(target.to_string()))).collect()?;
        let (sk, cu, st, sa, mk, fi) = (
            col_str(&cells, "sku")?,
            col_str(&cells, "customer")?,
            col_f64(&cells, "statistical")?,
            col_f64(&cells, "sales")?,
            col_f64(&cells, "marketing")?,
            col_f64(&cells, "final")?,
        );
        let mut layers: BTreeMap<Layer, ErrorSums> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let mut finals: BTreeMap<(String, String), f64> = BTreeMap::new();
        for i in 0..sk.len() {
            let key = (sk[i].clone().unwrap_or_default(), cu[i].clone().unwrap_or_default());
            let a = actuals.get(&key).map_or(0.0, |x| x.0);
            let s = st[i].unwrap_or(0.0);
            let after_sales = (s + sa[i].unwrap_or(0.0)).max(0.0);
            let after_mkt = (s + sa[i].unwrap_or(0.0) + mk[i].unwrap_or(0.0)).max(0.0);
            layers.entry(Layer::Statistical).or_default().add(a, s);
            layers.entry(Layer::Sales).or_default().add(a, after_sales);
            layers.entry(Layer::Marketing).or_default().add(a, after_mkt);
            layers.entry(Layer::Final).or_default().add(a, fi[i].unwrap_or(0.0));
            finals.insert(key.clone(), fi[i].unwrap_or(0.0));
            seen.insert(key);
        }
        // Sales nobody planned for count against every layer.
        for (key, (a, _)) in actuals {
            if !seen.contains(key) {
                for l in [Layer::Statistical, Layer::Sales, Layer::Marketing, Layer::Final] {
                    layers.entry(l).or_default().add(*a, 0.0);
                }
            }
        }
        let src = format!("earlier cycles ({})", e.cycle);
        for (layer, s) in &layers {
            acc.push(Accuracy {
                source: src.clone(),
                lag_months: lag as u32,
                layer: *layer,
                wmape: s.wmape(),
                mape: s.mape(),
                bias: s.bias(),
            });
        }
        let w = |l: Layer| layers.get(&l).and_then(ErrorSums::wmape);
        va.push(value_added(
            Layer::Sales,
            Layer::Statistical,
            lag as u32,
            &src,
            w(Layer::Statistical),
            w(Layer::Sales),
        ));
        va.push(value_added(Layer::Marketing, Layer::Sales, lag as u32, &src, w(Layer::Sales), w(Layer::Marketing)));
        if lag == 1 {
            // Per owner: each cell they moved, with and without their move.
            let adj = e.adjustments.clone().lazy().filter(col("month").eq(lit(target.to_string()))).collect()?;
            let (ask, acu, aly, aow, ade) = (
                col_str(&adj, "sku")?,
                col_str(&adj, "customer")?,
                col_str(&adj, "layer")?,
                col_str(&adj, "owner")?,
                col_f64(&adj, "delta")?,
            );
            // (owner, layer) -> the cells they moved, errors without and with their move.
            type Cell = (String, String);
            let mut per: BTreeMap<Cell, (BTreeSet<Cell>, ErrorSums, ErrorSums)> = BTreeMap::new();
            let mut moved: BTreeMap<(Cell, Cell), f64> = BTreeMap::new();
            for i in 0..ask.len() {
                let key = (ask[i].clone().unwrap_or_default(), acu[i].clone().unwrap_or_default());
                let who = (aow[i].clone().unwrap_or_default(), aly[i].clone().unwrap_or_default());
                *moved.entry((who, key)).or_default() += ade[i].unwrap_or(0.0);
            }
            for ((who, key), d) in moved {
                let a = actuals.get(&key).map_or(0.0, |x| x.0);
                let f = finals.get(&key).copied().unwrap_or(0.0);
                let e = per.entry(who).or_default();
                e.0.insert(key);
                e.1.add(a, (f - d).max(0.0));
                e.2.add(a, f);
            }
            for ((owner, layer), (cells, before, after)) in per {
                let layer = if layer == "marketing" { Layer::Marketing } else { Layer::Sales };
                by_owner.push(OwnerValueAdded {
                    owner,
                    layer,
                    cells: cells.len(),
                    wmape_before: before.wmape(),
                    wmape_after: after.wmape(),
                    value_added_points: before.wmape().zip(after.wmape()).map(|(b, a)| (b - a) * 100.0),
                });
            }
        }
    }
    Ok((acc, va, by_owner))
}
