"""``python -m insights refresh | rollback``: the daily refresh on the local lake, and moving ``latest`` back."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from insights.cli.hints import fail, insights_command, located, location_flags, missing_lake_message
from insights.config import Settings
from insights.errors import ConfigError, InsightError, InsufficientData, InvalidRequest, NotFound
from insights.refresh.stages import RefreshResult, StageReport
from insights.snapshot.stores import store_from_settings

__all__ = ["refresh_command", "rollback_command", "format_summary", "TqdmObserver", "STALE_LAKE_DAYS"]

STALE_LAKE_DAYS = 30  # days without orders before as_of: a warning with --as-of, an error for "as of today"


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
    if result.moved:
        lines.append(f"snapshot {result.version} (as_of {result.as_of}); latest -> {result.latest}")
    else:
        lines.append(f"snapshot {result.version} (as_of {result.as_of}): {result.latest_note()}")
    return "\n".join(lines)


def refresh_command(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m insights refresh [--workspace NAME] [--as-of DATE] [--make-latest] [--retrain] [--shards N]``."""
    settings = located(args, settings)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        # the pipeline's log says what the table (or the one error line) says: keep the terminal to those
        logging.getLogger("insights.refresh").setLevel(logging.CRITICAL)
    from insights.refresh.wiring import RecordingMetricsSink, parse_date, refresh  # the ML stack: only here

    today = datetime.now(UTC).date()
    try:
        as_of = parse_date(args.as_of, "--as-of") if args.as_of else today
    except InsightError as exc:
        return fail(exc.message)
    if "://" not in settings.lake and not Path(settings.lake).is_dir():
        return fail(missing_lake_message(settings))
    if not args.as_of and "://" not in settings.lake:
        stale = _stale_lake(settings, today)
        if stale:
            return fail(stale)
    move = "always" if args.make_latest else "forward"
    if as_of > today + timedelta(days=settings.max_event_skew_days) and not args.make_latest:
        move = "never"  # a future as_of would hold latest against every daily run until that day
        print(f"note: as_of {as_of} is in the future: published for audit only (--make-latest to serve it)",
              file=sys.stderr)
    observer = TqdmObserver() if sys.stderr.isatty() else None
    try:
        result = refresh(settings, as_of=as_of, force_retrain=args.retrain, trigger="cli", observer=observer,
                         metrics=RecordingMetricsSink(), move_latest=move, shards=getattr(args, "shards", None),
                         workers=getattr(args, "workers", 1))
    except InsightError as exc:
        return _refresh_failed(exc, settings, as_of)
    print(format_summary(result))
    where = location_flags(settings)
    if not result.moved and result.latest is not None:
        rollback = insights_command("rollback", result.version, location_flags(settings, lake=False))
        print(f"to serve it anyway: `{rollback}` (or refresh with --make-latest)")
    last = str(result.manifest.get("lake", {}).get("last_date") or "")[:10]
    if len(last) == 10 and (as_of - date.fromisoformat(last)).days - 1 > STALE_LAKE_DAYS:
        end = date.fromisoformat(last) + timedelta(days=1)
        print(f"warning: the lake ends {last}, {(as_of - end).days:,} days before as_of {as_of}: forecasts start after "
              f"that gap and every customer looks lapsed; to refresh as of its end: "
              f"`{insights_command('refresh', where, f'--as-of {end}')}`", file=sys.stderr)
    return 0


def _refresh_failed(exc: InsightError, settings: Settings, as_of: date) -> int:
    """One line: what failed, what stayed live, and (when as_of misses the lake's dates) the way out."""
    notes = [n for n in getattr(exc, "__notes__", []) if "nothing was published" in n]
    kept = f"; {notes[0].split('; ', 1)[-1]}" if notes else ""
    hint = ""
    span = _lake_span(settings) if isinstance(exc, InsufficientData) else None
    if span is not None:
        first, last = span
        refresh = insights_command("refresh", location_flags(settings), f"--as-of {last + timedelta(days=1)}")
        if as_of <= first:
            hint = f"; the lake at {settings.lake} starts {first}: refresh as of a later day, e.g. `{refresh}`"
        elif (as_of - last).days > STALE_LAKE_DAYS:
            hint = f"; the lake at {settings.lake} ends {last}: refresh as of its end with `{refresh}`"
    user_error = isinstance(exc, InsufficientData | InvalidRequest | ConfigError)
    return fail(f"{exc.message}{kept}{hint}", 2 if user_error else 1)


def _stale_lake(settings: Settings, today: date) -> str | None:
    """Why a refresh as of today would be meaningless on this lake (it ended long ago), or None."""
    span = _lake_span(settings)
    if span is None or (today - span[1]).days - 1 <= STALE_LAKE_DAYS:
        return None
    end = span[1] + timedelta(days=1)
    refresh = insights_command("refresh", location_flags(settings), f"--as-of {end}")
    fresh = ""
    if (Path(settings.lake) / "_truth").is_dir():  # a synthetic sample: a new one ends yesterday
        sample = insights_command("sample", location_flags(settings, snapshots=False))
        fresh = f", or make a fresh sample with `{sample}`"
    return (f"the lake at {settings.lake} ends {span[1]}, {(today - end).days:,} days before today: a refresh as of "
            f"today would see no recent orders (every customer lapsed, forecasts after a gap); refresh as of its "
            f"end with `{refresh}`{fresh}")


def _lake_span(settings: Settings) -> tuple[date, date] | None:
    """The first and last order dates in the lake, or None when it cannot be read."""
    from insights.refresh.wiring import engine_from_settings

    try:
        row = engine_from_settings(settings).query("lake_summary", {"cutoff": "9999-12-31"}).iloc[0]
        return date.fromisoformat(str(row["first_date"])[:10]), date.fromisoformat(str(row["last_date"])[:10])
    except Exception:  # noqa: BLE001 - only a hint: the error line is printed either way
        return None


def rollback_command(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m insights rollback [VERSION] [--workspace NAME]``: move ``latest`` back."""
    settings = located(args, settings)
    store = store_from_settings(settings)
    before = store.latest_version()
    try:
        after = store.rollback(args.version)
    except NotFound as exc:
        versions = store.versions()
        return fail(f"{exc.message}; versions: {', '.join(versions) if versions else '(none)'}")
    for v in store.versions():
        print(f"{'*' if v == after else ' '} {v}  (as_of {store.as_of(v)})")
    print(f"latest: {before} -> {after}")
    return 0
