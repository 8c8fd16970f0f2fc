"""Load test: locust (bench/locustfile.py) against `python -m insights serve` on 127.0.0.1, bounded and self-stopping.

    .venv/bin/python bench/load_test.py [--snapshots DIR] [--users 8] [--seconds 60] [--out bench/out/load]

Starts the local server on a free loopback port, mints a token, runs locust headless with ``--users`` concurrent
closed-loop users for ``--seconds`` (then locust stops itself; the process is killed if it overruns by 120 s), stops
the server and prints per-route throughput, p50/p99 latency (client side, through HTTP) and errors, plus the
handler's own latency from its structured logs. Any non-200 answer is an error. The summary goes to
<out>/load_summary.json; exit 1 when there was any error.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from fuzz_api import default_snapshot, free_port, served_requests, start_server, stop  # noqa: E402


def known_ids(snapshots: Path) -> dict[str, list[str]]:
    """Ids the served snapshot knows: customers, forecastable products, products with an elasticity."""
    from insights.snapshot.reader import load_local_version

    version = (snapshots / "latest").read_text().strip()
    snap = load_local_version(snapshots / "versions" / version)
    rng = np.random.default_rng(0)
    customers = [str(c) for c in np.asarray(snap.table("customers")["customer_id"])]
    forecast = snap.table("forecast")
    products = [str(p) for p, s in zip(np.asarray(forecast["product_id"]), np.asarray(forecast["status"]), strict=True)
                if s in ("ok", "fallback")]
    elasticity = snap.table("elasticity")
    # price optimization refuses a positive elasticity (422, by design): the load mix only prices usable curves
    priced = [f"{p}|{m:.4f}" for p, s, e, m in zip(
        np.asarray(elasticity["product_id"]), np.asarray(elasticity["status"]),
        np.asarray(elasticity["elasticity_coefficient"]), np.asarray(elasticity["price_mean"]), strict=True)
        if s == "ok" and e < 0 and np.isfinite(m) and m > 0]

    def pick(xs: list[str], n: int) -> list[str]:
        return sorted(rng.choice(xs, size=min(n, len(xs)), replace=False).tolist()) if xs else []

    return {"customers": pick(customers, 5000), "products": pick(products, 2000),
            "priced_products": pick(priced, 2000), "version": version}


def read_stats(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open() as fh:
        for row in csv.DictReader(fh):
            rows.append({"route": row["Name"], "requests": int(row["Request Count"]),
                         "errors": int(row["Failure Count"]), "rps": float(row["Requests/s"]),
                         "p50_ms": float(row["50%"] or 0), "p99_ms": float(row["99%"] or 0),
                         "max_ms": float(row["Max Response Time"] or 0)})
    return rows


def handler_latency(requests: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    by_route: dict[str, list[float]] = collections.defaultdict(list)
    for r in requests:
        by_route[str(r.get("route"))].append(float(r.get("latency_ms", 0.0)))
    return {route: {"n": len(v), "p50_ms": round(float(np.percentile(v, 50)), 2),
                    "p99_ms": round(float(np.percentile(v, 99)), 2)} for route, v in sorted(by_route.items())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--snapshots", type=Path)
    p.add_argument("--users", type=int, default=8)
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "load")
    args = p.parse_args(argv)

    from insights.api.auth import SCOPE_PII, SCOPE_READ
    from insights.cli.tokens import mint_token
    from insights.config import Settings

    args.out.mkdir(parents=True, exist_ok=True)
    snapshots = args.snapshots or default_snapshot(Path(tempfile.mkdtemp(prefix="load-")) / "snapshots")
    ids = known_ids(snapshots)
    ids_file = args.out / "ids.json"
    ids_file.write_text(json.dumps(ids))
    secret = secrets.token_urlsafe(48)
    settings = Settings()
    token = mint_token(secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                       scopes=(SCOPE_READ, SCOPE_PII), ttl_s=3600)
    port = free_port()
    log = args.out / "server.log"
    proc = start_server(snapshots, port, secret, log)
    base = len(served_requests(log))
    locust = Path(sys.executable).with_name("locust")
    cmd = [str(locust), "-f", str(BENCH / "locustfile.py"), "--headless", "-u", str(args.users), "-r",
           str(args.users), "-t", f"{args.seconds}s", "--stop-timeout", "5", "--host", f"http://127.0.0.1:{port}",
           "--csv", str(args.out / "load"), "--only-summary", "--loglevel", "WARNING"]
    env = {**os.environ, "LOAD_TOKEN": token, "LOAD_IDS": str(ids_file)}
    started = time.perf_counter()
    try:
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.seconds + 120)
    finally:
        stop(proc)
    wall = round(time.perf_counter() - started, 1)
    (args.out / "locust_output.txt").write_text(run.stdout + run.stderr)
    stats = read_stats(args.out / "load_stats.csv")
    requests = served_requests(log)[base:]
    statuses = collections.Counter(int(r.get("status", 0)) for r in requests)
    total = next((r for r in stats if r["route"] == "Aggregated"), None)
    summary = {"users": args.users, "seconds": args.seconds, "wall_s": wall, "snapshot": ids["version"],
               "routes": stats, "server_statuses": dict(sorted(statuses.items())),
               "handler_latency": handler_latency(requests), "errors": total["errors"] if total else None,
               "locust_exit": run.returncode}
    summary["ok"] = bool(total) and total["errors"] == 0 and set(statuses) <= {200}
    (args.out / "load_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"load: {args.users} users for {args.seconds} s on 127.0.0.1 (snapshot {ids['version']})")
    print(f"{'route':<26} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for r in stats:
        print(f"{r['route']:<26} {r['requests']:>9,} {r['errors']:>7} {r['rps']:>7.1f} {r['p50_ms']:>7.0f} "
              f"{r['p99_ms']:>7.0f}")
    print(f"server answered {len(requests):,} requests, statuses {dict(sorted(statuses.items()))}")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
