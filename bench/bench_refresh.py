"""Refresh wall time and peak RSS at 10k, 100k and 1M customers (about 10 order lines each), local engine.

    nice .venv/bin/python bench/bench_refresh.py [--sizes 10000,100000,1000000] [--products 200] [--out bench/out]

For each size: generate a sample lake (`python -m insights sample`, not timed), then run
`python -m insights refresh` twice in fresh processes: a cold run that trains every model, and the next
day's run that reuses them (the usual daily case). Each refresh's peak RSS comes from os.wait4's rusage
of that one child process. Prints a markdown table and writes bench/out/refresh-<sizes>.json.
Target (issue 5): 1M customers end to end within 5 minutes and under 3 GB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import selectors
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def measure(argv: list[str], env: dict[str, str], timeout_s: float | None = None) -> dict:
    """Run argv in a child, returning wall time, peak RSS (os.wait4 rusage) and output; kill it after timeout_s."""
    r, w = os.pipe()
    r2, w2 = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: exec the refresh with stdout/stderr to the pipes
        os.setsid()  # its own process group, so a timeout can stop it and its children
        os.chdir(ROOT)
        os.dup2(w, 1)
        os.dup2(w2, 2)
        os.close(r)
        os.close(r2)
        os.execve(argv[0], argv, env)
    os.close(w)
    os.close(w2)
    chunks_out, chunks_err = [], []
    sel = selectors.DefaultSelector()
    sel.register(r, selectors.EVENT_READ, chunks_out)
    sel.register(r2, selectors.EVENT_READ, chunks_err)
    open_fds = 2
    timed_out = False
    while open_fds:
        left = None if timeout_s is None else timeout_s - (time.perf_counter() - started)
        if left is not None and left <= 0 and not timed_out:
            timed_out = True
            os.killpg(pid, signal.SIGKILL)
        for key, _ in sel.select(timeout=None if left is None else max(left, 0.1)):
            data = os.read(key.fd, 65536)
            if not data:
                sel.unregister(key.fd)
                os.close(key.fd)
                open_fds -= 1
            else:
                key.data.append(data)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "timed_out": timed_out,
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "exit": os.waitstatus_to_exitcode(status),
            "stdout": b"".join(chunks_out).decode(errors="replace"),
            "stderr": b"".join(chunks_err).decode(errors="replace")}


def stage_table(stdout: str) -> dict[str, float]:
    stages = {}
    for line in stdout.splitlines():
        m = re.match(r"^(extract|check|train|score|publish|total)\s+([\d.]+)", line)
        if m:
            stages[m.group(1)] = float(m.group(2))
    return stages


def dir_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--products", type=int, default=200)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--out", default=str(ROOT / "bench" / "out"))
    p.add_argument("--keep", action="store_true", help="keep the generated lakes and snapshots")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds before a refresh is stopped")
    p.add_argument("--seed-models-from", type=int, default=None, metavar="N",
                   help="for sizes above N, start from the snapshots of size N (run with --keep) so the first run "
                        "is the daily reuse run on models trained at N customers, then a --retrain run")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    end = datetime.now(UTC).date() - timedelta(days=1)
    as_of = end + timedelta(days=1)
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        lake, snaps = out / f"lake-{n}", out / f"snapshots-{n}"
        subprocess.run(["rm", "-rf", str(snaps)], check=True)
        t0 = time.perf_counter()
        subprocess.run([PY, "-m", "insights", "sample", "--customers", str(n), "--products", str(args.products),
                        "--days", str(args.days), "--end", end.isoformat(), "--lake", str(lake)],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        gen_s = time.perf_counter() - t0
        row = {"customers": n, "products": args.products, "days": args.days, "lake_mb": dir_mb(lake),
               "sample_s": round(gen_s, 1)}
        runs = [("train", as_of, ["--retrain"]), ("reuse", as_of + timedelta(days=1), [])]
        seed = out / f"snapshots-{args.seed_models_from}" if args.seed_models_from else None
        if seed is not None and n > args.seed_models_from and (seed / "latest").exists():
            subprocess.run(["cp", "-r", str(seed), str(snaps)], check=True)
            row["models_from"] = args.seed_models_from
            runs = [(f"reuse ({args.seed_models_from:,}-customer models)", as_of + timedelta(days=1), []),
                    ("train", as_of + timedelta(days=2), ["--retrain"])]
        for label, day, extra in runs:
            m = measure([PY, "-m", "insights", "refresh", "--lake", str(lake), "--snapshots", str(snaps),
                         "--as-of", day.isoformat(), *extra], env, args.timeout)
            if m["exit"] != 0:
                print(m["stderr"][-3000:], file=sys.stderr)
                reached = re.findall(r"(extract|check|train|score|publish)\s+[█▏▎▍▌▋▊▉ ]*\d+/\d+", m["stderr"])
                row[label] = {"exit": m["exit"], "wall_s": m["wall_s"], "peak_rss_mb": m["peak_rss_mb"],
                              "timed_out": m["timed_out"], "last_stage": reached[-1] if reached else None,
                              "error": m["stderr"][-500:]}
                break
            row[label] = {k: m[k] for k in ("wall_s", "peak_rss_mb", "cpu_s")} | {"stages": stage_table(m["stdout"]),
                                                                                  "table": m["stdout"].splitlines()}
            print(f"{n:>9,} {label}: {m['wall_s']:.1f} s, peak RSS {m['peak_rss_mb']:.0f} MB", file=sys.stderr)
        latest = (snaps / "latest").read_text().strip() if (snaps / "latest").exists() else None
        row["snapshot_mb"] = dir_mb(snaps / "versions" / latest) if latest else None
        results.append(row)
        if not args.keep:
            subprocess.run(["rm", "-rf", str(lake), str(snaps)], check=True)
    meta = {"date": date.today().isoformat(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "note": "shared 2-core machine (other engineers' jobs running); refresh run under nice"}
    target = out / f"refresh-{args.sizes.replace(',', '-')}.json"
    target.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(render(results))
    return 0


def render(results: list[dict]) -> str:
    head = ("| customers | products | lake MB | run | wall s | peak RSS MB | extract | check | train | score | publish "
            "| snapshot MB |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        for label in [k for k in r if k == "train" or k.startswith("reuse")]:
            m = r.get(label)
            if not m:
                continue
            if "error" in m:
                why = f"stopped after {m['wall_s']:.0f} s in {m['last_stage']}" if m.get("timed_out") \
                    else f"failed (exit {m['exit']})"
                lines.append(f"| {r['customers']:,} | {r['products']} | {r['lake_mb']} | {label} | {why} | "
                             f"{m.get('peak_rss_mb', 0):.0f} | | | | | | |")
                continue
            s = m["stages"]
            lines.append(f"| {r['customers']:,} | {r['products']} | {r['lake_mb']} | {label} | {m['wall_s']:.1f} | "
                         f"{m['peak_rss_mb']:.0f} | " + " | ".join(f"{s.get(k, 0):.1f}" for k in
                                                                   ("extract", "check", "train", "score", "publish"))
                         + f" | {r['snapshot_mb']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
