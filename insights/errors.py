"""The one error tree of the engine: every error it raises on purpose is an :class:`InsightError`.

Each class carries an HTTP ``status`` and a machine-readable ``code``; insights/api maps them to responses in
one place, and the CLI prints their message in one line. ``details`` is safe to return to a client: never
personal data, never a stack trace. Anything that is not an InsightError reaching the API is a bug: a 500
with the correlation id.

::

    InsightError (500)
    +-- InvalidRequest (422 invalid_value)        a request the route schema could not catch
    |   +-- PriceOutsideSupport (422 price_out_of_support)  a price far outside the product's observed prices
    +-- NotFound (404 not_found)                  an unknown product, customer or snapshot version
    +-- InsufficientData (422 insufficient_data)  too little data to answer or to train
    +-- SnapshotUnavailable (503)                 no snapshot, or the live one lacks what was asked
    |   +-- MissingFromSnapshot                   the refresh skipped that table or document
    |   +-- SnapshotDamaged                       a file failed its integrity check
    |       +-- SnapshotGone                      a file vanished: the version was replaced or pruned under a reader
    +-- AuthError (401 / 403)                     no, bad or expired token; missing scope
    +-- AuthNotConfigured (503)                   the operator configured no key material
    +-- ConfigError (500)                         a setting that cannot be used
    +-- DataAccessFailed (502)                    the query engine failed (wraps athena.DataAccessError)
    +-- ImportFailed (400)                        an order export that cannot be imported
    +-- PublishConflict (409)                     `latest` kept moving under a compare-and-swap
    +-- ShardsIncomplete (500)                    a sharded refresh shard missing or incomplete: not published
"""

from __future__ import annotations

from typing import Any

__all__ = ["InsightError", "InvalidRequest", "PriceOutsideSupport", "NotFound", "InsufficientData",
           "SnapshotUnavailable", "MissingFromSnapshot", "SnapshotDamaged", "SnapshotGone", "AuthError",
           "AuthNotConfigured", "ConfigError", "DataAccessFailed", "ImportFailed", "PublishConflict",
           "ShardsIncomplete"]


class InsightError(Exception):
    """The root: a message safe to show, a ``code``, an HTTP ``status`` and JSON-ready ``details``."""

    code = "insight_error"
    status = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(InsightError):
    """A request value the service refuses (the route schemas catch most before a service runs)."""

    code = "invalid_value"
    status = 422


class PriceOutsideSupport(InvalidRequest):
    """A current or planned price outside the product's observed price range widened by the margin: demand there
    would be extrapolated. ``details``: field, price, observed_min, observed_max, allowed_min, allowed_max."""

    code = "price_out_of_support"


class NotFound(InsightError):
    """The requested customer, product or snapshot version does not exist."""

    code = "not_found"
    status = 404


class InsufficientData(InsightError):
    """Not enough data to answer or to train; ``missing`` names what is lacking.

    ``required`` and ``available`` give the gate's threshold and what was found, when they are numbers.
    """

    code = "insufficient_data"
    status = 422

    def __init__(self, message: str, *, missing: str, required: Any = None, available: Any = None,
                 **details: Any) -> None:
        super().__init__(message, missing=missing, required=required, available=available, **details)
        self.missing = missing
        self.required = required
        self.available = available


class SnapshotUnavailable(InsightError):
    """No published snapshot can be served (none yet, unreachable, damaged, or without the table asked for).

    ``details["retry_after_s"]`` becomes the Retry-After header, ``details["reason"]`` the one detail returned.
    """

    code = "snapshot_unavailable"
    status = 503


class MissingFromSnapshot(SnapshotUnavailable):
    """The live snapshot has no such table or document: the refresh skipped that model family."""


class SnapshotDamaged(SnapshotUnavailable):
    """A file of the version is missing, truncated or differs from its manifest sha256: the version is refused."""


class SnapshotGone(SnapshotDamaged):
    """A file of the version is gone: an erasure replaced the version, or pruning deleted it, under a reader.

    The API answers the request again from the version ``latest`` names now (insights/api/app.py).
    """


class AuthError(InsightError):
    """The request is not authenticated (401) or not allowed (403); ``code`` says which check failed."""

    def __init__(self, status: int, code: str, message: str, *, scope: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.scope = status, code, scope


class AuthNotConfigured(InsightError):
    """No key material is configured for the token's algorithm: an operator error, the API answers 503."""

    code = "auth_not_configured"
    status = 503


class ConfigError(InsightError):
    """A setting has a value that cannot be used."""

    code = "config_error"


class DataAccessFailed(InsightError):
    """The query engine failed after its retries; ``details`` carry its reason and query id (never SQL data)."""

    code = "data_access_failed"
    status = 502


class ImportFailed(InsightError):
    """The import cannot proceed (unreadable file, missing required column, nothing importable)."""

    code = "import_failed"
    status = 400


class PublishConflict(InsightError):
    """``latest`` kept changing under a compare-and-swap (too many concurrent writers)."""

    code = "publish_conflict"
    status = 409


class ShardsIncomplete(InsightError):
    """The sharded refresh's reduce step found a shard that was not scored completely: nothing is published."""

    code = "shards_incomplete"
    status = 500
