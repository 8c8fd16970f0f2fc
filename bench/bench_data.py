"""Data-layer benchmark: generate the sample lake, then run customer_features on DuckDB over it.

    nice .venv/bin/python bench/bench_data.py                       # 1,000,000 customers (the issue's target)
    .venv/bin/python bench/bench_data.py --customers 50000 --no-results   # a quick run

Each step runs in a fresh subprocess; its wall time and peak RSS come from os.wait4 (that child only).
Targets: sample < 300 s; customer_features < 60 s and < 4 GB. Results go to the "## Data layer" section
of bench/RESULTS.md (only that section is replaced).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchlib import ROOT, run_measured, update_results_section

SECTION = "## Data layer"

FEATURES_CHILD = """
import json, sys, time
from athena.duckdb_engine import DuckDBEngine
lake, cutoff, memory_limit, threads = sys.argv[1], sys.argv[2], sys.argv[3] or None, int(sys.argv[4]) or None
started = time.perf_counter()
frame = DuckDBEngine.over_lake(lake, memory_limit=memory_limit, threads=threads).query(
    "customer_features", {"cutoff": cutoff})
print(json.dumps({"query_s": time.perf_counter() - started, "rows": len(frame)}))
"""



def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--products", type=int, default=100)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--end", default="2025-12-31", help="fixed so that reruns generate the same lake")
    p.add_argument("--out", default=str(ROOT / "bench" / "out" / "data"), help="where the lake goes (gitignored)")
    p.add_argument("--memory-limit", default="", help="DuckDB memory_limit, e.g. 3GB (default: DuckDB's own)")
    p.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: DuckDB's own)")
    p.add_argument("--no-results", action="store_true", help="do not update bench/RESULTS.md")
    args = p.parse_args(argv)

    lake = Path(args.out) / "lake"
    py = sys.executable
    load = os.getloadavg()
    sample = run_measured([py, "-m", "insights", "sample", "--customers", str(args.customers), "--products",
                           str(args.products), "--days", str(args.days), "--seed", str(args.seed), "--end", args.end,
                           "--lake", str(lake)])
    meta = json.loads((lake / "_truth" / "meta.json").read_text())
    lines = meta["counts"]["lines"]
    lake_bytes = folder_size(lake / "orders") + folder_size(lake / "customers")
    truth_bytes = folder_size(lake / "_truth")
    cutoff = (date.fromisoformat(args.end) + timedelta(days=1)).isoformat()
    features = run_measured([py, "-c", FEATURES_CHILD, str(lake), cutoff, args.memory_limit, str(args.threads)])
    answer = json.loads(features["stdout"].strip().splitlines()[-1])

    rows = [
        ("sample", f"{args.customers:,} customers, {args.products} products, {args.days} days -> {lines:,} lines "
                   f"({lake_bytes / 1024**2:,.0f} MB Parquet, truth {truth_bytes / 1024**2:,.1f} MB)",
         f"{sample['wall_s']:.1f}", f"{sample['peak_rss_gb']:.2f}", "< 300 s", sample["wall_s"] < 300),
        ("customer_features (DuckDB)",
         f"cutoff {cutoff}: {answer['rows']:,} customers; query {answer['query_s']:.1f} s in-process "
         "(rest: imports, process start)",
         f"{features['wall_s']:.1f}", f"{features['peak_rss_gb']:.2f}", "< 60 s, < 4 GB",
         features["wall_s"] < 60 and features["peak_rss_gb"] < 4),
    ]
    header = "| step | what | wall s | peak RSS GB | target | met |\n|---|---|---|---|---|---|"
    table = header + "\n" + "\n".join(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {'yes' if r[5] else 'NO'} |"
                                      for r in rows)
    duck = f"memory_limit={args.memory_limit or 'default'}, threads={args.threads or 'default'}"
    machine = (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores shared with "
               f"other jobs (load average {load[0]:.1f} at start), Python {platform.python_version()}; DuckDB {duck}")
    command = (f"nice .venv/bin/python bench/bench_data.py --customers {args.customers}"
               + (f" --memory-limit {args.memory_limit}" if args.memory_limit else "")
               + (f" --threads {args.threads}" if args.threads else ""))
    print(table)
    print(machine)
    if not args.no_results:
        update_results_section(
            SECTION, f"{SECTION}\n\n`{command}`\n\n{table}\n\n{machine}. Each step is a fresh process; wall time "
                       "includes interpreter start and imports; peak RSS is that process's maximum resident set "
                       "(os.wait4).\n")
    return 0 if all(r[5] for r in rows) else 1



if __name__ == "__main__":
    sys.exit(main())
