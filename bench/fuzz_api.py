"""Fuzz the API with schemathesis through the local server (`python -m insights serve`) on 127.0.0.1.

    .venv/bin/python bench/fuzz_api.py [--snapshots DIR] [--min-requests 1000] [--seed 42] [--out bench/out/fuzz]

The server runs the real ``handler.lambda_handler`` on a snapshot folder: ``--snapshots`` (for example the one the
refresh made from the real Online Retail file), else a small hand-checkable snapshot written for the run
(tests/handler/snapshot_factory.py). schemathesis reads the API's own generated OpenAPI document
(/demand-insights/openapi.json) and sends positive and negative requests to every operation, with a bearer token
that has both scopes, rounds after rounds (new seeds) until the server has answered at least --min-requests; then
one positive-only round whose bodies name ids the snapshot knows (bench/fuzz_hooks.py), so the 200 paths of the
product and customer routes are fuzzed too, not only their 404s.

Requests are counted on the server side: every request the handler answers is one structured log line
({"message": "request", "status": ...}), so the count and the status histogram are the API's own. The run fails
(exit 1) when schemathesis reports a failed check, when any response is a 5xx other than the documented 503, or
when fewer than --min-requests were answered. A JSON summary is written to <out>/fuzz_summary.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Checks: everything schemathesis has but the stateful ones that need links between operations (there are none:
# every operation is a read). `unsupported_method` holds since a known path asked with another method is a 405.
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance,negative_data_rejection,missing_required_header,ignored_auth,"
          "unsupported_method")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_snapshot(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests" / "handler"))
    from snapshot_factory import write_snapshot

    write_snapshot(folder)
    return folder


def start_server(snapshots: Path, port: int, secret: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "INSIGHTS_JWT_SECRET": secret, "INSIGHTS_SNAPSHOTS": str(snapshots),
           "POWERTOOLS_METRICS_DISABLED": "true", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "insights", "serve", "--snapshots", str(snapshots),
                             "--port", str(port)], cwd=ROOT, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/demand-insights/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    stop(proc)
    raise RuntimeError(f"the server did not answer /health within 90 s; see {log}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def served_requests(log: Path) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"message":"request"' in line.replace(" ", ""):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def run_schemathesis(url: str, token: str, *, seed: int, max_examples: int, workers: int, out: Path,
                     known_ids: Path | None = None) -> dict[str, Any]:
    """One schemathesis run; with ``known_ids``: a positive-only fuzzing round whose bodies name known ids."""
    st = Path(sys.executable).with_name("st")
    report_dir = out / (f"round-{seed}" if known_ids is None else f"round-{seed}-known-ids")
    phases = "examples,coverage,fuzzing" if known_ids is None else "fuzzing"
    cmd = [str(st), "run", f"{url}/demand-insights/openapi.json", "-H", f"Authorization: Bearer {token}",
           "--checks", CHECKS, "--max-examples", str(max_examples), "--seed", str(seed), "--workers", str(workers),
           "--phases", phases, "--request-timeout", "20", "--no-color",
           "--generation-database", "none", "--report", "json,junit", "--report-dir", str(report_dir)]
    env = dict(os.environ)
    if known_ids is not None:
        cmd += ["--mode", "positive"]
        env.update(SCHEMATHESIS_HOOKS="fuzz_hooks", FUZZ_IDS=str(known_ids),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).parent), env.get("PYTHONPATH")])))
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=out, capture_output=True, text=True, timeout=1800, env=env)
    (report_dir / "stdout.txt").parent.mkdir(parents=True, exist_ok=True)
    (report_dir / "stdout.txt").write_text(proc.stdout + proc.stderr)
    reports = sorted(report_dir.glob("json-*.json"))
    report = json.loads(reports[-1].read_text()) if reports else {}
    return {"seed": seed, "exit_code": proc.returncode, "seconds": round(time.perf_counter() - started, 1),
            "test_cases": report.get("test_cases", {}), "failures": report.get("failures", []),
            "errors": report.get("errors", []), "report_dir": str(report_dir)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--snapshots", type=Path, help="snapshot folder to serve (default: a small generated one)")
    p.add_argument("--min-requests", type=int, default=1000)
    p.add_argument("--max-examples", type=int, default=120, help="per operation and round")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-rounds", type=int, default=8)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "fuzz")
    p.add_argument("--no-known-ids", action="store_true", help="skip the positive round with known ids")
    args = p.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parent))

    from insights.api.auth import SCOPE_PII, SCOPE_READ
    from insights.cli.tokens import mint_token
    from insights.config import Settings

    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-"))
    snapshots = args.snapshots or default_snapshot(tmp / "snapshots")
    secret = secrets.token_urlsafe(48)
    port = free_port()
    log = args.out / "server.log"
    settings = Settings()
    token = mint_token(secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                       scopes=(SCOPE_READ, SCOPE_PII), ttl_s=4 * 3600)
    started = time.perf_counter()
    proc = start_server(snapshots, port, secret, log)
    rounds: list[dict[str, Any]] = []
    try:
        base_count = len(served_requests(log))
        seed = args.seed
        while len(rounds) < args.max_rounds:
            rounds.append(run_schemathesis(f"http://127.0.0.1:{port}", token, seed=seed,
                                           max_examples=args.max_examples, workers=args.workers, out=args.out))
            r = rounds[-1]
            answered = len(served_requests(log)) - base_count
            print(f"round seed={seed}: {r['test_cases'].get('generated', 0)} test cases, "
                  f"{len(r['failures'])} failure kinds, exit {r['exit_code']}, {r['seconds']} s; "
                  f"{answered} requests answered so far", flush=True)
            if answered >= args.min_requests:
                break
            seed += 1
        if not args.no_known_ids:  # one more, positive round whose bodies name ids the snapshot knows
            from load_test import known_ids

            ids_file = args.out / "known_ids.json"
            ids_file.write_text(json.dumps(known_ids(snapshots)))
            rounds.append(run_schemathesis(f"http://127.0.0.1:{port}", token, seed=seed + 1000,
                                           max_examples=args.max_examples, workers=args.workers, out=args.out,
                                           known_ids=ids_file))
            r = rounds[-1]
            print(f"round seed={seed + 1000} (positive, known ids): {r['test_cases'].get('generated', 0)} test "
                  f"cases, {len(r['failures'])} failure kinds, exit {r['exit_code']}, {r['seconds']} s", flush=True)
    finally:
        stop(proc)
    requests = served_requests(log)[base_count:]
    by_status = collections.Counter(int(r.get("status", 0)) for r in requests)
    by_route = collections.Counter(f"{r.get('route')} {r.get('status')}" for r in requests)
    server_errors = sum(n for s, n in by_status.items() if s >= 500 and s != 503)
    failures = [f for r in rounds for f in r["failures"]]
    errors = [e for r in rounds for e in r["errors"]]
    summary = {
        "requests": len(requests), "by_status": dict(sorted(by_status.items())),
        "by_route_status": dict(sorted(by_route.items())), "server_errors_not_503": server_errors,
        "test_cases": sum(r["test_cases"].get("generated", 0) for r in rounds),
        "schemathesis_failures": failures, "schemathesis_errors": errors, "rounds": rounds, "checks": CHECKS,
        "snapshots": str(snapshots), "seconds": round(time.perf_counter() - started, 1),
        "ok": not failures and not errors and server_errors == 0 and len(requests) >= args.min_requests,
    }
    (args.out / "fuzz_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"fuzzed: {len(requests)} requests answered ({summary['test_cases']} schemathesis test cases, "
          f"{len(rounds)} round(s)); status {dict(sorted(by_status.items()))}; "
          f"5xx other than 503: {server_errors}; failed checks: {len(failures)}; errors: {len(errors)}")
    for f in failures:
        print(f"  {f.get('code')} {f.get('title')}: {', '.join(f.get('operations', [])[:4])}")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
