"""The refresh's derived documents at scale: churn outlook, segment transitions, growth split, export copies.

Synthetic scored customers (no lake, no models): what insights/refresh/derived.py adds to a refresh beyond its two
lake aggregates, and what the API then reads. Writes the section "Derived documents" of bench/RESULTS.md.

    nice .venv/bin/python bench/bench_derived.py [--customers 1000000] [--snapshots DIR]

With ``--snapshots`` (a refreshed snapshot folder) it also times the five routes warm through the real
lambda_handler: their documents' sizes do not grow with the customers (bounded cohorts, one row per segment).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import update_results_section  # noqa: E402
from insights.refresh.churn_outlook import churn_outlook_doc  # noqa: E402
from insights.refresh.exports import write_exports  # noqa: E402
from insights.refresh.growth import _segments  # noqa: E402
from insights.refresh.transitions import PreviousSegments, transitions_doc  # noqa: E402
from models.growth import Projection  # noqa: E402

SEGMENTS = np.array(["Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "At Risk",
                     "Can't Lose Them", "Hibernating", "Lost"])


def customers(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 3, n)
    clv = rng.gamma(2.0, 150.0, n)
    level = np.array(["Low", "Medium", "High", "Critical"])[np.searchsorted([0.3, 0.5, 0.7], p, side="right")]
    return {
        "customer_id": np.array([f"C{i:08d}" for i in range(n)]), "email": np.array([f"c{i}@x.io" for i in range(n)]),
        "segment": SEGMENTS[rng.integers(0, SEGMENTS.size, n)], "r_score": rng.integers(1, 6, n).astype(np.int8),
        "f_score": rng.integers(1, 6, n).astype(np.int8), "m_score": rng.integers(1, 6, n).astype(np.int8),
        "churn_probability": p, "risk_level": level, "predicted_clv": clv, "clv_segment": np.full(n, "Medium"),
        "value_at_risk": p * clv, "next_order_date": np.full(n, "2026-12-24"), "spend_30d": clv / 12,
        "purchase_probability_30d": 1 - p, "recency_days": rng.integers(0, 700, n).astype(np.int32),
        "frequency": rng.integers(1, 12, n).astype(np.int32),
    }


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


ROUTES = [("GET", "/demand-insights/churn-outlook", {}),
          ("GET", "/demand-insights/cohorts", {"period": "week", "metric": "ltv", "acquisition_cost": "40"}),
          ("GET", "/demand-insights/growth-projection", {"months": "24", "by": "segment"}),
          ("GET", "/demand-insights/segments/transitions", {}),
          ("GET", "/demand-insights/exports/customer-scores", {"format": "parquet"})]


def api_latency(snapshots: str, calls: int = 300) -> list[str]:
    """Warm p50/p99 of each route through handler.lambda_handler over the snapshot folder."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "handler"))
    from api_events import SECRET, FakeContext, v2

    import handler
    from insights.cli.tokens import mint_token
    from insights.config import Settings

    handler.configure(Settings(snapshots=snapshots, jwt_secret=SECRET))
    token = mint_token(SECRET, issuer="demand-insights-local", audience="demand-insights",
                       scopes=["insights:read", "customers:export"])
    lines = ["| route | status | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    for method, path, query in ROUTES:
        event = v2(method, path, query=query, token=token)
        status = handler.lambda_handler(event, FakeContext())["statusCode"]  # warms the documents
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            handler.lambda_handler(event, FakeContext())
            times.append((time.perf_counter() - started) * 1000)
        p50, p99 = np.percentile(times, [50, 99])
        lines.append(f"| {method} {path}?{'&'.join(f'{k}={v}' for k, v in query.items())} | {status} | "
                     f"{p50:.2f} | {p99:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--snapshots", help="a refreshed snapshot folder: also time the routes warm")
    args = parser.parse_args()
    n = args.customers
    cols = customers(n)
    rows = []
    outlook, s = timed(lambda: churn_outlook_doc(cols, model_horizon_days=90))
    rows.append(("churn_outlook", s, len(json.dumps(outlook))))
    prev = PreviousSegments("v0", "2026-11-01", cols["customer_id"], np.roll(cols["segment"], 1))
    trans, s = timed(lambda: transitions_doc(cols, prev))
    rows.append(("segment_transitions", s, len(json.dumps(trans))))
    proj = Projection(np.full(24, n * 0.4), np.full(24, n * 0.35), np.full(24, n * 0.45))
    split, s = timed(lambda: _segments(cols, proj, [f"m{k}" for k in range(24)], n / 50, 90))
    rows.append(("growth by segment (split only)", s, len(json.dumps(split))))
    with tempfile.TemporaryDirectory() as tmp:
        _, s = timed(lambda: write_exports(Path(tmp), cols, "2026-12-01"))
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    rows.append(("exports (CSV, CSV + Parquet with emails)", s, size))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = ["## Derived documents", "",
             f"`nice .venv/bin/python bench/bench_derived.py --customers {n}` (synthetic scored customers, no lake; "
             "the two lake aggregates, customer_cohorts and customer_activity_monthly, are Athena/DuckDB time and "
             "not in here).", "",
             "| step | seconds | output bytes |", "|---|---:|---:|"]
    lines += [f"| {name} | {sec:.2f} | {size:,} |" for name, sec, size in rows]
    lines += ["", f"Peak RSS of the process: {peak:,.0f} MB (the synthetic columns included)."]
    if args.snapshots:
        lines += ["", f"Warm answers through `handler.lambda_handler` (300 calls each, logging included) over "
                      f"`--snapshots {args.snapshots}`:", "", *api_latency(args.snapshots)]
    print("\n".join(lines))
    update_results_section("## Derived documents", "\n".join(lines))


if __name__ == "__main__":
    main()
