"""Forecasts on every product with >= 28 sale days: ours against statsforecast, points, intervals and quantiles.

    nice .venv/bin/python bench/bench_forecast_all.py [--top 0] [--holdout 28] [--variants squared,tweedie]
        [--customers 60000] [--products 300] [--skip-ets] [--no-results]

Online Retail (../shared/data/online_retail.csv.gz, imported with the online-retail preset into a temporary lake)
and a synthetic lake (insights.data.sample); daily series on the full calendar, the last ``--holdout`` days held
out; evaluated: every product with at least ``--min-sale-days`` (28) days with sales before the holdout
(``--top N``: only the N with the most units, for quick iterations). One process, one split, every method:
DemandForecaster (trained on every eligible product, as the refresh does; one variant per objective), statsforecast
AutoETS(season_length=7) and SeasonalNaive(7), one model per series (n_jobs=1).
Metrics: WAPE (sum |e| / sum y over every product-day), MASE (per series: mean |e| over the in-sample lag-7
seasonal-naive MAE; mean over series with a non-zero scale), bias, 80% and 95% interval coverage and width, the
M5 uncertainty track's nine quantiles (0.005 .. 0.995): SPL as M5 scales it (per series: mean pinball loss over
quantiles and days divided by the in-sample mean |y_t - y_t-1| from the first sale) averaged with EQUAL series
weights (M5 weights by revenue), and the plain mean pinball loss in units. Coverage is also broken down by
horizon bucket (days 0-6, 7-13, 14-27) x volume quartile of the evaluated products: "worst cell" is the largest
distance from nominal.
Writes the "## Forecasts on every product" section of bench/RESULTS.md (only that section).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from athena.duckdb_engine import DuckDBEngine  # noqa: E402
from models.conformal import M5_QUANTILES, pinball_loss  # noqa: E402
from models.forecast import DemandForecaster  # noqa: E402
from models.forecast_features import Panel, build_panel  # noqa: E402
from models.forecast_metrics import mase, scaled_pinball, wape  # noqa: E402
from models.intermittent import tsb_forecast  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
ONLINE_RETAIL = ROOT.parent / "shared" / "data" / "online_retail.csv.gz"
SECTION = "## Forecasts on every product"
LEVELS = (0.8, 0.95)
# statsforecast level -> the M5 quantile pair it gives (lo = (1 - level) / 2, hi = (1 + level) / 2)
ETS_LEVELS = (99, 95, 67, 50)
BUCKETS = ((0, 7), (7, 14), (14, 28), (28, 56), (56, 91))


def all_sales(engine) -> pd.DataFrame:
    s = engine.query("daily_sales", {"start": "1900-01-01", "end": "2999-01-01"})
    return s.assign(sale_date=pd.to_datetime(s["sale_date"]).dt.date)


def split(sales: pd.DataFrame, *, holdout: int, min_sale_days: int, top: int):
    end = max(sales["sale_date"]) + dt.timedelta(days=1)
    as_of = end - dt.timedelta(days=holdout)
    train = build_panel(sales, end=as_of)
    full = build_panel(sales, end=end, start=train.start)
    sale_days = np.sum(np.nan_to_num(train.quantity) > 0, axis=1)
    ids = train.product_ids[sale_days >= min_sale_days]
    if top:
        units = np.nansum(train.quantity[train.rows(ids)], axis=1)
        ids = np.sort(ids[np.argsort(-units, kind="stable")[:top]])
    y = np.nan_to_num(full.quantity[full.rows(ids), -holdout:])
    return train, ids, y, as_of, end


def _subpanel(panel: Panel, keep: np.ndarray) -> Panel:
    return Panel(panel.product_ids[keep], panel.start, panel.quantity[keep], panel.price[keep],
                 panel.first_index[keep])


def ours(train, ids, holdout, kw, grain=None) -> tuple[dict, float, float, str]:
    """One global model; with ``grain`` (per train product), one model per grain, each on its own products."""
    n = ids.size
    out = {"pred": np.zeros((n, holdout)), "q": np.zeros((n, len(M5_QUANTILES), holdout)),
           "bands": {lv: (np.zeros((n, holdout)), np.zeros((n, holdout))) for lv in LEVELS}}
    groups = {"all": np.ones(train.n_products, dtype=bool)} if grain is None else \
        {g: grain == g for g in sorted(set(grain.tolist()))}
    ok, fit_s, t0, notes = np.zeros(n, dtype=bool), 0.0, time.perf_counter(), []
    for g, keep in groups.items():
        sub = _subpanel(train, keep)
        est = DemandForecaster(horizon_days=holdout, level=LEVELS[0], wide_level=LEVELS[1], random_state=0,
                               n_jobs=1, **kw)
        t1 = time.perf_counter()
        try:
            est.fit(sub)
        except ValueError as exc:  # a grain with no eligible product: TSB for its products
            notes.append(f"{g}: {exc}")
            continue
        fit_s += time.perf_counter() - t1
        rows = sub.rows(ids)
        mine = (rows >= 0)
        mine[mine] = est.eligible(sub)[rows[mine]]
        if mine.any():
            r = est.predict(sub, rows=rows[mine])
            out["pred"][mine] = r.predicted
            out["bands"][0.8][0][mine], out["bands"][0.8][1][mine] = r.lower, r.upper
            out["bands"][0.95][0][mine], out["bands"][0.95][1][mine] = r.lower_wide, r.upper_wide
            out["q"][mine] = est.predict_quantiles(sub, rows=rows[mine])
            ok |= mine
        m = est.validation_metrics_
        notes.append(f"{g}: {int(keep.sum())} products, best_iter {est.best_iteration_}, {est.n_train_rows_:,} rows, "
                     f"validation WAPE {m['wape']:.3f}, cov {m['coverage']:.3f}/{m['coverage_wide']:.3f}")
    t1 = time.perf_counter()
    rows = train.rows(ids)
    for j in np.flatnonzero(~ok):  # the refresh's fallback
        s = train.quantity[rows[j], train.first_index[rows[j]]:]
        f = tsb_forecast(s, horizon_days=holdout, level=0.8)
        out["pred"][j] = f.predicted
        for lv in LEVELS:
            g = tsb_forecast(s, horizon_days=holdout, level=lv)
            out["bands"][lv][0][j], out["bands"][lv][1][j] = g.lower, g.upper
        for m, p in enumerate(M5_QUANTILES):
            g = tsb_forecast(s, horizon_days=holdout, level=max(abs(2 * p - 1), 0.01))
            out["q"][j, m] = g.predicted if p == 0.5 else (g.lower if p < 0.5 else g.upper)
    note = "; ".join(notes) + f"; {int((~ok).sum())} TSB"
    return out, fit_s, time.perf_counter() - t0 - fit_s, note


def statsforecast_model(train, ids, holdout, make) -> tuple[dict, float, float, str]:
    n, rows = ids.size, train.rows(ids)
    out = {"pred": np.zeros((n, holdout)), "q": np.zeros((n, len(M5_QUANTILES), holdout)),
           "bands": {lv: (np.zeros((n, holdout)), np.zeros((n, holdout))) for lv in LEVELS}}
    t0 = time.perf_counter()
    fitted = [make().fit(train.quantity[i, train.first_index[i]:].astype(float)) for i in rows]
    t1 = time.perf_counter()
    levels = sorted(set(ETS_LEVELS) | {int(lv * 100) for lv in LEVELS})
    for j, m in enumerate(fitted):
        f = {k: np.maximum(np.asarray(v, dtype=float), 0.0) for k, v in m.predict(h=holdout, level=levels).items()}
        out["pred"][j] = f["mean"]
        for lv in LEVELS:
            out["bands"][lv][0][j], out["bands"][lv][1][j] = f[f"lo-{int(lv * 100)}"], f[f"hi-{int(lv * 100)}"]
        qs = [f[f"lo-{lv}"] for lv in ETS_LEVELS] + [f["mean"]] + [f[f"hi-{lv}"] for lv in ETS_LEVELS[::-1]]
        out["q"][j] = np.stack(qs)
    return out, t1 - t0, time.perf_counter() - t1, "one model per series; median = mean"


def metrics(name, y, res, history, volume, fit_s, pred_s, note) -> dict:
    p = res["pred"]
    per_series = np.array([pinball_loss(y[j], res["q"][j], M5_QUANTILES).mean() for j in range(y.shape[0])])
    r = {"method": name, "series": int(y.shape[0]), "wape": wape(y, p), "mase": mase(y, p, history),
         "bias": float((p - y).sum() / y.sum()), "spl": scaled_pinball(y, res["q"], M5_QUANTILES, history),
         "pinball": float(per_series.mean()), "fit_s": fit_s, "predict_s": pred_s, "note": note}
    qv = np.quantile(volume, [0.25, 0.5, 0.75])
    vclass = np.searchsorted(qv, volume, side="right")
    for lv, (lo, hi) in res["bands"].items():
        inside = (y >= lo) & (y <= hi)
        r[f"cov{int(lv * 100)}"] = float(inside.mean())
        r[f"width{int(lv * 100)}"] = float(np.mean(hi - lo))
        cells = [float(inside[vclass == c, a:b].mean()) for a, b in BUCKETS if a < y.shape[1] for c in range(4)
                 if inside[vclass == c, a:b].size]
        r[f"worst{int(lv * 100)}"] = max(abs(c - lv) for c in cells)
        r[f"cells{int(lv * 100)}"] = cells
    return r


def evaluate(sales, label, args) -> dict:
    if args.cut_days:
        sales = sales[sales["sale_date"] <= max(sales["sale_date"]) - dt.timedelta(days=args.cut_days)]
    train, ids, y, as_of, end = split(sales, holdout=args.holdout, min_sale_days=args.min_sale_days, top=args.top)
    history = [train.quantity[i, train.first_index[i]:] for i in train.rows(ids)]
    volume = np.array([np.nanmean(train.quantity[i, -56:]) for i in train.rows(ids)])
    print(f"\n[{label}] {train.n_products:,} products, train {train.start}..{as_of - dt.timedelta(days=1)}, holdout "
          f"{as_of}..{end - dt.timedelta(days=1)}; {ids.size:,} products with >= {args.min_sale_days} sale days "
          f"evaluated{f' (top {args.top} by units)' if args.top else ''}", flush=True)
    rows = []
    runs = []
    for variant in args.variants.split(","):
        obj, _, per = variant.partition("@")
        grain = None
        if per == "grain":
            from insights.refresh.pricing import forecast_grain

            grain = forecast_grain(sales[sales["sale_date"] < as_of], train.product_ids, as_of, 7)[0]
            print(f"  grains: {dict(zip(*np.unique(grain, return_counts=True), strict=True))}", flush=True)
        name = f"DemandForecaster xgboost, {obj}" + (", one model per grain" if per else "")
        runs.append((name, lambda o=obj, g=grain: ours(train, ids, args.holdout, {"objective": o}, g)))
    if not args.skip_ets:
        from statsforecast.models import AutoETS, SeasonalNaive

        runs += [("statsforecast AutoETS(season_length=7)",
                  lambda: statsforecast_model(train, ids, args.holdout, lambda: AutoETS(season_length=7))),
                 ("statsforecast SeasonalNaive(7)",
                  lambda: statsforecast_model(train, ids, args.holdout, lambda: SeasonalNaive(season_length=7)))]
    for name, run in runs:
        res, fit_s, pred_s, note = run()
        rows.append(metrics(name, y, res, history, volume, fit_s, pred_s, note))
        _print(rows[-1])
    return {"rows": rows, "n": int(ids.size), "products": train.n_products, "as_of": as_of, "end": end}


def _print(r: dict) -> None:
    print(f"  {r['method']:<42} WAPE {r['wape']:.3f}  MASE {r['mase']:.3f}  bias {r['bias']:+.3f}  SPL {r['spl']:.3f}"
          f"  pinball {r['pinball']:.3f}  cov80 {r['cov80']:.3f} (worst cell {r['worst80']:.3f})  cov95 "
          f"{r['cov95']:.3f} (worst cell {r['worst95']:.3f})  fit {r['fit_s']:.0f}s  pred {r['predict_s']:.1f}s  "
          f"{r['note']}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=0, help="only the N products with most units (0: all)")
    ap.add_argument("--holdout", type=int, default=28)
    ap.add_argument("--min-sale-days", type=int, default=28)
    ap.add_argument("--cut-days", type=int, default=0, help="drop the last N days first (another holdout window)")
    ap.add_argument("--variants", default="squared,tweedie",
                    help="DemandForecaster objectives, comma-separated; objective@grain: one model per selling grain")
    ap.add_argument("--customers", type=int, default=60_000)
    ap.add_argument("--products", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-ets", action="store_true")
    ap.add_argument("--skip-online-retail", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--no-results", action="store_true")
    args = ap.parse_args(argv)
    started, load = dt.datetime.now(dt.UTC), os.getloadavg()[0]
    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-forecast-all-") as tmp:
        if ONLINE_RETAIL.exists() and not args.skip_online_retail:
            from insights.data.importer import import_files

            import_files(ONLINE_RETAIL, lake=Path(tmp) / "or", preset="online-retail")
            out["Online Retail"] = evaluate(all_sales(DuckDBEngine.over_lake(Path(tmp) / "or")), "Online Retail",
                                            args)
        if not args.skip_synthetic:
            from insights.data.sample import SampleSpec, generate, write_sample

            sample = generate(SampleSpec(customers=args.customers, products=args.products, days=730, seed=args.seed,
                                         end=dt.date(2025, 12, 31)))
            write_sample(Path(tmp) / "syn", sample)
            out["synthetic"] = evaluate(all_sales(DuckDBEngine.over_lake(Path(tmp) / "syn")), "synthetic", args)
    if not args.no_results:
        from bench_forecast_all_md import write_results

        write_results(RESULTS, SECTION, out, args, started, load)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
