"""API benchmark: warm in-process latency per endpoint and cold start, on a synthetic 1M-customer / 5k-product snapshot.

    .venv/bin/python bench/bench_api.py [--customers 1000000] [--products 5000] [--calls 2000] [--cold-runs 5]

The snapshot's arrays are generated directly (no training) and written with the refresh's own writer
(insights/snapshot/writer.py: encoded text, float32 columns, a manifest with every sha256) to
bench/out/api_snapshots, and opened the way the API opens it (its store, via INSIGHTS_SNAPSHOTS). Every call goes
through handler.lambda_handler with a real API Gateway 2.0 event and a real JWT: auth, validation, routing, the
service function, JSON serialization, the structured log line and the EMF metrics are all inside the timing
(logs and metrics are written to /dev/null instead of stdout).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "handler"))

from api_events import FakeContext, v2  # noqa: E402  (the same event builder the tests use)

from insights.snapshot.reader import load_local_version  # noqa: E402
from insights.snapshot.writer import content_hash, file_digests, write_doc, write_table  # noqa: E402

SECRET = "bench-secret-" + "b" * 40
VERSION = "20261121T040000Z-2026-11-21-bench00"
AS_OF = "2026-11-21"
P = "/demand-insights"
WHATIF = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3)
SEGMENTS = ["Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "At Risk", "Can't Lose Them",
            "Hibernating", "Lost", "Need Attention", "About To Sleep"]


def build_snapshot(root: Path, n_customers: int, n_products: int, seed: int = 0) -> Path:
    """Write a synthetic snapshot version under ``root`` and point ``latest`` at it."""
    rng = np.random.default_rng(seed)
    folder = root / "versions" / VERSION
    n = n_customers
    ids = np.char.add("C", np.char.zfill(np.arange(n).astype(str), 7))
    churn = rng.beta(2, 3, n)
    clv = rng.lognormal(5, 1, n)
    risk = np.select([churn >= 0.8, churn >= 0.6, churn >= 0.3], ["Critical", "High", "Medium"], "Low")
    feats = np.array(["recency_days", "frequency", "monetary_total", "spend_trend", "return_rate"])
    cols = {
        "customer_id": ids,
        "email": np.where(rng.random(n) < 0.9, np.char.add(np.char.lower(ids), "@example.com"), ""),
        "recency_days": rng.integers(0, 700, n).astype(np.int32),
        "frequency": rng.integers(1, 60, n).astype(np.int32),
        "monetary_total": np.round(rng.lognormal(6, 1, n), 2),
        "r_score": rng.integers(1, 6, n).astype(np.int8),
        "f_score": rng.integers(1, 6, n).astype(np.int8),
        "m_score": rng.integers(1, 6, n).astype(np.int8),
        "segment": np.array(SEGMENTS[:5])[rng.integers(0, 5, n)],
        "churn_probability": churn,
        "risk_level": risk.astype("<U8"),
        "predicted_clv": clv,
        "clv_segment": np.select([clv >= 400, clv >= 100], ["High", "Medium"], "Low").astype("<U6"),
        "clv_method": np.where(rng.random(n) < 0.97, "lightgbm", "simple_formula"),
        "simple_clv": clv * rng.uniform(0.7, 1.3, n),
        "predicted_orders": rng.gamma(2, 1, n),
        "next_order_date": np.where(rng.random(n) < 0.8, "2026-12-15", ""),
        "spend_30d": clv / 12,
        "purchase_probability_30d": 1 - churn,
        "value_at_risk": churn * clv,
    }
    for j in (1, 2, 3):
        cols[f"churn_factor_{j}"] = feats[rng.integers(0, 5, n)]
        cols[f"churn_contrib_{j}"] = rng.normal(0, 0.5, n)
        cols[f"churn_value_{j}"] = rng.gamma(2, 20, n)
    cols["clv_lower"], cols["clv_upper"] = clv * 0.5, clv * 1.8  # columns the schema gained since this bench
    for k in range(2, 11):
        cols[f"segment_k{k}"] = rng.integers(0, k, n).astype(np.int8)
    write_table(folder, "customers", cols)
    write_table(folder, "at_risk", {"order": np.lexsort((ids, -cols["value_at_risk"])).astype(np.int32)})

    m = n_products
    pids = np.char.add("P", np.char.zfill(np.arange(m).astype(str), 5))
    level = rng.lognormal(2, 1, (m, 1))
    qty = (level * (1 + 0.3 * np.sin(np.arange(90) / 7 * 2 * np.pi))).astype(np.float32)  # as the refresh stores it
    status = np.where(rng.random(m) < 0.9, "ok", "fallback")
    status[:10] = "insufficient_history"
    write_table(folder, "forecast", {
        "product_id": pids, "method": np.where(status == "ok", "model", "tsb"), "status": status,
        "reference_price": rng.uniform(1, 50, m), "last_price": rng.uniform(1, 50, m),
        "predicted_quantity": qty, "confidence_lower": qty * 0.7, "confidence_upper": qty * 1.3,
        "confidence_lower_wide": qty * 0.5, "confidence_upper_wide": qty * 1.6,
        "method_note": np.where(status == "ok", "", "few sale days: TSB method"),
        **{f"driver_{j}": np.array(["recent_sales", "day_of_week", "price"])[rng.integers(0, 3, m)] for j in (1, 2, 3)},
        **{f"driver_effect_{j}": rng.normal(0, 1, m).astype(np.float32) for j in (1, 2, 3)},
        # the model's what-if grid (price x multiplier); NaN for fallback products, as the refresh stores it
        "whatif_quantity": np.where((status == "ok")[:, None, None],
                                    qty[:, None, :] * np.asarray(WHATIF, np.float32)[None, :, None] ** -1.2,
                                    np.float32(np.nan))})
    coef = -rng.uniform(0.3, 2.5, m)
    se = rng.uniform(0.05, 0.3, m)
    pmin = rng.uniform(1, 20, m)
    write_table(folder, "elasticity", {
        "product_id": pids, "status": np.where(rng.random(m) < 0.8, "ok", "refused"),
        "reason": np.array([""] * m), "elasticity_coefficient": coef, "standard_error": se,
        "ci_lower": coef - 1.96 * se, "ci_upper": coef + 1.96 * se, "p_value": rng.uniform(0, 0.05, m),
        "r_squared": rng.uniform(0.2, 0.9, m), "n_observations": rng.integers(30, 700, m).astype(np.int32),
        "elasticity_type": np.where(coef < -1, "Elastic", "Inelastic"),
        "interpretation": np.array(["Demand responds to price"] * m), "price_min": pmin,
        "price_max": pmin * 1.5, "price_mean": pmin * 1.25, "reference_quantity": level[:, 0]})

    _write_recommendations(folder, rng, ids, pids)
    solutions = {}
    for k in range(2, 11):
        counts = np.bincount(cols[f"segment_k{k}"], minlength=k)
        solutions[str(k)] = {"k": k, "silhouette": 0.3, "segments": [
            {"segment_id": s, "segment": SEGMENTS[s], "description": SEGMENTS[s], "count": int(counts[s]),
             "percentage": round(100 * counts[s] / n, 2), "avg_recency": 100.0, "avg_frequency": 5.0,
             "avg_monetary": 500.0} for s in range(k)]}
    write_doc(folder, "segments", {"auto_k": 5, "elbow": [{"k": k, "inertia": 1e6 / k, "silhouette": 0.3}
                                                          for k in range(2, 11)], "solutions": solutions})
    write_doc(folder, "forecast_meta", {"level": 0.8, "method": "direct", "model": "lightgbm",
                                        "whatif_price_multipliers": list(WHATIF),
                                        "feature_importance": [{"feature": f"f{i}", "importance": 1 / (i + 1)}
                                                               for i in range(20)]})
    write_doc(folder, "customer_models", {"churn": {"horizon_days": 90}, "clv": {"horizon_days": 365}})
    files = file_digests(folder)  # what finalize_build lists: the API checks each file's sha256 on first read
    manifest = {"version": VERSION, "as_of": AS_OF, "created_at": "2026-11-21T04:00:00+00:00",
                "table_keys": {"customers": "customer_id", "forecast": "product_id", "elasticity": "product_id"},
                "row_counts": {"customers": n, "forecast": m, "elasticity": m}, "files": files,
                "content_sha256": content_hash(files)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (root / "latest").write_text(VERSION)
    return folder


def _write_recommendations(folder: Path, rng: np.random.Generator, ids: np.ndarray, pids: np.ndarray) -> None:
    """The recommendation side's tables as the refresh stores them: 20 products and 5 categories a customer."""
    n, m = ids.size, pids.size
    write_table(folder, "recommendations", {
        "customer_id": ids, "rec_product": rng.integers(0, m, (n, 20)).astype(np.int16),
        "rec_because": np.where(rng.random((n, 20)) < 0.8, rng.integers(0, m, (n, 20)), -1).astype(np.int16),
        "rec_score": np.sort(rng.random((n, 20)).astype(np.float32), axis=1)[:, ::-1],
        "category": np.tile(np.arange(5, dtype=np.int16), (n, 1)),
        "category_share": np.tile(np.array([0.4, 0.3, 0.15, 0.1, 0.05], np.float32), (n, 1))})
    write_table(folder, "rec_products", {
        "product_id": pids, "category": np.array([f"cat{i % 12}" for i in range(m)]),
        "buyers": rng.integers(1, 5000, m).astype(np.int32), "repeat_rate": rng.random(m).astype(np.float32),
        "replenishable": (rng.random(m) < 0.1).astype(np.int8), "popularity_rank": rng.permutation(m).astype(np.int32),
        "together_product": rng.integers(0, m, (m, 50)).astype(np.int16),
        "together_score": np.sort(rng.random((m, 50)).astype(np.float32), axis=1)[:, ::-1],
        "together_customers": rng.integers(1, 500, (m, 50)).astype(np.int32)})
    write_doc(folder, "recommendation_meta", {"categories": [f"cat{i}" for i in range(12)], "top_n": 20,
                                              "method": "item-item co-occurrence", "backtest": None})


def _mcp(event: dict) -> dict:
    """An MCP request event: the protocol version the SDK's clients send after initialize."""
    event["headers"]["mcp-protocol-version"] = "2025-11-25"
    return event


def _dir_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def warm_latency(root: Path, n_customers: int, n_products: int, calls: int, seed: int = 1) -> list[dict]:
    os.environ["INSIGHTS_SNAPSHOTS"] = str(root)
    os.environ["INSIGHTS_JWT_SECRET"] = SECRET
    import handler
    from insights.api.auth import SCOPE_PII, SCOPE_READ
    from insights.cli.tokens import mint_token
    from insights.config import load_settings

    handler.configure(load_settings())
    sink = open(os.devnull, "w")  # noqa: SIM115
    handler.logger.registered_handler.setStream(sink)
    token = mint_token(SECRET, issuer="demand-insights-local", audience="demand-insights", ttl_s=3600)
    pii = mint_token(SECRET, issuer="demand-insights-local", audience="demand-insights", ttl_s=3600,
                     scopes=(SCOPE_READ, SCOPE_PII))
    rng = np.random.default_rng(seed)
    try:
        import models.pricing  # noqa: F401
        has_pricing = True
    except ImportError:
        has_pricing = False

    def cids(k: int) -> list[str]:
        idx = rng.integers(0, int(n_customers * 1.02), k)  # ~2% unknown ids land in not_found
        return [f"C{i:07d}" for i in idx]

    def pid() -> str:
        return f"P{rng.integers(10, n_products):05d}"

    cases = {
        "GET segments (auto k)": lambda: v2("GET", f"{P}/segments", token=token),
        "GET segments?n_clusters=k": lambda: v2("GET", f"{P}/segments",
                                                query={"n_clusters": str(rng.integers(2, 11))}, token=token),
        "POST clv (1 id)": lambda: v2("POST", f"{P}/clv", body={"customer_ids": cids(1)}, token=token),
        "POST clv (100 ids)": lambda: v2("POST", f"{P}/clv", body={"customer_ids": cids(100)}, token=token),
        "POST churn (1 id)": lambda: v2("POST", f"{P}/churn", body={"customer_ids": cids(1)}, token=token),
        "POST churn (100 ids)": lambda: v2("POST", f"{P}/churn", body={"customer_ids": cids(100)}, token=token),
        "POST churn (1000 ids)": lambda: v2("POST", f"{P}/churn", body={"customer_ids": cids(1000)}, token=token),
        "GET at-risk-customers (limit 100)": lambda: v2(
            "GET", f"{P}/at-risk-customers", query={"threshold": f"{rng.uniform(0.3, 0.8):.2f}", "limit": "100"},
            token=token),
        "GET at-risk-customers (limit 1000, pii)": lambda: v2(
            "GET", f"{P}/at-risk-customers", query={"threshold": "0.6", "limit": "1000"}, token=pii),
        "POST forecast (30 days)": lambda: v2("POST", f"{P}/forecast",
                                              body={"product_id": pid(), "forecast_days": 30}, token=token),
        "POST forecast (90 days)": lambda: v2("POST", f"{P}/forecast",
                                              body={"product_id": pid(), "forecast_days": 90}, token=token),
        "POST price-elasticity": lambda: v2("POST", f"{P}/price-elasticity", body={"product_id": pid()},
                                            token=token),
        "GET customers/{id} (profile)": lambda: v2("GET", f"{P}/customers/{cids(1)[0]}", token=token),
        "POST recommendations (customer, 10)": lambda: v2("POST", f"{P}/recommendations",
                                                          body={"customer_id": cids(1)[0]}, token=token),
        "POST recommendations (product, 50)": lambda: v2("POST", f"{P}/recommendations",
                                                         body={"product_id": pid(), "limit": 50}, token=token),
        "POST mcp tools/list": lambda: _mcp(v2("POST", f"{P}/mcp", token=token,
                                               body={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})),
        "POST mcp tools/call predict_churn (100 ids)": lambda: _mcp(v2("POST", f"{P}/mcp", token=token, body={
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "predict_churn", "arguments": {"customer_ids": cids(100)}}})),
        "POST experiments/sample-size (mean)": lambda: v2("POST", f"{P}/experiments/sample-size", token=token, body={
            "baseline_mean": 40.0, "baseline_sd": float(rng.uniform(5, 20)), "minimum_detectable_effect": 0.05}),
        "POST experiments/analyze (3 arms)": lambda: v2("POST", f"{P}/experiments/analyze", token=token, body={
            "arms": [{"name": n, "visitors": 50_000, "conversions": int(rng.integers(1900, 2300))}
                     for n in ("A", "B", "C")]}),
        "GET health (no auth)": lambda: v2("GET", f"{P}/health"),
        "401 missing token": lambda: v2("GET", f"{P}/segments"),
        "422 validation error": lambda: v2("GET", f"{P}/segments", query={"n_clusters": "42"}, token=token),
    }
    if has_pricing:
        cases["POST forecast (30 days, planned price)"] = lambda: v2(
            "POST", f"{P}/forecast", body={"product_id": pid(), "forecast_days": 30, "planned_price": 9.99},
            token=token)
        cases["POST price-optimization"] = lambda: v2(
            "POST", f"{P}/price-optimization", token=token,
            body={"product_id": pid(), "current_price": 10.0, "current_quantity": 100, "cost_per_unit": 6.0})
    rows = []
    ctx = FakeContext()
    with contextlib.redirect_stdout(sink):
        handler.lambda_handler(cases["GET health (no auth)"](), ctx)  # the load itself is measured by cold start
        for name, make in cases.items():
            events = [make() for _ in range(calls)]
            for e in events[:20]:
                handler.lambda_handler(e, ctx)
            times, cpu, statuses = [], [], {}
            for e in events:
                c0, t0 = time.thread_time(), time.perf_counter()
                r = handler.lambda_handler(e, ctx)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.thread_time() - c0) * 1000)
                statuses[r["statusCode"]] = statuses.get(r["statusCode"], 0) + 1
            arr, carr = np.array(times), np.array(cpu)
            rows.append({"endpoint": name, "calls": calls, "p50_ms": float(np.percentile(arr, 50)),
                         "p99_ms": float(np.percentile(arr, 99)), "max_ms": float(arr.max()),
                         "cpu_p50_ms": float(np.percentile(carr, 50)), "cpu_p99_ms": float(np.percentile(carr, 99)),
                         "statuses": dict(sorted(statuses.items()))})
    return rows


COLD = """
import time
t0 = time.perf_counter()
import handler
t1 = time.perf_counter()
from api_events import FakeContext, v2
from insights.cli.tokens import mint_token
tok = mint_token({secret!r}, issuer="demand-insights-local", audience="demand-insights")
ev = v2("POST", "/demand-insights/churn", body={{"customer_ids": ["C0000001", "C0500000", "C0999999"]}}, token=tok)
t2 = time.perf_counter()
r = handler.lambda_handler(ev, FakeContext())
t3 = time.perf_counter()
assert r["statusCode"] == 200, r
import json, sys
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"sklearn", "scipy", "xgboost", "lightgbm", "pyarrow",
                                                         "duckdb", "pandas"}})
print("COLD " + json.dumps({{"import_s": t1 - t0, "first_request_s": t3 - t2, "heavy": heavy}}))
"""


def cold_start(root: Path, runs: int, *, lambda_env: bool) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "INSIGHTS_SNAPSHOTS": str(root),
           "INSIGHTS_JWT_SECRET": SECRET, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests' / 'handler'}"}
    if lambda_env:  # Tracer on: the X-Ray SDK (and botocore) imported; segments go nowhere (no daemon here)
        env.update(AWS_LAMBDA_FUNCTION_NAME="demand-insights-api", AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
                   AWS_REGION="us-east-1")
    results = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", COLD.format(secret=SECRET)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
        wall = time.perf_counter() - t0
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-3000:])
        line = next(ln for ln in out.stdout.splitlines() if ln.startswith("COLD "))
        results.append({**json.loads(line[5:]), "process_wall_s": wall})
    med = {k: statistics.median(r[k] for r in results) for k in ("import_s", "first_request_s", "process_wall_s")}
    med["in_process_s"] = statistics.median(r["import_s"] + r["first_request_s"] for r in results)
    med["in_process_min_s"] = min(r["import_s"] + r["first_request_s"] for r in results)
    med["heavy"] = results[0]["heavy"]
    med["runs"] = runs
    return med


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--products", type=int, default=5_000)
    ap.add_argument("--calls", type=int, default=2_000)
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "api_snapshots"))
    ap.add_argument("--reuse", action="store_true", help="reuse an existing snapshot in --out")
    args = ap.parse_args(argv)
    root = Path(args.out)
    t0 = time.perf_counter()
    if not (args.reuse and (root / "latest").exists()):
        build_snapshot(root, args.customers, args.products)
    build_s = time.perf_counter() - t0
    size = _dir_bytes(root / "versions" / VERSION)
    print(f"snapshot: {args.customers:,} customers, {args.products:,} products, {size / 1e6:.0f} MB on disk "
          f"(built in {build_s:.1f} s)")
    verify = []
    for _ in range(3):  # what a warm container pays once to check a new version before it switches to it
        t = time.perf_counter()
        load_local_version(root / "versions" / VERSION).check_files(digests=True)
        verify.append(time.perf_counter() - t)
    print(f"sha256 of every table and document file (warm switch to a new version): "
          f"{statistics.median(verify):.3f} s, median of 3")
    cold_local = cold_start(root, args.cold_runs, lambda_env=False)
    cold_lambda = cold_start(root, args.cold_runs, lambda_env=True)
    rows = warm_latency(root, args.customers, args.products, args.calls)
    print(f"\nwarm latency, {args.calls} calls per endpoint (handler.lambda_handler, in process)")
    print("| endpoint | p50 ms | p99 ms | max ms | CPU p50 ms | CPU p99 ms | statuses |\n"
          "|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['endpoint']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} | "
              f"{r['cpu_p50_ms']:.2f} | {r['cpu_p99_ms']:.2f} | {r['statuses']} |")
    load = os.getloadavg()
    print(f"\nload average during the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    print(f"\ncold start, median of {args.cold_runs} fresh processes (import handler, load the snapshot, "
          f"answer one churn request)")
    print("| environment | import handler s | load + first request s | in-process total s (min) | process wall s "
          "| ML modules loaded |\n|---|---:|---:|---:|---:|---|")
    for name, c in (("local (no X-Ray)", cold_local),
                    ("Lambda-like, Tracer on (X-Ray SDK + botocore imported)", cold_lambda)):
        print(f"| {name} | {c['import_s']:.3f} | {c['first_request_s']:.3f} | {c['in_process_s']:.3f} "
              f"({c['in_process_min_s']:.3f}) | "
              f"{c['process_wall_s']:.3f} | {c['heavy'] or 'none'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
