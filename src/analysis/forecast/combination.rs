//! Forecast combination: the mean of a few methods that model the level and trend differently.
//! Combinations beat selection on M3 (Makridakis & Hibon 2000; the M4 "Comb" benchmark): the
//! members' errors partly cancel, and no noisy backtest has to pick one of them.
//!
//! The members are fixed ([`COMBINATION`]), so the combination is a method like any other:
//! [`combination`] needs no state, and its backtest errors are the mean of its members' (every
//! member's forecast is clipped at 0 first, so `actual - mean(f)` is `mean(actual - f)`
//! exactly). Deterministic: a mean in a fixed order.

use super::{Method, mean_abs, predict};

/// The members of [`Method::Combination`], in the order they are added: simple exponential
/// smoothing, the damped trend and Theta (each on the seasonally adjusted series when the
/// series is seasonal).
pub const COMBINATION: [Method; 3] = [Method::Ses, Method::DampedHolt, Method::Theta];

/// The combination replaces the pick only when its backtest error is lower by more than this
/// fraction (as [`super::SWITCH_MARGIN`] for single methods, and for the same reason).
pub const COMBINATION_MARGIN: f64 = 0.01;

/// The mean of the members' forecasts (each clipped at 0); `None` when a member does not apply.
pub fn combination(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    let mut sum = vec![0.0; horizon];
    for m in COMBINATION {
        for (s, v) in sum.iter_mut().zip(predict(m, history, horizon)?) {
            *s += v;
        }
    }
    let k = COMBINATION.len() as f64;
    Some(sum.into_iter().map(|s| s / k).collect())
}

/// Adds the combination to backtest results ordered by preference (`(mae, method, errors)`,
/// the pick first), from its members' errors, and puts it first when its error is lower than
/// the pick's by more than [`COMBINATION_MARGIN`]. Nothing changes when a member was not
/// backtested.
pub(super) fn prefer_combination(scored: &mut Vec<(f64, Method, Vec<Vec<f64>>)>) {
    let members: Option<Vec<&Vec<Vec<f64>>>> =
        COMBINATION.iter().map(|m| scored.iter().find(|s| s.1 == *m).map(|s| &s.2)).collect();
    let Some(members) = members else { return };
    let k = members.len() as f64;
    let errors: Vec<Vec<f64>> = (0..members[0].len())
        .map(|o| (0..members[0][o].len()).map(|s| members.iter().map(|e| e[o][s]).sum::<f64>() / k).collect())
        .collect();
    let mae = mean_abs(&errors);
    let at =
        if scored.first().is_some_and(|best| mae < best.0 * (1.0 - COMBINATION_MARGIN)) { 0 } else { scored.len() };
    scored.insert(at, (mae, Method::Combination, errors));
}
