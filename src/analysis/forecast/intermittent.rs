//! Intermittent demand: Croston, its SBA bias correction, and TSB. Each is a recursion over
//! the demand sizes and the intervals (or probability) between demands, its smoothing fitted
//! by [`minimise`] on the one-step in-sample errors.

use super::minimise;

/// Croston's recursion: at the first demand `size = y`, `interval` = months since the start
/// (its index + 1); at each later demand `size += alpha * (y - size)` and
/// `interval += alpha * (q - interval)`, `q` the months since the previous demand. The
/// one-step forecast is `size / interval`. Returns (SSE after the first demand, size,
/// interval), `None` with no demand.
fn croston_run(y: &[f64], alpha: f64) -> Option<(f64, f64, f64)> {
    let first = y.iter().position(|v| *v > 0.0)?;
    let (mut size, mut interval) = (y[first], (first + 1) as f64);
    let mut last = first;
    let mut sse = 0.0;
    for (t, &v) in y.iter().enumerate().skip(first + 1) {
        sse += (v - size / interval).powi(2);
        if v > 0.0 {
            size += alpha * (v - size);
            interval += alpha * ((t - last) as f64 - interval);
            last = t;
        }
    }
    Some((sse, size, interval))
}

pub(super) fn fit_croston(y: &[f64]) -> f64 {
    minimise([(0.05, 0.3)], [6], |[a]| croston_run(y, a).map_or(f64::INFINITY, |r| r.0))[0]
}

/// Croston with a given `alpha`; `None` without any positive demand.
pub fn croston_with(history: &[f64], horizon: usize, alpha: f64) -> Option<Vec<f64>> {
    let (_, size, interval) = croston_run(history, alpha)?;
    Some(vec![size / interval; horizon])
}

/// Croston, `alpha` fitted in 0.05..=0.3.
pub fn croston(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    croston_run(history, 0.1)?;
    croston_with(history, horizon, fit_croston(history))
}

/// SBA with a given `alpha`: Croston x (1 - alpha / 2).
pub fn sba_with(history: &[f64], horizon: usize, alpha: f64) -> Option<Vec<f64>> {
    let mut out = croston_with(history, horizon, alpha)?;
    for v in &mut out {
        *v *= 1.0 - alpha / 2.0;
    }
    Some(out)
}

/// SBA with Croston's fitted `alpha`.
pub fn sba(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    croston_run(history, 0.1)?;
    sba_with(history, horizon, fit_croston(history))
}

/// TSB recursion: `prob = [y[0] > 0]`, then every month `prob += beta * ([y > 0] - prob)`;
/// `size` starts at the first demand and moves `size += alpha * (y - size)` at each later
/// demand. The one-step forecast is `prob * size`. Returns (SSE after the first demand, prob,
/// size), `None` with no demand.
fn tsb_run(y: &[f64], alpha: f64, beta: f64) -> Option<(f64, f64, f64)> {
    let first = y.iter().position(|v| *v > 0.0)?;
    let mut prob = if y[0] > 0.0 { 1.0 } else { 0.0 };
    for &v in &y[1..=first] {
        prob += beta * (f64::from(u8::from(v > 0.0)) - prob);
    }
    let mut size = y[first];
    let mut sse = 0.0;
    for &v in &y[first + 1..] {
        sse += (v - prob * size).powi(2);
        let hit = v > 0.0;
        prob += beta * (f64::from(u8::from(hit)) - prob);
        if hit {
            size += alpha * (v - size);
        }
    }
    Some((sse, prob, size))
}

/// TSB with given smoothing of the size (`alpha`) and of the probability (`beta`).
pub fn tsb_with(history: &[f64], horizon: usize, alpha: f64, beta: f64) -> Option<Vec<f64>> {
    let (_, prob, size) = tsb_run(history, alpha, beta)?;
    Some(vec![prob * size; horizon])
}

/// TSB, `alpha` and `beta` fitted in 0.01..=0.5.
pub fn tsb(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    tsb_run(history, 0.1, 0.1)?;
    let [a, b] =
        minimise([(0.01, 0.5), (0.01, 0.5)], [6, 6], |[a, b]| tsb_run(history, a, b).map_or(f64::INFINITY, |r| r.0));
    tsb_with(history, horizon, a, b)
}
