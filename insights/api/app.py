"""The API application: Powertools resolvers with the routes, the one mapping of errors to HTTP, and the gate.

``Api.handle(event, context)`` serves one API Gateway event (payload 2.0 through the HTTP resolver, 1.0
through the REST resolver: same routes, same answers). Every error the engine raises on purpose is an
InsightError carrying its status and code (insights/errors.py); it becomes the one error body here and only
here. Anything else is a bug: a 500 that names the correlation id, with the trace in the log only. Every code
this module can send is in insights/api/error_codes.py (and so in docs/api.md and the OpenAPI).

The edges, before the resolver: the token first (401/403 before anything describes the API), then the body's
size (413 over MAX_BODY_BYTES) and media type (415 unless JSON; any case, ``+json`` types too). The path's
trailing slashes are dropped, HEAD is answered by the GET route without the body, and a known path asked with
another method is a 405 naming the allowed ones.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.metrics import MetricUnit

from insights.api.auth import www_authenticate
from insights.api.events import (
    CORRELATION_HEADER,
    MAX_BODY_BYTES,
    as_routed,
    body_size,
    correlation_id,
    declares_non_json_body,
    error_response,
    payload_too_large,
    request_method,
    request_path,
)
from insights.api.routes import register_routes
from insights.api.runtime import ApiRuntime
from insights.errors import (
    AuthError,
    AuthNotConfigured,
    InsightError,
    InsufficientData,
    InvalidRequest,
    NotFound,
    SnapshotGone,
    SnapshotUnavailable,
)

__all__ = ["Api", "API_ERRORS"]

UNSUPPORTED_MEDIA = "send the body as application/json (Content-Type: application/json)"
INTERNAL = "internal error; quote the correlation id to the operator"
# The InsightErrors the request path raises on purpose, answered with their own status and code. Any other (an
# import, publish, configuration or data-access error) reaching the API is a bug: a 500 internal_error.
API_ERRORS: tuple[type[InsightError], ...] = (InvalidRequest, NotFound, InsufficientData, SnapshotUnavailable,
                                              AuthError, AuthNotConfigured)


class Api:
    """The two resolvers over one runtime, with their logger and metrics (the handler's)."""

    def __init__(self, runtime: ApiRuntime, *, logger: Logger, metrics: Metrics) -> None:
        self.runtime, self.logger, self.metrics = runtime, logger, metrics
        runtime.metric = lambda name, value: metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        self.routes: frozenset[tuple[str, str]] = frozenset()
        # set by the error handler when a route's snapshot version vanished under it (per thread: the local server)
        self._gone: ContextVar[bool] = ContextVar("snapshot_gone", default=False)
        self.http = self._build(APIGatewayHttpResolver(enable_validation=True))
        self.rest = self._build(APIGatewayRestResolver(enable_validation=True))

    def handle(self, event: dict[str, Any], context: Any, *, kind: str) -> dict[str, Any]:
        """Serve one API Gateway event (``kind`` "http" or "rest"); never raises."""
        started = time.perf_counter()
        cid = correlation_id(event)
        self.logger.set_correlation_id(cid)
        path, method = request_path(event), request_method(event)
        head = method == "HEAD" and self._template("GET", path) is not None  # a GET route's answer, no body
        template = self._template("GET" if head else method, path)
        route = f"{method} {template}" if template is not None else "unmatched"
        try:
            # The gate runs before the resolver, so a caller without a valid token learns nothing of the API:
            # it gets 401/403, never a 404 or a validation 422 describing the routes and their fields.
            self.runtime.authorize(event)
            resolver = self.http if kind == "http" else self.rest
            self._gone.set(False)
            response = self._refused(event) or resolver.resolve(as_routed(event, method="GET" if head else None),
                                                                context)
            if self._gone.get():  # the version was replaced under this request (an erasure): answer from latest, once
                self.logger.info("snapshot version replaced during the request, answering again")
                response = resolver.resolve(as_routed(event, method="GET" if head else None), context)
        except InsightError as exc:  # auth failures (the only InsightErrors raised outside the routes)
            response = self._error_dict(exc)
        except Exception:  # the resolver's own failure: still no trace to the client
            self.logger.exception("unhandled error outside the routes")
            response = error_response(500, "internal_error", INTERNAL)
        if method == "HEAD":
            _drop_body(response)
        _add_header(response, CORRELATION_HEADER, cid)
        self._measure(route, method, path, int(response.get("statusCode", 500)), started)
        return response

    @staticmethod
    def _refused(event: dict[str, Any]) -> dict[str, Any] | None:
        """The 413 or 415 for a body the routes must not parse; None for any other request."""
        size = body_size(event)
        if size > MAX_BODY_BYTES:
            return payload_too_large(size)
        if declares_non_json_body(event):  # curl -d sends a form: a 415 naming the fix, not an odd 422
            return error_response(415, "unsupported_media_type", UNSUPPORTED_MEDIA)
        return None

    def _template(self, method: str, path: str) -> str | None:
        """The registered path (``/customers/<customer_id>`` style) that ``method path`` routes to, else None."""
        if (method, path) in self.routes:
            return path
        parts = path.split("/")
        for m, p in self.routes:
            shape = p.split("/")
            if m == method and "<" in p and len(shape) == len(parts) and all(
                    a == b or (a.startswith("<") and b) for a, b in zip(shape, parts, strict=True)):
                return p
        return None

    def _allowed(self, path: str) -> list[str]:
        """The methods a known path answers (GET implies HEAD); empty for an unknown path."""
        methods = sorted(m for m in ("DELETE", "GET", "PATCH", "POST", "PUT") if self._template(m, path) is not None)
        return methods + ["HEAD"] if "GET" in methods else methods

    # -- errors: mapped once --
    def _error_dict(self, exc: InsightError) -> dict[str, Any]:
        headers: dict[str, str] = {}
        details: Any = {k: v for k, v in exc.details.items() if v is not None} or None
        if not isinstance(exc, API_ERRORS):
            self.logger.exception("an error of another process reached the API")
            return error_response(500, "internal_error", INTERNAL)
        if isinstance(exc, AuthError):
            self.logger.info("request rejected", extra={"status": exc.status, "reason": exc.code})
            headers["WWW-Authenticate"] = www_authenticate(exc)
        elif isinstance(exc, AuthNotConfigured):  # the operator's problem: the reason goes to the log only
            self.logger.error("authentication is not configured", extra={"reason": exc.message})
            return error_response(503, exc.code, "authentication is not configured on this deployment",
                                  headers={"Retry-After": "60"})
        elif isinstance(exc, SnapshotUnavailable):
            self.logger.warning("answered 503: no snapshot", extra={"reason": exc.details.get("reason")})
            headers["Retry-After"] = str(exc.details.get("retry_after_s", 60))
            details = {"reason": exc.details.get("reason")}
        elif exc.status >= 500:
            self.logger.exception("server-side error")
            return error_response(500, "internal_error", INTERNAL)
        return error_response(exc.status, exc.code, exc.message, details, headers=headers)

    def _build(self, app: ApiGatewayResolver) -> ApiGatewayResolver:
        self.routes = register_routes(app, self.runtime)

        def as_response(raw: dict[str, Any]) -> Response[str]:
            headers = {k: v for k, v in raw["headers"].items() if k != "Content-Type"}
            return Response(raw["statusCode"], "application/json", raw["body"], headers=headers)

        def _insight_error(exc: InsightError) -> Response[str]:
            if isinstance(exc, SnapshotGone):
                self._gone.set(True)
            return as_response(self._error_dict(exc))

        def _invalid(exc: RequestValidationError) -> Response[str]:
            if any(e.get("loc", ("",))[0] == "response" for e in exc.errors()):  # our answer broke its type: a bug
                where = [{"loc": e.get("loc"), "type": e.get("type")} for e in exc.errors()]
                self.logger.error("an answer does not match its response type", extra={"errors": where[:20]})
                return as_response(error_response(500, "internal_error", INTERNAL))
            errors = [_describe(e) for e in exc.errors()]
            if any(e["rule"] in ("json_invalid", "json_type") for e in errors):
                return as_response(error_response(400, "malformed_request", "the request body is not valid JSON",
                                                  errors))
            names = ", ".join(dict.fromkeys(e["field"] for e in errors))
            return as_response(error_response(422, "validation_error", f"invalid request: {names}", errors))

        def _unsupported(_exc: RequestUnsupportedContentType) -> Response[str]:
            return as_response(error_response(415, "unsupported_media_type", UNSUPPORTED_MEDIA))

        def _not_utf8(_exc: UnicodeDecodeError) -> Response[str]:  # a body (or its base64) that is not UTF-8 text
            return as_response(error_response(400, "malformed_request", "the request body is not UTF-8 text"))

        def _too_deep(_exc: RecursionError) -> Response[str]:  # json.loads on thousands of nested brackets
            return as_response(error_response(400, "malformed_request", "the request body is nested too deeply"))

        def _route_not_found(_exc: Exception) -> Response[str]:
            event = app.current_event.raw_event
            method, path = request_method(event), request_path(event)
            allowed = self._allowed(path)
            if allowed:
                return as_response(error_response(405, "method_not_allowed", f"{path} answers {', '.join(allowed)}, "
                                                  f"not {method}", {"allowed": allowed},
                                                  headers={"Allow": ", ".join(allowed)}))
            return as_response(error_response(404, "route_not_found", f"no route {method} {path}"))

        def _unexpected(_exc: Exception) -> Response[str]:
            self.logger.exception("unhandled error")  # the trace goes to the log only, never to the client
            return as_response(error_response(500, "internal_error", INTERNAL))

        # Powertools' decorators are untyped: registered by call, so the handlers stay type-checked
        handlers: dict[type[Exception], Callable[[Any], Response[str]]] = {
            InsightError: _insight_error, RequestValidationError: _invalid,
            RequestUnsupportedContentType: _unsupported, UnicodeDecodeError: _not_utf8, RecursionError: _too_deep,
            Exception: _unexpected}
        for exc_class, handler in handlers.items():
            app.exception_handler(exc_class)(handler)
        app.not_found(_route_not_found)
        return app

    def _measure(self, route: str, method: str, path: str, status: int, started: float) -> None:
        elapsed_ms = round((time.perf_counter() - started) * 1000.0, 3)
        self.metrics.add_dimension(name="route", value=route)
        self.metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
        self.metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        if status >= 400:
            self.metrics.add_metric(name="ServerErrors" if status >= 500 else "ClientErrors", unit=MetricUnit.Count,
                                    value=1)
        self.logger.info("request", extra={"route": route, "method": method, "path": path, "status": status,
                                           "latency_ms": elapsed_ms})


def _describe(err: Any) -> dict[str, Any]:
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


def _drop_body(response: dict[str, Any]) -> None:
    """A HEAD answer: the GET's status and headers, its length as Content-Length, no body."""
    body = response.get("body") or ""
    size = len(base64.b64decode(body)) if response.get("isBase64Encoded") else len(body.encode("utf-8"))
    response["body"], response["isBase64Encoded"] = "", False
    _add_header(response, "Content-Length", str(size))


def _add_header(response: dict[str, Any], name: str, value: str) -> None:
    multi = response.get("multiValueHeaders")
    if isinstance(multi, dict) and multi:
        multi[name] = [value]
    else:
        if response.get("headers") is None:
            response["headers"] = {}
        response["headers"][name] = value
