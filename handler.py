"""Lambda entry point: API Gateway events (HTTP API payload 2.0, REST API 1.0) -> the API; scheduled events -> refresh.

Thin on purpose: build the resolvers, map errors once, dispatch on the event's shape. No ML library is imported
here or on the request path (the refresh is imported only in the scheduled branch).
"""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.metrics import MetricUnit

from insights.api_routes import ROUTES, register_routes
from insights.api_runtime import (
    CORRELATION_HEADER,
    ApiRuntime,
    auth_failure,
    correlation_id,
    declares_non_json_body,
    error_response,
    event_kind,
    request_method,
    request_path,
)
from insights.auth import AuthError, AuthNotConfigured
from insights.config import Settings, load_settings
from insights.errors import InsightError, SnapshotUnavailable

__all__ = ["lambda_handler", "configure", "http_app", "rest_app", "runtime"]

# Powertools' own variables (set by Terraform) name the service and namespace; these are the local defaults.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "demand-insights-api"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "DemandInsights", service=SERVICE)


def _tracer() -> Any:
    """X-Ray only inside Lambda: the SDK (and botocore with it) costs ~0.3 s of import a laptop never needs."""
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # set by the Lambda runtime, not a setting
        return None
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true"):  # tracing off: skip the import
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


tracer = _tracer()
runtime = ApiRuntime(load_settings())
logger.setLevel(runtime.settings.log_level)


def _error(status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
           ) -> Response:
    raw = error_response(status, code, message, details, headers=headers)  # the same body as pre-routing errors
    return Response(status_code=status, content_type="application/json", body=raw["body"],
                    headers={k: v for k, v in raw["headers"].items() if k != "Content-Type"})


def _build(resolver_cls: type) -> Any:
    app = resolver_cls(enable_validation=True)
    register_routes(app, runtime)

    @app.exception_handler(SnapshotUnavailable)
    def _no_snapshot(exc: SnapshotUnavailable) -> Response:
        retry = str(exc.details.get("retry_after_s", 60))
        logger.warning("answered 503: no snapshot", extra={"reason": exc.details.get("reason")})
        return _error(503, exc.code, exc.message, {"reason": exc.details.get("reason")}, {"Retry-After": retry})

    @app.exception_handler(InsightError)
    def _insight_error(exc: InsightError) -> Response:
        status = exc.status if exc.status in (404, 422) else 500
        return _error(status, exc.code, exc.message, {k: v for k, v in exc.details.items() if v is not None})

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        errors = [_describe(e) for e in exc.errors()]
        if any(e["rule"] in ("json_invalid", "json_type") for e in errors):
            return _error(400, "malformed_request", "the request body is not valid JSON", errors)
        names = ", ".join(dict.fromkeys(e["field"] for e in errors))
        return _error(422, "validation_error", f"invalid request: {names}", errors)

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(exc: RequestUnsupportedContentType) -> Response:
        return _error(415, "unsupported_media_type", "send the body as application/json")

    @app.exception_handler(RecursionError)
    def _too_deep(_exc: RecursionError) -> Response:  # json.loads on thousands of nested brackets
        return _error(400, "malformed_request", "the request body is nested too deeply")

    @app.exception_handler(ValueError)
    def _bad_value(exc: ValueError) -> Response:
        return _error(422, "invalid_value", str(exc))

    @app.not_found
    def _route_not_found(_exc: Exception) -> Response:
        return _error(404, "route_not_found", f"no route {request_method(app.current_event.raw_event)} "
                                              f"{request_path(app.current_event.raw_event)}")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")  # the trace goes to the log only, never to the client
        return _error(500, "internal_error", "internal error; quote the correlation id to the operator")

    return app


def _describe(err: dict[str, Any]) -> dict[str, Any]:
    """A validation error as {field, rule, message[, limit]}: never the input value (it may be large or secret)."""
    loc = [str(p) for p in err.get("loc", ())]
    field = ".".join(loc[1:] if loc and loc[0] in ("body", "query") else loc) or "body"
    if err.get("type") == "json_invalid":
        field = "body"  # pydantic's loc is a character offset here
    out = {"field": field, "in": loc[0] if loc else "body", "rule": err.get("type", "invalid"),
           "message": err.get("msg", "invalid value")}
    ctx = err.get("ctx") or {}
    limits = {k: ctx[k] for k in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern") if k in ctx}
    if limits:
        out["limit"] = {k: (v if isinstance(v, int | float | str) else str(v)) for k, v in limits.items()}
    return out


http_app = _build(APIGatewayHttpResolver)
rest_app = _build(APIGatewayRestResolver)


def configure(settings: Settings, **kwargs: Any) -> None:
    """Swap the settings (and optionally the snapshot store or authenticator): the local server and tests."""
    runtime.configure(settings, **kwargs)
    logger.setLevel(settings.log_level)


@metrics.log_metrics(capture_cold_start_metric=True)
def _dispatch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    kind = event_kind(event)
    if kind == "scheduled":
        from insights.refresh import run_scheduled  # imports the ML stack: only on the refresh function's path

        metrics.add_metric(name="ScheduledEvents", unit=MetricUnit.Count, value=1)
        return run_scheduled(event, runtime.settings)
    if kind == "unknown":
        metrics.add_metric(name="UnsupportedEvents", unit=MetricUnit.Count, value=1)
        logger.error("unsupported event shape", extra={"keys": sorted(event)[:20] if isinstance(event, dict) else []})
        raise ValueError("unsupported event: expected API Gateway (payload 1.0 or 2.0) or a scheduled event")
    return _serve(event, context, http_app if kind == "http" else rest_app)


if tracer is not None:
    _dispatch = tracer.capture_lambda_handler(capture_response=False)(_dispatch)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: API Gateway (payload 1.0 or 2.0) -> the API; scheduled events -> the refresh."""
    return _dispatch(event, context)


def _serve(event: dict[str, Any], context: Any, app: Any) -> dict[str, Any]:
    started = time.perf_counter()
    cid = correlation_id(event)
    logger.set_correlation_id(cid)
    path, method = request_path(event), request_method(event)
    route = f"{method} {path}" if (method, path) in ROUTES else "unmatched"
    try:
        runtime.authorize(event)
        if declares_non_json_body(event):
            response = error_response(415, "unsupported_media_type",
                                      "send the body as application/json (Content-Type: application/json)")
        else:
            response = app.resolve(event, context)
    except (AuthError, AuthNotConfigured) as exc:
        if isinstance(exc, AuthNotConfigured):
            logger.error("authentication is not configured", extra={"reason": str(exc)})
        else:
            logger.info("request rejected", extra={"status": exc.status, "reason": exc.code})
        response = auth_failure(exc)
    except Exception:  # the resolver's own failure: still no trace to the client
        logger.exception("unhandled error outside the routes")
        response = error_response(500, "internal_error", "internal error; quote the correlation id to the operator")
    _add_header(response, CORRELATION_HEADER, cid)
    status = int(response.get("statusCode", 500))
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    metrics.add_dimension(name="route", value=route)
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=round(elapsed_ms, 3))
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if status >= 400:
        metrics.add_metric(name="ServerErrors" if status >= 500 else "ClientErrors", unit=MetricUnit.Count, value=1)
    logger.info("request", extra={"route": route, "method": method, "path": path, "status": status,
                                  "latency_ms": round(elapsed_ms, 3)})
    return response


def _add_header(response: dict[str, Any], name: str, value: str) -> None:
    multi = response.get("multiValueHeaders")
    if isinstance(multi, dict) and multi:
        multi[name] = [value]
    else:
        response.setdefault("headers", {})
        if response["headers"] is None:
            response["headers"] = {}
        response["headers"][name] = value
