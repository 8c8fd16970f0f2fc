"""The 200 answers of the API as Pydantic-validated TypedDicts: published in the OpenAPI, checked on the way out.

This module holds the shared field types and the health answer; customer_responses.py and product_responses.py
hold the insight answers.

Each route's return annotation names its answer here: Powertools generates the OpenAPI schema from it and, as it
serializes the service's dict, validates it with pydantic. TypedDicts rather than BaseModels because the answers
are dicts: validating a 1000-customer churn answer into 4000 model instances cost ~8 ms more CPU than the untyped
dict did; a TypedDict costs what the dict cost (measured when this module was added, see its commit).
Keys an answer does not declare are dropped, never sent undocumented; a ``NotRequired`` field is absent unless the
service set it (email without customers:pii, what_if without planned_price). Bounds (minimum, maximum) are
published, not enforced: a bound of the data never turns an answer into an error. Numbers the snapshot holds as
NaN or infinity are answered as null (JSON has neither).
"""

# No `from __future__ import annotations`: TypedDict must see NotRequired evaluated to know the optional keys.
from typing import Annotated, Literal

from pydantic import Field
from pydantic.json_schema import JsonDict
from typing_extensions import TypedDict

__all__ = ["HealthResponse", "AS_OF", "CURRENCY", "IsoDate", "Money", "Probability", "bounds"]

CURRENCY = "ISO 4217 code of every amount in the answer (INSIGHTS_CURRENCY, else the imported data's, else USD)"
AS_OF = "the snapshot's as_of date (ISO YYYY-MM-DD): the data the answer is computed from ends the day before"
IsoDate = Annotated[str, Field(json_schema_extra={"format": "date"})]
Money = Annotated[float | None, Field(description="currency units of the order data, to the cent; null if unknown")]
Probability = Annotated[float | None, Field(json_schema_extra={"minimum": 0, "maximum": 1})]


def bounds(low: float, high: float | None = None) -> JsonDict:
    """Bounds published in the OpenAPI but not enforced: an answer never fails over a bound of the data."""
    return {"minimum": low} if high is None else {"minimum": low, "maximum": high}


# -- health --
class SnapshotStatus(TypedDict):
    version: Annotated[str | None, Field(description="the live snapshot's version id")]
    as_of: Annotated[str | None, Field(description=AS_OF)]
    created_at: Annotated[str | None, Field(description="when the refresh published it (ISO 8601, UTC)")]
    age_seconds: Annotated[float | None, Field(description="seconds since created_at; null if unknown")]
    lake_last_order_date: Annotated[str | None, Field(description="the last day with orders in the data the snapshot "
                                                                  "was computed from; null if unrecorded")]


class HealthResponse(TypedDict):
    """Liveness and the live snapshot's freshness (public: dates and ages only)."""

    status: Annotated[Literal["ok", "degraded"], Field(description="degraded (still a 200) when the data ends long "
                                                                   "before as_of, the as_of lies days behind today, "
                                                                   "or the refresh has not replaced the snapshot in "
                                                                   "time")]
    reasons: Annotated[list[str], Field(description="why degraded, one sentence each with what to check; empty when "
                                                    "ok")]
    snapshot: Annotated[SnapshotStatus, Field(description="the live snapshot")]
    recheck_seconds: Annotated[float, Field(description="how often `latest` is re-checked, seconds")]
    store_error: Annotated[str | None, Field(description="null, or why the last re-check failed while the loaded "
                                                         "snapshot "
                                                "is still served: store_unreachable, snapshot_unreadable")]

