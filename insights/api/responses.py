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
from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.json_schema import JsonDict
from typing_extensions import TypedDict

__all__ = ["HealthResponse", "QualityResponse", "AS_OF", "CURRENCY", "IsoDate", "Money", "Probability", "bounds"]

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


# -- model quality --
class ModelCard(TypedDict):
    family: Annotated[str, Field(description="clv or churn")]
    describes: Annotated[str, Field(description="what the model predicts, in words")]
    model: Annotated[Any, Field(description="the model that answers (name and settings)")]
    baseline: Annotated[Any, Field(description="the named anchor it is measured against (BG/NBD + Gamma-Gamma)")]
    target: Annotated[Any, Field(description="what is predicted, over which window")]
    holdout: Annotated[Any, Field(description="the validation slice both were measured on (cutoff, window, rows)")]
    headline: Annotated[dict[str, Any], Field(description="the one number to read: metric, model, baseline, their "
                                                          "ratio or difference, and whether the model is better")]
    metrics: Annotated[dict[str, Any], Field(description="every metric of the model and of the baseline (RMSE, MAE, "
                                                         "normalized Gini, Spearman, decile MAPE; ROC-AUC, PR-AUC, "
                                                         "ECE, Brier)")]
    vs_baseline: Annotated[dict[str, Any], Field(description="ratios and differences of model to baseline")]
    calibration_by_decile: Annotated[Any, Field(description="mean predicted vs actual per predicted decile")]
    interval: Annotated[Any, Field(description="the prediction interval's nominal level and measured coverage; null "
                                               "where the family has none")]
    gates: Annotated[list[Any], Field(description="the data-sufficiency gates the training checked, passed or not")]
    gates_passed: Annotated[bool, Field(description="true when every gate passed")]
    drift: Annotated[dict[str, Any], Field(description="feature drift (PSI) and the train-or-reuse decision")]
    training: Annotated[dict[str, Any], Field(description="when the models were trained, their version, training "
                                                          "and validation rows, history length")]


class QualityResponse(TypedDict):
    """Model cards of the live snapshot: how good each model family is, against its named baseline."""

    as_of: Annotated[str, Field(description=AS_OF)]
    version: Annotated[str, Field(description="the live snapshot's version id")]
    currency: Annotated[str, Field(description=CURRENCY)]
    families: Annotated[dict[str, ModelCard], Field(description="one card per model family (clv, churn)")]
    available: Annotated[bool, Field(description="false when the snapshot holds no model card")]
    note: Annotated[str | None, Field(description="why no card is available; null when there is one")]
