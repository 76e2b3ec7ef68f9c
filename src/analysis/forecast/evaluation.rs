//! Scoring forecasts on held-out months, for a benchmark against peers, and the accuracy
//! metrics the demand review reports (pairwise over the shorter of `actual` and `forecast`).

use std::collections::BTreeMap;

use super::{Config, DemandClass, Method, SEASON, SeriesForecast, forecast_many};

/// Accuracy of the automatic choice on held-out months, for a benchmark against peers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Series given.
    pub series: usize,
    /// Series long enough to hold out `holdout` months and keep one to train on.
    pub evaluated: usize,
    /// Months held out at the end of each series.
    pub holdout: usize,
    /// `sum |actual - forecast| / sum |actual|` pooled over all evaluated series.
    pub wmape: Option<f64>,
    /// Mean over series of the sMAPE in percent (see [`smape`]), as the M3 competition scores.
    pub smape: Option<f64>,
    /// Mean over series (where defined) of the MASE against the in-sample seasonal naive.
    pub mase: Option<f64>,
    /// Series on which the MASE is defined.
    pub mase_series: usize,
    /// How often each method was chosen.
    pub methods: BTreeMap<Method, usize>,
    /// How many series fell in each class.
    pub classes: BTreeMap<DemandClass, usize>,
}

/// The forecast of every series from all but its last `holdout` months (horizon `holdout`);
/// `None` for series of `holdout` months or fewer.
pub fn holdout_forecasts(series: &[Vec<f64>], holdout: usize, cfg: &Config) -> Vec<Option<SeriesForecast>> {
    let cfg = Config { horizon: holdout, ..cfg.clone() };
    let train: Vec<Vec<f64>> =
        series.iter().filter(|s| s.len() > holdout).map(|s| s[..s.len() - holdout].to_vec()).collect();
    let mut fcs = forecast_many(&train, &cfg).into_iter();
    series.iter().map(|s| if s.len() > holdout { fcs.next() } else { None }).collect()
}

/// Scores forecasts of the last `holdout` months (as [`holdout_forecasts`] makes them, one per
/// series, `None` where skipped) against the series.
pub fn score(series: &[Vec<f64>], holdout: usize, fcs: &[Option<SeriesForecast>]) -> Evaluation {
    let (mut abs_err, mut abs_act) = (0.0, 0.0);
    let (mut mases, mut smapes) = (Vec::new(), Vec::new());
    let mut methods = BTreeMap::new();
    let mut classes = BTreeMap::new();
    let mut evaluated = 0;
    for (s, fc) in series.iter().zip(fcs) {
        let Some(fc) = fc.as_ref().filter(|_| s.len() > holdout) else { continue };
        evaluated += 1;
        let (tr, actual) = s.split_at(s.len() - holdout);
        abs_err += actual.iter().zip(&fc.point).map(|(a, f)| (a - f).abs()).sum::<f64>();
        abs_act += actual.iter().map(|a| a.abs()).sum::<f64>();
        if let Some(v) = mase(actual, &fc.point, tr, SEASON) {
            mases.push(v);
        }
        if let Some(v) = smape(actual, &fc.point) {
            smapes.push(v);
        }
        *methods.entry(fc.method).or_insert(0) += 1;
        *classes.entry(fc.class).or_insert(0) += 1;
    }
    let avg = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    Evaluation {
        series: series.len(),
        evaluated,
        holdout,
        wmape: (abs_act > 0.0).then(|| abs_err / abs_act),
        smape: avg(&smapes),
        mase: avg(&mases),
        mase_series: mases.len(),
        methods,
        classes,
    }
}

/// Forecasts every series from all but its last `holdout` months (horizon `holdout`) and
/// scores the automatic choice on those months. Series of `holdout` months or fewer are
/// skipped.
pub fn evaluate(series: &[Vec<f64>], holdout: usize, cfg: &Config) -> Evaluation {
    score(series, holdout, &holdout_forecasts(series, holdout, cfg))
}

/// Weighted MAPE: `sum |a - f| / sum |a|`; `None` when the actuals sum to 0.
pub fn wmape(actual: &[f64], forecast: &[f64]) -> Option<f64> {
    let den: f64 = actual.iter().map(|a| a.abs()).sum();
    let num: f64 = actual.iter().zip(forecast).map(|(a, f)| (a - f).abs()).sum();
    (den > 0.0).then(|| num / den)
}

/// Symmetric MAPE in percent, as the M3 competition defines it: the mean of
/// `200 * |a - f| / (|a| + |f|)`, a month where both are 0 counting 0; `None` when nothing is
/// compared.
pub fn smape(actual: &[f64], forecast: &[f64]) -> Option<f64> {
    let k = actual.len().min(forecast.len());
    let sum: f64 = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| {
            let den = a.abs() + f.abs();
            if den > 0.0 { 200.0 * (a - f).abs() / den } else { 0.0 }
        })
        .sum();
    (k > 0).then(|| sum / k as f64)
}

/// Mean absolute percentage error as a fraction; `None` when any actual is 0 (or none given).
pub fn mape(actual: &[f64], forecast: &[f64]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = actual.iter().copied().zip(forecast.iter().copied()).collect();
    if pairs.is_empty() || pairs.iter().any(|(a, _)| *a == 0.0) {
        return None;
    }
    Some(pairs.iter().map(|(a, f)| ((a - f) / a).abs()).sum::<f64>() / pairs.len() as f64)
}

/// Bias: `sum (f - a) / sum a`, positive when over-forecasting; `None` when the actuals sum
/// to 0.
pub fn bias(actual: &[f64], forecast: &[f64]) -> Option<f64> {
    let den: f64 = actual.iter().sum();
    let num: f64 = actual.iter().zip(forecast).map(|(a, f)| f - a).sum();
    (den != 0.0).then(|| num / den)
}

/// Mean absolute scaled error: the MAE over the mean absolute in-sample error of the seasonal
/// naive with lag `m` (lag 1 when the in-sample has `m` values or fewer). `None` when the
/// scale is 0 or cannot be computed, or nothing is compared.
pub fn mase(actual: &[f64], forecast: &[f64], insample: &[f64], m: usize) -> Option<f64> {
    let lag = if m >= 1 && insample.len() > m { m } else { 1 };
    if insample.len() <= lag {
        return None;
    }
    let scale = (lag..insample.len()).map(|t| (insample[t] - insample[t - lag]).abs()).sum::<f64>()
        / (insample.len() - lag) as f64;
    let k = actual.len().min(forecast.len());
    if scale <= 0.0 || k == 0 {
        return None;
    }
    let mae = actual.iter().zip(forecast).map(|(a, f)| (a - f).abs()).sum::<f64>() / k as f64;
    Some(mae / scale)
}
