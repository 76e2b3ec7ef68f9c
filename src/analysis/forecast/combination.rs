//! Forecast combination: the mean of a few methods that model the level, trend and season
//! differently. Combinations beat selection on M3 (Makridakis & Hibon 2000; the M4 "Comb"
//! benchmark; Petropoulos & Svetunkov 2020): the members' errors partly cancel, and no noisy
//! backtest has to pick one of them.
//!
//! The members are fixed ([`COMBINATION`]), so the combination is a method like any other:
//! [`combination`] needs no state, and its backtest errors are the mean of its members' at each
//! origin (every member's forecast is clipped at 0 first, so `actual - mean(f)` is
//! `mean(actual - f)` exactly), with the same members as its forecast from that origin would
//! have. Deterministic: a mean in a fixed order.

use super::ets::Fit;
use super::{Method, is_seasonal, predict_using};

/// The members of [`Method::Combination`], in the order they are added: the optimised Theta
/// (which holds the standard Theta as its `theta = 2`), automatic exponential smoothing (ETS,
/// [`super::ets`]: the state-space model of lowest AICc, damped trends and seasons included),
/// and additive Holt-Winters, which joins when the series is seasonal ([`is_seasonal`]: 24
/// months at least) and is left out otherwise (on a series without a season it extrapolates
/// whatever pattern the first two years had). On M3 monthly (1,428 series, 18 months held
/// out, selection as [`super::forecast`]) it scored sMAPE 13.71 and MASE 0.830, against 13.73
/// and 0.846 for the earlier Theta / OTM / damped trend / Holt-Winters mean; the same with
/// standard Theta as a fourth member 13.64 and 0.833 (bench/RESULTS.md lists what else was
/// tried).
pub const COMBINATION: [Method; 3] = [Method::OptimisedTheta, Method::AutoEts, Method::HoltWintersAdditive];

/// A member the combination does without when it does not apply.
const OPTIONAL: Method = Method::HoltWintersAdditive;

/// The mean of the members' forecasts (each clipped at 0); `None` when a member other than
/// Holt-Winters does not apply. Holt-Winters joins when the series is seasonal and it applies.
pub fn combination(history: &[f64], horizon: usize) -> Option<Vec<f64>> {
    combination_using(history, horizon, None)
}

/// [`combination`] with the ETS member's model already fitted on `history`, when given.
pub(super) fn combination_using(history: &[f64], horizon: usize, ets: Option<&Fit>) -> Option<Vec<f64>> {
    let seasonal = is_seasonal(history);
    let mut sum = vec![0.0; horizon];
    let mut k = 0.0;
    for m in COMBINATION {
        let fc = if m == OPTIONAL && !seasonal { None } else { predict_using(m, history, horizon, ets) };
        let Some(fc) = fc else {
            if m == OPTIONAL {
                continue;
            }
            return None;
        };
        for (s, v) in sum.iter_mut().zip(fc) {
            *s += v;
        }
        k += 1.0;
    }
    Some(sum.into_iter().map(|s| s / k).collect())
}

/// The combination's backtest errors from its members' (`rows`: each method's errors per
/// origin, `None` where it did not apply; `seasonal`: whether the history up to each origin is
/// seasonal): at each origin, the mean of the members that [`combination`] would use there.
/// `None` when a required member is missing at some origin or was not backtested.
pub(super) fn backtest_errors(rows: &[(Method, Vec<Option<Vec<f64>>>)], seasonal: &[bool]) -> Option<Vec<Vec<f64>>> {
    let members: Vec<(Method, &Vec<Option<Vec<f64>>>)> =
        COMBINATION.iter().filter_map(|m| rows.iter().find(|r| r.0 == *m).map(|r| (*m, &r.1))).collect();
    if members.iter().filter(|m| m.0 != OPTIONAL).count() != COMBINATION.len() - 1 {
        return None;
    }
    let origins = members[0].1.len();
    (0..origins)
        .map(|o| {
            let mut sum: Option<Vec<f64>> = None;
            let mut k = 0.0;
            for (m, r) in &members {
                let e = if *m == OPTIONAL && !seasonal[o] { &None } else { &r[o] };
                let Some(e) = e else {
                    if *m == OPTIONAL {
                        continue;
                    }
                    return None;
                };
                let acc = sum.get_or_insert_with(|| vec![0.0; e.len()]);
                for (a, v) in acc.iter_mut().zip(e) {
                    *a += v;
                }
                k += 1.0;
            }
            sum.map(|s| s.into_iter().map(|v| v / k).collect())
        })
        .collect()
}
