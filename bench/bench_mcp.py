"""The MCP endpoint's costs: what the MCP SDK would add to api.zip, the first MCP request's imports, warm latency.

    .venv/bin/python bench/bench_mcp.py            # a few minutes; rewrites the "MCP endpoint" section of RESULTS.md

1. Size: ``pip install --target`` of the pinned ``mcp`` (requirements-dev.txt) into a scratch folder; every
   distribution it brings that the api package does not already hold (requirements-api.txt and their dependencies,
   read from this venv's metadata) is measured as build.sh ships it: compiled to bytecode with python3.12 when found
   (else this interpreter), sources, caches and stubs dropped. ``mcp_types`` alone is what the endpoint uses.
2. Imports: CPU time of ``import mcp_types`` and ``import mcp_types.methods`` in fresh processes (median of 5),
   which the first MCP request of a container pays, and which no REST request pays.
3. Warm latency: handler.lambda_handler in process on the handler tests' snapshot, MCP tools/list and tools/call
   against the REST route they mirror.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "handler"))

from bench.benchlib import ROOT, update_results_section  # noqa: E402

HEADING = "## MCP endpoint"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(names: list[str]) -> set[str]:
    """The distributions ``names`` need, transitively, as installed in this venv (markers ignored: a superset)."""
    seen: set[str] = set()
    todo = [_norm(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [_norm(re.split(r"[\s;\[<>=!~(]", r, maxsplit=1)[0]) for r in requires if "extra ==" not in r]
    return seen


def _python312() -> str:
    """A working python3.12 (pyenv's first: its shim on PATH may point nowhere), else this interpreter."""
    candidates = [*map(str, sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))),
                  shutil.which("python3.12") or ""]
    for c in filter(None, candidates):
        if subprocess.run([c, "-c", "import sys"], capture_output=True).returncode == 0:
            return c
    return sys.executable


def size_rows() -> list[tuple[str, int, int]]:
    pin = next(line.strip() for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
               if line.startswith("mcp=="))
    api = [re.split(r"[\[=]", line, maxsplit=1)[0] for line in (ROOT / "requirements-api.txt").read_text().splitlines()
           if line.strip() and not line.startswith(("#", "-"))]
    have = _closure(api)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "t"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), pin],
                       check=True, stderr=subprocess.DEVNULL)
        rows = []
        for dist in sorted(target.glob("*.dist-info")):
            name = _norm(dist.name.split("-")[0])
            if name in have and name != "mcp-types":
                continue
            tops = [line.split("/")[0].split(",")[0] for line in (dist / "RECORD").read_text().splitlines()]
            tops = sorted({t.removesuffix(".py") for t in tops if t and not t.endswith(".dist-info") and t != ".."
                           and not t.startswith("__pycache__") and t != "bin"})
            rows.append((name, *_shipped_bytes(target, tops)))
    return rows


def _shipped_bytes(root: Path, tops: list[str]) -> tuple[int, int]:
    """(installed source bytes, bytes as build.sh ships them: bytecode only) of the top-level names ``tops``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for top in tops:
            src = root / top if (root / top).exists() else root / f"{top}.py"
            if src.is_dir():
                shutil.copytree(src, out / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyi", "tests"))
            elif src.exists():
                shutil.copy(src, out / src.name)
        installed = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        subprocess.run([_python312(), "-m", "compileall", "-q", "-b", str(out)], check=True, stdout=subprocess.DEVNULL)
        for p in out.rglob("*.py"):
            p.unlink()
        return installed, sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def import_cpu() -> dict[str, float]:
    code = ("import time, pydantic, typing_extensions\nt = time.process_time(); import mcp_types\n"
            "a = time.process_time(); import mcp_types.methods\nb = time.process_time()\n"
            "print(a - t, b - a)")
    runs = [tuple(map(float, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                            check=True).stdout.split())) for _ in range(5)]
    return {"mcp_types": statistics.median(r[0] for r in runs), "methods": statistics.median(r[1] for r in runs)}


def warm_latency(calls: int = 500) -> list[tuple[str, float, float]]:
    import contextlib
    import io

    from api_events import SECRET, FakeContext, v2
    from snapshot_factory import write_snapshot

    import handler
    from insights.cli.tokens import mint_token
    from insights.config import Settings

    snap = tempfile.mkdtemp()
    write_snapshot(snap)
    handler.configure(Settings(snapshots=snap, jwt_secret=SECRET, max_data_lag_days=100_000,
                               refresh_interval_hours=1e9))
    tok = mint_token(SECRET, issuer="demand-insights-local", audience="demand-insights", scopes=("insights:read",))
    ids = ["C001", "C002", "C010", "NOPE"]
    rpc = {"jsonrpc": "2.0", "id": 1}
    cases = {
        "REST POST churn (4 ids)": ("churn", {"customer_ids": ids}),
        "MCP tools/call predict_churn (4 ids)": ("mcp", {**rpc, "method": "tools/call", "params": {
            "name": "predict_churn", "arguments": {"customer_ids": ids}}}),
        "MCP tools/list": ("mcp", {**rpc, "method": "tools/list"}),
        "REST POST experiments/analyze": ("experiments/analyze", {"arms": [
            {"name": "A", "visitors": 10_000, "conversions": 400},
            {"name": "B", "visitors": 10_000, "conversions": 460}]}),
        "MCP tools/call experiment_analyze": ("mcp", {**rpc, "method": "tools/call", "params": {
            "name": "experiment_analyze", "arguments": {"arms": [
                {"name": "A", "visitors": 10_000, "conversions": 400},
                {"name": "B", "visitors": 10_000, "conversions": 460}]}}}),
    }
    rows = []
    with contextlib.redirect_stdout(io.StringIO()):
        for name, (path, body) in cases.items():
            event = v2("POST", f"/demand-insights/{path}", body=body, token=tok)
            event["headers"]["mcp-protocol-version"] = "2025-11-25"
            cpu = []
            for i in range(calls + 50):
                c0 = time.thread_time()
                answer = handler.lambda_handler(event, FakeContext())
                if i >= 50:
                    cpu.append((time.thread_time() - c0) * 1000)
            assert answer["statusCode"] == 200, answer["body"][:300]
            cpu.sort()
            rows.append((name, statistics.median(cpu), cpu[int(0.99 * len(cpu)) - 1]))
    return rows


def main() -> int:
    sizes = size_rows()
    imports = import_cpu()
    latency = warm_latency()
    sdk = [r for r in sizes if r[0] != "mcp-types"]
    types_row = next(r for r in sizes if r[0] == "mcp-types")
    lines = [HEADING, "", "`.venv/bin/python bench/bench_mcp.py` (insights/api/mcp.py; docs/api.md \"Tools for AI "
             "agents (MCP)\"). Bytes as build.sh ships them (bytecode only, python3.12).", "",
             "| what api.zip would gain | distributions | installed bytes | shipped bytes |", "|---|---|---:|---:|",
             f"| the SDK's server stack (`mcp` and what it brings beyond the api package) | {len(sdk)}: "
             f"{', '.join(r[0] for r in sdk)} | {sum(r[1] for r in sdk):,} | {sum(r[2] for r in sdk):,} |",
             f"| `mcp-types` alone (what the endpoint uses) | 1 | {types_row[1]:,} | {types_row[2]:,} |", "",
             f"First MCP request of a container, imports (CPU, median of 5 fresh processes): `import mcp_types` "
             f"{imports['mcp_types'] * 1000:.0f} ms, `import mcp_types.methods` {imports['methods'] * 1000:.0f} ms "
             "more; REST requests import neither.", "",
             "| warm request (in process, handler test snapshot) | CPU p50 ms | CPU p99 ms |", "|---|---:|---:|",
             *(f"| {name} | {p50:.2f} | {p99:.2f} |" for name, p50, p99 in latency), "",
             f"Measured {time.strftime('%Y-%m-%d')}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
             "cores."]
    section = "\n".join(lines)
    print(section)
    update_results_section(HEADING, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
