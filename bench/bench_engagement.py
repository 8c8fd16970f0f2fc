"""Engagement and reviews: the customer models' lift from the optional tables, on the sample lake.

    nice /work/main/.venv/bin/python bench/bench_engagement.py                 # 5,000 and 20,000 customers
    nice .venv/bin/python bench/bench_engagement.py --customers 5000 --no-results

For each size, one sample (fixed seed) is written twice: with the reviews and engagement tables, and without
(``--no-engagement``: the same orders, the generator draws the events from a separate stream). The split is the
one of bench/bench_customers.py: T = the day after the last order, the models train on orders before
T - H (``train_customer_models``, which splits again internally) and are scored as of T - H; the holdout is
[T - H, T). Churn = no purchase in the holdout; CLV = spend in the holdout (both horizons H). The same customers,
split and seed on both lakes: the only difference is the engagement and review features.
Writes the section "Engagement and reviews" of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import update_results_section  # noqa: E402

from athena.duckdb_engine import DuckDBEngine  # noqa: E402
from insights.data.sample import SampleSpec, generate, write_sample  # noqa: E402
from insights.refresh.customer_training import train_customer_models  # noqa: E402
from insights.refresh.customers import CustomerSide, score_customers  # noqa: E402
from models.churn import classification_metrics  # noqa: E402
from models.customer_metrics import clv_metrics  # noqa: E402

OUT = ROOT / "bench" / "out"
HEADING = "## Engagement and reviews"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--customers", default="5000,20000")
    p.add_argument("--horizon", type=int, default=90)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--end", default="2026-11-20")
    p.add_argument("--no-results", action="store_true", help="do not update bench/RESULTS.md")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    started, load = datetime.now(UTC), os.getloadavg()[0]
    rows, facts = [], []
    for n in (int(c) for c in args.customers.split(",")):
        sample = generate(SampleSpec(customers=n, seed=args.seed, end=date.fromisoformat(args.end)))
        plain = generate(SampleSpec(customers=n, seed=args.seed, end=date.fromisoformat(args.end), engagement=False))
        assert plain.orders.equals(sample.orders)
        for label, s in (("without", plain), ("with", sample)):
            lake = OUT / f"engagement_{n}_{label}"
            write_sample(lake, s)
            row = _run(lake, args.horizon)
            rows.append({"customers": n, "tables": label, **row})
            print(json.dumps(rows[-1], default=float))
        facts.append(_planted(sample, args.horizon))
    table = _table(rows)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "engagement.json").write_text(json.dumps({"rows": rows, "planted": facts}, indent=1, default=float))
    if not args.no_results:
        update_results_section(HEADING, _section(table, rows, facts, args, started, load))
    return 0


def _run(lake: Path, H: int) -> dict:
    engine = DuckDBEngine.over_lake(lake)
    T = pd.Timestamp(engine.query("lake_summary", {"cutoff": "2999-01-01"}).iloc[0]["last_date"]).date() \
        + timedelta(days=1)
    as_of = T - timedelta(days=H)
    side = CustomerSide()
    features = side.extract(engine, as_of)  # customer_features (+ customer_engagement when the lake has it)
    labels = engine.query("customer_labels", {"cutoff": as_of.isoformat(), "horizon_days": H})
    t0 = time.perf_counter()
    models = train_customer_models(engine, as_of, features, clv_horizon_days=H, churn_horizon_days=H)
    fit_s = time.perf_counter() - t0
    scores = score_customers(models, features, as_of).columns
    actual = labels.set_index("customer_id").reindex(pd.Index(scores["customer_id"]))
    churned = 1 - actual["purchased"].fillna(0).to_numpy(dtype=int)
    spend = actual["future_spend"].fillna(0).to_numpy(dtype=float)
    churn = classification_metrics(churned, scores["churn_probability"])
    clv = clv_metrics(spend, scores["predicted_clv"], with_deciles=False)
    used = models.metadata.get("engagement", {})
    top = [f["feature"] for f in models.metadata["churn"]["feature_importance"][:5]]
    return {"as_of": as_of.isoformat(), "n": churn["n"], "churn_rate": churn["base_rate"],
            "roc_auc": churn["roc_auc"], "pr_auc": churn["pr_auc"], "ece": churn["ece"], "brier": churn["brier"],
            "clv_rmse": clv["rmse"], "clv_gini": clv["normalized_gini"], "fit_s": fit_s,
            "engagement_used": bool(used.get("used")), "engagement_gain_share": used.get("churn_gain_share"),
            "churn_model": models.metadata["churn"]["candidates"]["chosen"], "top_churn_features": top}


def _planted(sample, H: int) -> dict:
    """What the truth says: the planted effect, and how many customers it touches around the bench's as_of."""
    meta = sample.truth.meta
    end = date.fromisoformat(meta["end"])
    as_of = end + timedelta(days=1) - timedelta(days=H)
    churn = pd.to_datetime(sample.truth.customers["churn_date"].astype("datetime64[s]")).dt.date
    e = meta["engagement"]
    declining = ((churn > as_of) & (churn <= as_of + timedelta(days=e["decline_days"]))).sum()
    return {"customers": meta["arguments"]["customers"], "events": e["counts"]["events"],
            "reviews": e["counts"]["reviews"], "decline_days": e["decline_days"],
            "decline_factor": e["decline_factor"], "after_churn_factor": e["after_churn_factor"],
            "rating_p": e["rating_p"], "rating_p_before_churn": e["rating_p_before_churn"],
            "dropping_out_within_decline_days_after_as_of": int(declining)}


def _table(rows: list[dict]) -> str:
    head = ("| customers | tables | churn ROC-AUC | churn PR-AUC | churn ECE | CLV RMSE | CLV Gini | "
            "engagement share of churn gain | fit s |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        share = "" if r["engagement_gain_share"] is None else f"{r['engagement_gain_share']:.2f}"
        lines.append(f"| {r['customers']:,} | {r['tables']} | {r['roc_auc']:.4f} | {r['pr_auc']:.4f} | "
                     f"{r['ece']:.4f} | {r['clv_rmse']:.2f} | {r['clv_gini']:.4f} | {share} | {r['fit_s']:.0f} |")
    return "\n".join(lines)


def _section(table: str, rows: list[dict], facts: list[dict], args, started, load: float) -> str:
    f = facts[0]
    planted = (f"Planted in the sample (insights/data/sample_engagement.py, `_truth/meta.json` `engagement`): "
               f"engagement falls to {f['decline_factor']:.0%} of a customer's rate in the {f['decline_days']} days "
               f"before their dropout date and to {f['after_churn_factor']:.0%} after it; purchase lines bought in "
               f"those {f['decline_days']} days are rated with P(1..5 stars) = {f['rating_p_before_churn']} instead "
               f"of {f['rating_p']}, with texts of their stars.")
    sizes = "; ".join(f"{x['customers']:,} customers: {x['events']:,} events, {x['reviews']:,} reviews, "
                      f"{x['dropping_out_within_decline_days_after_as_of']:,} drop out within {x['decline_days']} "
                      "days after as_of (engagement already falling at as_of)" for x in facts)
    tops = "; ".join(f"{r['customers']:,} {r['tables']}: {', '.join(r['top_churn_features'])}" for r in rows)
    return "\n".join([
        HEADING, "",
        f"`nice /work/main/.venv/bin/python bench/bench_engagement.py --customers {args.customers}` "
        f"({started:%Y-%m-%d %H:%M} UTC, load {load:.1f} on 2 shared cores; seed {args.seed}, end {args.end}, "
        f"H = {args.horizon} days for churn and CLV; same orders, customers and split with and without the tables).",
        "", table, "", planted, "", sizes + ".", "",
        f"Top churn features by gain: {tops}.", "",
        "The churn model is chosen per run (BG/NBD prior vs plain LightGBM): "
        + ", ".join(f"{r['customers']:,} {r['tables']}: {r['churn_model']}" for r in rows) + ".",
    ])


if __name__ == "__main__":
    raise SystemExit(main())
