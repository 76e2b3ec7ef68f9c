#!/usr/bin/env python3
"""statsforecast on the same held-out months as `snop bench forecast`, for a side-by-side.

Reads a long CSV (unique_id, ds, y; monthly, ds a month start, no gaps: see make_series.py),
holds out the last HOLDOUT months of every series longer than HOLDOUT (shorter ones are
skipped, as snop's `evaluate` does), and forecasts them from the rest with

  AutoETS(season_length=12), AutoTheta(season_length=12), CrostonSBA()

each timed on its own with n_jobs=1 and with n_jobs=-1 (all cores). Then the "best automatic
choice": per series, the model with the lowest MAE in a rolling-origin cross-validation on
the training months (3 windows one month apart, 6 months ahead, `StatsForecast.
cross_validation(h=6, n_windows=3, step_size=1)`: the same protocol snop's selection uses;
ties go to the earlier model in the list above). Series too short for that cross-validation
(fewer than 18 months before its first cutoff) keep AutoETS. Its time is the
cross-validation plus the forecasts of the three models.

Scores, with the definitions of snop's `evaluate`:
  WMAPE = sum |a - f| / sum |a| over all held-out months of all series;
  sMAPE = mean over series of mean 200 |a - f| / (|a| + |f|) (0 where both are 0), as M3;
  MASE  = mean over series of MAE / (in-sample mean |y_t - y_{t-12}|; lag 1 when the
          training part has 12 months or fewer), series with a zero scale left out.
Forecasts are clipped at 0 (demand is never negative; snop clips too); --no-clip keeps them.

numba compiles statsforecast's models on first use: a warm-up on a few series (with both
n_jobs settings) runs before anything is timed, so the times are steady-state.

Prints a table on stdout, then one JSON line. Needs: pip install statsforecast pandas
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

MODEL_NAMES = ["AutoETS", "AutoTheta", "CrostonSBA"]
CV_H, CV_WINDOWS, CV_MIN_TRAIN = 6, 3, 18
CPU: dict[str, float] = {}  # CPU seconds of this process per timed call (n_jobs=1 is all of it)


def models():
    from statsforecast.models import AutoETS, AutoTheta, CrostonSBA

    return {
        "AutoETS": AutoETS(season_length=12),
        "AutoTheta": AutoTheta(season_length=12),
        "CrostonSBA": CrostonSBA(),
    }


def run_forecast(train: pd.DataFrame, h: int, names: list[str], n_jobs: int) -> tuple[pd.DataFrame, float]:
    from statsforecast import StatsForecast

    ms = models()
    sf = StatsForecast(models=[ms[n] for n in names], freq="MS", n_jobs=n_jobs)
    t0, c0 = time.perf_counter(), time.process_time()
    fc = sf.forecast(df=train, h=h)
    CPU[",".join(names) + f"/n_jobs={n_jobs}"] = time.process_time() - c0
    return fc.reset_index() if "unique_id" not in fc.columns else fc, time.perf_counter() - t0


def run_cv(train: pd.DataFrame, n_jobs: int) -> tuple[pd.DataFrame, float]:
    from statsforecast import StatsForecast

    ms = models()
    sf = StatsForecast(models=[ms[n] for n in MODEL_NAMES], freq="MS", n_jobs=n_jobs)
    t0, c0 = time.perf_counter(), time.process_time()
    cv = sf.cross_validation(df=train, h=CV_H, n_windows=CV_WINDOWS, step_size=1)
    cv = cv.reset_index() if "unique_id" not in cv.columns else cv
    CPU[f"cv/n_jobs={n_jobs}"] = time.process_time() - c0
    return cv, time.perf_counter() - t0


def scores(actual: dict[str, np.ndarray], insample: dict[str, np.ndarray], fc: dict[str, np.ndarray]) -> dict:
    abs_err = abs_act = 0.0
    mases, smapes = [], []
    for uid, a in actual.items():
        f = fc[uid]
        den = np.abs(a) + np.abs(f)
        smapes.append(float(np.mean(np.where(den > 0, 200 * np.abs(a - f) / np.where(den > 0, den, 1), 0.0))))
        abs_err += float(np.abs(a - f).sum())
        abs_act += float(np.abs(a).sum())
        y = insample[uid]
        lag = 12 if len(y) > 12 else 1
        if len(y) > lag:
            scale = float(np.abs(y[lag:] - y[:-lag]).mean())
            if scale > 0:
                mases.append(float(np.abs(a - f).mean()) / scale)
    return {
        "wmape": abs_err / abs_act if abs_act > 0 else None,
        "smape": float(np.mean(smapes)) if smapes else None,
        "mase": float(np.mean(mases)) if mases else None,
        "mase_series": len(mases),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("series", help="long CSV: unique_id, ds, y")
    p.add_argument("--holdout", type=int, default=6, help="months held out at the end (default 6)")
    p.add_argument("--no-clip", action="store_true", help="keep negative forecasts")
    p.add_argument("--skip-parallel", action="store_true", help="only n_jobs=1")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("NIXTLA_ID_AS_COL", "1")

    df = pd.read_csv(args.series, dtype={"unique_id": str})
    df["ds"] = pd.to_datetime(df["ds"])
    df = df.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    lengths = df.groupby("unique_id")["y"].transform("size")
    df = df[lengths > args.holdout]
    pos = df.groupby("unique_id").cumcount()
    n_of = df.groupby("unique_id")["y"].transform("size")
    is_test = pos >= n_of - args.holdout
    train, test = df[~is_test].copy(), df[is_test]
    actual = {u: g["y"].to_numpy(float) for u, g in test.groupby("unique_id")}
    insample = {u: g["y"].to_numpy(float) for u, g in train.groupby("unique_id")}
    n_series = len(actual)
    print(f"{n_series} series, {len(train)} training months, holdout {args.holdout}", file=sys.stderr)

    # Warm-up: numba compiles each model once (per process with n_jobs=-1).
    few = train[train["unique_id"].isin(sorted(actual)[:4])]
    for n_jobs in [1] if args.skip_parallel else [1, -1]:
        run_forecast(few, args.holdout, MODEL_NAMES, n_jobs)
        if len(few):
            run_cv(few[few.groupby("unique_id")["y"].transform("size") >= CV_MIN_TRAIN + CV_H + CV_WINDOWS - 1], n_jobs)

    def by_series(fc: pd.DataFrame, name: str) -> dict[str, np.ndarray]:
        out = {u: g.sort_values("ds")[name].to_numpy(float) for u, g in fc.groupby("unique_id")}
        return out if args.no_clip else {u: np.maximum(v, 0.0) for u, v in out.items()}

    rows = []
    forecasts: dict[str, dict[str, np.ndarray]] = {}
    times: dict[str, dict[str, float]] = {}
    for name in MODEL_NAMES:
        times[name] = {}
        for n_jobs in [1] if args.skip_parallel else [1, -1]:
            fc, secs = run_forecast(train, args.holdout, [name], n_jobs)
            times[name][f"n_jobs={n_jobs}"] = secs
            forecasts[name] = by_series(fc, name)
        rows.append({"model": name, **scores(actual, insample, forecasts[name]), "seconds": times[name]})

    # Best automatic choice by cross-validation on the training months.
    train_len = train.groupby("unique_id")["y"].size()
    cv_ids = train_len[train_len >= CV_MIN_TRAIN + CV_H + CV_WINDOWS - 1].index
    cv_train = train[train["unique_id"].isin(cv_ids)]
    best_times = {}
    picks: dict[str, str] = {}
    for n_jobs in [1] if args.skip_parallel else [1, -1]:
        cv, secs = run_cv(cv_train, n_jobs)
        best_times[f"n_jobs={n_jobs}"] = secs + sum(t[f"n_jobs={n_jobs}"] for t in times.values())
    mae = cv.assign(**{n: (cv[n] - cv["y"]).abs() for n in MODEL_NAMES}).groupby("unique_id")[MODEL_NAMES].mean()
    for uid in actual:
        if uid in mae.index:
            row = mae.loc[uid].to_numpy(float)
            row = np.where(np.isfinite(row), row, np.inf)
            picks[uid] = MODEL_NAMES[int(np.argmin(row))]  # argmin: first of equal minima
        else:
            picks[uid] = "AutoETS"
    best = {uid: forecasts[picks[uid]][uid] for uid in actual}
    counts = {n: sum(1 for v in picks.values() if v == n) for n in MODEL_NAMES}
    rows.append({"model": "best (CV pick)", **scores(actual, insample, best), "seconds": best_times, "picks": counts})
    ets_theta = {uid: (forecasts["AutoETS"][uid] + forecasts["AutoTheta"][uid]) / 2 for uid in actual}
    both = {k: times["AutoETS"][k] + times["AutoTheta"][k] for k in times["AutoETS"]}
    rows.append({"model": "mean ETS+Theta", **scores(actual, insample, ets_theta), "seconds": both})

    print(f"{'model':<16} {'sMAPE':>8} {'WMAPE':>8} {'MASE':>8} {'s n_jobs=1':>11} {'s n_jobs=-1':>12}")
    for r in rows:
        s = r["seconds"]
        par = s.get("n_jobs=-1")
        print(
            f"{r['model']:<16} {r['smape']:>8.3f} {r['wmape']:>8.4f} {r['mase']:>8.4f} {s['n_jobs=1']:>11.2f} "
            f"{(f'{par:.2f}' if par is not None else '-'):>12}"
        )
    print(f"picks: {counts}")
    print(f"CPU seconds: {CPU}")
    print(json.dumps({
        "series": n_series,
        "holdout": args.holdout,
        "cores": os.cpu_count(),
        "clipped": not args.no_clip,
        "cpu_seconds": CPU,
        "results": rows,
    }))


if __name__ == "__main__":
    main()
