"""Bearer JWT verification for the API (PyJWT, in the function, whatever the front door) and the local token minter.

HS256 secrets come from INSIGHTS_JWT_SECRET or an SSM parameter / Secrets Manager secret (Powertools parameters,
cached); RS*/ES*/PS* keys from a JWKS URL (PyJWKClient, keys cached). The algorithm allow-list is explicit:
``none`` is never accepted and an HMAC algorithm is only ever checked against the shared secret, never a public key.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

__all__ = ["AuthError", "AuthNotConfigured", "Principal", "Authenticator", "authenticator_from_settings",
           "dev_secret", "mint_token", "token_main", "SCOPE_READ", "SCOPE_PII", "MAX_TOKEN_BYTES"]

log = logging.getLogger(__name__)

SCOPE_READ = "insights:read"
SCOPE_PII = "customers:pii"
MAX_TOKEN_BYTES = 8192
REALM = "demand-insights"
HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
DEV_SECRET_FILE = ".dev-jwt-secret"
SECRET_MAX_AGE_S = 300


class AuthError(Exception):
    """The request is not authenticated (401) or not allowed (403); ``message`` is safe to return."""

    def __init__(self, status: int, code: str, message: str, *, scope: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.scope = status, code, message, scope

    @property
    def www_authenticate(self) -> str:
        """RFC 6750 challenge: no error attribute when no token was sent, insufficient_scope on 403."""
        if self.code == "missing_token":
            return f'Bearer realm="{REALM}"'
        if self.status == 403:
            return f'Bearer realm="{REALM}", error="insufficient_scope", scope="{self.scope}"'
        return f'Bearer realm="{REALM}", error="invalid_token", error_description="{self.message}"'


class AuthNotConfigured(Exception):
    """No key material is configured for the token's algorithm (an operator error: the API answers 503)."""


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    claims: dict[str, Any] = field(repr=False, default_factory=dict)

    def has(self, scope: str) -> bool:
        return scope in self.scopes


class Authenticator:
    """Verifies ``Authorization: Bearer`` headers; every dependency is injected (secret getter, JWKS client)."""

    def __init__(self, *, algorithms: Iterable[str], issuer: str, audience: str, leeway_s: int = 30,
                 secret: Callable[[], str | None] | None = None, jwks_client: Any | None = None) -> None:
        algs = [a.strip().upper() for a in algorithms if a and a.strip()]
        bad = [a for a in algs if a not in HMAC_ALGS | ASYMMETRIC_ALGS]
        if bad or not algs:
            raise ValueError(f"unsupported JWT algorithms {bad or algs}: allowed are "
                             f"{sorted(HMAC_ALGS | ASYMMETRIC_ALGS)} (never 'none')")
        self.algorithms = tuple(algs)
        self.issuer, self.audience, self.leeway_s = issuer, audience, int(leeway_s)
        self._secret = secret
        self._jwks = jwks_client

    def authenticate(self, authorization: str | None) -> Principal:
        """The verified principal of an Authorization header value; raises AuthError or AuthNotConfigured."""
        token = _bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(401, "invalid_token", "the token is malformed") from None
        alg = str(header.get("alg", ""))
        if alg.upper() == "NONE" or alg not in self.algorithms:
            raise AuthError(401, "invalid_token", "the token's algorithm is not accepted")
        key = self._key_for(alg, token)
        try:
            claims = jwt.decode(
                token, key, algorithms=[alg], audience=self.audience, issuer=self.issuer, leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "invalid_token", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError(401, "invalid_token", "the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise AuthError(401, "invalid_token", "the token's audience is not accepted") from None
        except jwt.InvalidIssuerError:
            raise AuthError(401, "invalid_token", "the token's issuer is not accepted") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(401, "invalid_token", f"the token lacks the {exc.claim!r} claim") from None
        except (jwt.PyJWTError, TypeError, ValueError):  # a key of another type than alg (kid of an EC key on RS256)
            raise AuthError(401, "invalid_token", "the token's signature or claims are invalid") from None
        return Principal(subject=str(claims.get("sub", "")), scopes=_scopes(claims), claims=claims)

    def require(self, principal: Principal, scope: str) -> None:
        if not principal.has(scope):
            raise AuthError(403, "insufficient_scope", f"this route needs the {scope!r} scope", scope=scope)

    def _key_for(self, alg: str, token: str) -> Any:
        if alg in HMAC_ALGS:
            secret = self._secret() if self._secret else None
            if not secret:
                raise AuthNotConfigured("no HS256 secret: set INSIGHTS_JWT_SECRET, INSIGHTS_JWT_SECRET_PARAMETER "
                                        "or INSIGHTS_JWT_SECRET_ARN")
            return secret
        if self._jwks is None:
            raise AuthNotConfigured("no JWKS URL for asymmetric tokens: set INSIGHTS_JWT_JWKS_URL")
        try:
            return self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError:
            raise AuthNotConfigured("the JWKS endpoint could not be reached") from None
        except jwt.PyJWTError:
            raise AuthError(401, "invalid_token", "the token's signing key is unknown") from None


def _bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise AuthError(401, "missing_token", "an Authorization: Bearer token is required")
    if len(authorization) > MAX_TOKEN_BYTES:
        raise AuthError(401, "invalid_token", "the token is too large")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise AuthError(401, "invalid_request", "the Authorization header must be 'Bearer <token>'")
    return token


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    """Scopes from ``scope`` (space-separated, RFC 8693), ``scp`` or ``scopes`` (string or list)."""
    out: set[str] = set()
    for name in ("scope", "scp", "scopes"):
        value = claims.get(name)
        if isinstance(value, str):
            out.update(value.split())
        elif isinstance(value, list):
            out.update(str(v) for v in value)
    return frozenset(out)


def authenticator_from_settings(settings: Any) -> Authenticator:
    """The API's authenticator: HS secret from the environment, SSM or Secrets Manager; keys from a JWKS URL."""
    jwks = None
    if settings.jwt_jwks_url:
        jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True, lifespan=SECRET_MAX_AGE_S, timeout=5)
    return Authenticator(algorithms=settings.jwt_algorithms.split(","), issuer=settings.jwt_issuer,
                         audience=settings.jwt_audience, leeway_s=settings.jwt_leeway_s,
                         secret=_secret_getter(settings), jwks_client=jwks)


def _secret_getter(settings: Any) -> Callable[[], str | None]:
    if settings.jwt_secret:
        value = settings.jwt_secret
        return lambda: value
    if settings.jwt_secret_parameter:
        name = settings.jwt_secret_parameter

        def from_ssm() -> str | None:
            from aws_lambda_powertools.utilities import parameters  # boto3: only when configured

            return parameters.get_parameter(name, decrypt=True, max_age=SECRET_MAX_AGE_S)

        return _logged(from_ssm, "ssm")
    if settings.jwt_secret_arn:
        arn = settings.jwt_secret_arn

        def from_secrets_manager() -> str | None:
            from aws_lambda_powertools.utilities import parameters

            return parameters.get_secret(arn, max_age=SECRET_MAX_AGE_S)

        return _logged(from_secrets_manager, "secretsmanager")
    return lambda: None


def _logged(getter: Callable[[], str | None], source: str) -> Callable[[], str | None]:
    def wrapped() -> str | None:
        try:
            return getter()
        except Exception as exc:
            log.error("could not read the JWT secret", extra={"source": source, "error": type(exc).__name__})
            raise AuthNotConfigured(f"the JWT secret could not be read from {source}") from None

    return wrapped


# -- local development: a per-machine secret shared by `serve` and `token` --

def dev_secret(snapshots: str | Path, *, create: bool = True) -> str:
    """The local dev secret in ``<snapshots>/.dev-jwt-secret`` (created 0600 on first use). Never used by the Lambda."""
    if str(snapshots).startswith("s3://"):
        raise ValueError("the dev secret lives in a local snapshots folder; with s3:// set INSIGHTS_JWT_SECRET")
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
        raise ValueError(f"{path} is empty; delete it to create a new dev secret")
    return value


def local_secret(settings: Any) -> str:
    """The HS256 secret `serve` and `token` use locally: INSIGHTS_JWT_SECRET when set, else the dev secret."""
    return settings.jwt_secret or dev_secret(settings.snapshots)


def mint_token(secret: str, *, issuer: str, audience: str, subject: str = "local-dev",
               scopes: Iterable[str] = (SCOPE_READ,), ttl_s: int = 3600, now: float | None = None) -> str:
    """An HS256 JWT with iss, aud, sub, scope, iat, nbf, exp and jti."""
    now = int(time.time() if now is None else now)
    claims = {"iss": issuer, "aud": audience, "sub": subject, "scope": " ".join(scopes), "iat": now, "nbf": now,
              "exp": now + int(ttl_s), "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm="HS256")


def token_main(args: Any, settings: Any) -> int:
    """``python -m insights token``: print only the token (so ``TOKEN=$(python -m insights token)`` works)."""
    if "HS256" not in [a.strip().upper() for a in settings.jwt_algorithms.split(",")]:
        print("error: INSIGHTS_JWT_ALGORITHMS does not allow HS256; `token` only mints HS256 tokens", file=sys.stderr)
        return 2
    if args.ttl <= 0:
        print("error: --ttl must be a positive number of seconds", file=sys.stderr)
        return 2
    try:
        secret = local_secret(settings)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scopes = args.scope or [SCOPE_READ]
    scopes = [s for item in scopes for s in item.replace(",", " ").split()]
    print(mint_token(secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                     subject=getattr(args, "subject", "local-dev"), scopes=scopes, ttl_s=args.ttl))
    return 0
