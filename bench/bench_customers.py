"""Customer-model benchmark: this project's models against the classical anchors, on one split per data set.

    nice .venv/bin/python bench/bench_customers.py                 # three data sets, writes bench/RESULTS.md
    .venv/bin/python bench/bench_customers.py --datasets cdnow --no-results --tag dev

Data sets, each imported through the project's importer as a user would:
- online-retail: the UCI Online Retail export (../shared/data/online_retail.csv.gz, ``--preset online-retail``);
- sample: the synthetic sample lake (``insights.data.sample``) with its ground truth;
- cdnow: CDNOW master (Fader and Hardie's 23,570 customers, 1997-1998), the copy that the ``lifetimes`` package
  ships (no download), written as CSV and imported with ``--map`` (one order per customer and day).
Time split: T = the day after the last order; calibration data = orders before T - H; holdout = [T - H, T).
Our models are trained by ``train_customer_models(engine, T - H, features, ...)`` (which splits again internally,
before T - H) and scored as of T - H. Every anchor is fitted in the same process on the same customers' history
before T - H: BG/NBD + Gamma-Gamma and Pareto/NBD + Gamma-Gamma (lifetimes, a bench-only dependency), the
project's own BG/NBD + Gamma-Gamma (models/probabilistic.py, the anchor of the refresh's quality card) and a
naive past-rate extrapolation.

Metrics (models/customer_metrics.py): CLV MAE, RMSE, normalized Gini, Spearman, decile MAPE, the 80% interval's
coverage; churn (no purchase in the holdout) ROC-AUC, PR-AUC, Brier, ECE (10 equal-width bins) and reliability by
decile. BG/NBD's ROC-AUC ranks by expected holdout transactions; its probabilities are P(no purchase in H).
Per-decile tables go to bench/out/customers-<tag>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from athena.duckdb_engine import DuckDBEngine  # noqa: E402
from insights.refresh.customer_training import train_customer_models  # noqa: E402
from insights.refresh.customers import score_customers  # noqa: E402
from models.churn import classification_metrics  # noqa: E402
from models.customer_metrics import clv_metrics, interval_coverage, reliability_table  # noqa: E402
from models.probabilistic import BetaGeoModel, GammaGammaModel, bgnbd_inputs  # noqa: E402
from models.segmentation import RFMSegmenter  # noqa: E402

TRIED: tuple[str, ...] = (
    "What was tried for issue #16, each measured on these data sets' internal validation and holdout (numbers in "
    "docs/customer-models.md, 'What was tried'): kept: regularity (gap CV, time since the last order over the usual "
    "gap), trend, first/last basket and Gamma-Gamma features; training cutoffs round the year with season features "
    "where two years of history allow (sample, this table: CLV RMSE 108.7 -> 106.5, churn ECE 0.051 -> 0.025; the "
    "forest would have brought decile MAPE 0.54 -> 0.24, the validation chose LightGBM at 0.51); per-customer 80% "
    "intervals by split conformal ratios. Not kept "
    "in the automatic choice: Tweedie and zero-inflated lognormal spend heads (best validation RMSE on Online Retail, "
    "worst holdout: 2,913 and 2,918 vs the forest's 2,633), the mean of candidates, a non-negative stack and a "
    "Gamma-Gamma blend, a stacked churn calibrator.",
    "Why targets are missed where they are: CDNOW (one 1997 cohort) and the sample lake (a BG/NBD-like generator) "
    "are close to BG/NBD's own assumptions, so RMSE sits within about 1% of the anchor and the lead has to come "
    "from ranking and calibration; Online Retail's holdout is the Christmas peak with no earlier year to learn it "
    "from, so every model under-predicts its spend level (decile MAPE) and over-predicts churn (ECE).",
)
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Customer models"
OUT = ROOT / "bench" / "out"
ONLINE_RETAIL = ROOT.parent / "shared" / "data" / "online_retail.csv.gz"
ANCHOR = "BG/NBD + Gamma-Gamma (lifetimes)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", default="online-retail,sample,cdnow")
    p.add_argument("--horizon", type=int, default=90, help="holdout H in days (churn and CLV)")
    p.add_argument("--sample-customers", type=int, default=5000)
    p.add_argument("--sample-end", default="2026-11-20")
    p.add_argument("--tag", default="latest", help="name of the JSON written to bench/out")
    p.add_argument("--no-results", action="store_true", help="do not update bench/RESULTS.md")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    started = datetime.now(UTC)
    load = os.getloadavg()[0]
    rows, notes, detail = [], [], {}
    for name in args.datasets.split(","):
        lake, truth = _lake(name, args)
        if lake is None:
            notes.append(f"{name}: skipped ({truth})")
            continue
        got, detail[name] = _run(name, lake, truth, args.horizon, notes)
        rows.extend(got)
    table = _table(rows)
    notes.extend(TRIED)
    print(table)
    for n in notes:
        print("-", n)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"customers-{args.tag}.json").write_text(json.dumps({"rows": rows, "notes": notes, "detail": detail},
                                                               indent=1, default=float))
    if not args.no_results:
        _write_results(table, notes, args, started, load)
    return 0


def _lake(name: str, args) -> tuple[Path | None, object]:
    OUT.mkdir(parents=True, exist_ok=True)
    if name == "online-retail":
        if not ONLINE_RETAIL.exists():
            return None, f"{ONLINE_RETAIL} is absent"
        from insights.data.importer import import_files

        lake = OUT / "customers_online_retail_lake"
        import_files(ONLINE_RETAIL, lake=lake, preset="online-retail")
        return lake, None
    if name == "sample":
        from insights.data.sample import SampleSpec, generate, write_sample

        lake = OUT / "customers_sample_lake"
        spec = SampleSpec(customers=args.sample_customers, end=date.fromisoformat(args.sample_end))
        write_sample(lake, generate(spec))
        return lake, pd.read_parquet(lake / "_truth" / "customers.parquet")
    if name == "cdnow":
        return _cdnow_lake()
    raise SystemExit(f"unknown dataset {name!r}: use online-retail, sample or cdnow")


def _cdnow_lake() -> tuple[Path | None, object]:
    try:
        import lifetimes
    except ImportError:
        return None, "the lifetimes package is not installed (pip install -r requirements-dev.txt)"
    from insights.data.importer import import_files

    src = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_master.txt"
    raw = pd.read_csv(src, sep=r"\s+", header=None, names=["customer", "day", "cds", "dollars"], dtype=str)
    raw = raw[raw["day"].str.fullmatch(r"\d{8}")]
    cds, dollars = raw["cds"].astype(int), raw["dollars"].astype(float)
    csv = pd.DataFrame({
        "order": raw["customer"] + "-" + raw["day"], "customer": raw["customer"],
        "date": pd.to_datetime(raw["day"], format="%Y%m%d").dt.strftime("%Y-%m-%d"), "product": "CD",
        "quantity": cds, "price": (dollars / cds.clip(lower=1)).round(4)})
    path = OUT / "cdnow_master.csv"
    csv.to_csv(path, index=False)
    lake = OUT / "customers_cdnow_lake"
    import_files(path, lake=lake, maps={"order": "order_id", "customer": "customer_id", "date": "order_ts",
                                        "product": "product_id", "quantity": "quantity", "price": "unit_price"},
                 currency="USD")
    return lake, None


def _run(name: str, lake: Path, truth, H: int, notes: list[str]) -> tuple[list[dict], dict]:
    engine = DuckDBEngine.over_lake(lake)
    summary = engine.query("lake_summary", {"cutoff": "2999-01-01"}).iloc[0]
    T = pd.Timestamp(summary["last_date"]).date() + timedelta(days=1)
    as_of = T - timedelta(days=H)
    features = engine.query("customer_features", {"cutoff": as_of.isoformat()})
    labels = engine.query("customer_labels", {"cutoff": as_of.isoformat(), "horizon_days": H})
    feats = features.sort_values("customer_id").reset_index(drop=True)
    actual = labels.set_index("customer_id").reindex(feats["customer_id"])
    spend = actual["future_spend"].to_numpy(dtype=float)
    churned = 1 - actual["purchased"].to_numpy(dtype=int)
    history = (as_of - pd.Timestamp(feats["first_order_date"].min()).date()).days
    label = (f"{name} (T={T}, H={H}, {history} days of history, {len(feats):,} customers, "
             f"churn rate {churned.mean():.2f})")

    t0 = time.perf_counter()
    models = train_customer_models(engine, as_of, features, clv_horizon_days=H, churn_horizon_days=H)
    fit_ours = time.perf_counter() - t0
    scored = score_customers(models, features, as_of)
    scores = scored.columns
    assert (scores["customer_id"] == feats["customer_id"].to_numpy(dtype=str)).all()
    meta = models.metadata
    notes.append(f"{name}: ours = CLV {meta['clv']['model']} ({meta['clv']['path']}), churn {meta['churn']['model']} "
                 f"({meta['churn']['path']}, {meta['churn'].get('candidates', {}).get('chosen')}); internal "
                 f"validation cutoff {meta['churn']['validation_cutoff']}")

    x, t_x, Tc = bgnbd_inputs(feats["frequency"], feats["recency_days"], feats["customer_age_days"])
    aov = feats["avg_order_value"].to_numpy(dtype=float)
    life = _lifetimes(x, t_x, Tc, aov, H, notes, name)
    own = _own_anchor(x, t_x, Tc, aov, H)

    age = np.maximum(feats["customer_age_days"].to_numpy(dtype=float), 1.0)
    rate = feats["frequency"].to_numpy(dtype=float) / age
    naive_spend = np.clip(feats["monetary_total"].to_numpy(dtype=float) / age * H, 0, None)
    naive_p = np.exp(-rate * H)

    lower, upper = scores.get("clv_lower"), scores.get("clv_upper")
    out, detail = [], {"label": label}
    for model, pred, p_churn, auc_score, fit_s in (
        ("this project", scores["predicted_clv"], scores["churn_probability"], scores["churn_probability"],
         fit_ours),
        (ANCHOR, life["bg_spend"], life["bg_p_none"], -life["bg_expected"], life["bg_fit_s"]),
        ("Pareto/NBD + Gamma-Gamma (lifetimes)", life["pnbd_spend"], life["pnbd_p_none"], -life["pnbd_expected"],
         life["pnbd_fit_s"]),
        ("BG/NBD + Gamma-Gamma (models/probabilistic.py)", own["spend"], own["p_none"], -own["expected"],
         own["fit_s"]),
        ("naive (past rate x H)", naive_spend, naive_p, naive_p, 0.0),
    ):
        if pred is None:
            continue
        reg = clv_metrics(spend, np.asarray(pred, dtype=float))
        cls = classification_metrics(churned, np.clip(p_churn, 0, 1))
        row = {"dataset": label, "model": model, "fit_s": fit_s, **{k: v for k, v in reg.items() if k != "deciles"},
               "auc": float(roc_auc_score(churned, auc_score)), "pr_auc": cls["pr_auc"], "brier": cls["brier"],
               "ece": cls["ece"]}
        if model == "this project" and lower is not None:
            row["coverage"] = interval_coverage(spend, lower, upper)["coverage"]
        out.append(row)
        detail[model] = {"deciles": reg["deciles"], "reliability": reliability_table(churned, np.clip(p_churn, 0, 1))}
    ours, ref = out[0], out[1]
    out[0]["targets"] = _targets(ours, ref, history, H)
    notes.append(f"{name}: {out[0]['targets']}")
    notes.append(f"{name}: decile table (mean predicted / actual, lowest predicted first), ours: "
                 + ", ".join(f"{d['mean_predicted']:.0f}/{d['mean_actual']:.0f}"
                             for d in detail["this project"]["deciles"])
                 + "; anchor: " + ", ".join(f"{d['mean_predicted']:.0f}/{d['mean_actual']:.0f}"
                                              for d in detail[ANCHOR]["deciles"]))
    notes.append(f"{name}: churn reliability by decile (mean predicted / observed), ours: "
                 + ", ".join(f"{d['mean_predicted']:.2f}/{d['observed_rate']:.2f}"
                             for d in detail["this project"]["reliability"]))
    notes.append(f"{name}: segment stability (refit on T-H+1): {_stability(engine, as_of, features)}")
    if truth is not None:
        t = truth.set_index("customer_id").reindex(feats["customer_id"])
        dropped = (pd.to_datetime(t["churn_date"]).dt.date < T).to_numpy().astype(int)
        notes.append(f"{name}: vs ground truth (dropped out before T): ROC-AUC ours "
                     f"{roc_auc_score(dropped, scores['churn_probability']):.3f}, BG/NBD expected "
                     f"transactions {roc_auc_score(dropped, -life['bg_expected']):.3f}; Spearman(predicted CLV, "
                     f"true rate x spend level) ours {_spearman(scores['predicted_clv'], t):.3f}, BG/NBD+GG "
                     f"{_spearman(life['bg_spend'], t):.3f}")
    return out, detail


def _targets(ours: dict, ref: dict, history: int, H: int) -> str:
    long = history >= 730
    bound = 0.85 if long else 0.95
    rr, mr = ours["rmse"] / ref["rmse"], ours["mae"] / ref["mae"]
    parts = [
        f"RMSE ratio {rr:.3f} and MAE ratio {mr:.3f} (target <= {bound}"
        f"{', two years of history' if long else ''}): {'met' if max(rr, mr) <= bound else 'missed'}",
        f"Gini {ours['normalized_gini']:.3f} vs {ref['normalized_gini']:.3f} (target >= +0.03): "
        f"{'met' if ours['normalized_gini'] >= ref['normalized_gini'] + 0.03 else 'missed'}",
        f"decile MAPE {ours['decile_mape']:.3f} (target <= 0.15): {'met' if ours['decile_mape'] <= 0.15 else 'missed'}",
        f"AUC diff {ours['auc'] - ref['auc']:+.3f} (target >= +0.02): "
        f"{'met' if ours['auc'] >= ref['auc'] + 0.02 else 'missed'}",
        f"ECE {ours['ece']:.3f} (target <= 0.02): {'met' if ours['ece'] <= 0.02 else 'missed'}",
    ]
    if "coverage" in ours:
        c = ours["coverage"]
        parts.append(f"80% interval coverage {c:.3f} (target 0.77-0.83): {'met' if 0.77 <= c <= 0.83 else 'missed'}")
    return "; ".join(parts)


def _own_anchor(x, t_x, T, aov, H: int) -> dict:
    """The refresh's anchor: models/probabilistic.py's BG/NBD and Gamma-Gamma, fitted on the same history."""
    t0 = time.perf_counter()
    bg = BetaGeoModel().fit(x, t_x, T)
    repeat = (x > 0) & (aov > 0)
    gg = GammaGammaModel().fit(x[repeat], aov[repeat])
    fit_s = time.perf_counter() - t0
    expected = bg.expected_purchases(H, x, t_x, T)
    return {"expected": expected, "spend": expected * gg.expected_order_value(x, aov), "fit_s": fit_s,
            "p_none": bg.probability_no_purchase(H, x, t_x, T)}


def _spearman(pred, truth: pd.DataFrame) -> float:
    value = truth["purchase_rate_per_day"].to_numpy() * truth["spend_level"].to_numpy()
    return float(pd.Series(pred).rank().corr(pd.Series(value).rank()))


def _lifetimes(x, t_x, T, aov, H: int, notes: list[str], name: str) -> dict:
    """BG/NBD, Pareto/NBD and Gamma-Gamma fitted by lifetimes in weeks (its numerics prefer them)."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    w = 7.0
    t0 = time.perf_counter()
    bgf = BetaGeoFitter(penalizer_coef=0.0).fit(x, t_x / w, T / w)
    repeat = (x > 0) & (aov > 0)
    ggf = GammaGammaFitter(penalizer_coef=0.0).fit(x[repeat], aov[repeat])
    bg_fit_s = time.perf_counter() - t0
    expected = np.asarray(bgf.conditional_expected_number_of_purchases_up_to_time(H / w, x, t_x / w, T / w),
                          dtype=float)
    same = BetaGeoModel()
    same.params_ = {"r": bgf.params_["r"], "alpha": bgf.params_["alpha"] * w, "a": bgf.params_["a"],
                    "b": bgf.params_["b"]}
    bad = ~np.isfinite(expected)
    if bad.any():
        # lifetimes evaluates eq. 10 through log(hyp2f1), NaN when a + b + x - 1 < 0 (x = 0 with a + b < 1):
        # the same closed form, with lifetimes' own parameters, evaluated without the logarithm.
        expected[bad] = same.expected_purchases(H, x[bad], t_x[bad], T[bad])
        notes.append(f"{name}: lifetimes returned NaN expected purchases for {bad.sum()} customers (a + b = "
                     f"{bgf.params_['a'] + bgf.params_['b']:.3f} < 1); filled with eq. 10 evaluated without logs")
    value = np.asarray(ggf.conditional_expected_average_profit(np.where(repeat, x, 0), np.where(repeat, aov, 0)),
                       dtype=float)
    out = {"bg_expected": expected, "bg_spend": expected * value, "bg_fit_s": bg_fit_s,
           "bg_p_none": same.probability_no_purchase(H, x, t_x, T)}
    t0 = time.perf_counter()
    try:
        pnbd = ParetoNBDFitter(penalizer_coef=0.0).fit(x, t_x / w, T / w)
        pe = np.nan_to_num(np.asarray(pnbd.conditional_expected_number_of_purchases_up_to_time(
            H / w, x, t_x / w, T / w), dtype=float), nan=0.0)
        alive = np.asarray(pnbd.conditional_probability_alive(x, t_x / w, T / w), dtype=float)
        r, alpha = pnbd.params_["r"], pnbd.params_["alpha"]
        # Pareto/NBD: alive customers buy at Poisson rates; dropout may also happen inside the window, so
        # P(no purchase) >= 1 - alive + alive x ((alpha + T) / (alpha + T + H))^(r + x) (upper bound on buying).
        p_none = 1 - alive + alive * ((alpha + T / w) / (alpha + T / w + H / w)) ** (r + x)
    except Exception as exc:  # noqa: BLE001 - an anchor that does not converge is reported, not fatal
        notes.append(f"{name}: Pareto/NBD (lifetimes) failed: {exc!r:.120}")
        pe, p_none = np.zeros_like(x), np.ones_like(x)
    out.update(pnbd_expected=pe, pnbd_spend=pe * value, pnbd_p_none=np.clip(p_none, 0, 1),
               pnbd_fit_s=time.perf_counter() - t0 + bg_fit_s)
    return out


def _stability(engine, as_of: date, features: pd.DataFrame) -> str:
    nxt = engine.query("customer_features", {"cutoff": (as_of + timedelta(days=1)).isoformat()})
    a = RFMSegmenter(random_state=0).fit(features)
    b = RFMSegmenter(random_state=0).fit(nxt)
    common = features[["customer_id"]].merge(nxt[["customer_id"]], on="customer_id")["customer_id"]
    fa = features.set_index("customer_id").loc[common].reset_index()
    fb = nxt.set_index("customer_id").loc[common].reset_index()
    parts = []
    for k in sorted({a.k_, 5}):
        la, lb = a.predict(fa, k), b.predict(fb, k)
        na, nb = np.asarray(a.segment_names(k))[la], np.asarray(b.segment_names(k))[lb]
        parts.append(f"k={k}{' (auto)' if k == a.k_ else ''}: adjusted Rand {adjusted_rand_score(la, lb):.3f}, "
                     f"same name {np.mean(na == nb):.3f}")
    return f"auto k {a.k_} -> {b.k_}; " + "; ".join(parts)


def _table(rows: list[dict]) -> str:
    head = ("| dataset | model | fit s | CLV MAE | CLV RMSE | RMSE / anchor | normalized Gini | Spearman | "
            "decile MAPE | 80% coverage | total predicted / actual | churn ROC-AUC | PR-AUC | Brier | ECE |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    anchor = {r["dataset"]: r for r in rows if r["model"] == ANCHOR}
    for r in rows:
        ref = anchor.get(r["dataset"], r)
        cov = f"{r['coverage']:.3f}" if "coverage" in r else ""
        lines.append(f"| {r['dataset']} | {r['model']} | {r['fit_s']:.1f} | {r['mae']:.2f} | {r['rmse']:.2f} | "
                     f"{r['rmse'] / ref['rmse']:.3f} | {r['normalized_gini']:.3f} | {r['spearman']:.3f} | "
                     f"{r['decile_mape']:.3f} | {cov} | {r['total_predicted']:,.0f} / {r['total_actual']:,.0f} | "
                     f"{r['auc']:.3f} | {r['pr_auc']:.3f} | {r['brier']:.3f} | {r['ece']:.3f} |")
    return "\n".join(lines)


def _write_results(table: str, notes: list[str], args, started: datetime, load: float) -> None:
    cmd = "nice .venv/bin/python bench/bench_customers.py" + ("" if args.datasets == "online-retail,sample,cdnow"
                                                              else f" --datasets {args.datasets}")
    body = (f"{SECTION}\n\n`{cmd}`\n\n{table}\n\n" + "\n".join(f"- {n}" for n in notes) +
            f"\n\n{started:%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores shared with other "
            f"engineers' jobs (load average {load:.1f} at start), Python {platform.python_version()}. "
            "Fit s: ours = the whole train_customer_models (queries for every training slice, segmentation, "
            "churn, 30-day and CLV models); lifetimes = BG/NBD + Gamma-Gamma fits only.\n")
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if SECTION in text:
        start = text.index(SECTION)
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + ("" if end < 0 else text[end + 1:])
    else:
        text = text.rstrip("\n") + "\n\n" + body
    RESULTS.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
