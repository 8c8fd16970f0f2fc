"""``python -m insights serve | token``: the API on 127.0.0.1 from the local snapshot folder, and local tokens."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from insights.api.auth import SCOPE_READ
from insights.cli.server import make_server
from insights.cli.tokens import local_secret, mint_token
from insights.config import Settings
from insights.errors import ConfigError

__all__ = ["serve_command", "token_command"]


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the local snapshot folder (or INSIGHTS_SNAPSHOTS) until interrupted."""
    from insights.cli.tokens import local_secret, mint_token

    settings = settings.with_overrides(snapshots=args.snapshots)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"error: the local server only listens on loopback, not {args.host!r}", file=sys.stderr)
        return 2
    if not settings.jwt_secret and not settings.jwt_jwks_url and not settings.jwt_secret_parameter \
            and not settings.jwt_secret_arn:
        try:
            settings = settings.with_overrides(jwt_secret=local_secret(settings))
        except (OSError, ConfigError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    import handler  # after the settings are final: the API's import cost is paid here, once

    handler.configure(settings)
    server = make_server(args.host, args.port, handler.lambda_handler)
    host, port = str(server.server_address[0]), int(server.server_address[1])
    url = f"http://{host}:{port}/demand-insights"
    status = handler.runtime.cache.status() if _probe(handler) else {"loaded": False}
    print(f"Demand Insights API on {url} (snapshots: {settings.snapshots})", flush=True)
    if status.get("loaded"):
        print(f"snapshot {status['version']} (as_of {status['as_of']})", flush=True)
    else:
        print("no snapshot yet: insight routes answer 503 until `python -m insights refresh` publishes one",
              flush=True)
    if settings.jwt_secret:
        example = mint_token(settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                             ttl_s=3600)
        env = "" if args.snapshots is None \
            else f"INSIGHTS_SNAPSHOTS={shlex.quote(settings.snapshots)} "
        print(f"curl -s -H 'Authorization: Bearer {example}' '{url}/segments'", flush=True)
        print(f"(a fresh token: TOKEN=$({env}python -m insights token); add --scope customers:pii for emails)",
              flush=True)
    print(f"health: curl -s {url}/health    (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _probe(handler: Any) -> bool:
    try:
        handler.runtime.cache.get()
    except Exception:
        return False
    return True


def token_command(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m insights token``: print only the token (so ``TOKEN=$(python -m insights token)`` works)."""
    if "HS256" not in [a.strip().upper() for a in settings.jwt_algorithms.split(",")]:
        print("error: INSIGHTS_JWT_ALGORITHMS does not allow HS256; `token` only mints HS256 tokens", file=sys.stderr)
        return 2
    if args.ttl <= 0:
        print("error: --ttl must be a positive number of seconds", file=sys.stderr)
        return 2
    try:
        secret = local_secret(settings)
    except (OSError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scopes = args.scope or [SCOPE_READ]
    scopes = [s for item in scopes for s in item.replace(",", " ").split()]
    print(mint_token(secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                     subject=args.subject, scopes=scopes, ttl_s=args.ttl))
    return 0
