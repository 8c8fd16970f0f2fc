"""What the bench scripts share: measuring a child process, and updating one section of bench/RESULTS.md."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

__all__ = ["ROOT", "RESULTS", "run_measured", "update_results_section"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"


def run_measured(argv: list[str], *, env: dict[str, str] | None = None) -> dict:
    """Run ``argv`` as a child process from the repo root; wall time, its own peak RSS (os.wait4) and stdout.

    Exits the bench with a message when the child fails: a number measured on a failed run means nothing.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(argv[:4])} ... failed with exit code {code}")
    return {"wall_s": time.perf_counter() - started, "peak_rss_gb": usage.ru_maxrss / 1024**2, "stdout": out}


def update_results_section(heading: str, section: str, path: Path = RESULTS) -> None:
    """Replace the section that starts with ``heading`` (up to the next '## ') or append it; others stay as they are."""
    text = path.read_text() if path.is_file() else "# Benchmark results\n"
    section = section.rstrip("\n") + "\n"
    start = text.find(heading + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "")
    path.write_text(text)
