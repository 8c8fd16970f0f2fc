"""The refresh's wiring: the parts built from settings, and :func:`refresh`, which both entry points call.

``run_scheduled`` (the Lambda's scheduled events) and the CLI's ``refresh`` command build nothing themselves:
:func:`refresh` takes the query engine (Athena when INSIGHTS_LAKE is s3://..., DuckDB over the folder
otherwise), the snapshot store and the customer and product sides from the settings unless given, and runs
insights/refresh/pipeline.py. docs/refresh.md has the event payloads, the stages and the failure behaviour.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from athena.engine import DataAccessError, QueryEngine
from insights.config import Settings
from insights.errors import DataAccessFailed, InvalidRequest
from insights.refresh.customers import CustomerSide
from insights.refresh.pipeline import run_refresh
from insights.refresh.products import ProductSide
from insights.refresh.recommendations import RecommendationSide
from insights.refresh.side import Side
from insights.refresh.stages import MetricsSink, Observer, RefreshPolicy, RefreshResult
from insights.snapshot.store import SnapshotStore
from insights.snapshot.stores import store_from_settings

__all__ = ["refresh", "run_scheduled", "parse_scheduled_event", "read_scheduled_event", "ScheduledRun",
           "parse_date", "engine_from_settings", "sides_from_settings", "utc_now", "PowertoolsMetricsSink",
           "RecordingMetricsSink"]

ACTIONS = ("refresh", "retrain")


def utc_now() -> datetime:
    """The clock the scheduled entry point compares event times with (tests replace it)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ScheduledRun:
    """What a scheduled event asks for: the action, the as_of, and how the run may move ``latest``.

    ``skew_days`` is how far the event's own time (a rule event's ``time``, a Scheduler input's
    ``scheduled_time``) is from now; ``backfill`` says the run publishes for audit and never moves ``latest``.
    """

    action: str
    as_of: date
    make_latest: bool = False
    event_time: datetime | None = None
    skew_days: float | None = None
    backfill: bool = False

    @property
    def move_latest(self) -> str:
        return "never" if self.backfill else "always" if self.make_latest else "forward"


def read_scheduled_event(event: Mapping[str, Any], *, now: datetime | None = None,
                         max_skew_days: float | None = None) -> ScheduledRun:
    """The :class:`ScheduledRun` of an EventBridge rule event or an EventBridge Scheduler input.

    A rule event ({"detail-type": "Scheduled Event", "time": ..., "detail": {...}}) takes its options from
    ``detail`` and its default as_of from ``time`` (so a retried delivery computes the same day). A Scheduler
    input is the schedule's JSON as is: {"action": "refresh"|"retrain", "as_of": "YYYY-MM-DD"} and optionally
    "scheduled_time" (e.g. "<aws.scheduler.scheduled-time>") and "make_latest": true (move ``latest`` even to
    an older as_of: an operator's explicit choice). Without either, as_of is today (UTC). An event whose time
    is more than ``max_skew_days`` from ``now`` (a replayed, redriven or misconfigured event) is a backfill.
    """
    if not isinstance(event, Mapping):
        raise InvalidRequest("a scheduled event must be a JSON object")
    now = now or utc_now()
    options: dict[str, Any] = {}
    when = None
    if event.get("detail-type") == "Scheduled Event" or event.get("source") == "aws.events":
        detail = event.get("detail")
        if isinstance(detail, Mapping):
            options.update(detail)
        when = event.get("time")
    options.update({k: event[k] for k in ("action", "as_of", "scheduled_time", "make_latest") if k in event})
    action = str(options.get("action") or "refresh")
    if action not in ACTIONS:
        raise InvalidRequest(f"unknown scheduled action {action!r}; expected one of {', '.join(ACTIONS)}")
    make_latest = options.get("make_latest", False)
    if not isinstance(make_latest, bool):
        raise InvalidRequest(f"make_latest must be true or false, not {make_latest!r}")
    when = options.get("scheduled_time") or when
    event_time = _parse_time(str(when)) if when else None
    if options.get("as_of"):
        as_of = parse_date(str(options["as_of"]), "as_of")
    elif event_time is not None:
        as_of = event_time.date()
    else:
        as_of = now.date()
    skew = None if event_time is None else abs((now - event_time).total_seconds()) / 86400.0
    backfill = skew is not None and max_skew_days is not None and skew > max_skew_days
    return ScheduledRun(action, as_of, make_latest and not backfill, event_time, skew, backfill)


def parse_scheduled_event(event: Mapping[str, Any], *, today: date | None = None) -> tuple[str, date]:
    """(action, as_of) from an EventBridge rule event or an EventBridge Scheduler input (see read_scheduled_event)."""
    now = datetime(today.year, today.month, today.day, tzinfo=UTC) if today else None
    run = read_scheduled_event(event, now=now)
    return run.action, run.as_of


def _parse_time(text: str) -> datetime:
    """An event time: ISO 8601 with a zone ("2026-11-21T04:00:00Z") or a bare date (midnight UTC)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"time {text!r} is not an ISO 8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_date(text: str, what: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{what} {text!r} is not a date YYYY-MM-DD") from None


def engine_from_settings(settings: Settings) -> QueryEngine:
    """Athena when the lake is on S3, DuckDB over the folder otherwise."""
    if str(settings.lake).startswith("s3://"):
        from athena.athena_engine import AthenaEngine

        return AthenaEngine.from_settings(settings)
    from athena.duckdb_engine import DuckDBEngine  # local only: duckdb is not in the Lambda package

    try:
        return DuckDBEngine.over_lake(settings.lake, memory_limit=settings.duckdb_memory_limit or None)
    except DataAccessError as exc:  # no lake there, or an unreadable file in it
        raise DataAccessFailed(str(exc), reason=exc.reason) from exc


def lake_currency(lake: str) -> str | None:
    """The currency an import recorded for a local lake (its _import_report.json), if any."""
    report = Path(lake) / "_import_report.json"
    if str(lake).startswith("s3://") or not report.is_file():
        return None
    try:
        value = json.loads(report.read_text()).get("currency")
    except (OSError, ValueError):
        return None
    return str(value).upper() if value else None


def sides_from_settings(settings: Settings) -> list[Side]:
    """The customer, product and recommendation sides, configured from the settings."""
    return [CustomerSide.from_settings(settings), ProductSide.from_settings(settings),
            RecommendationSide.from_settings(settings)]


class RecordingMetricsSink:
    """Keeps metrics in memory (the CLI and tests): ``records`` is a list of (name, value, unit, dimensions)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, float, str, dict[str, str]]] = []

    def emit(self, name: str, value: float, unit: str, dimensions: Mapping[str, str]) -> None:
        self.records.append((name, value, unit, dict(dimensions)))


class PowertoolsMetricsSink:
    """CloudWatch metrics in namespace DemandInsights through Powertools' EMF, one line per metric."""

    def __init__(self, namespace: str = "DemandInsights", service: str = "demand-insights-refresh") -> None:
        self.namespace, self.service = namespace, service

    def emit(self, name: str, value: float, unit: str, dimensions: Mapping[str, str]) -> None:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        metric_unit = MetricUnit.NoUnit if unit == "None" else MetricUnit[unit]
        with single_metric(name=name, unit=metric_unit, value=float(value), namespace=self.namespace,
                           default_dimensions={"service": self.service}) as metric:
            for key, val in dimensions.items():
                metric.add_dimension(name=key, value=str(val))


def refresh(settings: Settings, *, as_of: date, force_retrain: bool = False, trigger: str = "manual",
            engine: QueryEngine | None = None, store: SnapshotStore | None = None,
            sides: Sequence[Side] | None = None, observer: Observer | None = None,
            metrics: MetricsSink | None = None, log: logging.Logger | Any = None,
            move_latest: str = "forward", shards: int | None = None, workers: int = 1) -> RefreshResult:
    """Run the refresh for ``as_of`` with the parts the settings name (or the ones given) and publish.

    ``move_latest`` (SnapshotStore.publish): "forward" moves ``latest`` only to an as_of at least the live
    one's; "always" is the operator's explicit override (``--make-latest``); "never" publishes for audit only.
    ``shards``: run the sharded refresh (insights/refresh/sharded.py) with that many shards, scored by
    ``workers`` processes; the same content as the single run.
    """
    from insights.refresh.privacy import after_refresh, before_refresh

    store = store if store is not None else store_from_settings(settings)
    privacy = before_refresh(settings, store)  # erasure requests and lake retention come before the extract
    parts: dict[str, Any] = dict(
        currency=settings.currency or lake_currency(settings.lake) or "USD",
        engine=engine if engine is not None else engine_from_settings(settings), store=store,
        sides=sides if sides is not None else sides_from_settings(settings),
        as_of=as_of, policy=RefreshPolicy.from_settings(settings), force_retrain=force_retrain, trigger=trigger,
        observer=observer, metrics=metrics, log=log, move_latest=move_latest)
    if shards is None:
        result = run_refresh(**parts)
    else:
        from insights.refresh.shard_local import run_sharded_refresh
        from insights.refresh.shard_work import default_work_root

        result = run_sharded_refresh(shards=shards, workers=workers, train_rows=settings.shard_train_rows,
                                     work_root=settings.shard_work or default_work_root(settings.snapshots), **parts)
    purged = after_refresh(settings, store)  # snapshot versions (and score partitions) past their age
    result.privacy = {**privacy, **({"purged_versions": purged} if purged else {})}
    return result


def run_scheduled(event: dict[str, Any], settings: Settings, *, engine: QueryEngine | None = None,
                  store: SnapshotStore | None = None, sides: Sequence[Side] | None = None,
                  metrics: MetricsSink | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Run the refresh for a scheduled event; returns a JSON summary, raises (so the Lambda errors) on failure.

    An event whose time is more than ``settings.max_event_skew_days`` from now is logged as a warning and run
    as a backfill: its version is published for audit and ``latest`` does not move.
    """
    from aws_lambda_powertools import Logger

    run = read_scheduled_event(event, now=now, max_skew_days=settings.max_event_skew_days)
    # the handler's service name (POWERTOOLS_SERVICE_NAME): Powertools then shares its configured logger
    log = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "demand-insights-refresh",
                 level=settings.log_level)
    fields = {"action": run.action, "as_of": run.as_of.isoformat(), "move_latest": run.move_latest,
              "event_time": run.event_time.isoformat() if run.event_time else None,
              "skew_days": None if run.skew_days is None else round(run.skew_days, 2)}
    if run.backfill:
        log.warning(f"scheduled event time {run.event_time:%Y-%m-%dT%H:%M:%SZ} is {run.skew_days:.1f} days from now "
                    f"(more than {settings.max_event_skew_days}): a replayed or misconfigured event, run as a "
                    "backfill that does not move latest", extra=fields)
    else:
        log.info("scheduled refresh", extra=fields)
    result = refresh(settings, as_of=run.as_of, force_retrain=run.action == "retrain",
                     trigger=f"schedule:{run.action}" + (":backfill" if run.backfill else ""),
                     engine=engine, store=store, sides=sides, log=log, move_latest=run.move_latest,
                     metrics=metrics if metrics is not None else PowertoolsMetricsSink(
                         namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "DemandInsights",
                         service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "demand-insights-refresh"))
    if not result.moved:
        log.warning(result.latest_note(), extra={**fields, "version": result.version, "latest": result.latest})
    return result.summary()
