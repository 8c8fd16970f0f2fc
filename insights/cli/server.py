"""``python -m insights serve``: the real ``handler.lambda_handler`` over HTTP on 127.0.0.1.

A small stdlib adapter turns each HTTP request into an API Gateway HTTP API (payload 2.0) event and the handler's
proxy response back into HTTP. Requests are handled one at a time through the handler (like one warm Lambda
container); connections are accepted concurrently.

Like API Gateway it refuses a body over the limit itself (the API's MAX_BODY_BYTES, 1 MiB), with the API's 413
``payload_too_large``: at once when the client waits for ``Expect: 100-continue``, otherwise answering first and
then reading (and dropping) what the client sends, so a client that writes its whole body before it reads gets the
413 rather than a reset connection. Chunked bodies are read and held to the same limit.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from insights.api.events import MAX_BODY_BYTES, error_response, is_json_media_type, payload_too_large

__all__ = ["make_server", "http_to_event", "LocalContext", "MAX_BODY_BYTES"]

_TEXT_TYPES = ("text/", "application/xml")
_DRAIN_BYTES = 64 * MAX_BODY_BYTES  # read at most this much of a refused body before closing the connection
_DRAIN_IDLE_S = 1.0  # ... and stop when the client sends nothing for this long


class _BodyError(Exception):
    """A request body that cannot be accepted: ``response`` is the API's error answer."""

    def __init__(self, response: dict[str, Any], unread: int = 0) -> None:
        super().__init__(response["body"])
        self.response, self.unread = response, unread


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
    is_text = not body or is_json_media_type(content_type) or content_type.lower().startswith(_TEXT_TYPES)
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
        _started = 0.0  # perf_counter() when the request arrived (for the access line)
        disable_nagle_algorithm = True  # headers and body go out in two writes: without it, 40 ms delayed-ACK stalls
        def version_string(self) -> str:
            return "demand-insights-local"

        def handle_expect_100(self) -> bool:
            """``Expect: 100-continue``: refuse a body over the limit before the client sends it."""
            self._started = time.perf_counter()
            try:
                size = _declared_length(self.headers.get("Content-Length"))
            except _BodyError:
                size = 0  # answered as malformed once the handler runs
            if size > MAX_BODY_BYTES:
                self._answer(payload_too_large(size))
                self.close_connection = True
                return False
            return super().handle_expect_100()

        def _handle(self) -> None:
            self._started = time.perf_counter()
            try:
                body = self._read_body()
            except _BodyError as refused:
                self._answer(refused.response)
                self._drain(refused.unread)
                self.close_connection = True
                return
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

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return _read_chunked(self.rfile)
            size = _declared_length(self.headers.get("Content-Length"))
            if size > MAX_BODY_BYTES:
                raise _BodyError(payload_too_large(size), unread=size)
            return self.rfile.read(size) if size else b""

        def _drain(self, unread: int) -> None:
            """Read what the client still sends of a refused body (bounded), so it sees the answer, not a reset."""
            left = min(unread, _DRAIN_BYTES)
            try:
                self.connection.settimeout(_DRAIN_IDLE_S)
                while left > 0 and (chunk := self.rfile.read1(min(left, 1 << 16))):
                    left -= len(chunk)
            except OSError:  # the client went quiet or closed: nothing more to drop
                pass

        def _answer(self, response: dict[str, Any]) -> None:
            headers = {k: v for k, v in response["headers"].items()}
            self._reply(int(response["statusCode"]), headers, response["body"].encode("utf-8"))

        def _reply(self, status: int, headers: dict[str, str], payload: bytes, cookies: Sequence[str] = ()) -> None:
            if access_log is not None:
                took = (time.perf_counter() - self._started) * 1000.0 if self._started else 0.0
                path = "".join(c if c.isprintable() else "?" for c in self.path[:300])  # no terminal escapes
                access_log(f"{datetime.now():%H:%M:%S} {self.command} {path} {status} {took:.1f} ms")
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, str(value))
            for cookie in cookies:
                self.send_header("Set-Cookie", cookie)
            length = headers.get("Content-Length") if self.command == "HEAD" else None  # the GET's length
            self.send_header("Content-Length", str(length or len(payload)))
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


def _declared_length(value: str | None) -> int:
    """The Content-Length header as a number of bytes; a 400 when it is not one."""
    if value is None or not value.strip():
        return 0
    text = value.strip()
    if not text.isdigit():
        raise _BodyError(error_response(400, "malformed_request", f"the Content-Length header {text[:40]!r} is not "
                                        "a number of bytes"))
    return int(text)


def _read_chunked(rfile: Any) -> bytes:
    """A chunked body (Transfer-Encoding: chunked), refused with the 413 as soon as it passes the limit."""
    parts: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(1024).split(b";")[0].strip()
        try:
            size = int(line, 16)
        except ValueError:
            raise _BodyError(error_response(400, "malformed_request", "the chunked body is malformed")) from None
        if size == 0:
            while rfile.readline(1024).strip():  # trailer fields, up to the blank line
                pass
            return b"".join(parts)
        total += size
        if total > MAX_BODY_BYTES:
            raise _BodyError(payload_too_large(total), unread=_DRAIN_BYTES)  # the rest of the stream, bounded
        parts.append(rfile.read(size))
        rfile.readline(1024)  # the CRLF after each chunk
