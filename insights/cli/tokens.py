"""Local development tokens: a per-machine HS256 secret shared by `serve` and `token`, and the minter.

Never used by the Lambda (it only verifies: insights/api/auth.py).
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import jwt

from insights.api.auth import SCOPE_READ
from insights.config import Settings
from insights.errors import ConfigError

__all__ = ["dev_secret", "local_secret", "mint_token", "DEV_SECRET_FILE"]

DEV_SECRET_FILE = ".dev-jwt-secret"


def dev_secret(snapshots: str | Path, *, create: bool = True) -> str:
    """The local dev secret in ``<snapshots>/.dev-jwt-secret`` (created 0600 on first use)."""
    if str(snapshots).startswith("s3://"):
        raise ConfigError("the dev secret lives in a local snapshots folder; with s3:// set INSIGHTS_JWT_SECRET")
    path = Path(snapshots) / DEV_SECRET_FILE
    if not path.exists() and create:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: read theirs
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    value = path.read_text().strip()
    if not value:
        raise ConfigError(f"{path} is empty; delete it to create a new dev secret")
    return value


def local_secret(settings: Settings) -> str:
    """The HS256 secret `serve` and `token` use locally: INSIGHTS_JWT_SECRET when set, else the dev secret."""
    return settings.jwt_secret or dev_secret(settings.snapshots)


def mint_token(secret: str, *, issuer: str, audience: str, subject: str = "local-dev",
               scopes: Iterable[str] = (SCOPE_READ,), ttl_s: int = 3600, now: float | None = None) -> str:
    """An HS256 JWT with iss, aud, sub, scope, iat, nbf, exp and jti."""
    now = int(time.time() if now is None else now)
    claims = {"iss": issuer, "aud": audience, "sub": subject, "scope": " ".join(scopes), "iat": now, "nbf": now,
              "exp": now + int(ttl_s), "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm="HS256")
