"""Product models against statsforecast, and elasticity against the synthetic truth: one command, printed tables.

    nice .venv/bin/python bench/bench_products.py [--top 50] [--holdout 28] [--customers 150000] [--no-results]

Forecast: Online Retail (../shared/data/online_retail.csv.gz, imported into a temporary lake) and a synthetic lake;
the top products by units, daily series on the full calendar, the last ``--holdout`` days held out. Side by side:
this project's global model (trained on every product, as the refresh does; and on the top products only;
XGBoost and LightGBM), statsforecast AutoETS(season_length=7) and SeasonalNaive(7), and the mean of the last 28
days. Metrics: WAPE, MASE (scaled by each series' in-sample seasonal-naive MAE), RMSE, bias, 80% interval
coverage and width, fit and predict seconds.
Elasticity: every product of the synthetic lake, this project's estimator vs naive log-log OLS vs OLS with the
same controls, against true_elasticity; 95% interval coverage of the truth.
Writes the "## Product models" section of bench/RESULTS.md (only that section).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import update_results_section  # noqa: E402

from athena.duckdb_engine import DuckDBEngine  # noqa: E402
from models.elasticity import estimate_elasticity, naive_elasticity  # noqa: E402
from models.forecast import DemandForecaster  # noqa: E402
from models.forecast_features import build_panel  # noqa: E402
from models.intermittent import tsb_forecast  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
ONLINE_RETAIL = ROOT.parent / "shared" / "data" / "online_retail.csv.gz"
SECTION = "## Product models"
LEVEL = 0.8


def all_sales(engine) -> pd.DataFrame:
    return engine.query("daily_sales", {"start": "1900-01-01", "end": "2999-01-01"})


# ---------------------------------------------------------------------- forecast
def forecast_table(sales: pd.DataFrame, *, top: int, holdout: int, label: str, variants: list[tuple]) -> list[dict]:
    sales = sales.assign(sale_date=pd.to_datetime(sales["sale_date"]).dt.date)
    end = max(sales["sale_date"]) + dt.timedelta(days=1)
    as_of = end - dt.timedelta(days=holdout)
    units = sales.groupby("product_id")["quantity"].sum().sort_values(ascending=False, kind="stable")
    top_ids = np.array(sorted(units.index[:top].astype(str)))
    train_all = build_panel(sales, end=as_of)
    full = build_panel(sales, end=end, start=train_all.start)
    ids = top_ids[np.isin(top_ids, train_all.product_ids)]  # a product first sold in the holdout has no history
    rows_train = train_all.rows(ids)
    y = np.nan_to_num(full.quantity[full.rows(ids), -holdout:])
    scale = _mase_scale(train_all, rows_train)
    print(f"\n[{label}] {len(sales):,} product-days, {train_all.n_products:,} products, train "
          f"{train_all.start}..{as_of - dt.timedelta(days=1)}, holdout {as_of}..{end - dt.timedelta(days=1)}, "
          f"{ids.size} of the top {top} products evaluated", flush=True)
    out = []
    for name, scope, kw in variants:
        panel = train_all if scope == "all" else build_panel(sales[sales["product_id"].astype(str).isin(ids)],
                                                             end=as_of, start=train_all.start)
        t0 = time.perf_counter()
        est = DemandForecaster(horizon_days=holdout, level=LEVEL, random_state=0, **kw).fit(panel)
        t1 = time.perf_counter()
        rows = panel.rows(ids)
        ok = est.eligible(panel)[rows]
        pred, lo, hi = (np.zeros((ids.size, holdout)) for _ in range(3))
        if ok.any():
            r = est.predict(panel, rows=rows[ok])
            pred[ok], lo[ok], hi[ok] = r.predicted, r.lower, r.upper
        for j in np.flatnonzero(~ok):  # the fallback the refresh would use
            f = tsb_forecast(panel.quantity[rows[j], panel.first_index[rows[j]]:], horizon_days=holdout, level=LEVEL)
            pred[j], lo[j], hi[j] = f.predicted, f.lower, f.upper
        t2 = time.perf_counter()
        note = f"best_iter {est.best_iteration_}, {est.n_train_rows_:,} rows, {int((~ok).sum())} TSB fallback"
        out.append(_metrics(name, y, pred, lo, hi, scale, t1 - t0, t2 - t1, note))
        _print_row(out[-1])
    from statsforecast.models import AutoETS, SeasonalNaive

    for name, make in (("statsforecast AutoETS(season_length=7)", lambda: AutoETS(season_length=7)),
                       ("statsforecast SeasonalNaive(7)", lambda: SeasonalNaive(season_length=7))):
        pred, lo, hi = (np.zeros((ids.size, holdout)) for _ in range(3))
        t0 = time.perf_counter()
        fitted = [make().fit(_series(train_all, i)) for i in rows_train]
        t1 = time.perf_counter()
        for j, m in enumerate(fitted):
            f = m.predict(h=holdout, level=[int(LEVEL * 100)])
            pred[j] = np.maximum(f["mean"], 0)
            lo[j] = np.maximum(f[f"lo-{int(LEVEL * 100)}"], 0)
            hi[j] = np.maximum(f[f"hi-{int(LEVEL * 100)}"], 0)
        t2 = time.perf_counter()
        out.append(_metrics(name, y, pred, lo, hi, scale, t1 - t0, t2 - t1, "one model per series"))
        _print_row(out[-1])
    t0 = time.perf_counter()
    mean28 = np.array([np.nanmean(train_all.quantity[i, -28:]) for i in rows_train])
    pred = np.repeat(np.nan_to_num(mean28)[:, None], holdout, axis=1)
    out.append(_metrics("mean of the last 28 days", y, pred, None, None, scale, 0.0, time.perf_counter() - t0, ""))
    _print_row(out[-1])
    return out


def _series(panel, i) -> np.ndarray:
    return panel.quantity[i, panel.first_index[i]:]


def _mase_scale(panel, rows) -> np.ndarray:
    """In-sample MAE of the seasonal-naive (lag 7) forecast of each series."""
    out = []
    for i in rows:
        s = _series(panel, i)
        d = np.abs(s[7:] - s[:-7]) if s.size > 7 else np.array([np.nan])
        out.append(np.nanmean(d) if np.nanmean(d) > 0 else np.nan)
    return np.array(out)


def _metrics(name, y, p, lo, hi, scale, fit_s, pred_s, note) -> dict:
    tot = y.sum()
    mase = np.nanmean(np.abs(y - p).mean(axis=1) / scale)
    return {"method": name, "wape": np.abs(y - p).sum() / tot, "mase": mase,
            "rmse": float(np.sqrt(np.mean((y - p) ** 2))), "bias": (p - y).sum() / tot,
            "coverage": None if lo is None else float(np.mean((y >= lo) & (y <= hi))),
            "width": None if lo is None else float(np.mean(hi - lo)), "fit_s": fit_s, "predict_s": pred_s,
            "note": note}


def _print_row(r: dict) -> None:
    cov = "-" if r["coverage"] is None else f"{r['coverage']:.3f}"
    print(f"  {r['method']:<52} WAPE {r['wape']:.3f}  MASE {r['mase']:.3f}  RMSE {r['rmse']:9.2f}  "
          f"bias {r['bias']:+.3f}  cov {cov}  fit {r['fit_s']:.1f}s  pred {r['predict_s']:.2f}s  {r['note']}",
          flush=True)


# ---------------------------------------------------------------------- elasticity
def elasticity_table(sales: pd.DataFrame, truth: pd.DataFrame) -> tuple[list[dict], dict]:
    sales = sales.assign(sale_date=pd.to_datetime(sales["sale_date"]).dt.date)
    end = max(sales["sale_date"]) + dt.timedelta(days=1)
    panel = build_panel(sales, end=end)
    dates = np.datetime64(panel.start, "D") + np.arange(panel.n_days)
    true = truth.set_index("product_id")["true_elasticity"]
    rec = []
    t0 = time.perf_counter()
    for i, pid in enumerate(panel.product_ids):
        f = panel.first_index[i]
        q, p = panel.quantity[i, f:], panel.price[i, f:]
        ours = estimate_elasticity(dates[f:], q, p)
        ols = estimate_elasticity(dates[f:], q, p, method="ols")
        rec.append({"product_id": pid, "true": float(true[pid]), "ours": ours.elasticity_coefficient,
                    "lo": ours.ci_lower, "hi": ours.ci_upper, "status": ours.status, "ols": ols.elasticity_coefficient,
                    "ols_lo": ols.ci_lower, "ols_hi": ols.ci_upper, "ols_status": ols.status,
                    "naive": naive_elasticity(q, p)})
    secs = time.perf_counter() - t0
    r = pd.DataFrame(rec)
    ok = r[r["status"] == "ok"]
    ok_ols = r[r["ols_status"] == "ok"]
    rows = [
        {"method": "this project: Poisson PML, dow + 4 Fourier pairs + piecewise trend, HAC",
         "n": len(ok), "mae": (ok["ours"] - ok["true"]).abs().mean(), "bias": (ok["ours"] - ok["true"]).mean(),
         "coverage": ((ok["lo"] <= ok["true"]) & (ok["true"] <= ok["hi"])).mean()},
        {"method": "OLS of log Q on days with sales, same controls, HAC", "n": len(ok_ols),
         "mae": (ok_ols["ols"] - ok_ols["true"]).abs().mean(), "bias": (ok_ols["ols"] - ok_ols["true"]).mean(),
         "coverage": ((ok_ols["ols_lo"] <= ok_ols["true"]) & (ok_ols["true"] <= ok_ols["ols_hi"])).mean()},
        {"method": "naive log-log OLS, no controls (same products as ours)", "n": len(ok),
         "mae": (ok["naive"] - ok["true"]).abs().mean(), "bias": (ok["naive"] - ok["true"]).mean(), "coverage": None},
        {"method": "naive log-log OLS, no controls (every product)", "n": int(r["naive"].notna().sum()),
         "mae": (r["naive"] - r["true"]).abs().mean(), "bias": (r["naive"] - r["true"]).mean(), "coverage": None},
    ]
    info = {"products": len(r), "refused": int((r["status"] != "ok").sum()), "seconds": secs,
            "positive_naive": int((r["naive"] > 0).sum())}
    for row in rows:
        cov = "-" if row["coverage"] is None else f"{row['coverage']:.3f}"
        print(f"  {row['method']:<72} n {row['n']:3d}  MAE {row['mae']:.3f}  bias {row['bias']:+.3f}  cov95 {cov}")
    return rows, info


def online_retail_elasticity(sales: pd.DataFrame, ids: np.ndarray) -> dict:
    """Not scored (no truth): how many of the top products get an estimate, and of which type."""
    sales = sales.assign(sale_date=pd.to_datetime(sales["sale_date"]).dt.date)
    panel = build_panel(sales[sales["product_id"].astype(str).isin(ids)], end=max(sales["sale_date"]) +
                        dt.timedelta(days=1))
    dates = np.datetime64(panel.start, "D") + np.arange(panel.n_days)
    kinds, naive = [], []
    for i in range(panel.n_products):
        f = panel.first_index[i]
        e = estimate_elasticity(dates[f:], panel.quantity[i, f:], panel.price[i, f:])
        kinds.append(e.elasticity_type if e.status == "ok" else "refused")
        naive.append(naive_elasticity(panel.quantity[i, f:], panel.price[i, f:]))
    return {"types": pd.Series(kinds).value_counts().to_dict(), "naive_median": float(np.nanmedian(naive))}


# ---------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=50)
    ap.add_argument("--holdout", type=int, default=28)
    ap.add_argument("--customers", type=int, default=150_000)
    ap.add_argument("--products", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-global", action="store_true", help="skip the all-products training (slowest)")
    ap.add_argument("--no-results", action="store_true")
    args = ap.parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    load = os.getloadavg()[0]
    # one thread: on a shared 2-core machine two threads per fit only add contention (the Lambda default is 2)
    variants = [("DemandForecaster xgboost, trained on all products", "all", {"n_jobs": 1}),
                ("DemandForecaster lightgbm, trained on all products", "all", {"backend": "lightgbm", "n_jobs": 1}),
                ("DemandForecaster xgboost, trained on the top products", "top", {"n_jobs": 1}),
                ("DemandForecaster lightgbm, trained on the top products", "top", {"backend": "lightgbm", "n_jobs": 1})]
    if args.skip_global:
        variants = variants[2:]
    sections = {}
    with tempfile.TemporaryDirectory(prefix="bench-products-") as tmp:
        if ONLINE_RETAIL.exists():
            from insights.data.importer import import_files

            import_files(ONLINE_RETAIL, lake=Path(tmp) / "or", preset="online-retail")
            sales = all_sales(DuckDBEngine.over_lake(Path(tmp) / "or"))
            sections["or"] = forecast_table(sales, top=args.top, holdout=args.holdout, label="Online Retail",
                                            variants=variants)
            units = sales.groupby("product_id")["quantity"].sum().nlargest(args.top).index.astype(str)
            sections["or_el"] = online_retail_elasticity(sales, np.array(units))
        else:
            print(f"Online Retail not found at {ONLINE_RETAIL}: skipped")
        from insights.data.sample import SampleSpec, generate, write_sample

        t0 = time.perf_counter()
        sample = generate(SampleSpec(customers=args.customers, products=args.products, days=730, seed=args.seed,
                                     end=dt.date(2025, 12, 31)))
        write_sample(Path(tmp) / "syn", sample)
        print(f"\nsynthetic lake: {args.customers:,} customers, {args.products} products, 730 days, seed {args.seed} "
              f"({time.perf_counter() - t0:.0f} s)")
        syn = all_sales(DuckDBEngine.over_lake(Path(tmp) / "syn"))
        sections["syn"] = forecast_table(syn, top=args.top, holdout=args.holdout, label="synthetic",
                                         variants=variants)
        print("\n[synthetic] elasticity against true_elasticity")
        sections["el"], sections["el_info"] = elasticity_table(syn, sample.truth.products)
    if not args.no_results:
        write_results(sections, args, started, load)
    return 0


def _fmt(v, spec=".3f"):
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def _forecast_md(rows) -> list[str]:
    out = ["| method | WAPE | MASE | RMSE | bias | 80% coverage | mean width | fit s | predict s | note |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['method']} | {_fmt(r['wape'])} | {_fmt(r['mase'])} | {_fmt(r['rmse'], '.2f')} | "
                   f"{_fmt(r['bias'], '+.3f')} | {_fmt(r['coverage'])} | {_fmt(r['width'], '.2f')} | "
                   f"{_fmt(r['fit_s'], '.1f')} | {_fmt(r['predict_s'], '.2f')} | {r['note']} |")
    return out


def _targets(s) -> list[str]:
    out = []
    ours = lambda rows: [r for r in rows if r["method"].startswith("DemandForecaster")]  # noqa: E731
    if "or" in s:
        ets = next(r for r in s["or"] if "AutoETS" in r["method"])
        for r in ours(s["or"]):
            ratio = r["wape"] / ets["wape"]
            out.append(f"| Online Retail WAPE <= 0.9 x AutoETS ({ets['wape']:.3f}): {r['method']} | "
                       f"{r['wape']:.3f} = {ratio:.3f} x | {'yes' if ratio <= 0.9 else 'no'} |")
    for key, name in (("or", "Online Retail"), ("syn", "synthetic")):
        for r in ours(s.get(key, [])):
            c = r["coverage"]
            out.append(f"| {name} 80% interval covers 75-85%: {r['method']} | {c:.3f} | "
                       f"{'yes' if 0.75 <= c <= 0.85 else 'no'} |")
    el = s["el"]
    mae, naive, cov = el[0]["mae"], el[2]["mae"], el[0]["coverage"]
    out.append(f"| elasticity MAE <= 0.2 | {mae:.3f} | {'yes' if mae <= 0.2 else 'no'} |")
    out.append(f"| elasticity MAE <= half the naive OLS MAE ({naive:.3f}) | {mae:.3f} = {mae / naive:.3f} x | "
               f"{'yes' if mae <= naive / 2 else 'no'} |")
    out.append(f"| 95% interval covers the true elasticity >= 90% | {cov:.3f} | {'yes' if cov >= 0.9 else 'no'} |")
    return out


def write_results(s, args, started, load) -> None:
    lines = [SECTION, "", f"`nice .venv/bin/python bench/bench_products.py --top {args.top} --holdout {args.holdout} "
             f"--customers {args.customers} --products {args.products} --seed {args.seed}"
             f"{' --skip-global' if args.skip_global else ''}`", ""]
    if "or" in s:
        lines += ["Forecast, Online Retail (imported with the online-retail preset), top products by units, last "
                  f"{args.holdout} days held out:", ""] + _forecast_md(s["or"]) + [""]
        lines += [f"Elasticity on Online Retail's top {args.top} (no truth; unit price falls with order size, so "
                  f"these are not causal): types {s['or_el']['types']}; naive log-log median slope "
                  f"{s['or_el']['naive_median']:.2f}.", ""]
    lines += [f"Forecast, synthetic lake ({args.customers:,} customers, {args.products} products, 730 days, seed "
              f"{args.seed}), top products, last {args.holdout} days held out:", ""] + _forecast_md(s["syn"]) + [""]
    info = s["el_info"]
    lines += [f"Elasticity on the synthetic lake against true_elasticity ({info['products']} products, "
              f"{info['refused']} refused by this project's estimator, {info['positive_naive']} naive slopes positive; "
              f"{info['seconds']:.1f} s for all three estimators):", "",
              "| method | products | MAE vs truth | mean error | 95% CI covers truth |", "|---|---|---|---|---|"]
    for r in s["el"]:
        lines.append(f"| {r['method']} | {r['n']} | {_fmt(r['mae'])} | {_fmt(r['bias'], '+.3f')} | "
                     f"{_fmt(r['coverage'])} |")
    lines += ["", "Targets (issue 4):", "", "| target | measured | met |", "|---|---|---|"]
    lines += _targets(s)
    lines += ["", "Closing note on the targets, what was tried and the limits: docs/product-models.md, \"Measured\"."]
    lines += ["", f"{started:%Y-%m-%d %H:%M} UTC, {platform.machine()}, 2 cores shared with other engineers' jobs "
              f"(load average {load:.1f} at start), Python {platform.python_version()}; times are wall seconds in "
              "one process and swing with the shared load.", ""]
    update_results_section(SECTION, "\n".join(lines), RESULTS)
    print(f"\nwrote the {SECTION!r} section of {RESULTS}")


if __name__ == "__main__":
    raise SystemExit(main())
