"""Helpers for the API tests: real API Gateway payloads (tests/events) adapted per request, and response readers."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[1] / "events"
SECRET = "test-secret-" + "k" * 40


class FakeContext:
    function_name = "demand-insights-api"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:demand-insights-api"
    aws_request_id = "0f6d2b8e-1111-4c3b-9a0e-6d5f4e3c2b1a"
    log_group_name = "/aws/lambda/demand-insights-api"
    log_stream_name = "2026/11/21/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def with_token(event: dict[str, Any], token: str | None) -> dict[str, Any]:
    """The event with its Authorization header set to ``Bearer token`` (removed when token is None)."""
    event = copy.deepcopy(event)
    for key in ("headers", "multiValueHeaders"):
        headers = event.get(key)
        if not headers:
            continue
        for name in [n for n in headers if n.lower() == "authorization"]:
            del headers[name]
        if token is not None:
            name = "authorization" if event.get("version") == "2.0" else "Authorization"
            headers[name] = f"Bearer {token}" if key == "headers" else [f"Bearer {token}"]
    return event


def v2(method: str, path: str, *, query: dict[str, str] | None = None, body: Any = None,
       token: str | None = None, raw_body: str | None = None) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event for any request, built on a captured AWS payload."""
    event = load_event("apigw_v2_post_forecast")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {path}"
    event["headers"].pop("x-correlation-id", None)
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    if query:
        event["queryStringParameters"] = dict(query)
    event.pop("body", None)
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    return with_token(event, token)


def v1(method: str, path: str, *, query: dict[str, str] | None = None, body: Any = None,
       token: str | None = None) -> dict[str, Any]:
    """A REST API (payload 1.0) event for any request, built on a captured AWS payload."""
    event = load_event("apigw_v1_post_clv")
    event["resource"] = event["path"] = event["requestContext"]["resourcePath"] = path
    event["requestContext"]["path"] = f"/prod{path}"
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    event["queryStringParameters"] = dict(query) if query else None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    event["body"] = None if body is None else json.dumps(body)
    return with_token(event, token)


def body_of(response: dict[str, Any]) -> Any:
    raw = response["body"]
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    return json.loads(raw)


def headers_of(response: dict[str, Any]) -> dict[str, str]:
    out = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    out.update({k.lower(): ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()})
    return out
