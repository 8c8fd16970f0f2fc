"""The markdown of bench/bench_forecast_all.py: the "Forecasts on every product" section of bench/RESULTS.md."""

from __future__ import annotations

import datetime as dt
import platform
from pathlib import Path

import numpy as np
from benchlib import update_results_section


def _f(v, spec=".3f") -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def _table(res: dict) -> list[str]:
    ets = next((r for r in res["rows"] if "AutoETS" in r["method"]), None)
    out = ["| method | WAPE | x AutoETS | MASE | bias | SPL (M5 scale, equal weights) | mean pinball (units) | "
           "80% coverage | 95% coverage | worst cell 80 / 95 | 80% width | 95% width | fit s | predict s | note |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        ratio = r["wape"] / ets["wape"] if ets else None
        out.append(f"| {r['method']} | {_f(r['wape'])} | {_f(ratio)} | {_f(r['mase'])} | {_f(r['bias'], '+.3f')} | "
                   f"{_f(r['spl'])} | {_f(r['pinball'])} | {_f(r['cov80'])} | {_f(r['cov95'])} | "
                   f"{_f(r['worst80'])} / {_f(r['worst95'])} | {_f(r['width80'], '.2f')} | "
                   f"{_f(r['width95'], '.2f')} | {_f(r['fit_s'], '.0f')} | {_f(r['predict_s'], '.1f')} | "
                   f"{r['note']} |")
    return out


def _targets(out: dict) -> list[str]:
    lines = ["| target | lake | method | measured | met |", "|---|---|---|---|---|"]
    for lake, res in out.items():
        ets = next((r for r in res["rows"] if "AutoETS" in r["method"]), None)
        for r in res["rows"]:
            if not r["method"].startswith("DemandForecaster"):
                continue
            if ets:
                ratio = r["wape"] / ets["wape"]
                lines.append(f"| WAPE <= 0.85 x AutoETS ({ets['wape']:.3f}) | {lake} | {r['method']} | {r['wape']:.3f}"
                             f" = {ratio:.3f} x | {'yes' if ratio <= 0.85 else 'no'} |")
            for lv in (80, 95):
                c = r[f"cov{lv}"]
                lines.append(f"| {lv}% coverage within 3 points of nominal | {lake} | {r['method']} | {c:.3f} | "
                             f"{'yes' if abs(c - lv / 100) <= 0.03 else 'no'} |")
    return lines


def write_results(path: Path, section: str, out: dict, args, started, load) -> None:
    cmd = (f"nice .venv/bin/python bench/bench_forecast_all.py --top {args.top} --holdout {args.holdout} "
           f"--min-sale-days {args.min_sale_days} --cut-days {args.cut_days} --variants {args.variants} "
           f"--customers {args.customers} --products {args.products} --seed {args.seed}")
    lines = [section, "", f"`{cmd}`", ""]
    for lake, res in out.items():
        last = res["end"] - dt.timedelta(days=1)
        lines += [f"{lake}: {res['n']:,} of {res['products']:,} products have >= {args.min_sale_days} days with sales "
                  f"before the holdout and are evaluated (trained on the days before {res['as_of']}, held out "
                  f"{res['as_of']} .. {last}); every method on the same split, in one process:",
                  ""] + _table(res) + [""]
    lines += ["WAPE aggregates |error| over every evaluated product-day. MASE: per series, mean |error| over its "
              "in-sample lag-7 seasonal-naive MAE, averaged over series with a non-zero scale. SPL: M5's scaled "
              "pinball loss over the nine quantiles 0.005 .. 0.995 (per series: mean pinball loss over quantiles and "
              "days / in-sample mean |y_t - y_t-1|), averaged with EQUAL series weights (M5 weights by revenue); mean "
              "pinball is the same loss unscaled, in units. Worst cell: the largest distance of coverage from nominal "
              "over horizon bucket (days 0-6, 7-13, 14-27) x volume quartile of the evaluated products. AutoETS and "
              "SeasonalNaive quantiles are their own prediction intervals at 50/67/95/99% (the median is the mean), "
              "clipped at 0.", "",
              "The refresh runs the tweedie global model (DemandForecaster's default objective); squared error and one "
              "model per selling grain are measured for comparison and not kept (docs/product-models.md says why).",
              "", "Targets (issue 16, item 5):", ""] + _targets(out)
    lines += ["", f"{started:%Y-%m-%d %H:%M} UTC, {platform.machine()}, 2 cores shared with another engineer's jobs "
              f"(load average {load:.1f} at start), Python {platform.python_version()}; wall seconds in one process, "
              "they swing with the shared load. Methods, what was tried and kept: docs/product-models.md, "
              "\"Forecasts on every product\".", ""]
    update_results_section(section, "\n".join(lines), path)
    print(f"\nwrote the {section!r} section of {path}")
