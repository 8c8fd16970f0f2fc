"""The Lambda entry point: API Gateway events -> insights.api, scheduled events and the sharded refresh's
steps (``{"refresh_step": ...}``) -> insights.refresh.

It wires and dispatches, nothing else. The API function's package holds no ML library; the refresh is
imported only in the scheduled branch, so a request never pays for it (a test checks the import time).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from insights.api.app import Api
from insights.api.events import event_kind
from insights.api.runtime import ApiRuntime
from insights.config import Settings, load_settings

__all__ = ["lambda_handler", "configure", "api", "runtime", "tracer"]

# Powertools' own variables (set by Terraform) name the service and namespace; these are the local defaults.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "demand-insights-api"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "DemandInsights", service=SERVICE)
runtime = ApiRuntime(load_settings())
logger.setLevel(runtime.settings.log_level)
api = Api(runtime, logger=logger, metrics=metrics)


def configure(settings: Settings, **kwargs: Any) -> None:
    """Swap the settings (and optionally the snapshot store or authenticator): the local server and tests."""
    runtime.configure(settings, **kwargs)
    logger.setLevel(settings.log_level)


@metrics.log_metrics(capture_cold_start_metric=True)
def _dispatch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if isinstance(event, dict) and "refresh_step" in event:  # a task of the sharded refresh's state machine
        from insights.refresh.shard_lambda import run_step

        metrics.add_metric(name="RefreshSteps", unit=MetricUnit.Count, value=1)
        return run_step(event, runtime.settings)
    kind = event_kind(event)
    if kind in ("http", "rest"):
        return api.handle(event, context, kind=kind)
    if kind == "scheduled":
        from insights.refresh.wiring import run_scheduled  # the ML stack: only on the refresh function's path

        metrics.add_metric(name="ScheduledEvents", unit=MetricUnit.Count, value=1)
        return run_scheduled(event, runtime.settings)
    metrics.add_metric(name="UnsupportedEvents", unit=MetricUnit.Count, value=1)
    logger.error("unsupported event shape", extra={"keys": sorted(event)[:20] if isinstance(event, dict) else []})
    raise ValueError("unsupported event: expected API Gateway (payload 1.0 or 2.0) or a scheduled event")


# X-Ray only inside Lambda with tracing on: the SDK (and botocore) costs ~0.3 s of import a laptop never needs.
tracer = None
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() not in (
        "1", "true"):
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=SERVICE)
    _dispatch = tracer.capture_lambda_handler(capture_response=False)(_dispatch)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: API Gateway (payload 1.0 or 2.0) -> the API; scheduled events -> the refresh."""
    return _dispatch(event, context)
