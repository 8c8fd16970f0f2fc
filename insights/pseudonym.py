"""Pseudonymous customer ids: HMAC-SHA256 of the store's own id under a secret key (INSIGHTS_PSEUDONYMIZE).

With pseudonymization on, the importer writes ``pseudonym(id)`` into the lake instead of the id, so the lake,
the score tables and every snapshot hold only pseudonyms; the API hashes the ids a request names the same way
(stdlib hmac: no ML import on the request path), so storefronts keep calling it with their own ids. The key
comes from the same kinds of source as the JWT secret: INSIGHTS_PSEUDONYM_SECRET, an SSM SecureString named by
INSIGHTS_PSEUDONYM_SECRET_PARAMETER or a Secrets Manager secret named by INSIGHTS_PSEUDONYM_SECRET_ARN; locally
a per-folder dev key, ``<snapshots>/.dev-pseudonym-secret``. Losing the key loses the mapping: keep it with the
JWT secret. SECURITY.md, "Pseudonymous ids".
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from insights.config import Settings
from insights.errors import ConfigError

__all__ = ["Pseudonymizer", "PREFIX", "pseudonymizer_from_settings", "DEV_KEY_FILE"]

PREFIX = "ps_"  # a pseudonym is "ps_" + 32 hex digits (the first 128 bits of the HMAC)
DEV_KEY_FILE = ".dev-pseudonym-secret"
_HEX = 32


class Pseudonymizer:
    """``pseudonym(id)`` = "ps_" + HMAC-SHA256(key, id) truncated to 128 bits; the key is read once, on first use."""

    def __init__(self, key: str | bytes | Callable[[], str | bytes]) -> None:
        self._source = key
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        if self._key is None:
            value = self._source() if callable(self._source) else self._source
            key = value.encode() if isinstance(value, str) else bytes(value)
            if len(key) < 16:
                raise ConfigError("the pseudonym secret is missing or shorter than 16 bytes")
            self._key = key
        return self._key

    def pseudonym(self, customer_id: str) -> str:
        """The pseudonym of a store id; a value that already is one is returned as it is."""
        text = str(customer_id)
        if is_pseudonym(text):
            return text
        return PREFIX + hmac.new(self._secret(), text.encode("utf-8"), hashlib.sha256).hexdigest()[:_HEX]

    def many(self, ids: Iterable[str]) -> list[str]:
        return [self.pseudonym(i) for i in ids]


def is_pseudonym(text: str) -> bool:
    return len(text) == len(PREFIX) + _HEX and text.startswith(PREFIX) and \
        all(c in "0123456789abcdef" for c in text[len(PREFIX):])


def dev_key(snapshots: str | Path) -> str:
    """The local dev key in ``<snapshots>/.dev-pseudonym-secret`` (created 0600 on first use)."""
    if str(snapshots).startswith("s3://"):
        raise ConfigError("with s3:// snapshots set INSIGHTS_PSEUDONYM_SECRET (or its _PARAMETER / _ARN)")
    path = Path(snapshots) / DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def pseudonymizer_from_settings(settings: Settings) -> Pseudonymizer | None:
    """The deployment's pseudonymizer, or None when INSIGHTS_PSEUDONYMIZE is off."""
    if not settings.pseudonymize:
        return None
    if settings.pseudonym_secret:
        return Pseudonymizer(settings.pseudonym_secret)
    if settings.pseudonym_secret_parameter or settings.pseudonym_secret_arn:
        def fetch() -> str:
            from aws_lambda_powertools.utilities import parameters  # in both Lambda packages

            if settings.pseudonym_secret_parameter:
                return str(parameters.get_parameter(settings.pseudonym_secret_parameter, decrypt=True))
            return str(parameters.get_secret(str(settings.pseudonym_secret_arn)))

        return Pseudonymizer(fetch)
    if str(settings.snapshots).startswith("s3://"):
        raise ConfigError("INSIGHTS_PSEUDONYMIZE is on but no INSIGHTS_PSEUDONYM_SECRET(_PARAMETER/_ARN) is set")
    return Pseudonymizer(lambda: dev_key(settings.snapshots))
