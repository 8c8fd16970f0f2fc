"""``python -m insights serve | token``: the API on 127.0.0.1 from the local snapshot folder, and local tokens.

The server prints one readable line per request (time, method, path, status, latency) and only the errors of
the API's log. ``--json-logs`` (or INSIGHTS_LOG_FORMAT=json) shows what Lambda writes instead: Powertools' JSON
log lines and the EMF metric records.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import logging
import sys
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from insights.api.auth import SCOPE_READ
from insights.cli.hints import fail, insights_command, located, location_flags
from insights.cli.server import make_server
from insights.cli.tokens import local_secret, mint_token
from insights.config import Settings
from insights.errors import ConfigError

__all__ = ["serve_command", "token_command", "ReadableFormatter"]

Invoke = Callable[[dict[str, Any], Any], dict[str, Any]]


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the workspace's snapshot folder (or --snapshots, INSIGHTS_SNAPSHOTS) until interrupted."""
    settings = located(args, settings)
    json_logs = bool(getattr(args, "json_logs", False)) or settings.log_format == "json"
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        return fail(f"the local server only listens on loopback, not {args.host!r}")
    if not settings.jwt_secret and not settings.jwt_jwks_url and not settings.jwt_secret_parameter \
            and not settings.jwt_secret_arn:
        try:
            settings = settings.with_overrides(jwt_secret=local_secret(settings))
        except (OSError, ConfigError) as exc:
            return fail(str(exc))
    import handler  # after the settings are final: the API's import cost is paid here, once

    handler.configure(settings)
    invoke: Invoke = handler.lambda_handler
    if not json_logs:
        _readable_logs(handler.logger)
        invoke = _without_emf(invoke)
    terminal = sys.stdout  # the access lines go here, also while a request runs with stdout redirected

    def access_line(line: str) -> None:
        print(line, file=terminal, flush=True)

    try:
        server = make_server(args.host, args.port, invoke, access_log=None if json_logs else access_line)
    except OSError as exc:
        return fail(_bind_error(exc, args.host, args.port, settings))
    host, port = str(server.server_address[0]), int(server.server_address[1])
    url = f"http://{host}:{port}/demand-insights"
    status = handler.runtime.cache.status() if _probe(handler) else {"loaded": False}
    print(f"Demand Insights API on {url} (snapshots: {settings.snapshots})", flush=True)
    if status.get("loaded"):
        print(f"snapshot {status['version']} (as_of {status['as_of']})", flush=True)
    else:
        refresh = insights_command("refresh", location_flags(settings))
        print(f"no snapshot yet: insight routes answer 503 until `{refresh}` publishes one", flush=True)
    if settings.jwt_secret:
        example = mint_token(settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                             ttl_s=3600)
        token = insights_command("token", location_flags(settings, lake=False))
        # the token rides in the fragment: the browser never sends it, so no server or proxy log records it; it
        # lasts a working day (the page explains an expired one and asks for a fresh token)
        page = mint_token(settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                          ttl_s=8 * 3600)
        print(f"dashboard: {url}/dashboard#token={page}", flush=True)
        print(f"curl -s -H 'Authorization: Bearer {example}' '{url}/segments'", flush=True)
        print(f"(a fresh token: TOKEN=$({token}); add --scope customers:pii for emails)", flush=True)
    print(f"health: curl -s {url}/health    (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _bind_error(exc: OSError, host: str, port: int, settings: Settings) -> str:
    other = 8001 if port == 8000 else port + 1
    serve = insights_command("serve", location_flags(settings, lake=False), f"--port {other}")
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another `serve` or `make demo`?): "
                f"use `make demo PORT={other}` for the demo, or `{serve}`")
    if exc.errno == errno.EACCES:
        return f"no permission to listen on port {port}: use a port above 1023, e.g. `{serve}`"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


class ReadableFormatter(LambdaPowertoolsFormatter):
    """``LEVEL message key=value ...`` for the API's Powertools logger on a terminal.

    A Powertools formatter (the Logger appends keys such as the correlation id through it) that renders one
    plain line instead of JSON; exceptions keep their traceback (a 500 on a laptop is a bug to read).
    """

    _STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in self._STANDARD and not k.startswith("_")}
        text = f"{record.levelname} {record.getMessage()}"
        if extras:
            text += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _readable_logs(logger: Any) -> None:
    """The API's log on a terminal: errors only, one plain line each (the access line says the rest)."""
    logger.registered_handler.setFormatter(ReadableFormatter())
    logger.setLevel("ERROR")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _without_emf(invoke: Invoke) -> Invoke:
    """Drop what Powertools prints on stdout per invocation (EMF metric records: CloudWatch's input, not ours)."""

    def call(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with contextlib.redirect_stdout(io.StringIO()):
            return invoke(event, context)

    return call


def _probe(handler: Any) -> bool:
    try:
        handler.runtime.cache.get()
    except Exception:
        return False
    return True


def token_command(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m insights token``: print only the token (so ``TOKEN=$(... -m insights token)`` works)."""
    settings = located(args, settings)
    if "HS256" not in [a.strip().upper() for a in settings.jwt_algorithms.split(",")]:
        return fail("INSIGHTS_JWT_ALGORITHMS does not allow HS256; `token` only mints HS256 tokens")
    if args.ttl <= 0:
        return fail("--ttl must be a positive number of seconds")
    try:
        secret = local_secret(settings)
    except (OSError, ConfigError) as exc:
        return fail(str(exc))
    scopes = args.scope or [SCOPE_READ]
    scopes = [s for item in scopes for s in item.replace(",", " ").split()]
    print(mint_token(secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                     subject=args.subject, scopes=scopes, ttl_s=args.ttl))
    return 0
