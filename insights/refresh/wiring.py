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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from athena.engine import DataAccessError, QueryEngine
from insights.config import Settings
from insights.errors import DataAccessFailed, InvalidRequest
from insights.refresh.customers import CustomerSide
from insights.refresh.pipeline import run_refresh
from insights.refresh.products import ProductSide
from insights.refresh.side import Side
from insights.refresh.stages import MetricsSink, Observer, RefreshPolicy, RefreshResult
from insights.snapshot.store import SnapshotStore
from insights.snapshot.stores import store_from_settings

__all__ = ["refresh", "run_scheduled", "parse_scheduled_event", "parse_date", "engine_from_settings",
           "sides_from_settings", "PowertoolsMetricsSink", "RecordingMetricsSink"]

ACTIONS = ("refresh", "retrain")


def parse_scheduled_event(event: Mapping[str, Any], *, today: date | None = None) -> tuple[str, date]:
    """(action, as_of) from an EventBridge rule event or an EventBridge Scheduler input.

    A rule event ({"detail-type": "Scheduled Event", "time": ..., "detail": {...}}) takes its options from
    ``detail`` and its default as_of from ``time`` (so a retried delivery computes the same day). A Scheduler
    input is the schedule's JSON as is: {"action": "refresh"|"retrain", "as_of": "YYYY-MM-DD"} and optionally
    "scheduled_time" (e.g. "<aws.scheduler.scheduled-time>"). Without either, as_of is today (UTC).
    """
    if not isinstance(event, Mapping):
        raise InvalidRequest("a scheduled event must be a JSON object")
    options: dict[str, Any] = {}
    when = None
    if event.get("detail-type") == "Scheduled Event" or event.get("source") == "aws.events":
        detail = event.get("detail")
        if isinstance(detail, Mapping):
            options.update(detail)
        when = event.get("time")
    options.update({k: event[k] for k in ("action", "as_of", "scheduled_time") if k in event})
    action = str(options.get("action") or "refresh")
    if action not in ACTIONS:
        raise InvalidRequest(f"unknown scheduled action {action!r}; expected one of {', '.join(ACTIONS)}")
    when = options.get("scheduled_time") or when
    if options.get("as_of"):
        as_of = parse_date(str(options["as_of"]), "as_of")
    elif when:
        as_of = parse_date(str(when)[:10], "time")
    else:
        as_of = today or datetime.now(UTC).date()
    return action, as_of


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
        return DuckDBEngine.over_lake(settings.lake)
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
    """The customer and product sides, configured from the settings."""
    return [CustomerSide.from_settings(settings), ProductSide.from_settings(settings)]


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
            metrics: MetricsSink | None = None, log: logging.Logger | Any = None) -> RefreshResult:
    """Run the refresh for ``as_of`` with the parts the settings name (or the ones given) and publish."""
    return run_refresh(currency=settings.currency or lake_currency(settings.lake) or "USD",
        engine=engine if engine is not None else engine_from_settings(settings),
        store=store if store is not None else store_from_settings(settings),
        sides=sides if sides is not None else sides_from_settings(settings),
        as_of=as_of, policy=RefreshPolicy.from_settings(settings), force_retrain=force_retrain, trigger=trigger,
        observer=observer, metrics=metrics, log=log)


def run_scheduled(event: dict[str, Any], settings: Settings, *, engine: QueryEngine | None = None,
                  store: SnapshotStore | None = None, sides: Sequence[Side] | None = None,
                  metrics: MetricsSink | None = None, today: date | None = None) -> dict[str, Any]:
    """Run the refresh for a scheduled event; returns a JSON summary, raises (so the Lambda errors) on failure."""
    from aws_lambda_powertools import Logger

    action, as_of = parse_scheduled_event(event, today=today)
    # the handler's service name (POWERTOOLS_SERVICE_NAME): Powertools then shares its configured logger
    log = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "demand-insights-refresh",
                 level=settings.log_level)
    log.info("scheduled refresh", extra={"action": action, "as_of": as_of.isoformat()})
    result = refresh(settings, as_of=as_of, force_retrain=action == "retrain", trigger=f"schedule:{action}",
                     engine=engine, store=store, sides=sides, log=log,
                     metrics=metrics if metrics is not None else PowertoolsMetricsSink(
                         namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "DemandInsights",
                         service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "demand-insights-refresh"))
    return result.summary()
