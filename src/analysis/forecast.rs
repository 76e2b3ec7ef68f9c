//! Statistical demand forecast: one monthly series (SKU x customer) in, 18 months out.
//!
//! Every method is the textbook recursion written out on plain `f64` slices, so a planner (or
//! an auditor) can check a number by hand. Parameters are fitted by minimising the in-sample
//! one-step sum of squared errors over a fixed grid refined by golden-section search
//! ([`minimise`]): no randomness, so identical inputs give bit-identical outputs.
//!
//! [`forecast`] classifies a series (Syntetos-Boylan), backtests the candidate methods for its
//! class on rolling origins, keeps the class's default method unless another has a clearly
//! lower mean absolute error ([`SWITCH_MARGIN`]; ties go to the earlier candidate) and derives
//! prediction intervals from the backtest errors. Forecasts
//! and bounds are never negative: demand is not.

use rayon::prelude::*;

mod combination;
pub mod ets;
mod evaluation;
mod intermittent;

pub use self::combination::{COMBINATION, combination};
pub use self::evaluation::{Evaluation, bias, evaluate, holdout_forecasts, mape, mase, score, smape, wmape};
#[cfg(test)]
use self::intermittent::fit_croston;
pub use self::intermittent::{croston, croston_with, sba, sba_with, tsb, tsb_with};

/// Season length of monthly data.
pub const SEASON: usize = 12;

/// Fewer observations than this and the series is [`DemandClass::Short`]: it gets its mean.
pub const MIN_OBSERVATIONS: usize = 6;

/// Syntetos-Boylan cut-off on the average inter-demand interval.
pub const ADI_CUTOFF: f64 = 1.32;

/// Syntetos-Boylan cut-off on the squared coefficient of variation of demand sizes.
pub const CV2_CUTOFF: f64 = 0.49;

/// Another candidate replaces the class's default method (the combination for smooth and
/// erratic demand, TSB for intermittent and lumpy) only when its backtest MAE is lower by more
/// than this fraction. Picking the plain lowest MAE of a few backtest windows chases noise: on
/// the demo data, M3 monthly and its MICRO subset, plain selection was 2-4 % worse (WMAPE and
/// MASE) than this rule, and 0.1 or 0.3 did no better than 0.2.
pub const SWITCH_MARGIN: f64 = 0.2;

/// Shortest training window a backtest origin may leave.
const MIN_TRAIN: usize = 4;

/// A forecasting method. The declaration order is the tie-break order of the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Zero every month (no demand ever, or no history).
    Zero,
    /// The last observation.
    Naive,
    /// The same month one season earlier.
    SeasonalNaive,
    /// Simple exponential smoothing.
    Ses,
    /// Holt's linear trend.
    Holt,
    /// Holt's trend, damped by `phi`.
    DampedHolt,
    /// Holt-Winters with additive seasonality (24 months of history at least).
    HoltWintersAdditive,
    /// Holt-Winters with multiplicative seasonality (24 months, all values positive).
    HoltWintersMultiplicative,
    /// The standard Theta method (SES with half the linear-trend drift), deseasonalised.
    Theta,
    /// The optimised Theta method (OTM, Fiorucci et al. 2016): the theta line's weight fitted.
    OptimisedTheta,
    /// Croston's method for intermittent demand.
    Croston,
    /// Syntetos-Boylan approximation: Croston x (1 - alpha/2).
    Sba,
    /// Teunter-Syntetos-Babai: demand probability updated every period.
    Tsb,
    /// The mean of the history (short series).
    Mean,
    /// Automatic exponential smoothing (ETS): the state-space model of lowest AICc
    /// ([`ets::auto_fit`]).
    AutoEts,
    /// The mean of [`COMBINATION`]'s forecasts (optimised Theta, ETS, and additive
    /// Holt-Winters when the series is seasonal).
    Combination,
}

impl Method {
    /// Every method, in tie-break order.
    pub const ALL: [Method; 16] = [
        Method::Zero,
        Method::Naive,
        Method::SeasonalNaive,
        Method::Ses,
        Method::Holt,
        Method::DampedHolt,
        Method::HoltWintersAdditive,
        Method::HoltWintersMultiplicative,
        Method::Theta,
        Method::OptimisedTheta,
        Method::Croston,
        Method::Sba,
        Method::Tsb,
        Method::Mean,
        Method::AutoEts,
        Method::Combination,
    ];
}

/// Syntetos-Boylan demand class, plus the two cases that get no model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandClass {
    /// No positive demand in the history: forecast zero.
    AllZero,
    /// Fewer than [`MIN_OBSERVATIONS`] months: forecast the mean.
    Short,
    /// Regular demand, regular sizes (ADI < 1.32, CV² < 0.49).
    Smooth,
    /// Regular demand, erratic sizes (ADI < 1.32, CV² >= 0.49).
    Erratic,
    /// Sporadic demand, regular sizes (ADI >= 1.32, CV² < 0.49).
    Intermittent,
    /// Sporadic demand, erratic sizes (ADI >= 1.32, CV² >= 0.49).
    Lumpy,
}

/// How far to forecast and how to backtest.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Months to forecast.
    pub horizon: usize,
    /// Rolling backtest origins, one backtest horizon apart (fewer when the history is short).
    /// 6 rather than 3: with 3 the selection was measurably noisier on every data set tried.
    pub backtest_origins: usize,
    /// Months forecast from each backtest origin (shorter when the history is short).
    pub backtest_horizon: usize,
    /// Lower and upper quantile of the backtest errors that bound the prediction interval.
    pub interval_quantiles: (f64, f64),
}

impl Default for Config {
    fn default() -> Config {
        Config { horizon: 18, backtest_origins: 6, backtest_horizon: 6, interval_quantiles: (0.1, 0.9) }
    }
}

/// The forecast of one series.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeriesForecast {
    /// The method chosen.
    pub method: Method,
    /// The demand class that decided the candidates.
    pub class: DemandClass,
    /// Point forecast, one value per month of the horizon.
    pub point: Vec<f64>,
    /// Lower bound of the prediction interval (never negative, never above `point`).
    pub lower: Vec<f64>,
    /// Upper bound of the prediction interval (never below `point`).
    pub upper: Vec<f64>,
    /// Mean absolute error of the chosen method over the backtest; `None` when not backtested.
    pub backtest_mae: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// Classification

/// Syntetos-Boylan classification. ADI is the number of months over the number of months with
/// positive demand; CV² is the squared coefficient of variation (population standard deviation
/// over mean) of the positive demand sizes.
pub fn classify(history: &[f64]) -> DemandClass {
    if history.is_empty() {
        return DemandClass::Short;
    }
    let sizes: Vec<f64> = history.iter().copied().filter(|v| *v > 0.0).collect();
    if sizes.is_empty() {
        return DemandClass::AllZero;
    }
    if history.len() < MIN_OBSERVATIONS {
        return DemandClass::Short;
    }
    let (adi, cv2) = adi_cv2(history.len(), &sizes);
    match (adi < ADI_CUTOFF, cv2 < CV2_CUTOFF) {
        (true, true) => DemandClass::Smooth,
        (true, false) => DemandClass::Erratic,
        (false, true) => DemandClass::Intermittent,
        (false, false) => DemandClass::Lumpy,
    }
}

fn adi_cv2(months: usize, sizes: &[f64]) -> (f64, f64) {
    let k = sizes.len() as f64;
    let adi = months as f64 / k;
    let mean = sizes.iter().sum::<f64>() / k;
    let var = sizes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / k;
    (adi, var / (mean * mean))
}

// ---------------------------------------------------------------------------------------------
// Optimiser

/// Minimises `f` over the box `bounds`: first the product grid of `grid[d]` evenly spaced
/// points per parameter (bounds included), then two rounds of golden-section search on one
/// parameter at a time within one grid cell of the best point (half a cell in the second
/// round). A point replaces the best only when strictly better, and non-finite values count
/// as infinite, so the result depends on nothing but the inputs.
fn minimise<const D: usize>(bounds: [(f64, f64); D], grid: [usize; D], f: impl Fn([f64; D]) -> f64) -> [f64; D] {
    minimise_lanes(bounds, grid, &f, |xs: [[f64; D]; LANES]| xs.map(&f))
}

/// A golden-section search's bracket `a..b`, its inner points `c < e` and their values.
#[derive(Clone, Copy)]
struct Golden {
    a: f64,
    b: f64,
    c: f64,
    e: f64,
    fc: f64,
    fe: f64,
}

/// The bracket after one step whose new inner point is still to be evaluated.
struct Pending {
    g: Golden,
    /// The new point replaced `c` (else `e`).
    new_c: bool,
}

impl Golden {
    /// One step: the bracket shrinks towards the lower of the two values (to the left on a
    /// tie) and the new inner point, returned, is to be evaluated.
    fn step(self, inv_phi: f64) -> (Pending, f64) {
        self.step_to(self.fc <= self.fe, inv_phi)
    }

    /// [`Golden::step`] to the left (`left`) or to the right, whatever the values say.
    fn step_to(self, left: bool, inv_phi: f64) -> (Pending, f64) {
        let Golden { mut a, mut b, mut c, mut e, mut fc, mut fe } = self;
        if left {
            b = e;
            e = c;
            fe = fc;
            c = b - inv_phi * (b - a);
            (Pending { g: Golden { a, b, c, e, fc, fe }, new_c: true }, c)
        } else {
            a = c;
            c = e;
            fc = fe;
            e = a + inv_phi * (b - a);
            (Pending { g: Golden { a, b, c, e, fc, fe }, new_c: false }, e)
        }
    }
}

impl Pending {
    /// The bracket with the new point's value `v`.
    fn with(&self, v: f64) -> Golden {
        let mut g = self.g;
        if self.new_c {
            g.fc = v;
        } else {
            g.fe = v;
        }
        g
    }
}

/// Points of the grid search evaluated together by [`minimise_lanes`]'s `f_lanes`.
const LANES: usize = 4;

/// [`minimise`], the grid's points evaluated [`LANES`] at a time by `f_lanes` (which must give
/// what `f` gives for each point, bit for bit: the recursions below run their lanes side by
/// side with the same arithmetic, so a core overlaps their latencies); the grid is then scanned
/// in order, as one point at a time would be.
fn minimise_lanes<const D: usize>(
    bounds: [(f64, f64); D],
    grid: [usize; D],
    f: impl Fn([f64; D]) -> f64,
    f_lanes: impl Fn([[f64; D]; LANES]) -> [f64; LANES],
) -> [f64; D] {
    let finite = |v: f64| if v.is_finite() { v } else { f64::INFINITY };
    let eval = |x: [f64; D]| finite(f(x));
    let point = |d: usize, i: usize| {
        let (lo, hi) = bounds[d];
        if grid[d] <= 1 { lo } else { lo + (hi - lo) * i as f64 / (grid[d] - 1) as f64 }
    };
    // The grid in odometer order (the first parameter fastest).
    let mut points: Vec<[f64; D]> = Vec::new();
    let mut idx = [0usize; D];
    loop {
        let mut x = [0.0; D];
        for d in 0..D {
            x[d] = point(d, idx[d]);
        }
        points.push(x);
        let mut d = 0;
        loop {
            if d == D {
                break;
            }
            idx[d] += 1;
            if idx[d] < grid[d].max(1) {
                break;
            }
            idx[d] = 0;
            d += 1;
        }
        if d == D {
            break;
        }
    }
    let mut values = Vec::with_capacity(points.len());
    let mut chunks = points.chunks_exact(LANES);
    for chunk in chunks.by_ref() {
        let xs: [[f64; D]; LANES] = std::array::from_fn(|k| chunk[k]);
        values.extend(f_lanes(xs).map(finite));
    }
    values.extend(chunks.remainder().iter().map(|x| eval(*x)));
    let mut best = points[0];
    let mut best_v = values[0];
    for (x, v) in points.iter().zip(&values).skip(1) {
        if *v < best_v {
            best = *x;
            best_v = *v;
        }
    }
    let inv_phi = (5f64.sqrt() - 1.0) / 2.0;
    for round in 0..2 {
        for d in 0..D {
            let (lo, hi) = bounds[d];
            let cell = if grid[d] <= 1 { hi - lo } else { (hi - lo) / (grid[d] - 1) as f64 };
            let reach = cell / f64::from(1 + round);
            let (a, b) = ((best[d] - reach).max(lo), (best[d] + reach).min(hi));
            let at = |t: f64| {
                let mut x = best;
                x[d] = t;
                eval(x)
            };
            // Up to four values of the parameter at once.
            let at_lanes = |ts: [f64; LANES]| {
                f_lanes(ts.map(|t| {
                    let mut x = best;
                    x[d] = t;
                    x
                }))
                .map(finite)
            };
            let c = b - inv_phi * (b - a);
            let e = a + inv_phi * (b - a);
            let [fc, fe, _, _] = at_lanes([c, e, c, e]);
            let mut g = Golden { a, b, c, e, fc, fe };
            // Two steps at a time: the next step's point is known, and the one after is one of
            // two (it depends on the value at the next point), so all three are evaluated
            // together and the steps taken as one at a time would take them.
            for _ in 0..8 {
                let (first, t1) = g.step(inv_phi);
                // The step after's point either way (the points do not depend on the values).
                let tl = first.g.step_to(true, inv_phi).1;
                let tr = first.g.step_to(false, inv_phi).1;
                let [v1, vl, vr, _] = at_lanes([t1, tl, tr, t1]);
                let g1 = first.with(v1);
                let left = g1.fc <= g1.fe;
                let (second, t2) = g1.step(inv_phi);
                debug_assert_eq!(t2.to_bits(), if left { tl } else { tr }.to_bits());
                g = second.with(if left { vl } else { vr });
            }
            let Golden { a, b, .. } = g;
            let t = (a + b) / 2.0;
            let v = at(t);
            if v < best_v {
                best[d] = t;
                best_v = v;
            }
        }
    }
    best
}

// ---------------------------------------------------------------------------------------------
// Simple methods

/// The last observation, repeated.
pub fn naive(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    let last = *history.last()?;
    Some(vec![last; horizon])
}

/// The same month of the last season, repeated season after season; needs one season.
pub fn seasonal_naive(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    let n = history.len();
    if n < SEASON {
        return None;
    }
    Some((0..horizon).map(|h| history[n - SEASON + h % SEASON]).collect())
}

/// The mean of the history, repeated.
pub fn mean(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    if history.is_empty() {
        return None;
    }
    let m = history.iter().sum::<f64>() / history.len() as f64;
    Some(vec![m; horizon])
}

// ---------------------------------------------------------------------------------------------
// Exponential smoothing

/// SES recursion from `level = y[0]`: `level = alpha * y[t] + (1 - alpha) * level` for
/// `t >= 1`, the one-step forecast of `y[t]` being the level before it. Returns the SSE of
/// those forecasts and the final level.
fn ses_run(y: &[f64], alpha: f64) -> (f64, f64) {
    let mut level = y[0];
    let mut sse = 0.0;
    for &v in &y[1..] {
        sse += (v - level).powi(2);
        level = alpha * v + (1.0 - alpha) * level;
    }
    (sse, level)
}

/// [`ses_run`]'s SSE for [`LANES`] values of `alpha` at once (the same arithmetic per lane).
fn ses_sse_lanes(y: &[f64], alpha: [f64; LANES]) -> [f64; LANES] {
    let mut level = [y[0]; LANES];
    let mut sse = [0.0; LANES];
    for &v in &y[1..] {
        for k in 0..LANES {
            sse[k] += (v - level[k]).powi(2);
            level[k] = alpha[k] * v + (1.0 - alpha[k]) * level[k];
        }
    }
    sse
}

fn fit_ses(y: &[f64]) -> f64 {
    minimise_lanes([(0.01, 0.99)], [11], |[a]| ses_run(y, a).0, |xs| ses_sse_lanes(y, xs.map(|[a]| a)))[0]
}

/// Simple exponential smoothing with a given `alpha`; flat forecast at the final level.
pub fn ses_with(history: &[f64], horizon: usize, alpha: f64) -> Option<Vec<f64>> {
    if history.is_empty() {
        return None;
    }
    Some(vec![ses_run(history, alpha).1; horizon])
}

/// Simple exponential smoothing with `alpha` fitted in 0.01..=0.99; needs 2 observations.
pub fn ses(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    if history.len() < 2 {
        return None;
    }
    seasonally_adjusted(history, horizon, |x, h| ses_with(x, h, fit_ses(x)))
}

/// Initial state of the trend methods: `level = y[0]`, `trend` = the mean of the first (up to
/// three) month-on-month differences.
fn trend_init(y: &[f64]) -> (f64, f64) {
    let k = (y.len() - 1).min(3);
    (y[0], (y[k] - y[0]) / k as f64)
}

/// Holt's recursion with damping `phi` (1 for plain Holt), for `t >= 1`:
/// forecast `level + phi * trend`; `level' = alpha * y + (1 - alpha) * (level + phi * trend)`;
/// `trend' = beta * (level' - level) + (1 - beta) * phi * trend`. Returns (SSE, level, trend).
fn trend_run(y: &[f64], alpha: f64, beta: f64, phi: f64) -> (f64, f64, f64) {
    let (mut level, mut trend) = trend_init(y);
    let mut sse = 0.0;
    for &v in &y[1..] {
        let fc = level + phi * trend;
        sse += (v - fc).powi(2);
        let next = alpha * v + (1.0 - alpha) * fc;
        trend = beta * (next - level) + (1.0 - beta) * phi * trend;
        level = next;
    }
    (sse, level, trend)
}

/// [`trend_run`]'s SSE for [`LANES`] points `[alpha, beta, phi]` at once (the same arithmetic
/// per lane).
fn trend_sse_lanes(y: &[f64], xs: [[f64; 3]; LANES]) -> [f64; LANES] {
    let (l0, b0) = trend_init(y);
    let (mut level, mut trend, mut sse) = ([l0; LANES], [b0; LANES], [0.0; LANES]);
    for &v in &y[1..] {
        for k in 0..LANES {
            let [alpha, beta, phi] = xs[k];
            let fc = level[k] + phi * trend[k];
            sse[k] += (v - fc).powi(2);
            let next = alpha * v + (1.0 - alpha) * fc;
            trend[k] = beta * (next - level[k]) + (1.0 - beta) * phi * trend[k];
            level[k] = next;
        }
    }
    sse
}

fn trend_forecast(level: f64, trend: f64, phi: f64, horizon: usize) -> Vec<f64> {
    let mut damp = 0.0;
    let mut factor = 1.0;
    (0..horizon)
        .map(|_| {
            factor *= phi;
            damp += factor;
            level + damp * trend
        })
        .collect()
}

/// Holt's linear trend with given parameters; forecast `level + h * trend`.
pub fn holt_with(history: &[f64], horizon: usize, alpha: f64, beta: f64) -> Option<Vec<f64>> {
    if history.len() < 2 {
        return None;
    }
    let (_, level, trend) = trend_run(history, alpha, beta, 1.0);
    Some(trend_forecast(level, trend, 1.0, horizon))
}

/// Holt's linear trend, `alpha` in 0.01..=0.99 and `beta` in 0.01..=0.5; needs 3 observations.
pub fn holt(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    if history.len() < 3 {
        return None;
    }
    seasonally_adjusted(history, horizon, |x, h| {
        let [a, b] = minimise_lanes(
            [(0.01, 0.99), (0.01, 0.5)],
            [7, 6],
            |[a, b]| trend_run(x, a, b, 1.0).0,
            |xs| trend_sse_lanes(x, xs.map(|[a, b]| [a, b, 1.0])),
        );
        holt_with(x, h, a, b)
    })
}

/// Damped-trend Holt with given parameters; forecast `level + (phi + ... + phi^h) * trend`.
pub fn damped_holt_with(history: &[f64], horizon: usize, alpha: f64, beta: f64, phi: f64) -> Option<Vec<f64>> {
    if history.len() < 2 {
        return None;
    }
    let (_, level, trend) = trend_run(history, alpha, beta, phi);
    Some(trend_forecast(level, trend, phi, horizon))
}

/// Damped-trend Holt, `phi` fitted in 0.8..=0.98; needs 3 observations.
pub fn damped_holt(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    if history.len() < 3 {
        return None;
    }
    seasonally_adjusted(history, horizon, |x, h| {
        let [a, b, p] = minimise_lanes(
            [(0.01, 0.99), (0.01, 0.5), (0.8, 0.98)],
            [6, 5, 4],
            |[a, b, p]| trend_run(x, a, b, p).0,
            |xs| trend_sse_lanes(x, xs),
        );
        damped_holt_with(x, h, a, b, p)
    })
}

/// Holt-Winters initial state from the first two seasons: the level is the first season's
/// mean moved to its last month, the trend the difference of the two seasons' means over
/// [`SEASON`], and each seasonal index the mean over both seasons of the detrended value minus
/// (additive) or over (multiplicative) the season mean, normalised to sum to 0 (or to
/// [`SEASON`]).
fn hw_init(y: &[f64], multiplicative: bool) -> (f64, f64, [f64; SEASON]) {
    let m = SEASON as f64;
    let a1 = y[..SEASON].iter().sum::<f64>() / m;
    let a2 = y[SEASON..2 * SEASON].iter().sum::<f64>() / m;
    let trend = (a2 - a1) / m;
    let mid = (m - 1.0) / 2.0;
    let mut season = [0.0; SEASON];
    for (i, s) in season.iter_mut().enumerate() {
        let drift = trend * (i as f64 - mid);
        let (b1, b2) = (a1 + drift, a2 + drift);
        *s = if multiplicative {
            (y[i] / b1 + y[SEASON + i] / b2) / 2.0
        } else {
            ((y[i] - b1) + (y[SEASON + i] - b2)) / 2.0
        };
    }
    let total: f64 = season.iter().sum();
    for s in &mut season {
        if multiplicative {
            *s *= m / total;
        } else {
            *s -= total / m;
        }
    }
    (a1 + trend * mid, trend, season)
}

/// The Holt-Winters state after the history, from `t = SEASON` on (the first season only
/// initialises): one-step forecast `level + trend` combined with the seasonal index of `t`;
/// `level' = alpha * deseasonalised y + (1 - alpha) * (level + trend)`;
/// `trend' = beta * (level' - level) + (1 - beta) * trend`;
/// `season[t] = gamma * (y - level' or y / level') + (1 - gamma) * season[t]`.
struct HwState {
    sse: f64,
    level: f64,
    trend: f64,
    season: [f64; SEASON],
}

fn hw_run(y: &[f64], alpha: f64, beta: f64, gamma: f64, multiplicative: bool) -> HwState {
    hw_run_from(y, hw_init(y, multiplicative), (alpha, beta, gamma), multiplicative)
}

/// [`hw_run`] from the initial state `init` (its [`hw_init`], computed once per fit).
fn hw_run_from(y: &[f64], init: HwInit, (alpha, beta, gamma): (f64, f64, f64), multiplicative: bool) -> HwState {
    if multiplicative {
        hw_run_as::<true>(y, init, alpha, beta, gamma)
    } else {
        hw_run_as::<false>(y, init, alpha, beta, gamma)
    }
}

/// Holt-Winters' initial level, trend and season ([`hw_init`]).
type HwInit = (f64, f64, [f64; SEASON]);

/// [`hw_run`] for one form (a copy of the loop each, the same arithmetic in the same order).
fn hw_run_as<const MULT: bool>(y: &[f64], init: HwInit, alpha: f64, beta: f64, gamma: f64) -> HwState {
    let (mut level, mut trend, mut season) = init;
    let mut sse = 0.0;
    // `t % SEASON`, kept by counting (`t` starts at `SEASON`).
    let mut i = 0;
    for &v in y.iter().skip(SEASON) {
        let s = season[i];
        let base = level + trend;
        let (fc, deseason) = if MULT { (base * s, v / s) } else { (base + s, v - s) };
        sse += (v - fc).powi(2);
        let next = alpha * deseason + (1.0 - alpha) * base;
        if MULT && next <= 0.0 {
            return HwState { sse: f64::INFINITY, level, trend, season };
        }
        trend = beta * (next - level) + (1.0 - beta) * trend;
        level = next;
        season[i] =
            if MULT { gamma * (v / level) + (1.0 - gamma) * s } else { gamma * (v - level) + (1.0 - gamma) * s };
        i += 1;
        if i == SEASON {
            i = 0;
        }
    }
    HwState { sse, level, trend, season }
}

/// [`hw_run_as`]'s SSE for [`LANES`] points `[alpha, beta, gamma]` at once (the same
/// arithmetic per lane; a lane whose level leaves the positive numbers when multiplicative is
/// infinite, as there, and its later values are not used).
fn hw_sse_lanes<const MULT: bool>(y: &[f64], (l0, b0, s0): HwInit, xs: [[f64; 3]; LANES]) -> [f64; LANES] {
    let (mut level, mut trend, mut season) = ([l0; LANES], [b0; LANES], [s0; LANES]);
    let mut sse = [0.0; LANES];
    let mut dead = [false; LANES];
    let mut i = 0;
    for &v in y.iter().skip(SEASON) {
        for k in 0..LANES {
            let [alpha, beta, gamma] = xs[k];
            let s = season[k][i];
            let base = level[k] + trend[k];
            let (fc, deseason) = if MULT { (base * s, v / s) } else { (base + s, v - s) };
            sse[k] += (v - fc).powi(2);
            let next = alpha * deseason + (1.0 - alpha) * base;
            if MULT && next <= 0.0 {
                dead[k] = true;
            }
            trend[k] = beta * (next - level[k]) + (1.0 - beta) * trend[k];
            level[k] = next;
            season[k][i] = if MULT {
                gamma * (v / level[k]) + (1.0 - gamma) * s
            } else {
                gamma * (v - level[k]) + (1.0 - gamma) * s
            };
        }
        i += 1;
        if i == SEASON {
            i = 0;
        }
    }
    std::array::from_fn(|k| if dead[k] { f64::INFINITY } else { sse[k] })
}

fn hw_applies(y: &[f64], multiplicative: bool) -> bool {
    y.len() >= 2 * SEASON && (!multiplicative || y.iter().all(|v| *v > 0.0))
}

/// Holt-Winters with given parameters; forecast `level + h * trend` combined with the seasonal
/// index of the month. `None` under 24 months, or with a non-positive value when
/// multiplicative.
pub fn holt_winters_with(
    history: &[f64],
    horizon: usize,
    multiplicative: bool,
    (alpha, beta, gamma): (f64, f64, f64),
) -> Option<Vec<f64>> {
    if !hw_applies(history, multiplicative) {
        return None;
    }
    let st = hw_run(history, alpha, beta, gamma, multiplicative);
    if !st.sse.is_finite() {
        return None;
    }
    let n = history.len();
    Some(
        (1..=horizon)
            .map(|h| {
                let base = st.level + h as f64 * st.trend;
                let s = st.season[(n - 1 + h) % SEASON];
                if multiplicative { base * s } else { base + s }
            })
            .collect(),
    )
}

/// Holt-Winters, `alpha` in 0.01..=0.99, `beta` in 0.01..=0.3, `gamma` in 0.01..=0.5.
pub fn holt_winters(history: &[f64], horizon: usize, multiplicative: bool) -> Option<Vec<f64>> {
    if !hw_applies(history, multiplicative) {
        return None;
    }
    let init = hw_init(history, multiplicative);
    let [a, b, g] = minimise_lanes(
        [(0.01, 0.99), (0.01, 0.3), (0.01, 0.5)],
        [5, 4, 5],
        |x| hw_run_from(history, init, x.into(), multiplicative).sse,
        |xs| {
            if multiplicative {
                hw_sse_lanes::<true>(history, init, xs)
            } else {
                hw_sse_lanes::<false>(history, init, xs)
            }
        },
    );
    holt_winters_with(history, horizon, multiplicative, (a, b, g))
}

// ---------------------------------------------------------------------------------------------
// Theta

/// Autocorrelation of `y` at `lag`; `None` for a constant series.
fn acf(y: &[f64], lag: usize) -> Option<f64> {
    acf_with(y, lag, acf_base(y))
}

/// The mean of `y` and the sum of squared deviations from it, which [`acf`] divides by (the
/// same for every lag, so computed once where several lags are wanted).
fn acf_base(y: &[f64]) -> (f64, f64) {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    (mean, y.iter().map(|v| (v - mean).powi(2)).sum())
}

fn acf_with(y: &[f64], lag: usize, (mean, denom): (f64, f64)) -> Option<f64> {
    let n = y.len();
    if denom <= 0.0 || lag >= n {
        return None;
    }
    let num: f64 = (lag..n).map(|t| (y[t] - mean) * (y[t - lag] - mean)).sum();
    Some(num / denom)
}

/// The seasonality test of the standard Theta method (R `forecast::thetaf`, statsforecast):
/// seasonal when `|r_m| > 1.645 * sqrt((1 + 2 * sum_{k<m} r_k^2) / n)` (90 % one-sided),
/// tried only with two full seasons.
///
/// Under four seasons that test can hardly pass: a smooth season makes every `r_k` large, so
/// the limit nears 1 while `r_12` of 36 months is at most 2/3 (on M3 cut to 36 months it found
/// 115 of 778 seasonal series). There, a series is also seasonal when the autocorrelation at
/// lag 12 of its linearly detrended values is above the 90 % limit of white noise,
/// `1.645 / sqrt(n)` (one-sided: a season correlates positively a year apart), and it has
/// demand every month (sporadic demand repeats by chance more often than by season).
fn is_seasonal(y: &[f64]) -> bool {
    let n = y.len();
    if n < 2 * SEASON {
        return false;
    }
    let base = acf_base(y);
    let Some(rm) = acf_with(y, SEASON, base) else { return false };
    let mut sum = 0.0;
    for k in 1..SEASON {
        sum += acf_with(y, k, base).unwrap_or(0.0).powi(2);
    }
    if rm.abs() > 1.645 * ((1.0 + 2.0 * sum) / n as f64).sqrt() {
        return true;
    }
    n < 4 * SEASON
        && y.iter().all(|v| *v > 0.0)
        && acf(&detrended(y), SEASON).is_some_and(|r| r > 1.645 / (n as f64).sqrt())
}

/// `y` less its least-squares line.
fn detrended(y: &[f64]) -> Vec<f64> {
    let b = ols_slope(y);
    let n = y.len() as f64;
    let a = y.iter().sum::<f64>() / n - b * (n - 1.0) / 2.0;
    y.iter().enumerate().map(|(t, v)| v - a - b * t as f64).collect()
}

/// Classical decomposition indices: a centred 2x12 moving average as trend, the ratio (or
/// difference) of each value to it, averaged by month and normalised to mean 1 (or 0).
/// Multiplicative unless a value or the trend is not positive. Indexed by `t % SEASON`.
fn classical_seasonal(y: &[f64]) -> ([f64; SEASON], bool) {
    let half = SEASON / 2;
    let n = y.len();
    let trend: Vec<(usize, f64)> = (half..n - half)
        .map(|t| {
            let inner: f64 = y[t - half + 1..t + half].iter().sum();
            (t, (inner + 0.5 * (y[t - half] + y[t + half])) / SEASON as f64)
        })
        .collect();
    let multiplicative = y.iter().all(|v| *v > 0.0) && trend.iter().all(|(_, c)| *c > 0.0);
    let mut sum = [0.0; SEASON];
    let mut count = [0usize; SEASON];
    for &(t, c) in &trend {
        sum[t % SEASON] += if multiplicative { y[t] / c } else { y[t] - c };
        count[t % SEASON] += 1;
    }
    let neutral = if multiplicative { 1.0 } else { 0.0 };
    let mut idx = [neutral; SEASON];
    for i in 0..SEASON {
        if count[i] > 0 {
            idx[i] = sum[i] / count[i] as f64;
        }
    }
    let avg = idx.iter().sum::<f64>() / SEASON as f64;
    for s in &mut idx {
        if multiplicative {
            *s /= avg;
        } else {
            *s -= avg;
        }
    }
    (idx, multiplicative)
}

/// Ordinary least squares slope of `y` on `0, 1, 2, ...`.
fn ols_slope(y: &[f64]) -> f64 {
    let n = y.len() as f64;
    let tm = (n - 1.0) / 2.0;
    let ym = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (t, v) in y.iter().enumerate() {
        sxy += (t as f64 - tm) * (v - ym);
        sxx += (t as f64 - tm).powi(2);
    }
    if sxx > 0.0 { sxy / sxx } else { 0.0 }
}

/// Theta on a non-seasonal series with a given SES `alpha` (Hyndman & Billah 2003):
/// `level_n + b/2 * ((h - 1) + 1/alpha - (1 - alpha)^n / alpha)`, `b` the OLS slope.
fn theta_core(x: &[f64], horizon: usize, alpha: f64) -> Vec<f64> {
    let n = x.len();
    let level = ses_run(x, alpha).1;
    let b = ols_slope(x);
    let tail = 1.0 / alpha - (1.0 - alpha).powi(n as i32) / alpha;
    (1..=horizon).map(|h| level + b / 2.0 * ((h - 1) as f64 + tail)).collect()
}

/// Runs a non-seasonal method on the seasonally adjusted series when [`is_seasonal`] says so
/// (classical decomposition, as in the M3/M4 benchmarks and the standard Theta method), and
/// puts the season back on its forecasts; on the series itself otherwise.
fn seasonally_adjusted(
    history: &[f64],
    horizon: usize,
    method: impl Fn(&[f64], usize) -> Option<Vec<f64>>,
) -> Option<Vec<f64>> {
    if !is_seasonal(history) {
        return method(history, horizon);
    }
    let n = history.len();
    let (idx, mult) = classical_seasonal(history);
    let x: Vec<f64> =
        history.iter().enumerate().map(|(t, v)| if mult { v / idx[t % SEASON] } else { v - idx[t % SEASON] }).collect();
    let mut out = method(&x, horizon)?;
    for (h, v) in out.iter_mut().enumerate() {
        let s = idx[(n + h) % SEASON];
        if mult {
            *v *= s;
        } else {
            *v += s;
        }
    }
    Some(out)
}

/// The optimised Theta method on a non-seasonal series with given `alpha` and `theta`
/// (Fiorucci, Pellegrini, Louzada, Petropoulos & Koehler 2016, OTM): the theta line
/// `z_t = theta * x_t + (1 - theta) * (a + b t)` (`a + b t` the least-squares line) is
/// smoothed by SES, and the forecast is `(1 - 1/theta) * (a + b (n - 1 + h)) + level_n / theta`.
/// `theta = 1` is SES on the series; `theta = 2` weighs the line and the smoothed theta line
/// equally, as the standard method does.
fn otm_core(x: &[f64], horizon: usize, alpha: f64, theta: f64) -> Vec<f64> {
    let n = x.len() as f64;
    let (a, b) = ols_line(x);
    let level = ses_run(&theta_line(x, a, b, theta), alpha).1;
    (1..=horizon).map(|h| (1.0 - 1.0 / theta) * (a + b * (n - 1.0 + h as f64)) + level / theta).collect()
}

fn theta_line(x: &[f64], a: f64, b: f64, theta: f64) -> Vec<f64> {
    x.iter().enumerate().map(|(t, v)| theta * v + (1.0 - theta) * (a + b * t as f64)).collect()
}

/// Intercept and slope of the least-squares line of `y` on `0, 1, 2, ...`.
fn ols_line(y: &[f64]) -> (f64, f64) {
    let b = ols_slope(y);
    let n = y.len() as f64;
    (y.iter().sum::<f64>() / n - b * (n - 1.0) / 2.0, b)
}

/// OTM's parameters: `alpha` in 0.01..=0.99 and `theta` in 1..=4 minimising the in-sample
/// one-step SSE of the series, which is the SES SSE on the theta line over `theta^2` (the
/// fitted value is `(1 - 1/theta) * line + level / theta`, and `x = (1 - 1/theta) * line + z / theta`).
fn fit_otm(x: &[f64]) -> (f64, f64) {
    let (a, b) = ols_line(x);
    let [alpha, theta] = minimise_lanes(
        [(0.01, 0.99), (1.0, 4.0)],
        [6, 7],
        |[al, th]| ses_run(&theta_line(x, a, b, th), al).0 / (th * th),
        |xs| otm_sse_lanes(x, a, b, xs),
    );
    (alpha, theta)
}

/// [`fit_otm`]'s objective for [`LANES`] points `[alpha, theta]` at once: the SES SSE on the
/// theta line (each value as [`theta_line`] computes it) over `theta^2`.
fn otm_sse_lanes(x: &[f64], a: f64, b: f64, xs: [[f64; 2]; LANES]) -> [f64; LANES] {
    let z = |k: usize, t: usize| {
        let theta = xs[k][1];
        theta * x[t] + (1.0 - theta) * (a + b * t as f64)
    };
    let mut level: [f64; LANES] = std::array::from_fn(|k| z(k, 0));
    let mut sse = [0.0; LANES];
    for t in 1..x.len() {
        for k in 0..LANES {
            let v = z(k, t);
            let alpha = xs[k][0];
            sse[k] += (v - level[k]).powi(2);
            level[k] = alpha * v + (1.0 - alpha) * level[k];
        }
    }
    std::array::from_fn(|k| sse[k] / (xs[k][1] * xs[k][1]))
}

/// The optimised Theta method with given `alpha` (0..=1, 0 excluded) and `theta` (>= 1), on
/// the seasonally adjusted series when seasonal; needs 2 observations.
pub fn optimised_theta_with(history: &[f64], horizon: usize, alpha: f64, theta: f64) -> Option<Vec<f64>> {
    if history.len() < 2 {
        return None;
    }
    seasonally_adjusted(history, horizon, |x, h| Some(otm_core(x, h, alpha, theta)))
}

/// The optimised Theta method, `alpha` and `theta` fitted ([`fit_otm`]), deseasonalised as
/// [`theta`]; needs 3 observations.
pub fn optimised_theta(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    if history.len() < 3 {
        return None;
    }
    seasonally_adjusted(history, horizon, |x, h| {
        let (alpha, theta) = fit_otm(x);
        Some(otm_core(x, h, alpha, theta))
    })
}

fn theta_impl(history: &[f64], horizon: usize, alpha: Option<f64>) -> Option<Vec<f64>> {
    if history.len() < 2 {
        return None;
    }
    seasonally_adjusted(history, horizon, |x, h| Some(theta_core(x, h, alpha.unwrap_or_else(|| fit_ses(x)))))
}

/// Standard Theta with a given SES `alpha` (in 0..=1, 0 excluded).
pub fn theta_with(history: &[f64], horizon: usize, alpha: f64) -> Option<Vec<f64>> {
    theta_impl(history, horizon, Some(alpha))
}

/// Standard Theta: seasonality test, classical decomposition when seasonal, SES (fitted
/// `alpha`) plus half the OLS drift, reseasonalised; needs 2 observations.
pub fn theta(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    theta_impl(history, horizon, None)
}

// ---------------------------------------------------------------------------------------------
// Dispatch, selection, intervals

/// Point forecasts of one method, clipped at 0. `None` when the method does not apply: too
/// short a history, no positive demand (Croston family), a non-positive value
/// (multiplicative Holt-Winters), a non-finite value in the history or the result.
pub fn predict(method: Method, history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    predict_using(method, history, horizon, None)
}

/// [`predict`], with the ETS model already fitted on `history` (for [`Method::AutoEts`] and the
/// combination), when there is one, instead of fitting every model again.
fn predict_using(method: Method, history: &[f64], horizon: usize, ets: Option<&ets::Fit>) -> Option<Vec<f64>> {
    if history.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let raw = match method {
        Method::Zero => Some(vec![0.0; horizon]),
        Method::Naive => naive(history, horizon),
        Method::SeasonalNaive => seasonal_naive(history, horizon),
        Method::Ses => ses(history, horizon),
        Method::Holt => holt(history, horizon),
        Method::DampedHolt => damped_holt(history, horizon),
        Method::HoltWintersAdditive => holt_winters(history, horizon, false),
        Method::HoltWintersMultiplicative => holt_winters(history, horizon, true),
        Method::Theta => theta(history, horizon),
        Method::OptimisedTheta => optimised_theta(history, horizon),
        Method::Croston => croston(history, horizon),
        Method::Sba => sba(history, horizon),
        Method::Tsb => tsb(history, horizon),
        Method::Mean => mean(history, horizon),
        Method::AutoEts => match ets {
            Some(fit) => ets::forecast_fit(history, fit, horizon),
            None => ets::auto_ets(history, horizon),
        },
        Method::Combination => return combination::combination_using(history, horizon, ets),
    }?;
    if raw.iter().any(|v| !v.is_finite()) {
        return None;
    }
    Some(raw.into_iter().map(|v| v.max(0.0)).collect())
}

/// The methods tried for a class: the class's default first (see [`SWITCH_MARGIN`]), then the
/// others in tie-break order.
pub fn candidates(class: DemandClass) -> &'static [Method] {
    match class {
        DemandClass::AllZero => &[Method::Zero],
        DemandClass::Short => &[Method::Mean],
        DemandClass::Smooth | DemandClass::Erratic => &[
            Method::Combination,
            Method::Theta,
            Method::OptimisedTheta,
            Method::SeasonalNaive,
            Method::Ses,
            Method::Holt,
            Method::DampedHolt,
            Method::HoltWintersAdditive,
            Method::HoltWintersMultiplicative,
            Method::AutoEts,
        ],
        DemandClass::Intermittent | DemandClass::Lumpy => &[Method::Tsb, Method::Ses, Method::Croston, Method::Sba],
    }
}

/// Backtest errors (`actual - forecast`) of one method: one row per origin, one column per
/// step; `None` at an origin where the method does not apply. ETS keeps the model `ets` chose on
/// the whole history and fits its parameters again at each origin ([`ets::refit`]; where that
/// model does not apply, a seasonal one on less than two years, it chooses again): choosing
/// among all its models at every origin cost more than the rest of the forecast together.
fn backtest_rows(
    method: Method,
    y: &[f64],
    origins: &[usize],
    steps: usize,
    ets: Option<&ets::Fit>,
) -> Vec<Option<Vec<f64>>> {
    origins
        .iter()
        .map(|&end| {
            let fc = if method == Method::AutoEts {
                let fit = ets::refit(&y[..end], ets?).or_else(|| ets::auto_fit(&y[..end]))?;
                predict_using(method, &y[..end], steps, Some(&fit))?
            } else {
                predict(method, &y[..end], steps)?
            };
            Some(y[end..end + steps].iter().zip(&fc).map(|(a, f)| a - f).collect())
        })
        .collect()
}

/// Rolling origins, latest first, one backtest horizon apart (the windows do not overlap, as
/// statsforecast's default `step_size = h`): the backtest horizon is at most a quarter of the
/// history and each origin leaves at least [`MIN_TRAIN`] months to train on.
fn backtest_plan(n: usize, cfg: &Config) -> (Vec<usize>, usize) {
    let steps = cfg.backtest_horizon.min(n / 4).max(1);
    let origins = (0..cfg.backtest_origins)
        .map_while(|j| n.checked_sub(steps * (j + 1)).filter(|end| *end >= MIN_TRAIN))
        .collect();
    (origins, steps)
}

/// [`backtest_plan`] for a series that [`is_seasonal`] finds seasonal: only the origins that
/// leave two seasons to train on, so Holt-Winters can be backtested and stays a candidate with
/// 25 to 36 months of history (fewer origins rather than none; one origin at 24 months, with a
/// shorter horizon, when no other is left).
fn seasonal_plan(n: usize, cfg: &Config) -> (Vec<usize>, usize) {
    let (origins, steps) = backtest_plan(n, cfg);
    let two = 2 * SEASON;
    if n <= two || origins.iter().all(|o| *o >= two) {
        return (origins, steps);
    }
    let kept: Vec<usize> = origins.iter().copied().filter(|o| *o >= two).collect();
    if kept.is_empty() { (vec![two], steps.min(n - two)) } else { (kept, steps) }
}

/// Mean absolute value of backtest errors.
fn mean_abs(errors: &[Vec<f64>]) -> f64 {
    let count = errors.iter().map(Vec::len).sum::<usize>().max(1) as f64;
    errors.iter().flatten().map(|e| e.abs()).sum::<f64>() / count
}

/// Empirical quantile with linear interpolation between order statistics (R type 7).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// Interval offsets per step from backtest errors: at step `s`, the quantiles of the errors of
/// steps `1..=s` over all origins, kept on their side of zero and never narrower than at the
/// step before; steps past the backtest reuse the last.
fn interval_bounds(point: &[f64], errors: &[Vec<f64>], q: (f64, f64)) -> (Vec<f64>, Vec<f64>) {
    let steps = errors.first().map_or(0, Vec::len);
    let mut offsets = Vec::with_capacity(steps);
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for s in 1..=steps {
        let pool = sorted(errors.iter().flat_map(|row| row[..s].iter().copied()).collect());
        lo = lo.min(quantile(&pool, q.0));
        hi = hi.max(quantile(&pool, q.1));
        offsets.push((lo, hi));
    }
    bounds_from(point, |h| offsets.get(h).or(offsets.last()).copied().unwrap_or((0.0, 0.0)))
}

fn bounds_from(point: &[f64], offset: impl Fn(usize) -> (f64, f64)) -> (Vec<f64>, Vec<f64>) {
    point
        .iter()
        .enumerate()
        .map(|(h, p)| {
            let (lo, hi) = offset(h);
            ((p + lo.min(0.0)).max(0.0), p + hi.max(0.0))
        })
        .unzip()
}

/// Classifies, backtests the class's candidates, keeps the class's default unless another
/// candidate's mean absolute error is lower by more than [`SWITCH_MARGIN`] (then the lowest;
/// ties to the earlier candidate), and derives the intervals from its backtest errors. Non-finite
/// values in the history count as 0 (ingest rejects them before this).
pub fn forecast(history: &[f64], cfg: &Config) -> SeriesForecast {
    forecast_fitted(history, cfg).0
}

/// [`forecast`], and the ETS model it chose on the whole history when the series' class tries
/// ETS (for [`predict_from`], so a backtest elsewhere need not choose among every model again).
pub fn forecast_fitted(history: &[f64], cfg: &Config) -> (SeriesForecast, Option<ets::Fit>) {
    let y: Vec<f64> = history.iter().map(|v| if v.is_finite() { *v } else { 0.0 }).collect();
    let class = classify(&y);
    let horizon = cfg.horizon;
    let zero = |class| SeriesForecast {
        method: Method::Zero,
        class,
        point: vec![0.0; horizon],
        lower: vec![0.0; horizon],
        upper: vec![0.0; horizon],
        backtest_mae: None,
    };
    match class {
        DemandClass::AllZero => return (zero(class), None),
        DemandClass::Short if y.is_empty() => return (zero(class), None),
        DemandClass::Short => return (short_forecast(&y, class, cfg), None),
        _ => {}
    }
    let (origins, steps) = if is_seasonal(&y) { seasonal_plan(y.len(), cfg) } else { backtest_plan(y.len(), cfg) };
    let mut scored: Vec<(f64, Method, Vec<Vec<f64>>)> = Vec::new();
    let ets_fit = if candidates(class).contains(&Method::AutoEts) { ets::auto_fit(&y) } else { None };
    if !origins.is_empty() {
        let mut rows = Vec::new();
        for &m in candidates(class).iter().filter(|m| **m != Method::Combination) {
            let r = backtest_rows(m, &y, &origins, steps, ets_fit.as_ref());
            if let Some(errors) = r.iter().cloned().collect::<Option<Vec<_>>>() {
                scored.push((mean_abs(&errors), m, errors));
            }
            rows.push((m, r));
        }
        // The combination's errors are its members' mean (see `combination`): no refit.
        if candidates(class).contains(&Method::Combination)
            && let Some(errors) = combination::backtest_errors(
                &rows,
                &origins.iter().map(|&end| is_seasonal(&y[..end])).collect::<Vec<_>>(),
            )
        {
            scored.push((mean_abs(&errors), Method::Combination, errors));
        }
    }
    selection_order(&mut scored, candidates(class)[0]);
    for (mae, method, errors) in scored {
        if let Some(point) = predict_using(method, &y, horizon, ets_fit.as_ref()) {
            let (lower, upper) = interval_bounds(&point, &errors, cfg.interval_quantiles);
            return (SeriesForecast { method, class, point, lower, upper, backtest_mae: Some(mae) }, ets_fit);
        }
    }
    // Nothing could be backtested (a config without origins): the first candidate that
    // applies, bounded by the spread of the history.
    for &method in candidates(class) {
        if let Some(point) = predict(method, &y, horizon) {
            return (with_history_bounds(&y, method, class, point, cfg), ets_fit);
        }
    }
    (short_forecast(&y, class, cfg), ets_fit)
}

/// The forecast `method` makes from `train` (the start of a history [`forecast_fitted`] chose
/// `chosen` on), as [`forecast`]'s own backtest makes it: [`predict`], except that ETS (alone
/// or in the combination) keeps the chosen model and fits its parameters again on `train`
/// ([`ets::refit`]; where that model does not apply to `train`, it chooses again). About a
/// fiftieth of choosing among every model again at each origin.
pub fn predict_from(method: Method, train: &[f64], horizon: usize, chosen: Option<&ets::Fit>) -> Option<Vec<f64>> {
    let refitted = match chosen {
        Some(c) if matches!(method, Method::AutoEts | Method::Combination) => ets::refit(train, c),
        _ => None,
    };
    match refitted {
        Some(fit) => predict_using(method, train, horizon, Some(&fit)),
        None => predict(method, train, horizon),
    }
}

/// Orders scored candidates `(mae, method, ..)` by preference: lowest error first (stable:
/// equal errors keep the candidates' order), then `default` in front unless the best beats it
/// by more than [`SWITCH_MARGIN`].
fn selection_order<T>(scored: &mut Vec<(f64, Method, T)>, default: Method) {
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(pos) = scored.iter().position(|s| s.1 == default)
        && scored[0].0 >= scored[pos].0 * (1.0 - SWITCH_MARGIN)
    {
        let kept = scored.remove(pos);
        scored.insert(0, kept);
    }
}

fn short_forecast(y: &[f64], class: DemandClass, cfg: &Config) -> SeriesForecast {
    let point = predict(Method::Mean, y, cfg.horizon).unwrap_or_else(|| vec![0.0; cfg.horizon]);
    with_history_bounds(y, Method::Mean, class, point, cfg)
}

/// Bounds from the quantiles of the history itself, for forecasts that were not backtested.
fn with_history_bounds(y: &[f64], method: Method, class: DemandClass, point: Vec<f64>, cfg: &Config) -> SeriesForecast {
    let s = sorted(y.to_vec());
    let (qlo, qhi) = (quantile(&s, cfg.interval_quantiles.0), quantile(&s, cfg.interval_quantiles.1));
    let (lower, upper) = point.iter().map(|p| (qlo.min(*p).max(0.0), qhi.max(*p))).unzip();
    SeriesForecast { method, class, point, lower, upper, backtest_mae: None }
}

/// [`forecast`] for many series in parallel; the same results, in the same order, as one by
/// one (each series is independent and nothing is reduced across threads).
pub fn forecast_many(histories: &[Vec<f64>], cfg: &Config) -> Vec<SeriesForecast> {
    histories.par_iter().map(|h| forecast(h, cfg)).collect()
}

#[cfg(test)]
mod tests;
