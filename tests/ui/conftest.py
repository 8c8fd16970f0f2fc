"""The dashboard in a real browser: `python -m insights serve` over the handler tests' small snapshot, driven by
Debian's chromium (headless) through Playwright. `make test` installs chromium when it is missing (the Makefile's
`chromium` target); without it these tests fail saying so, they never skip."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))

from snapshot_factory import write_snapshot  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MISSING = ("the dashboard's browser tests need Debian's chromium: `make chromium` installs it (as root: apt-get "
           "update && apt-get install -y chromium), or set CHROMIUM=/path/to/chromium")


@dataclass
class Served:
    """The local server as `serve` started it: the link it printed, its base URL, its snapshots folder."""

    link: str
    base: str
    snapshots: Path


@dataclass
class Watched:
    """A page and everything that went wrong on it: console errors, page errors, failed requests, HTTP errors."""

    page: Any
    problems: list[str] = field(default_factory=list)


def _with_card_and_revenue(parts: dict[str, Any]) -> None:
    """The test snapshot plus what a refresh of today records: the 90-day revenue and a churn model card."""
    parts["docs"]["customer_models"]["totals"] = {"revenue_90d": 1234.0}
    deciles = [{"group": g, "mean_predicted": g / 10 - 0.05, "observed_rate": g / 10 - 0.04, "n": 2}
               for g in range(1, 11)]
    parts["docs"]["quality"] = {"gates": [{"gate": "customers", "required": 10, "available": 12, "passed": True}],
                                "families": {"churn": {
                                    "model": "lightgbm", "baseline": "BG/NBD", "target": "no order in 90 days",
                                    "validation": {"cutoff": "2026-08-03", "customers": 12},
                                    "metrics": {"model": {"roc_auc": 0.81}, "baseline": {"roc_auc": 0.78}},
                                    "vs_baseline": {"roc_auc_difference": 0.03},
                                    "calibration_by_decile": {"model": deciles, "baseline": deciles}}}}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    snapshots = tmp_path_factory.mktemp("ui") / "snapshots"
    write_snapshot(snapshots, mutate=_with_card_and_revenue)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTS_")}
    # the test snapshot is frozen at 2026-11-01: freshness limits wide enough that its health stays "ok"
    env.update(INSIGHTS_MAX_DATA_LAG_DAYS="100000", INSIGHTS_REFRESH_INTERVAL_HOURS="1000000000")
    proc = subprocess.Popen([sys.executable, "-m", "insights", "serve", "--port", "0", "--snapshots", str(snapshots)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    banner = []
    assert proc.stdout is not None
    for line in proc.stdout:
        banner.append(line)
        if line.startswith("health: "):
            break
    text = "".join(banner)
    found = re.search(r"^dashboard: (http://127\.0\.0\.1:\d+/demand-insights/dashboard#token=[\w\-.]+)$", text, re.M)
    assert found, f"serve printed no dashboard link:\n{text}\n{proc.stderr.read() if proc.poll() is not None else ''}"
    try:
        yield Served(link=found.group(1), base=found.group(1).split("/dashboard#")[0], snapshots=snapshots)
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path or not shutil.which(path):
        pytest.fail(MISSING, pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # --no-sandbox: chromium refuses to run as root (CI) with its sandbox; the pages are our own, on loopback
        chromium = pw.chromium.launch(executable_path=shutil.which(path), args=["--no-sandbox", "--disable-gpu",
                                                                                 "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: INSIGHTS_UI_SCREENSHOTS, else the test run's own temporary folder."""
    wanted = os.environ.get("INSIGHTS_UI_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def watched(browser: Any) -> Iterator[Any]:
    """A fresh browser context (empty session storage) whose page records every error it meets."""

    def make(width: int = 1280, height: int = 900) -> Watched:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        out = Watched(context.new_page())
        out.page.on("console", lambda m: m.type == "error" and out.problems.append(f"console: {m.text}"))
        out.page.on("pageerror", lambda e: out.problems.append(f"page error: {e}"))
        out.page.on("requestfailed", lambda r: out.problems.append(f"request failed: {r.url} {r.failure}"))
        out.page.on("response", lambda r: r.status >= 400 and out.problems.append(f"HTTP {r.status}: {r.url}"))
        return out

    contexts: list[Any] = []
    yield make
    for context in contexts:
        context.close()
