"""Elasticity estimators against known truth, side by side; prints tables and writes "## Pricing" in bench/RESULTS.md.

    nice /work/main/.venv/bin/python bench/bench_pricing.py [--products 400] [--seed 0] [--panels 10]
                                     [--customers 150000] [--speed-products 4000] [--no-results]

(a) confounded daily truth with promotions (bench/pricing_synth.py confounded_daily, "baseline" and "hard"
designs); (b) a weekly promotional grocery panel aggregated to brand x week (grocery_weekly), one panel in
detail and ``--panels`` seeds summarized, both designs; (d) the project's own sample lake (insights' sample
generator, daily_sales on DuckDB) against its true elasticities; (c) Online Retail's top 100 products by
units when ../shared/data/online_retail.csv.gz exists (no truth: how many answer, with which sign). Methods:
- this project, pooled: models.elasticity.estimate_elasticities (GLM with controls on the detected grain,
  empirical-Bayes pooling toward the category), 90% intervals;
- this project, own fits only: the same fits before pooling (converged fits only);
- controls-only regression: OLS of log Q on log P + the same controls (promotion share, trend, season,
  day-of-week on daily grain) on the periods with sales, no pooling;
- naive log-log: OLS of log Q on log P on the rows with sales, no controls.
Metrics against the truth on the products a method answers: MAE, largest absolute error, mean error, 90%
interval coverage and median width; share answered and share negative. Then the time to estimate
``--speed-products`` daily products in one process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchlib import RESULTS, update_results_section  # noqa: E402
from bench.pricing_synth import confounded_daily, grocery_weekly  # noqa: E402
from models.elasticity import estimate_elasticities, estimate_elasticity, naive_elasticity  # noqa: E402

SECTION = "## Pricing"
ONLINE_RETAIL = ROOT.parent / "shared" / "data" / "online_retail.csv.gz"
Z90 = 1.6448536269514722
METHODS = ("this project: GLM + controls on the detected grain, pooled", "this project: own fits only (before pooling)",
           "controls-only regression: OLS log Q on log P + same controls", "naive log-log OLS, no controls")


def estimates(sales: pd.DataFrame) -> tuple[pd.DataFrame, object, float]:
    """Every method's estimate and 90% interval per product (rows sorted by product_id)."""
    t0 = time.perf_counter()
    panel = estimate_elasticities(sales, confidence=0.90)
    secs = time.perf_counter() - t0
    est = pd.DataFrame([e.to_dict() for e in panel.estimates]).set_index("product_id")
    out = pd.DataFrame(index=est.index)
    out["ours"], out["ours_lo"], out["ours_hi"] = (est[c].astype(float) for c in ("elasticity_coefficient",
                                                                                  "ci_lower", "ci_upper"))
    own, own_se = est["own_elasticity"].astype(float), est["own_standard_error"].astype(float)
    out["own"], out["own_lo"], out["own_hi"] = own, own - Z90 * own_se, own + Z90 * own_se
    for pid, g in sales.groupby("product_id", sort=True):
        kw = {"promo": g["promo"].to_numpy()} if "promo" in g else {}
        o = estimate_elasticity(g["date"].to_numpy(), g["quantity"].to_numpy(), g["price"].to_numpy(), method="ols",
                                **kw)
        out.loc[pid, ["ols", "ols_lo", "ols_hi"]] = (o.own_elasticity, o.own_elasticity - Z90 * o.own_standard_error,
                                                     o.own_elasticity + Z90 * o.own_standard_error)
        out.loc[pid, "naive"] = naive_elasticity(g["quantity"].to_numpy(), g["price"].to_numpy())
    for c in ("status", "grain", "fit_status", "sign_suspect", "n_observations"):
        out[c] = est[c]
    return out, panel, secs


def metrics(e: pd.DataFrame, true: np.ndarray | None) -> list[dict]:
    rows = []
    for name, key in zip(METHODS, ("ours", "own", "ols", "naive"), strict=True):
        b = e[key].to_numpy(float)
        ans = np.isfinite(b)
        r = {"method": name, "answered": float(ans.mean()),
             "negative": float((b[ans] < 0).mean()) if ans.any() else float("nan")}
        if true is not None and ans.any():
            err = b[ans] - true[ans]
            r.update(mae=float(np.abs(err).mean()), max_err=float(np.abs(err).max()), bias=float(err.mean()))
            if f"{key}_lo" in e:
                lo, hi = e[f"{key}_lo"].to_numpy(float)[ans], e[f"{key}_hi"].to_numpy(float)[ans]
                r.update(coverage=float(np.mean((lo <= true[ans]) & (true[ans] <= hi))),
                         width=float(np.median(hi - lo)))
        rows.append(r)
    return rows


def compare(sales: pd.DataFrame, truth: pd.DataFrame | None, *, label: str) -> dict:
    e, panel, secs = estimates(sales)
    true = None if truth is None else truth.set_index("product_id").loc[e.index, "true_elasticity"].to_numpy(float)
    if true is not None:
        e["true"] = true
    info = {"label": label, "products": len(e), "seconds": secs, "rows": metrics(e, true), "per_product": e,
            "status": e["status"].value_counts().to_dict(), "grain": e["grain"].value_counts().to_dict(),
            "fit_status": e["fit_status"].value_counts().to_dict(), "suspect": int(e["sign_suspect"].sum()),
            "n_obs": float(e["n_observations"].median()), "tau": panel.tau}
    print(f"\n[{label}] {len(e)} products, {secs:.1f} s pooled; statuses {info['status']}, grains {info['grain']}, "
          f"fit {info['fit_status']}, median n_observations {info['n_obs']:.0f}")
    for r in info["rows"]:
        print(f"  {r['method']:<62} answered {_fmt(r['answered'], '.0%')}  negative {_fmt(r['negative'], '.0%')}  "
              f"MAE {_fmt(r.get('mae'))}  max {_fmt(r.get('max_err'))}  cov90 {_fmt(r.get('coverage'))}")
    return info


def grocery_panels(n: int, design: str) -> dict:
    """Over ``n`` seeds: how often every brand is within 0.3 and negative, per method."""
    hits = {k: [] for k in ("ours", "own", "ols", "naive")}
    neg = {k: [] for k in hits}
    worst = {k: [] for k in hits}
    for seed in range(n):
        sales, truth, _ = grocery_weekly(seed=seed, design=design)
        e, _, _ = estimates(sales)
        err = (e[list(hits)].to_numpy(float) - truth.set_index("product_id").loc[e.index, "true_elasticity"]
               .to_numpy(float)[:, None])
        for j, k in enumerate(hits):
            worst[k].append(np.nanmax(np.abs(err[:, j])) if np.isfinite(err[:, j]).all() else np.inf)
            hits[k].append(worst[k][-1] <= 0.3)
            neg[k].append(bool((e[k] < 0).all()))
    return {k: (int(np.sum(hits[k])), int(np.sum(neg[k])), float(np.median(worst[k]))) for k in hits}


def online_retail(top: int = 100) -> pd.DataFrame | None:
    """Online Retail's top products as daily rows (units summed, price = revenue / units), or None."""
    if not ONLINE_RETAIL.exists():
        return None
    raw = pd.read_csv(ONLINE_RETAIL, dtype={"StockCode": str, "InvoiceNo": str})
    raw = raw[(raw["Quantity"] > 0) & (raw["UnitPrice"] > 0) & ~raw["InvoiceNo"].str.startswith("C")]
    raw = raw.assign(date=pd.to_datetime(raw["InvoiceDate"]).dt.floor("D"), revenue=raw["Quantity"] * raw["UnitPrice"])
    ids = raw.groupby("StockCode")["Quantity"].sum().nlargest(top).index
    day = raw[raw["StockCode"].isin(ids)].groupby(["StockCode", "date"], as_index=False)[["Quantity", "revenue"]].sum()
    return pd.DataFrame({"product_id": day["StockCode"], "date": day["date"].to_numpy().astype("datetime64[D]"),
                         "quantity": day["Quantity"].astype(float), "price": day["revenue"] / day["Quantity"]})


def sample_lake(customers: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The project's own synthetic lake (insights' sample generator, its daily_sales on DuckDB) and its truth."""
    import importlib
    import tempfile

    for name in ("insights.data.sample", "insights.sample"):  # the package layout is being moved
        try:
            mod = importlib.import_module(name)
            break
        except ImportError:
            mod = None
    if mod is None:
        return None
    from athena.duckdb_engine import DuckDBEngine

    sample = mod.generate(mod.SampleSpec(customers=customers, products=100, days=730, seed=seed,
                                         end=dt.date(2025, 12, 31)))
    with tempfile.TemporaryDirectory(prefix="bench-pricing-") as tmp:
        mod.write_sample(Path(tmp) / "lake", sample)
        sales = DuckDBEngine.over_lake(Path(tmp) / "lake").query("daily_sales", {"start": "1900-01-01",
                                                                                 "end": "2999-01-01"})
    sales = sales.rename(columns={"sale_date": "date"})
    sales["date"] = pd.to_datetime(sales["date"]).to_numpy().astype("datetime64[D]")
    return sales[["product_id", "date", "quantity", "price", "category"]], sample.truth.products


def speed(n: int, seed: int) -> dict:
    sales, _ = confounded_daily(n_products=n, seed=seed + 1)
    t0, c0 = time.perf_counter(), time.process_time()
    estimate_elasticities(sales)
    return {"products": n, "rows": len(sales), "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--panels", type=int, default=10)
    ap.add_argument("--customers", type=int, default=150_000, help="(d) the sample lake's customers")
    ap.add_argument("--speed-products", type=int, default=4000)
    ap.add_argument("--no-results", action="store_true")
    args = ap.parse_args(argv)
    started, load = dt.datetime.now(dt.UTC), os.getloadavg()[0]
    res: dict = {}
    for design in ("baseline", "hard"):
        sales, truth = confounded_daily(n_products=args.products, seed=args.seed, design=design)
        res[f"a_{design}"] = compare(sales, truth, label=f"a: confounded daily, {design}")
    sales, truth, res["b_lift"] = grocery_weekly(seed=args.seed)
    res["b"] = compare(sales, truth, label="b: weekly grocery panel, baseline")
    print(res["b"]["per_product"][["true", "ours", "ours_lo", "ours_hi", "own", "ols", "naive"]].round(2).to_string())
    for design in ("baseline", "hard"):
        res[f"b_panels_{design}"] = grocery_panels(args.panels, design)
        print(f"\n[b: {args.panels} grocery panels, {design}] (all within 0.3, all negative, median max error): "
              f"{res[f'b_panels_{design}']}")
    lake = sample_lake(args.customers, 7)
    if lake is not None:
        res["d"] = compare(*lake, label=f"d: the project's sample lake, {args.customers:,} customers")
    orr = online_retail()
    if orr is not None:
        res["c"] = compare(orr, None, label="c: Online Retail top 100 (no truth)")
    if args.speed_products:
        res["speed"] = speed(args.speed_products, args.seed)
        print(f"\nspeed: {res['speed']}")
    if not args.no_results:
        update_results_section(SECTION, "\n".join(report(res, args, started, load)), RESULTS)
        print(f"\nwrote the {SECTION!r} section of {RESULTS}")
    return 0


def _fmt(v, spec=".3f") -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def _table(rows) -> list[str]:
    out = ["| method | answered | negative | MAE | max abs error | mean error | 90% coverage | median width |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['method']} | {_fmt(r['answered'], '.0%')} | {_fmt(r['negative'], '.0%')} | "
                   f"{_fmt(r.get('mae'))} | {_fmt(r.get('max_err'))} | {_fmt(r.get('bias'), '+.3f')} | "
                   f"{_fmt(r.get('coverage'))} | {_fmt(r.get('width'), '.2f')} |")
    return out


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def report(res, args, started, load) -> list[str]:
    cmd = (f"`nice /work/main/.venv/bin/python bench/bench_pricing.py --products {args.products} --seed {args.seed} "
           f"--panels {args.panels} --customers {args.customers} --speed-products {args.speed_products}`")
    lines = [SECTION, "", cmd, "", "Estimators of own-price elasticity against known truth (bench/pricing_synth.py; "
             "methods and metrics in the script's docstring). Only the first row pools across products.", ""]
    for design in ("baseline", "hard"):
        a = res[f"a_{design}"]
        lines += [f"(a) Confounded daily truth with promotions, {design} design: {a['products']} products in 5 "
                  "categories, 730 days, shop closed on Sundays, busy-season surcharge, quiet-season promotions with "
                  f"a non-price lift (flag and list price in the data). Statuses {a['status']}, grains {a['grain']}, "
                  f"fit status {a['fit_status']}; {a['seconds']:.1f} s:", ""] + _table(a["rows"]) + [""]
    b, lift = res["b"], res["b_lift"]
    lines += [f"(b) Weekly promotional grocery panel, baseline design, seed {args.seed}: {lift['stores']} stores x "
              f"{b['products']} brands x {lift['weeks']} weeks, deal weeks selling {lift['lift_p10']:.1f}x to "
              f"{lift['lift_p90']:.1f}x a normal week (10th-90th percentile, median {lift['lift_median']:.1f}x), "
              f"aggregated to brand x week. Grains {b['grain']}, median n_observations {b['n_obs']:.0f}:", ""]
    lines += _table(b["rows"]) + ["", "| brand | true | this project (90% interval) | own fit | controls-only OLS "
                                  "| naive |", "|---|---|---|---|---|---|"]
    for pid, r in b["per_product"].iterrows():
        lines.append(f"| {pid} | {r['true']:.2f} | {r['ours']:.2f} ({r['ours_lo']:.2f} to {r['ours_hi']:.2f}) | "
                     f"{_fmt(r['own'], '.2f')} | {_fmt(r['ols'], '.2f')} | {_fmt(r['naive'], '.2f')} |")
    lines += ["", f"(b) over {args.panels} grocery panels (seeds 0-{args.panels - 1}): panels where every brand is "
              "within 0.3 of the truth / where every brand is negative / median over panels of the largest error:",
              "", "| method | baseline | hard |", "|---|---|---|"]
    for name, key in zip(METHODS, ("ours", "own", "ols", "naive"), strict=True):
        cells = [f"{h}/{args.panels} / {n}/{args.panels} / {w:.2f}" for h, n, w in
                 (res[f"b_panels_{d}"][key] for d in ("baseline", "hard"))]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    if "d" in res:
        d = res["d"]
        lines += ["", f"(d) The project's sample lake (insights' generator, seed 7, {args.customers:,} customers, 100 "
                  "products, 730 days; promotions act only through the price and daily_sales has no promotion "
                  f"column): statuses {d['status']}, grains {d['grain']}, fit status {d['fit_status']}:", ""]
        lines += _table(d["rows"])
    if "c" in res:
        c = res["c"]
        lines += ["", f"(c) Online Retail, top 100 products by units (no truth; unit prices fall with order size, so "
                  f"no estimator here is causal): statuses {c['status']}, grains {c['grain']}, {c['suspect']} "
                  "sign-suspect:", ""] + _table(c["rows"])
    ab, ah = res["a_baseline"]["rows"][0], res["a_hard"]["rows"][0]
    bb = res["b_panels_baseline"]["ours"]
    pp = b["per_product"]
    lines += ["", "Targets (issue 12), this project's pooled estimator:", "", "| target | measured | met |",
              "|---|---|---|",
              f"| (a) MAE <= 0.15, baseline / hard | {ab['mae']:.3f} / {ah['mae']:.3f} | {_yes(ab['mae'] <= 0.15)} / "
              f"{_yes(ah['mae'] <= 0.15)} |",
              f"| (a) 90% coverage 85-95%, baseline / hard | {ab['coverage']:.3f} / {ah['coverage']:.3f} | "
              f"{_yes(0.85 <= ab['coverage'] <= 0.95)} / {_yes(0.85 <= ah['coverage'] <= 0.95)} |",
              f"| (b) every brand within 0.3, seed {args.seed} | largest error {b['rows'][0]['max_err']:.3f} | "
              f"{_yes(b['rows'][0]['max_err'] <= 0.3)} |",
              f"| (b) every brand within 0.3, {args.panels} baseline panels | {bb[0]}/{args.panels} panels | "
              f"{_yes(bb[0] == args.panels)} |",
              f"| (b) every brand negative | {int((pp['ours'] < 0).sum())}/{len(pp)} brands, {bb[1]}/{args.panels} "
              f"panels | {_yes(bb[1] == args.panels)} |"]
    if "speed" in res:
        s = res["speed"]
        lines.append(f"| {s['products']:,} daily products in well under a minute | {s['seconds']:.1f} s wall, "
                     f"{s['cpu']:.1f} s CPU ({s['rows']:,} rows, one process) | {_yes(s['seconds'] < 60)} |")
    lines += ["", f"{started:%Y-%m-%d %H:%M} UTC, {platform.machine()}, 2 cores shared with other jobs (load average "
              f"{load:.1f} at start), Python {platform.python_version()}.", ""]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
