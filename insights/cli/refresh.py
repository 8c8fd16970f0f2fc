"""``python -m insights refresh | rollback``: the daily refresh on the local lake, and moving ``latest`` back."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from insights.config import Settings
from insights.errors import InsightError, NotFound
from insights.refresh.stages import RefreshResult, StageReport
from insights.refresh.wiring import RecordingMetricsSink, parse_date, refresh
from insights.snapshot.stores import store_from_settings

__all__ = ["refresh_command", "rollback_command", "format_summary", "TqdmObserver"]


class TqdmObserver:
    """One progress bar per stage on stderr."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.bar: Any = None

    def stage_started(self, stage: str, steps: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=max(steps, 1), desc=f"{stage:<8}", file=self.stream, leave=True, unit="step",
                        bar_format="{desc} {bar:20} {n_fmt}/{total_fmt} [{elapsed}] {postfix}")

    def stage_advanced(self, stage: str, note: str = "") -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(1)

    def stage_finished(self, report: StageReport) -> None:
        if self.bar is not None:
            if report.status == "ok":
                self.bar.update(self.bar.total - self.bar.n)
            self.bar.set_postfix_str(report.status if report.status != "ok" else f"{report.seconds:.1f} s")
            self.bar.close()
            self.bar = None


def format_summary(result: RefreshResult) -> str:
    """The stage table (stage, seconds, rows, peak RSS, notes) and the version, as printed by the CLI."""
    rows = [("stage", "seconds", "rows", "peak MB", "notes")]
    for r in result.stages:
        rows.append((r.stage, f"{r.seconds:.2f}", "" if r.rows is None else f"{r.rows:,}",
                     "" if r.peak_rss_mb is None else f"{r.peak_rss_mb:,.0f}", "; ".join(r.notes)))
    total = sum(r.seconds for r in result.stages)
    rows.append(("total", f"{total:.2f}", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d:>{widths[3]}}  {e}" for a, b, c, d, e in rows]
    lines.insert(1, "-" * min(120, sum(widths) + 8 + max(len(r[4]) for r in rows)))
    lines.append("")
    lines.append(f"snapshot {result.version} (as_of {result.as_of}); latest -> {result.latest}")
    return "\n".join(lines)


def refresh_command(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m insights refresh [--lake DIR] [--snapshots DIR] [--as-of DATE] [--retrain]``."""
    settings = settings.with_overrides(lake=args.lake, snapshots=args.snapshots)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        as_of = parse_date(args.as_of, "--as-of") if args.as_of else datetime.now(UTC).date()
        result = refresh(settings, as_of=as_of, force_retrain=args.retrain, trigger="cli", observer=TqdmObserver(),
                         metrics=RecordingMetricsSink())
    except InsightError as exc:
        notes = "".join(f"\n  {n}" for n in getattr(exc, "__notes__", []))
        print(f"error: {exc}{notes}", file=sys.stderr)
        return 1
    print(format_summary(result))
    return 0


def rollback_command(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m insights rollback [VERSION] [--snapshots DIR]``: move ``latest`` back."""
    settings = settings.with_overrides(snapshots=args.snapshots)
    store = store_from_settings(settings)
    before = store.latest_version()
    try:
        after = store.rollback(args.version)
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        versions = store.versions()
        print("versions: " + (", ".join(versions) if versions else "(none)"), file=sys.stderr)
        return 1
    for v in store.versions():
        print(f"{'*' if v == after else ' '} {v}")
    print(f"latest: {before} -> {after}")
    return 0
