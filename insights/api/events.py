"""The API Gateway event as the API sees it: its kind, path, method, headers, correlation id, and the error body.

Both payload versions (HTTP API 2.0, REST API 1.0) and function URLs; no Powertools here, so the handler can tell
a scheduled event from a request without importing the web stack.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

__all__ = ["PREFIX", "DASHBOARD", "DASHBOARD_FILES", "PUBLIC_PATHS", "CORRELATION_HEADER", "MAX_BODY_BYTES",
           "event_kind", "request_path", "request_method", "header", "is_json_media_type", "declares_non_json_body",
           "body_size", "as_routed", "correlation_id", "error_response", "payload_too_large"]

PREFIX = "/demand-insights"
MAX_BODY_BYTES = 1 << 20  # 1 MiB: 1000 ids of 64 characters are ~70 KB; API Gateway's own limit is 10 MB
DASHBOARD = f"{PREFIX}/dashboard"
# The dashboard's page and its files (insights/api/static/): public, since the page itself holds no data and asks
# for a token; every answer it shows comes from the routes above with the user's bearer token.
DASHBOARD_FILES = ("dashboard.js", "views.js", "dashboard.css", "uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE")
PUBLIC_PATHS = frozenset({f"{PREFIX}/health", f"{PREFIX}/openapi.json", DASHBOARD,
                          *(f"{DASHBOARD}/{name}" for name in DASHBOARD_FILES)})
CORRELATION_HEADER = "X-Correlation-Id"
_CID_RE = re.compile(r"^[A-Za-z0-9._:=+/\-]{8,128}$")


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
    headers: dict[str, Any] = event.get("headers") or {}
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value if isinstance(value, str) else None
    return None


def is_json_media_type(content_type: str) -> bool:
    """application/json or any ``+json`` type, case-insensitively, whatever its parameters (charset...)."""
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def declares_non_json_body(event: dict[str, Any]) -> bool:
    """True when a request with a body says it is not JSON (e.g. curl -d's form encoding): a 415, not a 422."""
    if not event.get("body") or request_method(event) not in ("POST", "PUT", "PATCH"):
        return False
    content_type = header(event, "content-type") or ""
    return bool(content_type.strip()) and not is_json_media_type(content_type)


def body_size(event: dict[str, Any]) -> int:
    """The request body's size in bytes (decoded when API Gateway base64-encoded it)."""
    body = event.get("body")
    if not isinstance(body, str) or not body:
        return 0
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4 - body[-2:].count("=")
    return len(body) if body.isascii() else len(body.encode("utf-8", "surrogatepass"))


def as_routed(event: dict[str, Any], *, method: str | None = None) -> dict[str, Any]:
    """The event as the resolver should route it: trailing slashes dropped from the path, ``method`` instead of
    the request's (HEAD is served by the GET route), and a JSON media type spelled as Powertools matches it
    (``application/json``, case-sensitively). A shallow copy when anything changes; the event itself otherwise."""
    out = event
    path_key = "rawPath" if event.get("version") == "2.0" else "path"
    path = str(event.get(path_key) or "/")
    if len(path) > 1 and path.endswith("/"):
        out = {**out, path_key: path.rstrip("/") or "/"}
    if method is not None:
        if out.get("version") == "2.0":
            context = dict(out.get("requestContext") or {})
            context["http"] = {**(context.get("http") or {}), "method": method}
            out = {**out, "requestContext": context}
        else:
            out = {**out, "httpMethod": method}
    content_type = header(out, "content-type")
    if content_type and content_type != "application/json" and is_json_media_type(content_type):
        out = {**out, "headers": _with_json_type(out.get("headers") or {})}
        if out.get("multiValueHeaders"):
            out["multiValueHeaders"] = {k: (["application/json"] if k.lower() == "content-type" else v)
                                        for k, v in out["multiValueHeaders"].items()}
    return out


def _with_json_type(headers: dict[str, str]) -> dict[str, str]:
    return {k: ("application/json" if k.lower() == "content-type" else v) for k, v in headers.items()}


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


def payload_too_large(size: int) -> dict[str, Any]:
    """The 413 answer to a body over MAX_BODY_BYTES (the handler's and the local server's)."""
    return error_response(413, "payload_too_large",
                          f"the request body is {size:,} bytes; the limit is {MAX_BODY_BYTES:,} bytes (1 MiB)",
                          {"max_bytes": MAX_BODY_BYTES, "received_bytes": size})
