"""Domain errors of the insight services; the handler maps each class to an HTTP status once.

``InsightError`` (500-class by default) is the root; ``NotFound`` -> 404, ``InsufficientData`` -> 422,
``SnapshotUnavailable`` -> 503.  Every error carries a machine-readable ``code`` and a ``details`` dict
that is safe to return to the client (never PII, never stack traces).
"""

from __future__ import annotations

from typing import Any

__all__ = ["InsightError", "NotFound", "InsufficientData", "SnapshotUnavailable"]


class InsightError(Exception):
    """Base class of every domain error an insight service raises."""

    code = "insight_error"
    status = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready body: ``{"error": code, "message": ..., **details}``."""
        return {"error": self.code, "message": self.message, **self.details}


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
    """No published snapshot can be read (none yet, or the store is unreachable)."""

    code = "snapshot_unavailable"
    status = 503
