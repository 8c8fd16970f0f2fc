"""Bearer JWT verification for the API (PyJWT, in the function, whatever the front door).

HS256 secrets come from INSIGHTS_JWT_SECRET or an SSM parameter / Secrets Manager secret (Powertools parameters,
cached); RS*/ES*/PS* keys from a JWKS URL (PyJWKClient, keys cached). The algorithm allow-list is explicit:
``none`` is never accepted and an HMAC algorithm is only ever checked against the shared secret, never a public key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt

from insights.config import Settings
from insights.errors import AuthError, AuthNotConfigured

__all__ = ["Principal", "Authenticator", "authenticator_from_settings", "www_authenticate", "SCOPE_READ",
           "SCOPE_PII", "SCOPE_EXPORT", "MAX_TOKEN_BYTES"]

log = logging.getLogger(__name__)

SCOPE_READ = "insights:read"
SCOPE_PII = "customers:pii"
SCOPE_EXPORT = "customers:export"  # bulk export of every customer's scores (emails only with customers:pii too)
MAX_TOKEN_BYTES = 8192
REALM = "demand-insights"
HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
SECRET_MAX_AGE_S = 300


def www_authenticate(exc: AuthError) -> str:
    """RFC 6750 challenge: no error attribute when no token was sent, insufficient_scope on 403."""
    if exc.code == "missing_token":
        return f'Bearer realm="{REALM}"'
    if exc.status == 403:
        return f'Bearer realm="{REALM}", error="insufficient_scope", scope="{exc.scope}"'
    return f'Bearer realm="{REALM}", error="invalid_token", error_description="{exc.message}"'


class SigningKeys(Protocol):
    """Where asymmetric keys come from: PyJWT's PyJWKClient (a JWKS URL, keys cached by kid)."""

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK: ...


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
                 secret: Callable[[], str | None] | None = None, jwks_client: SigningKeys | None = None) -> None:
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


def authenticator_from_settings(settings: Settings) -> Authenticator:
    """The API's authenticator: HS secret from the environment, SSM or Secrets Manager; keys from a JWKS URL."""
    jwks = None
    if settings.jwt_jwks_url:
        jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True, lifespan=SECRET_MAX_AGE_S, timeout=5)
    return Authenticator(algorithms=settings.jwt_algorithms.split(","), issuer=settings.jwt_issuer,
                         audience=settings.jwt_audience, leeway_s=settings.jwt_leeway_s,
                         secret=_secret_getter(settings), jwks_client=jwks)


def _secret_getter(settings: Settings) -> Callable[[], str | None]:
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
