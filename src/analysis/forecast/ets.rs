//! Automatic exponential smoothing in state-space form (ETS; Hyndman, Koehler, Ord & Snyder
//! 2008, as R's `forecast::ets` and statsforecast's `AutoETS`): every model of error additive
//! or multiplicative, trend none, additive or damped, season none, additive or
//! multiplicative, fitted by maximum likelihood, the one with the lowest AICc kept.
//!
//! The point recursion of a model depends only on its trend and season (for `M,A,M`:
//! `l' = alpha y / s + (1 - alpha)(l + b)`, `b' = b + beta (y / s - l - b)`,
//! `s' = s + gamma (y / (l + b) - s)`, the error-correction form of Hyndman et al.'s table 2.1,
//! identical for additive errors); the error type changes the likelihood:
//! `n ln(sum e^2)` for additive errors, `n ln(sum (e / yhat)^2) + 2 sum ln |yhat|` for
//! multiplicative ones (-2 log-likelihood up to a constant, as `forecast::ets`).
//!
//! Simplifications against `forecast::ets`, measured on M3 (bench/RESULTS.md): the seasonal
//! initial states come from a classical decomposition of the whole series and are not
//! optimised (the smoothing parameters, `phi`, the initial level and trend are, by a
//! deterministic Nelder-Mead from fixed starting points); multiplicative trends are left out
//! (as `forecast::ets` by default), and so are the models `forecast::ets` restricts (additive
//! error with a multiplicative season). The AICc counts every initial state as
//! `forecast::ets` does, the seasonal ones included.

use super::{SEASON, ols_line};

/// Trend of an ETS model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    /// No trend.
    None,
    /// Additive trend.
    Additive,
    /// Additive trend damped by `phi`.
    Damped,
}

/// Season of an ETS model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Season {
    /// No season.
    None,
    /// Additive season.
    Additive,
    /// Multiplicative season.
    Multiplicative,
}

/// An ETS model: error multiplicative or not, trend, season.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// Multiplicative error (else additive).
    pub multiplicative_error: bool,
    /// Trend.
    pub trend: Trend,
    /// Season.
    pub season: Season,
}

impl Model {
    /// The models [`auto_ets`] tries, in tie-break order: `forecast::ets`'s default set
    /// (no multiplicative trend, no additive error with a multiplicative season).
    pub fn all() -> Vec<Model> {
        let mut out = Vec::new();
        for multiplicative_error in [false, true] {
            for season in [Season::None, Season::Additive, Season::Multiplicative] {
                for trend in [Trend::None, Trend::Additive, Trend::Damped] {
                    if !multiplicative_error && season == Season::Multiplicative {
                        continue;
                    }
                    out.push(Model { multiplicative_error, trend, season });
                }
            }
        }
        out
    }

    /// The model's name as `forecast::ets` writes it: `ETS(M,Ad,M)`.
    pub fn name(&self) -> String {
        let e = if self.multiplicative_error { "M" } else { "A" };
        let t = match self.trend {
            Trend::None => "N",
            Trend::Additive => "A",
            Trend::Damped => "Ad",
        };
        let s = match self.season {
            Season::None => "N",
            Season::Additive => "A",
            Season::Multiplicative => "M",
        };
        format!("ETS({e},{t},{s})")
    }
}

/// The fitted parameters and initial states of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The model.
    pub model: Model,
    /// Level smoothing.
    pub alpha: f64,
    /// Trend smoothing (0 without a trend).
    pub beta: f64,
    /// Season smoothing (0 without a season).
    pub gamma: f64,
    /// Damping (1 unless damped).
    pub phi: f64,
    /// Initial level.
    pub level: f64,
    /// Initial trend (0 without a trend).
    pub trend: f64,
    /// Initial seasonal states, indexed by `t % SEASON` (0, or 1 when multiplicative, without
    /// a season).
    pub season: [f64; SEASON],
    /// -2 log-likelihood up to a constant (see the module's comment).
    pub lik: f64,
    /// Corrected Akaike information criterion.
    pub aicc: f64,
}

/// The states after running a model over `y`: (sum of squared errors, sum of squared relative
/// errors, sum of ln |yhat|, level, trend, season). `None` when a one-step forecast is not
/// positive where the model needs it (multiplicative error or season) or a value is not finite.
struct Run {
    sse: f64,
    sse_rel: f64,
    log_yhat: f64,
    level: f64,
    trend: f64,
    season: [f64; SEASON],
}

fn run(y: &[f64], f: &Fit) -> Option<Run> {
    // One copy of the loop per error, trend and season (the same arithmetic in the same
    // order, so the same bits): the likelihood is evaluated a few hundred times per model and
    // the branches on the model's form inside the loop cost more than the arithmetic.
    let trend = f.model.trend != Trend::None;
    match (f.model.multiplicative_error, trend, f.model.season) {
        (false, false, Season::None) => run_as::<false, false, NO_SEASON>(y, f),
        (false, false, Season::Additive) => run_as::<false, false, ADDITIVE>(y, f),
        (false, false, Season::Multiplicative) => run_as::<false, false, MULTIPLICATIVE>(y, f),
        (false, true, Season::None) => run_as::<false, true, NO_SEASON>(y, f),
        (false, true, Season::Additive) => run_as::<false, true, ADDITIVE>(y, f),
        (false, true, Season::Multiplicative) => run_as::<false, true, MULTIPLICATIVE>(y, f),
        (true, false, Season::None) => run_as::<true, false, NO_SEASON>(y, f),
        (true, false, Season::Additive) => run_as::<true, false, ADDITIVE>(y, f),
        (true, false, Season::Multiplicative) => run_as::<true, false, MULTIPLICATIVE>(y, f),
        (true, true, Season::None) => run_as::<true, true, NO_SEASON>(y, f),
        (true, true, Season::Additive) => run_as::<true, true, ADDITIVE>(y, f),
        (true, true, Season::Multiplicative) => run_as::<true, true, MULTIPLICATIVE>(y, f),
    }
}

const NO_SEASON: u8 = 0;
const ADDITIVE: u8 = 1;
const MULTIPLICATIVE: u8 = 2;

/// [`run`] for one form: multiplicative error `ME`, a trend `TREND`, season `S` (one of
/// [`NO_SEASON`], [`ADDITIVE`], [`MULTIPLICATIVE`]).
fn run_as<const ME: bool, const TREND: bool, const S: u8>(y: &[f64], f: &Fit) -> Option<Run> {
    let needs_positive = ME || S == MULTIPLICATIVE;
    let phi = match f.model.trend {
        Trend::None => 0.0,
        Trend::Additive => 1.0,
        Trend::Damped => f.phi,
    };
    let (mut l, mut b, mut s) = (f.level, if TREND { f.trend } else { 0.0 }, f.season);
    let (mut sse, mut sse_rel, mut log_yhat, mut prod) = (0.0, 0.0, 0.0, 1.0f64);
    // `t % SEASON`, kept by counting.
    let mut i = 0;
    for &v in y {
        let q = l + phi * b;
        let si = s[i];
        let yhat = match S {
            NO_SEASON => q,
            ADDITIVE => q + si,
            _ => q * si,
        };
        if needs_positive && !(yhat > 0.0 && q > 0.0) {
            return None;
        }
        let e = v - yhat;
        sse += e * e;
        if ME {
            sse_rel += (e / yhat).powi(2);
            // `sum ln yhat` as the `ln` of a running product, taken only when the product
            // would leave 1e-100..=1e100 (a `ln` per month was a fifth of the forecast's CPU).
            let p = prod * yhat;
            if (1e-100..=1e100).contains(&p) {
                prod = p;
            } else {
                log_yhat += prod.ln() + yhat.ln();
                prod = 1.0;
            }
        }
        let deseason = match S {
            NO_SEASON => v,
            ADDITIVE => v - si,
            _ => v / si,
        };
        let next = f.alpha * deseason + (1.0 - f.alpha) * q;
        if TREND {
            b = phi * b + f.beta * (deseason - q);
        }
        match S {
            NO_SEASON => {}
            ADDITIVE => s[i] = si + f.gamma * (v - q - si),
            _ => s[i] = si + f.gamma * (v / q - si),
        }
        l = next;
        if !l.is_finite() || !b.is_finite() {
            return None;
        }
        i += 1;
        if i == SEASON {
            i = 0;
        }
    }
    if ME {
        log_yhat += prod.ln();
    }
    Some(Run { sse, sse_rel, log_yhat, level: l, trend: b, season: s })
}

/// -2 log-likelihood of a run (up to a constant): `n ln(sum e^2)`, plus for a multiplicative
/// error `n ln(sum (e/yhat)^2) - n ln(sum e^2) + 2 sum ln yhat`.
fn lik(n: usize, r: &Run, multiplicative_error: bool) -> f64 {
    let n = n as f64;
    if multiplicative_error { n * r.sse_rel.max(1e-300).ln() + 2.0 * r.log_yhat } else { n * r.sse.max(1e-300).ln() }
}

/// Initial states from the data (after Hyndman et al. 2008, section 2.6.1, where
/// `forecast::ets` starts its optimiser): with a season, the indices of a classical
/// decomposition of the whole series (`forecast::ets` uses the first years; the whole series
/// scored better on M3, ETS alone MASE 0.862 against 0.870, as the indices are not optimised
/// here) and the series adjusted by them; the level and trend from a straight line through the
/// first 10 values (24 with a season) of the adjusted series (its value at `t = -1` and its
/// slope; their mean and no slope without a trend).
fn initial_states(y: &[f64], model: Model) -> (f64, f64, [f64; SEASON]) {
    let mult = model.season == Season::Multiplicative;
    let season = match model.season {
        Season::None => [0.0; SEASON],
        _ => decomposition(y, mult),
    };
    let k = y.len().min(if model.season == Season::None { 10 } else { 2 * SEASON });
    let adjusted: Vec<f64> = y[..k]
        .iter()
        .enumerate()
        .map(|(t, v)| match model.season {
            Season::None => *v,
            Season::Additive => v - season[t % SEASON],
            Season::Multiplicative => v / season[t % SEASON],
        })
        .collect();
    if model.trend == Trend::None {
        return (adjusted.iter().sum::<f64>() / k as f64, 0.0, season);
    }
    let (a, b) = ols_line(&adjusted);
    (a - b, b, season)
}

/// Classical decomposition's seasonal indices in the given form (the centred 2x12 moving
/// average as trend; the ratio or difference to it averaged by month; normalised to mean 1 or
/// 0), indexed by `t % SEASON`. Needs two seasons.
fn decomposition(y: &[f64], multiplicative: bool) -> [f64; SEASON] {
    let half = SEASON / 2;
    let mut sum = [0.0; SEASON];
    let mut count = [0usize; SEASON];
    for t in half..y.len() - half {
        let c = (y[t - half + 1..t + half].iter().sum::<f64>() + 0.5 * (y[t - half] + y[t + half])) / SEASON as f64;
        sum[t % SEASON] += if multiplicative { y[t] / c } else { y[t] - c };
        count[t % SEASON] += 1;
    }
    let neutral = if multiplicative { 1.0 } else { 0.0 };
    let mut idx = [neutral; SEASON];
    for i in 0..SEASON {
        if count[i] > 0 && sum[i].is_finite() {
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
    idx
}

/// Number of estimated parameters as `forecast::ets` counts them for the AICc: the smoothing
/// parameters, `phi`, the initial level, trend and `SEASON - 1` seasonal states, and the
/// variance.
fn parameters(model: Model) -> usize {
    let (smoothing, states) = match model.trend {
        Trend::None => (1, 1),
        Trend::Additive => (2, 2),
        Trend::Damped => (3, 2),
    };
    let (g, s) = if model.season == Season::None { (0, 0) } else { (1, SEASON - 1) };
    smoothing + states + g + s + 1
}

/// Fits one model by maximum likelihood: alpha in 1e-4..=0.9999, beta in 1e-4..=alpha, gamma
/// in 1e-4..=1-alpha, phi in 0.8..=0.98 (`forecast::ets`'s "usual" bounds), and the initial
/// level and trend, by [`nelder_mead`] from [`initial_states`]. `None` when the model does not
/// apply (a season under two years, a non-positive value for a multiplicative model, too few
/// observations for its parameters) or no parameters give a finite likelihood.
pub fn fit(y: &[f64], model: Model) -> Option<Fit> {
    fit_from(y, model, None)
}

/// The model of `earlier` fitted again on `y` (a backtest origin's history), the optimiser
/// started from `earlier`'s smoothing parameters with smaller steps and fewer evaluations
/// (the initial states from `y` itself, as [`fit`]). About a tenth of [`auto_fit`]'s work.
pub fn refit(y: &[f64], earlier: &Fit) -> Option<Fit> {
    fit_from(y, earlier.model, Some(earlier))
}

fn fit_from(y: &[f64], model: Model, warm: Option<&Fit>) -> Option<Fit> {
    let n = y.len();
    let k = parameters(model);
    let seasonal = model.season != Season::None;
    let positive = y.iter().all(|v| *v > 0.0);
    if (seasonal && n < 2 * SEASON)
        || ((model.multiplicative_error || model.season == Season::Multiplicative) && !positive)
        || n < k + 2
        || y.iter().any(|v| !v.is_finite())
    {
        return None;
    }
    let (l0, b0, season) = initial_states(y, model);
    let has_trend = model.trend != Trend::None;
    let damped = model.trend == Trend::Damped;
    // Level and trend are optimised in units of the series' typical month-on-month change.
    let scale = (y.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (n - 1) as f64).max(1e-8);
    let build = |x: &[f64]| -> Fit {
        let alpha = x[0];
        let mut i = 1;
        let mut take = |on: bool, default: f64| {
            if on {
                i += 1;
                x[i - 1]
            } else {
                default
            }
        };
        let beta = take(has_trend, 0.0);
        let gamma = take(seasonal, 0.0);
        let phi = take(damped, 1.0);
        let level = l0 + scale * take(true, 0.0);
        let trend = b0 + scale * take(has_trend, 0.0) / 10.0;
        Fit { model, alpha, beta, gamma, phi, level, trend, season, lik: f64::INFINITY, aicc: f64::INFINITY }
    };
    let feasible = |f: &Fit| {
        (1e-4..=0.9999).contains(&f.alpha)
            && (!has_trend || (1e-4..=f.alpha).contains(&f.beta))
            && (!seasonal || (1e-4..=1.0 - f.alpha).contains(&f.gamma))
            && (!damped || (0.8..=0.98).contains(&f.phi))
    };
    let objective = |x: &[f64]| {
        let f = build(x);
        if !feasible(&f) {
            return f64::INFINITY;
        }
        run(y, &f).map_or(f64::INFINITY, |r| lik(n, &r, model.multiplicative_error))
    };
    // Starting point and steps: fixed, or the earlier fit's parameters with a fifth of the
    // steps (kept inside the bounds: a smoothing parameter steps towards the middle).
    let shrink = if warm.is_some() { 0.2 } else { 1.0 };
    let inward = |v: f64, d: f64, hi: f64| if v + d > hi { -d } else { d };
    let alpha = warm.map_or(if seasonal { 0.1 } else { 0.2 }, |w| w.alpha);
    let mut start = vec![alpha];
    let mut step = vec![inward(alpha, 0.1 * shrink, 0.9999)];
    if has_trend {
        let b = warm.map_or(0.01, |w| w.beta);
        start.push(b);
        step.push(inward(b, 0.02 * shrink, alpha));
    }
    if seasonal {
        let g = warm.map_or(0.05, |w| w.gamma);
        start.push(g);
        step.push(inward(g, 0.05 * shrink, 1.0 - alpha));
    }
    if damped {
        start.push(warm.map_or(0.95, |w| w.phi));
        step.push(-0.05 * shrink);
    }
    start.push(0.0);
    step.push(0.5 * shrink);
    if has_trend {
        start.push(0.0);
        step.push(0.5 * shrink);
    }
    let (x, v) = nelder_mead(&objective, &start, &step, if warm.is_some() { 120 } else { 400 });
    if !v.is_finite() {
        return None;
    }
    let mut f = build(&x);
    f.lik = v;
    f.aicc = v + 2.0 * k as f64 + 2.0 * (k * (k + 1)) as f64 / (n - k - 1) as f64;
    Some(f)
}

/// Point forecasts of a fitted model after the history `y` it was fitted on.
pub fn forecast_fit(y: &[f64], f: &Fit, horizon: usize) -> Option<Vec<f64>> {
    let r = run(y, f)?;
    let n = y.len();
    let (mut damp, mut factor) = (0.0, 1.0);
    let out: Vec<f64> = (1..=horizon)
        .map(|h| {
            match f.model.trend {
                Trend::None => {}
                Trend::Additive => damp += 1.0,
                Trend::Damped => {
                    factor *= f.phi;
                    damp += factor;
                }
            }
            let q = r.level + damp * r.trend;
            let s = r.season[(n + h - 1) % SEASON];
            match f.model.season {
                Season::None => q,
                Season::Additive => q + s,
                Season::Multiplicative => q * s,
            }
        })
        .collect();
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// Fits every model of [`Model::all`] that applies and keeps the lowest AICc (ties to the
/// earlier model). `None` when none applies.
pub fn auto_fit(y: &[f64]) -> Option<Fit> {
    let mut best: Option<Fit> = None;
    for m in Model::all() {
        if let Some(f) = fit(y, m)
            && best.as_ref().is_none_or(|b| f.aicc < b.aicc)
        {
            best = Some(f);
        }
    }
    best
}

/// AutoETS: the point forecast of [`auto_fit`]'s model.
pub fn auto_ets(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    forecast_fit(history, &auto_fit(history)?, horizon)
}

/// Nelder-Mead simplex minimisation (reflection 1, expansion 2, contraction 1/2, shrink 1/2)
/// from `start` with initial steps `step` along each axis, at most `max_evals` evaluations, or
/// until the simplex's values agree to a relative 1e-10. Deterministic: ties keep the earlier
/// vertex. Returns the best point and its value.
pub(super) fn nelder_mead(
    f: &impl Fn(&[f64]) -> f64,
    start: &[f64],
    step: &[f64],
    max_evals: usize,
) -> (Vec<f64>, f64) {
    // Points in fixed arrays rather than vectors (no allocation per step; the same arithmetic
    // in the same order): ETS has at most 6 parameters.
    const MAX: usize = 8;
    let d = start.len();
    assert!(d <= MAX && step.len() == d, "nelder_mead: at most {MAX} parameters, a step each");
    let eval = |x: &[f64; MAX]| {
        let v = f(&x[..d]);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut origin = [0.0; MAX];
    origin[..d].copy_from_slice(start);
    let mut simplex: Vec<([f64; MAX], f64)> = Vec::with_capacity(d + 1);
    simplex.push((origin, eval(&origin)));
    for i in 0..d {
        let mut x = origin;
        x[i] += step[i];
        let v = eval(&x);
        simplex.push((x, v));
    }
    let mut evals = d + 1;
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[d].1);
        if best.is_finite() && (worst - best).abs() <= 1e-7 * (best.abs() + 1e-7) {
            break;
        }
        let mut centroid = [0.0; MAX];
        for (j, c) in centroid.iter_mut().enumerate().take(d) {
            *c = simplex[..d].iter().map(|p| p.0[j]).sum::<f64>() / d as f64;
        }
        let far = simplex[d].0;
        let along = |t: f64| -> [f64; MAX] {
            let mut x = [0.0; MAX];
            for j in 0..d {
                x[j] = centroid[j] + t * (far[j] - centroid[j]);
            }
            x
        };
        let reflected = along(-1.0);
        let fr = eval(&reflected);
        evals += 1;
        if fr < simplex[0].1 {
            let expanded = along(-2.0);
            let fe = eval(&expanded);
            evals += 1;
            simplex[d] = if fe < fr { (expanded, fe) } else { (reflected, fr) };
        } else if fr < simplex[d - 1].1 {
            simplex[d] = (reflected, fr);
        } else {
            let (contracted, fc) = if fr < worst {
                let c = along(-0.5);
                let v = eval(&c);
                (c, v)
            } else {
                let c = along(0.5);
                let v = eval(&c);
                (c, v)
            };
            evals += 1;
            if fc < fr.min(worst) {
                simplex[d] = (contracted, fc);
            } else {
                let b = simplex[0].0;
                for p in simplex.iter_mut().skip(1) {
                    for (x, bj) in p.0.iter_mut().zip(&b).take(d) {
                        *x = bj + 0.5 * (*x - bj);
                    }
                    p.1 = eval(&p.0);
                }
                evals += d;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, v) = simplex.swap_remove(0);
    (x[..d].to_vec(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANN: Model = Model { multiplicative_error: false, trend: Trend::None, season: Season::None };
    const MNN: Model = Model { multiplicative_error: true, trend: Trend::None, season: Season::None };

    /// A short upward series used for the reference values from statsforecast 2.1.1.
    const Y: [f64; 16] = [12., 15., 11., 14., 18., 16., 13., 17., 20., 18., 16., 21., 23., 19., 22., 25.];

    fn fixed(model: Model, alpha: f64, beta: f64, gamma: f64, level: f64, trend: f64, season: [f64; SEASON]) -> Fit {
        Fit { model, alpha, beta, gamma, phi: 1.0, level, trend, season, lik: 0.0, aicc: 0.0 }
    }

    #[test]
    fn the_recursion_and_likelihood_by_hand() {
        // ETS(A,N,N), alpha 0.5, level 10 on [12, 11]: yhat 10, e 2, level 11; yhat 11, e 0.
        let f = fixed(ANN, 0.5, 0.0, 0.0, 10.0, 0.0, [0.0; SEASON]);
        let r = run(&[12.0, 11.0], &f).unwrap();
        assert_eq!((r.sse, r.level), (4.0, 11.0));
        // -2 log-likelihood n ln(SSE) = 2 ln 4.
        assert!((lik(2, &r, false) - 2.0 * 4f64.ln()).abs() < 1e-12);
        assert_eq!(forecast_fit(&[12.0, 11.0], &f, 2), Some(vec![11.0, 11.0]));
        // ETS(M,A,M), alpha 0.5, beta 0.1, gamma 0.2, level 100, trend 10, season of month 0
        // 1.2: yhat (100 + 10) * 1.2 = 132 for y 120; e = -12, relative -12 / 132.
        // level 0.5 * 120 / 1.2 + 0.5 * 110 = 105; trend 10 + 0.1 * (100 - 110) = 9;
        // season 1.2 + 0.2 * (120 / 110 - 1.2) = 1.2 + 0.2 * -0.109090.. = 1.178181..
        let mut season = [1.0; SEASON];
        season[0] = 1.2;
        let mam = Model { multiplicative_error: true, trend: Trend::Additive, season: Season::Multiplicative };
        let f = fixed(mam, 0.5, 0.1, 0.2, 100.0, 10.0, season);
        let r = run(&[120.0], &f).unwrap();
        assert!((r.level - 105.0).abs() < 1e-12 && (r.trend - 9.0).abs() < 1e-12);
        assert!((r.season[0] - (1.2 + 0.2 * (120.0 / 110.0 - 1.2))).abs() < 1e-12);
        assert!((r.sse_rel - (12.0f64 / 132.0).powi(2)).abs() < 1e-15);
        // -2 log-likelihood n ln(sum rel^2) + 2 ln yhat.
        assert!((lik(1, &r, true) - ((12.0f64 / 132.0).powi(2).ln() + 2.0 * 132f64.ln())).abs() < 1e-12);
        // Next month (month 1, season 1.0): (105 + 9) * 1.0, then (105 + 2 * 9) at month 2.
        assert_eq!(forecast_fit(&[120.0], &f, 2), Some(vec![114.0, 123.0]));
    }

    #[test]
    fn fits_match_statsforecast() {
        // statsforecast 2.1.1, AutoETS(model="ANN").fit(Y): alpha 0.49835, l0 13.05801,
        // forecast 22.99016, AICc 86.37050; AutoETS(model="MNN"): alpha 0.44781, l0 13.14784,
        // forecast 22.70945, AICc 86.91880; AutoETS(model="AAN", damped=True): AICc 88.47487,
        // forecast 23.27173, 23.88390, 24.48382 (its optimiser reaches a slightly lower
        // likelihood there: ours 88.502).
        let a = fit(&Y, ANN).unwrap();
        assert!((a.aicc - 86.37050).abs() < 1e-3, "{a:?}");
        assert!((a.alpha - 0.49835).abs() < 0.005 && (a.level - 13.05801).abs() < 0.05, "{a:?}");
        assert!((forecast_fit(&Y, &a, 1).unwrap()[0] - 22.99016).abs() < 0.02);
        let m = fit(&Y, MNN).unwrap();
        assert!((m.aicc - 86.91880).abs() < 1e-3, "{m:?}");
        assert!((forecast_fit(&Y, &m, 1).unwrap()[0] - 22.70945).abs() < 0.02);
        let d = fit(&Y, Model { trend: Trend::Damped, ..ANN }).unwrap();
        assert!(d.aicc >= 88.47487 - 1e-6 && d.aicc < 88.6, "{d:?}");
        let fc = forecast_fit(&Y, &d, 3).unwrap();
        for (x, want) in fc.iter().zip([23.27173, 23.88390, 24.48382]) {
            assert!((x - want).abs() < 0.15, "{fc:?}");
        }
        // AICc: ANN has alpha, l0 and the variance, k = 3: 2k + 2k(k+1)/(n-k-1) = 6 + 2.
        assert!((a.aicc - a.lik - 8.0).abs() < 1e-12);
        assert_eq!(
            parameters(Model { multiplicative_error: true, trend: Trend::Damped, season: Season::Multiplicative }),
            18
        );
        // The automatic choice is the lowest AICc of the models that apply, by a plain loop.
        let mut lowest = f64::INFINITY;
        for model in Model::all() {
            if let Some(f) = fit(&Y, model) {
                lowest = lowest.min(f.aicc);
            }
        }
        assert_eq!(auto_fit(&Y).unwrap().aicc, lowest);
        assert!(lowest <= a.aicc);
    }

    #[test]
    fn a_multiplicative_season_is_chosen_and_continued() {
        let shape = [0.6, 0.7, 0.9, 1.0, 1.1, 1.3, 1.5, 1.4, 1.1, 1.0, 0.8, 0.6];
        let y: Vec<f64> = (0..48).map(|t| (100.0 + 2.0 * t as f64) * shape[t % SEASON]).collect();
        let f = auto_fit(&y).unwrap();
        assert_eq!(f.model.season, Season::Multiplicative, "{}", f.model.name());
        let fc = auto_ets(&y, 12).unwrap();
        for (h, v) in fc.iter().enumerate() {
            let t = 48 + h;
            let want = (100.0 + 2.0 * t as f64) * shape[t % SEASON];
            assert!((v - want).abs() / want < 0.02, "month {t}: {v} vs {want}");
        }
    }

    #[test]
    fn the_sum_of_logs_by_a_running_product_is_the_sum_of_logs() {
        // ETS(M,N,N), alpha 0.3: yhat is the level before each month. Months of 1e30 and of
        // 1e-30 push the running product out of 1e-100..=1e100 both ways, so it is folded
        // into the logarithm several times; the sum is checked against a `ln` per month.
        for scale in [1e30, 1e-30, 1.0] {
            let y: Vec<f64> = (0..40).map(|t| scale * (5.0 + f64::from(t % 7))).collect();
            let f = fixed(MNN, 0.3, 0.0, 0.0, scale * 6.0, 0.0, [1.0; SEASON]);
            let r = run(&y, &f).unwrap();
            let (mut level, mut want) = (scale * 6.0, 0.0);
            for v in &y {
                want += f64::ln(level);
                level = 0.3 * v + 0.7 * level;
            }
            assert!((r.log_yhat - want).abs() <= 1e-12 * want.abs().max(1.0), "{scale}: {} vs {want}", r.log_yhat);
        }
    }

    #[test]
    fn models_that_do_not_apply_are_none() {
        let short: Vec<f64> = (0..23).map(f64::from).collect();
        assert!(fit(&short, Model { season: Season::Additive, ..ANN }).is_none());
        assert!(fit(&[0.0, 2.0, 3.0, 4.0, 5.0, 6.0], MNN).is_none());
        assert!(fit(&[1.0, 2.0, 3.0, 4.0], ANN).is_none());
        assert!(fit(&[1.0, 2.0, 3.0, 4.0, 5.0], ANN).is_some());
        assert!(auto_fit(&[]).is_none());
    }

    #[test]
    fn refit_starts_from_the_earlier_fit() {
        let a = fit(&Y, ANN).unwrap();
        let r = refit(&Y[..12], &a).unwrap();
        assert_eq!(r.model, ANN);
        // The same optimum as a fit from scratch on those months, to the likelihood's tolerance.
        let b = fit(&Y[..12], ANN).unwrap();
        assert!((r.lik - b.lik).abs() < 1e-3, "{r:?} vs {b:?}");
    }

    #[test]
    fn nelder_mead_finds_the_minimum_of_a_bowl() {
        let f = |x: &[f64]| (x[0] - 1.5).powi(2) + 3.0 * (x[1] + 0.5).powi(2);
        let (x, v) = nelder_mead(&f, &[0.0, 0.0], &[0.5, 0.5], 500);
        assert!((x[0] - 1.5).abs() < 1e-3 && (x[1] + 0.5).abs() < 1e-3 && v < 1e-6, "{x:?} {v}");
        // Infeasible points count as infinite and are stepped away from.
        let g = |x: &[f64]| if x[0] < 0.0 { f64::NAN } else { (x[0] - 0.27).powi(2) };
        let (x, _) = nelder_mead(&g, &[0.5], &[-0.4], 200);
        assert!((x[0] - 0.27).abs() < 1e-3, "{x:?}");
    }
}
