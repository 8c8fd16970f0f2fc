"""Scale benchmark of the sharded refresh: a lake streamed to disk in chunks, then a sharded daily run.

    nice .venv/bin/python bench/bench_scale.py --customers 200000 --shards 8 --workers 2
    nice .venv/bin/python bench/bench_scale.py --customers 10000000 --shards 64 --workers 2   # the issue's size

1. The lake: customers in chunks of --chunk; each chunk's order lines (about --lines-per-customer each) are
   generated with numpy and appended to ``orders/order_date=.../`` by DuckDB, then dropped: memory holds one
   chunk, never the lake.
2. Models: trained once on a small lake from the same generator (--train-customers), the way the monthly
   retrain on a bounded sample would; the measured run is the daily one, which reuses them (the models' drift
   check passes: same generator, same as_of).
3. ``python -m insights refresh --shards N --workers W`` in a child process: wall time and the process tree's
   peak RSS (os.wait4); per shard its rows, seconds and scoring process's peak RSS from the manifest.
Results go to the "## Sharded refresh" table of bench/RESULTS.md, a row per size, shard count and workers (--no-results:
not); the AWS projection in the section after it is written from those rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from benchlib import RESULTS, ROOT, run_measured, update_results_section

sys.path.insert(0, str(ROOT))  # the project, when run as bench/bench_scale.py

SECTION = "## Sharded refresh"


def write_streamed_lake(lake: Path, *, customers: int, products: int, days: int, end: date, seed: int,
                        lines_per_customer: float, chunk: int, reuse: bool = False) -> dict:
    """Orders of ``customers`` customers over ``days`` days ending ``end``, one chunk of customers at a time."""
    import duckdb

    from insights.data.lake import conform

    meta = {"customers": customers, "products": products, "days": days, "end": end.isoformat(), "seed": seed,
            "lines_per_customer": lines_per_customer}
    done = lake / "_bench_lake.json"  # written last: a lake with it is complete
    if reuse and done.is_file() and {k: v for k, v in json.loads(done.read_text()).items() if k in meta} == meta:
        print(f"reusing {lake}", file=sys.stderr)
        return json.loads(done.read_text())
    if lake.exists():
        shutil.rmtree(lake)
    (lake / "orders").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    start = np.datetime64(end - timedelta(days=days - 1), "s")
    base_price = np.round(rng.lognormal(3.0, 0.6, products), 2)
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    lines = 0
    started = time.perf_counter()
    for first in range(0, customers, chunk):
        n = min(chunk, customers - first)
        rate = rng.gamma(1.5, lines_per_customer / 1.5 / 2.0, n)  # orders per customer (2 lines per order)
        orders = 1 + rng.poisson(rate)
        cust = np.repeat(np.arange(first, first + n), orders)
        arrival = rng.integers(0, days, n)  # each customer's first day
        day = np.minimum(np.repeat(arrival, orders) + rng.exponential(90, cust.size).astype(np.int64), days - 1)
        order_no = np.arange(cust.size) + lines
        per_order = 1 + rng.poisson(1.0, cust.size)
        line_order = np.repeat(order_no, per_order)
        line_cust, line_day = np.repeat(cust, per_order), np.repeat(day, per_order)
        product = rng.zipf(1.3, line_order.size) % products
        seconds = rng.integers(0, 86400, line_order.size).astype("timedelta64[s]")
        ts = start + line_day.astype("timedelta64[D]") + seconds
        frame = pd.DataFrame({
            "order_id": pd.Series(line_order).map("O{:010d}".format), "customer_id": pd.Series(line_cust).map(
                "C{:08d}".format), "order_ts": ts, "product_id": pd.Series(product).map("P{:05d}".format),
            "quantity": 1 + rng.poisson(0.5, line_order.size),
            "unit_price": np.round(base_price[product] * rng.uniform(0.9, 1.1, line_order.size), 2)})
        frame = conform(frame, "orders")
        frame["order_date"] = frame["order_ts"].dt.floor("D").dt.date
        con.register("chunk", frame)
        con.execute(f"COPY chunk TO '{lake / 'orders'}' (FORMAT parquet, PARTITION_BY (order_date), APPEND, "
                    f"FILENAME_PATTERN 'chunk{first // chunk:05d}_{{uuid}}')")
        con.unregister("chunk")
        lines += len(frame)
        del frame
        if first // chunk % 10 == 9:
            print(f"{lake.name}: {first + n:,} of {customers:,} customers, {lines:,} lines, "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    out = {**meta, "order_lines": lines, "seconds": round(time.perf_counter() - started, 1)}
    done.write_text(json.dumps(out))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=200_000)
    p.add_argument("--products", type=int, default=2_000)
    p.add_argument("--days", type=int, default=420)
    p.add_argument("--lines-per-customer", type=float, default=10.0)
    p.add_argument("--chunk", type=int, default=100_000, help="customers generated and written at a time")
    p.add_argument("--train-customers", type=int, default=20_000)
    p.add_argument("--shards", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--end", default="2026-06-30")
    p.add_argument("--out", default=str(ROOT / "bench" / "out" / "scale"))
    p.add_argument("--no-results", action="store_true")
    p.add_argument("--reuse-lake", action="store_true",
                   help="keep a complete lake of the same parameters under --out instead of writing it again")
    p.add_argument("--lake-only", action="store_true", help="write the lakes and stop")
    p.add_argument("--duckdb-memory", default="40%",
                   help="INSIGHTS_DUCKDB_MEMORY_LIMIT of the runs: the refresh's own arrays need the rest")
    args = p.parse_args(argv)

    out, end = Path(args.out), date.fromisoformat(args.end)
    as_of = (end + timedelta(days=1)).isoformat()
    gen = dict(products=args.products, days=args.days, end=end, seed=args.seed,
               lines_per_customer=args.lines_per_customer, chunk=args.chunk, reuse=args.reuse_lake)
    train = write_streamed_lake(out / "train-lake", customers=args.train_customers, **gen)
    lake = write_streamed_lake(out / "lake", customers=args.customers, **gen)
    if args.lake_only:
        return 0
    snaps = out / "snapshots"
    shutil.rmtree(snaps, ignore_errors=True)
    env = {**os.environ, "INSIGHTS_SHARD_WORK": str(out / "work"), "INSIGHTS_SALES_HISTORY_DAYS": "120",
           "INSIGHTS_DUCKDB_MEMORY_LIMIT": args.duckdb_memory}
    cli = [sys.executable, "-m", "insights", "refresh", "--snapshots", str(snaps), "--as-of", as_of]
    trained = run_measured([*cli, "--lake", str(out / "train-lake")], env=env)
    run = run_measured([*cli, "--lake", str(out / "lake"), "--shards", str(args.shards), "--workers",
                        str(args.workers)], env=env)
    latest = (snaps / "latest").read_text().strip()
    manifest = json.loads((snaps / "versions" / latest / "manifest.json").read_text())
    tasks = manifest["sharded"]["tasks"]
    report = {"lake": lake, "train_lake": train, "train_run": trained, "run": run, "as_of": as_of,
              "shards": args.shards, "workers": args.workers, "decision": manifest["models"],
              "stage_seconds": manifest["stage_seconds"], "stage_peak_rss_mb": manifest["stage_peak_rss_mb"],
              "sharded": {k: v for k, v in manifest["sharded"].items() if k != "tasks"}, "tasks": tasks,
              "load": os.getloadavg()}
    report["run"].pop("stdout", None)
    report["train_run"].pop("stdout", None)
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    print(json.dumps(report, indent=1, default=str))
    if not args.no_results:
        update_results_section(SECTION, _section(report))
    return 0


HEADER = ("| customers | order lines | shards | workers | plan: extract (s) | plan: reuse + context (s) "
          "| map: wall (s) | map: task s (sum) | reduce (s): all (customers merge / finish / write) | wall (s) "
          "| peak RSS, plan + reduce process (GB) | per task, by side: rows; s (median / max); peak RSS MB (max) "
          "| load |")


def _row(r: dict) -> str:
    by_side: dict[str, list[dict]] = {}
    for name, task in r["tasks"].items():
        by_side.setdefault(name.split("/")[0], []).append(task)
    tasks = [t for ts in by_side.values() for t in ts]
    sides = "<br>".join(
        f"{side}: {min(t['rows_in'] for t in ts):,}-{max(t['rows_in'] for t in ts):,}; "
        f"{np.median([t['seconds'] for t in ts]):.1f} / {max(t['seconds'] for t in ts):.1f}; "
        f"{max(t['peak_rss_mb'] or 0 for t in ts):,.0f}" for side, ts in sorted(by_side.items()))
    stages, sharded = r["stage_seconds"], r.get("sharded", {})
    reduce = sharded.get("reduce_seconds", {}).get("customers", {})
    split = " / ".join(f"{reduce.get(k, 0):.0f}" for k in ("merge", "finish", "write")) if reduce else "-"
    peak = max(r.get("stage_peak_rss_mb", {}).values() or [0]) / 1024
    return (f"| {r['lake']['customers']:,} | {r['lake']['order_lines']:,} | {r['shards']} | {r['workers']} "
            f"| {stages.get('extract', 0):.0f} | {stages.get('train', 0):.0f} "
            f"| {sharded.get('map_wall_seconds') or 0:.0f} | {sum(t['seconds'] or 0 for t in tasks):.0f} "
            f"| {stages.get('score', 0):.0f} ({split}) | {r['run']['wall_s']:.0f} | {peak:.1f} | {sides} "
            f"| {r['load'][0]:.1f} |")


def _key(row: str) -> tuple[str, ...]:
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    return cells[0], cells[2], cells[3]  # customers, shards, workers


def _section(r: dict) -> str:
    """The section's table with this run's row; rows of other sizes measured earlier stay (same key: replaced)."""
    text = RESULTS.read_text() if RESULTS.is_file() else ""
    body = text[text.find(SECTION + "\n"):] if SECTION + "\n" in text else ""
    body = body[:body.find("\n## ", 1) + 1 or None]
    kept = [line for line in body.splitlines() if line.startswith("| ") and line[2:3].isdigit()
            and _key(line) != _key(_row(r))]
    return "\n".join([
        SECTION,
        "`bench/bench_scale.py --customers N --shards S --workers W` on this 2-core machine, shared with other "
        "jobs (load: the 1-minute average when the run ended); models trained once on a "
        f"{r['train_lake']['customers']:,}-customer lake from the same generator and reused by the measured daily "
        "run, as the monthly retrain on a bounded sample would. "
        "The map ran W processes; plan and reduce are one process each. Plan extract is DuckDB writing every "
        "shard's Parquet (Athena's UNLOAD in AWS).",
        "",
        HEADER,
        "|" + "---|" * HEADER.count(" | ") + "---|",
        *kept, _row(r),
    ]) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
