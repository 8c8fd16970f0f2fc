"""Package benchmark: the api function's package before and after the split, size and cold start.

    .venv/bin/python bench/bench_package.py [--runs 7] [--before-ref 786012a] [--before-zip PATH] [--reuse]

before: dist/deployment.zip of the one-package layout (both functions, the whole ML stack), built by that commit's
own build.sh (SKIP_SMOKE=1) from `git archive <ref>` under build/bench-package/ (kept and reused), or --before-zip.
after: dist/api.zip (./build.sh first when it is missing or stale).

Cold start: fresh `python3.12 -I` processes that see only the unzipped package (plus, as the Lambda runtime
provides it, boto3/botocore in a folder of their own), as Lambda's init runs: `import handler`, then one
authenticated POST /churn for 3 customers, answered from bench_api.py's 1,000,000-customer snapshot (its own
generator; bench/out/api_snapshots, made once) through the local folder store: the first request opens the
manifest and the tables it reads. Median of --runs processes, min and max beside it. Tracer off is how Terraform
deploys the api function now (POWERTOOLS_TRACE_DISABLED=true; api.zip has no X-Ray SDK); Tracer on is how the
one package ran it (the X-Ray SDK and botocore imported at init). Prints the tables and updates the
"Deploy: api.zip size and cold start" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_api import SECRET, VERSION, build_snapshot  # noqa: E402  (the 1M-customer snapshot generator)
from benchlib import update_results_section  # noqa: E402

from tests.deploy.package_state import problems  # noqa: E402

WORK = ROOT / "build" / "bench-package"
SECTION = "## Deploy: api.zip size and cold start"
HEAVY = ("pandas", "sklearn", "scipy", "xgboost", "lightgbm", "pyathena", "pyarrow", "duckdb", "aws_xray_sdk",
         "botocore")

# Runs inside the package's python3.12 -I process: nothing but the standard library and the package.
COLD = r"""
import json, sys, time
sys.path[:0] = [PACKAGE, BOTO3]
c0, t0 = time.process_time(), time.perf_counter()
import handler
c1, t1 = time.process_time(), time.perf_counter()
import jwt
now = int(time.time())
token = jwt.encode({"sub": "bench", "iss": "demand-insights-local", "aud": "demand-insights", "iat": now,
                    "exp": now + 300, "scope": "insights:read"}, SECRET, algorithm="HS256")
path = "/demand-insights/churn"
event = {"version": "2.0", "routeKey": "POST " + path, "rawPath": path, "rawQueryString": "",
         "headers": {"authorization": "Bearer " + token, "content-type": "application/json",
                     "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"},
         "requestContext": {"accountId": "123456789012", "apiId": "a1b2c3d4e5", "requestId": "bench-1",
                            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                                     "sourceIp": "203.0.113.10", "userAgent": "bench"},
                            "routeKey": "POST " + path, "stage": "$default", "timeEpoch": now * 1000},
         "body": json.dumps({"customer_ids": ["C0000001", "C0500000", "C0999999"]}), "isBase64Encoded": False}

class Context:
    function_name, function_version, memory_limit_in_mb = "demand-insights-api", "$LATEST", 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:demand-insights-api"
    aws_request_id, log_group_name, log_stream_name = "bench", "/aws/lambda/demand-insights-api", "bench"
    def get_remaining_time_in_millis(self):
        return 29000

c2, t2 = time.process_time(), time.perf_counter()
response = handler.lambda_handler(event, Context())
c3, t3 = time.process_time(), time.perf_counter()
assert response["statusCode"] == 200, response
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
print("COLD " + json.dumps({"import_s": t1 - t0, "first_s": t3 - t2, "cpu_s": (c1 - c0) + (c3 - c2),
                            "modules": len(sys.modules), "heavy": heavy}))
"""


def _python312() -> str:
    for candidate in [os.environ.get("PYTHON312"), shutil.which("python3.12"),
                      *sorted(Path("~/.pyenv/versions").expanduser().glob("3.12*/bin/python3.12"))]:
        if candidate and subprocess.run([str(candidate), "-c", "import sys; assert sys.version_info[:2] == (3, 12)"],
                                        capture_output=True).returncode == 0:
            return str(candidate)
    raise SystemExit("python3.12 not found (set PYTHON312)")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _before_zip(ref: str) -> Path:
    """deployment.zip of the one-package layout, built by ``ref``'s own build.sh without its smoke test."""
    src = WORK / f"before-{ref}"
    zip_path = src / "dist" / "deployment.zip"
    if zip_path.is_file():
        return zip_path
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(src, filter="data")
    print(f"building the one-package layout of {ref} (its build.sh, SKIP_SMOKE=1) in {src}")
    with open(WORK / f"before-{ref}.log", "w") as log:
        subprocess.run(["./build.sh"], cwd=src, env={**os.environ, "SKIP_SMOKE": "1"}, check=True, stdout=log,
                       stderr=subprocess.STDOUT)
    return zip_path


def _after_zip() -> Path:
    if problems(ROOT, need_smoke=False):
        print("dist/api.zip missing or stale: ./build.sh")
        subprocess.run(["./build.sh"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return ROOT / "dist" / "api.zip"


def _unzipped(zip_path: Path, name: str) -> Path:
    """The zip extracted into build/bench-package/<name>/ (again only when the zip changed)."""
    folder = WORK / name
    stamp = folder / ".zip-sha256"
    sha = _sha(zip_path)
    if not (stamp.is_file() and stamp.read_text() == sha):
        shutil.rmtree(folder, ignore_errors=True)
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(folder)
        stamp.write_text(sha)
    return folder


def _boto3(py312: str) -> Path:
    """boto3 + botocore for python3.12, as the Lambda runtime provides them (build.sh's, or installed here)."""
    folder = ROOT / "build" / "boto3"
    if not (folder / "botocore").is_dir():
        pin = next((ln for ln in (ROOT / "requirements-dev.txt").read_text().splitlines()
                    if ln.startswith("boto3==")), "boto3")
        subprocess.run([py312, "-m", "pip", "install", "--quiet", "--target", str(folder), "--only-binary=:all:",
                        "--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", "3.12",
                        "--find-links", str(ROOT / "build" / "wheels"), pin], check=True)
    return folder


def sizes(zip_path: Path) -> dict:
    with zipfile.ZipFile(zip_path) as z:
        infos = z.infolist()
    return {"unzipped": sum(i.file_size for i in infos), "zipped": zip_path.stat().st_size, "files": len(infos)}


def cold_run(py312: str, package: Path, boto3: Path, snapshots: Path, *, tracer: bool) -> dict:
    """One fresh process: import handler, then the first answer."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(WORK), "TZ": "UTC", "LD_LIBRARY_PATH": str(package / "lib"),
           "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_LAMBDA_FUNCTION_NAME": "demand-insights-api", "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
           "_X_AMZN_TRACE_ID": "Root=1-6740a2b6-3e4f5a6b7c8d9e0f1a2b3c4d;Parent=53995c3f42cd8ad8;Sampled=0",
           "POWERTOOLS_SERVICE_NAME": "demand-insights-api", "POWERTOOLS_METRICS_NAMESPACE": "DemandInsights",
           "INSIGHTS_SNAPSHOTS": str(snapshots), "INSIGHTS_JWT_SECRET": SECRET, "INSIGHTS_JWT_ALGORITHMS": "HS256"}
    if not tracer:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    code = (f"PACKAGE, BOTO3, SECRET, HEAVY = {str(package)!r}, {str(boto3)!r}, {SECRET!r}, {HEAVY!r}\n" + COLD)
    started = time.perf_counter()
    out = subprocess.run([py312, "-I", "-c", code], env=env, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"cold start failed in {package}:\n{out.stderr[-3000:]}")
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("COLD "))
    return {**json.loads(line[5:]), "wall_s": wall}


def summarize(results: list[dict]) -> dict:
    total = [r["import_s"] + r["first_s"] for r in results]
    return {"import_s": statistics.median(r["import_s"] for r in results),
            "first_s": statistics.median(r["first_s"] for r in results),
            "total_s": statistics.median(total), "total_min_s": min(total), "total_max_s": max(total),
            "cpu_s": statistics.median(r["cpu_s"] for r in results), "cpu_min_s": min(r["cpu_s"] for r in results),
            "wall_s": statistics.median(r["wall_s"] for r in results), "modules": results[0]["modules"],
            "heavy": results[0]["heavy"], "runs": len(results)}


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def report(before: dict, after: dict, rows: list[tuple[str, dict]], *, ref: str, runs: int, snapshot_mb: float,
           customers: int, python: str, loads: list[float]) -> str:
    lines = [
        SECTION, "",
        f"`nice .venv/bin/python bench/bench_package.py --runs {runs}` (or `make bench-package`). before: "
        f"`deployment.zip`, the one package both functions ran from (built by {ref}'s own build.sh); after: "
        "`api.zip` (./build.sh). Sizes are what Lambda counts (the files' bytes, unzipped; MB = 2^20 bytes).",
        "",
        "| package | unzipped | zipped | files | api target (60 MB) |",
        "|---|---:|---:|---:|---|",
        f"| before: deployment.zip (api + refresh, ML stack) | {_mb(before['unzipped'])} | {_mb(before['zipped'])} "
        f"| {before['files']:,} | no |",
        f"| after: api.zip | {_mb(after['unzipped'])} | {_mb(after['zipped'])} | {after['files']:,} | "
        f"{'yes' if after['unzipped'] <= 60 * 2**20 else 'no'} |",
        "",
        f"Cold start, in process: fresh `python3.12 -I` processes seeing only the unzipped package (and a boto3 "
        f"folder, as the runtime has it): `import handler`, then one authenticated POST /churn for 3 customers from "
        f"the {customers:,}-customer snapshot of bench_api.py ({snapshot_mb:.0f} MB, local folder store). Median of "
        f"{runs} runs, the three configurations interleaved; target 0.3 s. Wall times depend on how many of the 2 "
        "cores other jobs leave; CPU time (import + first answer, `time.process_time`) much less so.",
        "",
        "| package, tracer | import handler s | first answer s | in-process total s (min-max) | CPU s (min) "
        "| process wall s | modules | heavy modules loaded |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, c in rows:
        lines.append(f"| {name} | {c['import_s']:.3f} | {c['first_s']:.3f} | **{c['total_s']:.3f}** "
                     f"({c['total_min_s']:.3f}-{c['total_max_s']:.3f}) | {c['cpu_s']:.3f} ({c['cpu_min_s']:.3f}) | "
                     f"{c['wall_s']:.3f} | {c['modules']:,} | {', '.join(c['heavy']) or 'none'} |")
    lines += ["", "botocore in the list: only its package `__init__` (Powertools' user-agent hook imports it; the "
              "runtime has it), except with the Tracer, which patches it.", "",
              f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores shared with "
              f"other jobs (1-minute load average {min(loads):.1f}-{max(loads):.1f} during the runs), python {python} "
              "for the packages. Bytes read at 1M customers: the API section."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--before-ref", default="786012a", help="commit of the one-package layout")
    ap.add_argument("--before-zip", type=Path, help="a deployment.zip already built (skips the before build)")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--products", type=int, default=5_000)
    ap.add_argument("--snapshots", type=Path, default=ROOT / "bench" / "out" / "api_snapshots")
    ap.add_argument("--reuse", action="store_true", help="reuse the snapshot in --snapshots when there is one")
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md as it is")
    args = ap.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    py312 = _python312()
    if not (args.reuse and (args.snapshots / "latest").is_file()):
        started = time.perf_counter()
        build_snapshot(args.snapshots, args.customers, args.products)
        print(f"snapshot: {args.customers:,} customers in {time.perf_counter() - started:.0f} s")
    snapshot_mb = sum(p.stat().st_size for p in (args.snapshots / "versions" / VERSION).rglob("*")
                      if p.is_file()) / 1e6
    before_zip = args.before_zip or _before_zip(args.before_ref)
    after_zip = _after_zip()
    before, after = sizes(before_zip), sizes(after_zip)
    boto3 = _boto3(py312)
    before_dir, after_dir = _unzipped(before_zip, "before"), _unzipped(after_zip, "after")
    configs = (("before, Tracer on (as deployed: X-Ray SDK + botocore)", before_dir, True),
               ("before, Tracer off", before_dir, False),
               ("after: api.zip, Tracer off (as deployed)", after_dir, False))
    results: dict[str, list[dict]] = {name: [] for name, _, _ in configs}
    loads = []
    for i in range(args.runs):  # interleaved: a change in the machine's load hits every configuration alike
        for name, folder, tracer in configs:
            results[name].append(cold_run(py312, folder, boto3, args.snapshots, tracer=tracer))
        loads.append(os.getloadavg()[0])
        print(f"run {i + 1}/{args.runs}: " + ", ".join(f"{r[-1]['import_s'] + r[-1]['first_s']:.3f} s"
                                                      for r in results.values()))
    rows = [(name, summarize(results[name])) for name, _, _ in configs]
    python = subprocess.run([py312, "-c", "import platform; print(platform.python_version())"],
                            capture_output=True, text=True).stdout.strip()
    section = report(before, after, rows, ref=args.before_ref, runs=args.runs, snapshot_mb=snapshot_mb,
                     customers=args.customers, python=python, loads=loads)
    print("\n" + section)
    if not args.no_write:
        update_results_section(SECTION, section)
        print(f"updated the {SECTION[3:]!r} section of bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
