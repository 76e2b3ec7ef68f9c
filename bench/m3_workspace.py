#!/usr/bin/env python3
"""M3 (or any long CSV of monthly series) through the product: `snop run demand-review`.

    python3 bench/m3_workspace.py SERIES.csv DIR [--snop PATH] [--holdout 18] [--cycle 2027-01]
                                  [--engine ENGINE.csv]

SERIES.csv is the `unique_id,ds,y` layout of `bench/make_series.py` (`m3 OUT.csv` writes M3
monthly). The script

1. makes a workspace in DIR (`snop init`), whose demand-review pipeline reads three contract
   tables as CSV: one item per series (`sku` = the series id), one customer, and one order line
   per series and month of its history less the last `--holdout` months, with
   `history_months = "all"`. Every series' history is moved to end the month before `--cycle`
   (M3 keeps no real dates; the forecast uses only the position in the series);
2. runs `snop run demand-review --cycle CYCLE` on it;
3. reads the run's `tables/statistical_forecast.parquet` (needs pyarrow) and scores the product's
   forecast of the held-out months against the series: sMAPE (the M3 competition's), MASE
   (in-sample seasonal naive, lag 12) and WMAPE, and counts the methods picked. The metrics are
   computed here, in plain Python, not by snop.

With `--engine ENGINE.csv` (written by `snop bench forecast SERIES.csv --holdout 18 --out
ENGINE.csv`) it also compares the two paths' forecasts point by point.

Prints one JSON line. Needs only the standard library and pyarrow.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

PIPELINE = """# M3 through the demand review (bench/m3_workspace.py): the contract's three required tables.
agent = "demand-review"
description = "M3 monthly series as items, one customer and monthly order lines"
history_months = "all"

[demand]
horizon_months = {holdout}

[[sources]]
table = "items"
type = "csv"
path = "data/items.csv"

[[sources]]
table = "customers"
type = "csv"
path = "data/customers.csv"

[[sources]]
table = "sales_history"
type = "csv"
path = "data/sales_history.csv"
"""

CUSTOMER = "M3"


def read_long(path: Path) -> dict[str, list[float]]:
    rows: dict[str, list[tuple[str, float]]] = defaultdict(list)
    with path.open(newline="") as f:
        for r in csv.DictReader(f):
            rows[r["unique_id"]].append((r["ds"], float(r["y"])))
    return {k: [y for _, y in sorted(v)] for k, v in sorted(rows.items())}


def month_index(ym: str) -> int:
    year, month = ym[:7].split("-")
    return int(year) * 12 + int(month) - 1


def month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def write_workspace(series: dict[str, list[float]], ws: Path, holdout: int, cycle: int) -> int:
    data = ws / "data"
    data.mkdir(parents=True, exist_ok=True)
    (ws / "pipelines" / "demand-review.toml").write_text(PIPELINE.replace("{holdout}", str(holdout)))
    with (data / "items.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sku", "family", "uom", "unit_price", "unit_cost", "make_site", "lifecycle", "end_month"])
        for sku in series:
            w.writerow([sku, sku[:1], "EA", 1, 1, "M3", "active", ""])
    with (data / "customers.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer", "channel", "region", "account_manager", "priority"])
        w.writerow([CUSTOMER, "direct", "all", "nobody", 1])
    lines = 0
    with (data / "sales_history.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "order_date", "ship_date", "sku", "customer", "qty", "net_revenue"])
        for sku, y in series.items():
            train = y[: len(y) - holdout]
            start = cycle - len(train)
            for t, v in enumerate(train):
                day = f"{month_text(start + t)}-01"
                w.writerow([f"{sku}-{t}", day, day, sku, CUSTOMER, repr(v), repr(v)])
                lines += 1
    return lines


def smape(actual: list[float], fc: list[float]) -> float:
    terms = [200 * abs(a - f) / (abs(a) + abs(f)) if abs(a) + abs(f) > 0 else 0.0 for a, f in zip(actual, fc)]
    return sum(terms) / len(terms)


def mase(actual: list[float], fc: list[float], insample: list[float]) -> float | None:
    lag = 12 if len(insample) > 12 else 1
    if len(insample) <= lag:
        return None
    scale = sum(abs(insample[t] - insample[t - lag]) for t in range(lag, len(insample))) / (len(insample) - lag)
    if scale <= 0:
        return None
    return sum(abs(a - f) for a, f in zip(actual, fc)) / len(actual) / scale


def product_forecasts(ws: Path) -> tuple[dict[str, dict[int, float]], dict[str, str]]:
    import pyarrow.parquet as pq

    found = sorted(ws.rglob("tables/statistical_forecast.parquet"), key=lambda p: p.stat().st_mtime)
    if not found:
        sys.exit(f"no tables/statistical_forecast.parquet under {ws}: did the run fail?")
    t = pq.read_table(found[-1]).to_pydict()
    fcs: dict[str, dict[int, float]] = defaultdict(dict)
    methods: dict[str, str] = {}
    for sku, cust, month, value, method in zip(t["sku"], t["customer"], t["month"], t["statistical"], t["method"]):
        if cust == CUSTOMER:
            fcs[sku][month_index(month)] = value
            methods[sku] = method
    return fcs, methods


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("series", type=Path)
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--snop", default="snop")
    ap.add_argument("--holdout", type=int, default=18)
    ap.add_argument("--cycle", default="2027-01")
    ap.add_argument("--engine", type=Path, help="snop bench forecast --out CSV to compare with")
    args = ap.parse_args()
    if not 1 <= args.holdout <= 60:
        sys.exit("the demand review forecasts 1 to 60 months (`[demand] horizon_months`): --holdout must be in 1..60")
    series = {k: v for k, v in read_long(args.series).items() if len(v) > args.holdout}
    cycle = month_index(args.cycle)
    if args.workspace.exists():
        sys.exit(f"{args.workspace} exists: give a new folder")
    subprocess.run([args.snop, "init", str(args.workspace)], check=True, stdout=subprocess.DEVNULL)
    lines = write_workspace(series, args.workspace, args.holdout, cycle)
    subprocess.run(
        [args.snop, "-q", "-w", str(args.workspace), "run", "demand-review", "--cycle", args.cycle],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    fcs, methods = product_forecasts(args.workspace)
    abs_err = abs_act = 0.0
    smapes, mases = [], []
    missing = 0
    for sku, y in series.items():
        months = fcs.get(sku)
        if not months:
            missing += 1
            continue
        fc = [months[cycle + h] for h in range(args.holdout)]
        insample, actual = y[: len(y) - args.holdout], y[len(y) - args.holdout :]
        abs_err += sum(abs(a - f) for a, f in zip(actual, fc))
        abs_act += sum(abs(a) for a in actual)
        smapes.append(smape(actual, fc))
        m = mase(actual, fc, insample)
        if m is not None:
            mases.append(m)
    out = {
        "tool": "snop run demand-review",
        "series": len(series),
        "order_lines": lines,
        "missing": missing,
        "smape": sum(smapes) / len(smapes),
        "mase": sum(mases) / len(mases),
        "wmape": abs_err / abs_act,
        "methods": dict(Counter(methods.values()).most_common()),
    }
    if args.engine:
        engine: dict[str, list[float]] = defaultdict(list)
        with args.engine.open(newline="") as f:
            for r in csv.DictReader(f):
                engine[r["unique_id"]].append(float(r["y"]))
        diffs = [
            abs(e - fcs[sku][cycle + h]) for sku, ys in engine.items() if sku in fcs for h, e in enumerate(ys)
        ]
        out["engine_points_compared"] = len(diffs)
        out["engine_max_abs_difference"] = max(diffs) if diffs else None
    print(json.dumps(out))


if __name__ == "__main__":
    main()
