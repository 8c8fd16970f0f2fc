"""``python -m insights serve``: the real ``handler.lambda_handler`` over HTTP on 127.0.0.1.

A small stdlib adapter turns each HTTP request into an API Gateway HTTP API (payload 2.0) event and the handler's
proxy response back into HTTP. Requests are handled one at a time through the handler (like one warm Lambda
container); connections are accepted concurrently.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["make_server", "http_to_event", "LocalContext", "MAX_BODY_BYTES"]

MAX_BODY_BYTES = 1 << 20  # API Gateway's own limit is 10 MB; nothing here needs more than a few KB
_TEXT_TYPES = ("application/json", "text/", "application/xml")


class LocalContext:
    """The attributes of a Lambda context that Powertools reads."""

    function_name = "demand-insights-api-local"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:demand-insights-api-local"
    log_group_name = "/aws/lambda/demand-insights-api-local"
    log_stream_name = "local"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 30.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def http_to_event(method: str, target: str, headers: list[tuple[str, str]], body: bytes, *, client_ip: str,
                  host: str) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event for one HTTP request (as AWS shapes it)."""
    parts = urlsplit(target)
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    query: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        query[k] = f"{query[k]},{v}" if k in query else v
    content_type = merged.get("content-type", "")
    is_text = not body or content_type.startswith(_TEXT_TYPES)
    if is_text:
        try:
            text_body: str | None = body.decode("utf-8") if body else None
        except UnicodeDecodeError:
            is_text = False
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": merged,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {"method": method.upper(), "path": parts.path or "/", "protocol": "HTTP/1.1",
                     "sourceIp": client_ip, "userAgent": merged.get("user-agent", "")},
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body:
        event["body"] = text_body if is_text else base64.b64encode(body).decode("ascii")
    return event


def make_server(host: str, port: int, invoke: Callable[[dict[str, Any], Any], dict[str, Any]], *,
                access_log: Callable[[str], None] | None = None) -> ThreadingHTTPServer:
    """An HTTP server that answers every request with ``invoke(event, context)`` (serialized by a lock).

    ``access_log`` receives one line per request: ``HH:MM:SS METHOD /path?query STATUS 1.2 ms``.
    """
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: without it, 40 ms delayed-ACK stalls
        def version_string(self) -> str:
            return "demand-insights-local"

        def _handle(self) -> None:
            self._started = time.perf_counter()
            length = self.headers.get("Content-Length")
            try:
                size = int(length) if length else 0
            except ValueError:
                size = -1
            if size < 0 or size > MAX_BODY_BYTES:
                self._reply(413 if size > 0 else 400, {"Content-Type": "application/json"},
                            json.dumps({"error": {"code": "bad_request_body", "message": "invalid Content-Length",
                                                  "details": {"max_bytes": MAX_BODY_BYTES}}}).encode())
                self.close_connection = True
                return
            body = self.rfile.read(size) if size else b""
            event = http_to_event(self.command, self.path, list(self.headers.items()), body,
                                  client_ip=self.client_address[0], host=self.headers.get("Host", "127.0.0.1"))
            with lock:
                result = invoke(event, LocalContext())
            headers = dict(result.get("headers") or {})
            for name, values in (result.get("multiValueHeaders") or {}).items():
                headers[name] = ", ".join(values)
            raw = result.get("body") or ""
            payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
            self._reply(int(result.get("statusCode", 500)), headers, payload, result.get("cookies") or [])

        def _reply(self, status: int, headers: dict[str, str], payload: bytes, cookies: list[str] = ()) -> None:
            if access_log is not None:
                took = (time.perf_counter() - self._started) * 1000.0
                path = "".join(c if c.isprintable() else "?" for c in self.path[:300])  # no terminal escapes
                access_log(f"{datetime.now():%H:%M:%S} {self.command} {path} {status} {took:.1f} ms")
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, str(value))
            for cookie in cookies:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_TRACE = _handle

        def __getattr__(self, name: str) -> Any:  # any other method (QUERY, PROPFIND...): the handler answers 404
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:  # the handler's structured log says it all
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
