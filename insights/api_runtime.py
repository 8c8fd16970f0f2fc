"""What the API holds across warm invocations (settings, snapshot cache, authenticator) and its request helpers:
event-shape detection, correlation ids, auth before routing, and the one error body."""

from __future__ import annotations

import json
import re
import uuid
from contextvars import ContextVar
from typing import Any

from insights.api_snapshot import SnapshotCache, SnapshotSource, store_for
from insights.auth import (
    SCOPE_READ,
    Authenticator,
    AuthError,
    AuthNotConfigured,
    Principal,
    authenticator_from_settings,
)
from insights.config import Settings
from insights.snapshot import Snapshot

__all__ = ["ApiRuntime", "PREFIX", "PUBLIC_PATHS", "event_kind", "correlation_id", "error_response", "header",
           "request_path", "request_method", "CORRELATION_HEADER"]

PREFIX = "/demand-insights"
PUBLIC_PATHS = frozenset({f"{PREFIX}/health", f"{PREFIX}/openapi.json"})
CORRELATION_HEADER = "X-Correlation-Id"
_CID_RE = re.compile(r"^[A-Za-z0-9._:=+/\-]{8,128}$")


class ApiRuntime:
    """Settings, the snapshot cache and the authenticator of one warm container; ``configure`` swaps them."""

    def __init__(self, settings: Settings, *, store: SnapshotSource | None = None,
                 authenticator: Authenticator | None = None) -> None:
        self.configure(settings, store=store, authenticator=authenticator)
        self._principal: ContextVar[Principal | None] = ContextVar("principal", default=None)

    def configure(self, settings: Settings, *, store: SnapshotSource | None = None,
                  authenticator: Authenticator | None = None) -> None:
        self.settings = settings
        self.cache = SnapshotCache(store, recheck_s=settings.snapshot_recheck_s) if store is not None else \
            SnapshotCache(factory=lambda: store_for(settings), recheck_s=settings.snapshot_recheck_s)
        self._auth = authenticator
        self._auth_error: str | None = None

    @property
    def authenticator(self) -> Authenticator:
        if self._auth is None:
            self._auth = authenticator_from_settings(self.settings)
        return self._auth

    def snapshot(self) -> Snapshot:
        return self.cache.get()

    def principal(self) -> Principal | None:
        return self._principal.get()

    def authorize(self, event: dict[str, Any]) -> Principal | None:
        """Verify the bearer token of a protected path (raises AuthError / AuthNotConfigured); None when public."""
        self._principal.set(None)
        if request_path(event) in PUBLIC_PATHS:
            return None
        auth = self.authenticator
        principal = auth.authenticate(header(event, "authorization"))
        auth.require(principal, SCOPE_READ)
        self._principal.set(principal)
        return principal


def event_kind(event: Any) -> str:
    """"http" (API Gateway HTTP API / function URL, payload 2.0), "rest" (REST API, payload 1.0), "scheduled"
    (EventBridge rule or Scheduler), or "unknown"."""
    if not isinstance(event, dict):
        return "unknown"
    if event.get("version") == "2.0" and "requestContext" in event and "rawPath" in event:
        return "http"
    if "httpMethod" in event and "requestContext" in event and "path" in event:
        return "rest"
    if event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event":
        return "scheduled"
    if "requestContext" not in event and any(k in event for k in ("action", "as_of", "scheduled_time")):
        return "scheduled"  # EventBridge Scheduler delivers the target input as is: {"action": ..., "as_of": ...}
    return "unknown"


def request_path(event: dict[str, Any]) -> str:
    """The path the resolver routes on (for payload 2.0 Powertools drops a named stage's prefix; so do we)."""
    if event.get("version") == "2.0":
        path = str(event.get("rawPath") or "/")
        stage = (event.get("requestContext") or {}).get("stage", "$default")
        if stage != "$default":
            path = path[len("/" + str(stage)):]
    else:
        path = str(event.get("path") or "/")
    return path.rstrip("/") or "/"


def request_method(event: dict[str, Any]) -> str:
    if event.get("version") == "2.0":
        return str(event.get("requestContext", {}).get("http", {}).get("method", "")).upper()
    return str(event.get("httpMethod", "")).upper()


def header(event: dict[str, Any], name: str) -> str | None:
    """A request header, case-insensitively (payload 2.0 lowercases names, 1.0 keeps the client's case)."""
    headers = event.get("headers") or {}
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def declares_non_json_body(event: dict[str, Any]) -> bool:
    """True when a request with a body says it is not JSON (e.g. curl -d's form encoding): a 415, not a 422."""
    if not event.get("body") or request_method(event) not in ("POST", "PUT", "PATCH"):
        return False
    media_type = (header(event, "content-type") or "").split(";")[0].strip().lower()
    return bool(media_type) and media_type != "application/json" and not media_type.endswith("+json")


def correlation_id(event: dict[str, Any]) -> str:
    """The caller's X-Correlation-Id when well-formed, else API Gateway's request id, else a new uuid."""
    given = header(event, CORRELATION_HEADER)
    if given and _CID_RE.match(given):
        return given
    rid = (event.get("requestContext") or {}).get("requestId")
    return str(rid) if rid and _CID_RE.match(str(rid)) else uuid.uuid4().hex


def error_response(status: int, code: str, message: str, details: Any = None, *,
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A proxy-integration response with the API's one error body (valid for payload 1.0 and 2.0)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})},
        "body": json.dumps({"error": {"code": code, "message": message, "details": details}}),
        "isBase64Encoded": False,
    }


def auth_failure(exc: AuthError | AuthNotConfigured) -> dict[str, Any]:
    """401/403 with WWW-Authenticate for a token problem; 503 when the operator has configured no key material."""
    if isinstance(exc, AuthNotConfigured):
        return error_response(503, "auth_not_configured", "authentication is not configured on this deployment",
                              headers={"Retry-After": "60"})
    return error_response(exc.status, exc.code, exc.message,
                          headers={"WWW-Authenticate": exc.www_authenticate})


__all__ += ["auth_failure"]
