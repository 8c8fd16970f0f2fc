"""Recommendations: the refresh's next-basket backtest (recall@10, NDCG@10 against popularity) and its cost.

    nice .venv/bin/python bench/bench_recommendations.py [--scale 100000] [--synthetic 50000]

Lakes: the sample lake (5,000 customers, seed 42, made under bench/out/ when absent) and Online Retail
(/work/shared/data/online_retail.csv.gz imported with the online-retail preset into bench/out/; skipped when the
file is absent), as of the day after each lake's last order. For each: the backtest of the refresh's parameters
and of two alternatives (cosine similarity; more shrinkage), then the side's scoring (time, peak memory of this
process, bytes stored per customer). ``--scale N`` adds a sample lake of N customers for the cost only;
``--synthetic N`` times fitting and scoring alone on N customers' random baskets over 5,000 products.
Writes the section "Recommendations" of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import ROOT, update_results_section  # noqa: E402

from athena.duckdb_engine import DuckDBEngine  # noqa: E402
from insights.refresh.engine import CanonicalEngine  # noqa: E402
from insights.refresh.rec_backtest import MODEL_PARAMS, backtest  # noqa: E402
from insights.refresh.recommendations import RecommendationSide  # noqa: E402

OUT = ROOT / "bench" / "out" / "recommendations"
ONLINE_RETAIL = ROOT.parent / "shared" / "data" / "online_retail.csv.gz"
VARIANTS = {"refresh (cosine, 20 neighbours, shrink 5)": {},
            "all 50 neighbours": {"score_k": 50},
            "conditional probability": {"similarity": "confidence"},
            "shrink 20": {"shrink": 20.0},
            "no rebuys": {"rebuy_weight": 0.0}}


def _python(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "insights", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def sample_lake(customers: int) -> Path:
    lake = OUT / f"sample-{customers}" / "lake"
    if not lake.is_dir():
        _python("sample", "--customers", str(customers), "--seed", "42", "--end", "2026-11-30", "--lake", str(lake))
    return lake


def online_retail_lake() -> Path | None:
    if not ONLINE_RETAIL.is_file():
        return None
    lake = OUT / "online-retail" / "lake"
    if not lake.is_dir():
        _python("import", str(ONLINE_RETAIL), "--preset", "online-retail", "--lake", str(lake))
    return lake


def as_of_of(engine: CanonicalEngine) -> date:
    summary = engine.query("lake_summary", {"cutoff": "2999-01-01"})
    return date.fromisoformat(str(summary.iloc[0]["last_date"])[:10]) + timedelta(days=1)


def measure(name: str, lake: Path, *, variants: bool = True) -> tuple[list[str], str]:
    engine = CanonicalEngine(DuckDBEngine.over_lake(lake))
    as_of = as_of_of(engine)
    side = RecommendationSide()
    started = time.perf_counter()
    frame = side.extract(engine, as_of)
    extract_s = time.perf_counter() - started
    rows = []
    for label, change in (VARIANTS.items() if variants else []):
        bt = backtest(frame, as_of, side.backtest_days, params={**MODEL_PARAMS, **change})
        if "model" not in bt:
            rows.append(f"| {name} | {label} | {bt.get('note')} | | | | | |")
            continue
        m, p, lift = bt["model"], bt["popularity"], bt["relative_lift"]
        rows.append(f"| {name} | {label} | {m['n_customers']:,} | {m['recall_at_k']:.4f} | {p['recall_at_k']:.4f} | "
                    f"{m['ndcg_at_k']:.4f} | {p['ndcg_at_k']:.4f} | {lift['recall_at_k']:+.0%} / "
                    f"{lift['ndcg_at_k']:+.0%} |")
    started = time.perf_counter()
    models = side.train(engine, as_of, frame)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    out = side.score(models, frame, as_of)
    score_s = time.perf_counter() - started
    recs = out.tables["recommendations"]
    per_customer = sum(a.nbytes for k, a in recs.items() if k != "customer_id") / max(1, recs["customer_id"].size)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n_products = out.tables["rec_products"]["product_id"].size
    cost = (f"| {name} | {recs['customer_id'].size:,} | {len(frame):,} | {n_products:,}"
            f" | {extract_s:.1f} | {train_s:.1f} | {score_s:.1f} | {per_customer:.0f} | {peak:,.0f} |")
    return rows, cost


def synthetic(customers: int, products: int = 5000) -> str:
    """Fit and top-20 scoring alone on random baskets (about 10 products a customer, Zipf-like popularity)."""
    import numpy as np
    import scipy.sparse as sp

    from models.recommend import ItemCooccurrence

    rng = np.random.default_rng(0)
    per = rng.poisson(9, customers) + 1
    weights = 1.0 / np.arange(1, products + 1) ** 0.8
    rows = np.repeat(np.arange(customers), per)
    cols = rng.choice(products, rows.size, p=weights / weights.sum())
    counts = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(customers, products))
    counts.sum_duplicates()
    started = time.perf_counter()
    model = ItemCooccurrence(**MODEL_PARAMS).fit(counts)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    model.recommend(counts, n=20)
    rec_s = time.perf_counter() - started
    return (f"Scoring alone on random baskets ({customers:,} customers, {products:,} products, {counts.nnz:,} pairs): "
            f"fit {fit_s:.1f} s, top 20 for every customer {rec_s:.1f} s = {rec_s / customers * 1e6:.0f} us a "
            f"customer, so about {rec_s / customers * 1e6:.0f} s per million customers on this machine.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=0, help="also measure the cost on a sample lake this large")
    parser.add_argument("--synthetic", type=int, default=50_000, help="customers of the random-basket timing")
    args = parser.parse_args()
    lakes = [("sample lake (5,000)", sample_lake(5000))]
    retail = online_retail_lake()
    if retail is not None:
        lakes.append(("Online Retail", retail))
    quality, costs = [], []
    for name, lake in lakes:
        rows, cost = measure(name, lake)
        quality += rows
        costs.append(cost)
    if args.scale:
        costs.append(measure(f"sample lake ({args.scale:,})", sample_lake(args.scale), variants=False)[1])
    section = "\n".join([
        "## Recommendations",
        "",
        "`nice .venv/bin/python bench/bench_recommendations.py"
        + (f" --scale {args.scale}`" if args.scale else "`")
        + f" ({date.today().isoformat()}, 2 shared cores). Time split: history before as_of - 60 days, truth = each",
        "customer's first purchase day after it; 10 products per customer; popularity under the same rule (bought",
        "products skipped unless replenishable). Goal: +20% relative over popularity on both metrics.",
        "",
        "| lake | recommender | customers | recall@10 | popularity | NDCG@10 | popularity | lift (recall / NDCG) |",
        "|---|---|---|---|---|---|---|---|",
        *quality,
        "",
        "Cost of the side (extract = the two queries on DuckDB; train = the backtest; score = fit on all history,",
        "top 20 per customer, categories; peak RSS of the bench process so far):",
        "",
        "| lake | customers | customer-product rows | products | extract s | train s | score s | bytes/customer | "
        "peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
        *costs,
        "",
        synthetic(args.synthetic),
    ])
    update_results_section("## Recommendations", section)
    print(section)


if __name__ == "__main__":
    main()
