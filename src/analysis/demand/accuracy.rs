//! Accuracy and forecast value added: by backtest of the statistical layer against the naive
//! one, and from earlier cycles' stored consensus for every layer and every owner.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use super::super::forecast::{self, Method, ets};
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

/// The lags the backtest scores, in months.
const LAGS: [usize; 2] = [1, 3];

type BacktestOut = (Vec<Accuracy>, Vec<GroupAccuracy>, Vec<GroupAccuracy>, Vec<GroupAccuracy>, Vec<ValueAdded>);

/// One month of a series' backtest: the lag (its index in [`LAGS`]), the actual, the forecast
/// made `lag` months before it and the naive one (the month before that origin's end).
pub(super) struct Point {
    lag: usize,
    actual: f64,
    forecast: f64,
    naive: f64,
}

/// The backtest's months of one series: for each of the last [`BACKTEST_TARGETS`] months of
/// history `h` and each lag, the forecast the series' chosen `method` makes `lag` months
/// before it ([`forecast::predict_from`]: ETS keeps the model `chosen` on the whole history,
/// as the forecast's own backtest does; the mean where the method does not apply) and the
/// naive one. Pure and per series, so series can be scored in parallel and in partitions.
pub(super) fn backtest_points(h: &[f64], method: Method, chosen: Option<&ets::Fit>) -> Vec<Point> {
    let n = h.len();
    let targets = || n.saturating_sub(BACKTEST_TARGETS)..n;
    // An origin two lags share (lag 1 of the first month scored, lag 3 of the last) is fitted
    // once, to the longer lag: a method's value at a step does not depend on the horizon.
    let mut longest: BTreeMap<usize, usize> = BTreeMap::new();
    for lag in LAGS {
        for t in targets() {
            if let Some(origin) = (t + 1).checked_sub(lag).filter(|o| *o >= 1) {
                let l = longest.entry(origin).or_insert(lag);
                *l = (*l).max(lag);
            }
        }
    }
    let made: BTreeMap<usize, Option<Vec<f64>>> = longest
        .iter()
        .map(|(&origin, &lag)| (origin, forecast::predict_from(method, &h[..origin], lag, chosen)))
        .collect();
    let mut out = Vec::new();
    for (lag_index, lag) in LAGS.into_iter().enumerate() {
        for t in targets() {
            let Some(origin) = (t + 1).checked_sub(lag).filter(|o| *o >= 1) else { continue };
            let train = &h[..origin];
            // Where the longer forecast does not apply (a value not finite further out), the
            // shorter one is made on its own, as with one lag alone.
            let own = match &made[&origin] {
                Some(p) => Some(p[..lag].to_vec()),
                None if longest[&origin] == lag => None,
                None => forecast::predict_from(method, train, lag, chosen),
            };
            let forecast =
                own.or_else(|| forecast::predict(Method::Mean, train, lag)).map_or(0.0, |p| p[lag - 1].max(0.0));
            out.push(Point { lag: lag_index, actual: h[t], forecast, naive: train[origin - 1] });
        }
    }
    out
}

/// The statistical and naive layers' errors of one lag: overall and by family, customer, SKU.
#[derive(Default)]
struct LagSums {
    stat: ErrorSums,
    naive: ErrorSums,
    fam: BTreeMap<String, (ErrorSums, ErrorSums)>,
    cust: BTreeMap<String, (ErrorSums, ErrorSums)>,
    sku: BTreeMap<String, (ErrorSums, ErrorSums)>,
}

/// The backtest's accuracy, summed series by series in key order ([`Backtest::add`]), so the
/// series can come in partitions: the sums are the same, in the same order, as over all at once.
#[derive(Default)]
pub(super) struct Backtest {
    lags: [LagSums; LAGS.len()],
}

impl Backtest {
    /// Adds one series' [`backtest_points`] (`key` is its SKU and customer).
    pub(super) fn add(&mut self, key: &(String, String), family: &str, points: &[Point]) {
        for p in points {
            let l = &mut self.lags[p.lag];
            l.stat.add(p.actual, p.forecast);
            l.naive.add(p.actual, p.naive);
            for (groups, group) in [(&mut l.fam, family), (&mut l.cust, key.1.as_str()), (&mut l.sku, key.0.as_str())] {
                let e = groups.entry(group.to_string()).or_default();
                e.0.add(p.actual, p.forecast);
                e.1.add(p.actual, p.naive);
            }
        }
    }

    /// Accuracy at lags 1 and 3 (overall, by family, by customer, by SKU) and the statistical
    /// layer's value added over the naive one.
    pub(super) fn finish(self) -> BacktestOut {
        let mut overall = Vec::new();
        let mut fam_out = Vec::new();
        let mut cust_out = Vec::new();
        let mut sku_out = Vec::new();
        let mut va = Vec::new();
        for (lag, LagSums { stat, naive, fam, cust, sku }) in LAGS.into_iter().zip(self.lags) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_origin_fitted_once_gives_what_each_lag_alone_gives() {
        // A seasonal series with a trend: the combination (OTM, ETS, Holt-Winters) and every
        // other method, scored at lags 1 and 3 over the last 3 months, against the forecast
        // made for each (lag, month) on its own, as before the shared origin was fitted once.
        let y: Vec<f64> =
            (0..40).map(|t| 100.0 + 2.0 * f64::from(t) + 20.0 * f64::from(t % 12 < 6) + f64::from(t * 7 % 5)).collect();
        let (fc, chosen) = forecast::forecast_fitted(&y, &forecast::Config::default());
        let mut methods = vec![fc.method, Method::AutoEts, Method::Combination, Method::Theta, Method::Croston];
        methods.dedup();
        for method in methods {
            let points = backtest_points(&y, method, chosen.as_ref());
            let mut want = Vec::new();
            for (lag_index, lag) in LAGS.into_iter().enumerate() {
                for t in y.len() - BACKTEST_TARGETS..y.len() {
                    let origin = t + 1 - lag;
                    let f = forecast::predict_from(method, &y[..origin], lag, chosen.as_ref())
                        .or_else(|| forecast::predict(Method::Mean, &y[..origin], lag))
                        .map_or(0.0, |p| p[lag - 1].max(0.0));
                    want.push((lag_index, y[t], f.to_bits(), y[origin - 1]));
                }
            }
            let got: Vec<_> = points.iter().map(|p| (p.lag, p.actual, p.forecast.to_bits(), p.naive)).collect();
            assert_eq!(got, want, "{method:?}");
        }
    }
}
