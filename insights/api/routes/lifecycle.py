"""The customer-base routes: churn outlook, cohorts, growth projection, segment transitions, the scores export."""

from __future__ import annotations

from typing import Annotated, Literal, cast

from aws_lambda_powertools.event_handler.openapi.params import Query

from insights.api import exports, lifecycle
from insights.api.error_codes import ALWAYS, AUTH
from insights.api.events import PREFIX
from insights.api.lifecycle_responses import (
    ChurnOutlookResponse,
    CohortsResponse,
    ExportResponse,
    GrowthProjectionResponse,
    TransitionsResponse,
)
from insights.api.routes.kit import SECURITY, Recording
from insights.api.routes.kit import answers as _answers
from insights.api.runtime import ApiRuntime

__all__ = ["register"]


def register(app: Recording, runtime: ApiRuntime) -> None:
    """Add these routes to ``app`` (the resolver, recording each route)."""

    @app.get(f"{PREFIX}/churn-outlook", tags=["customers"], security=SECURITY,
             responses=_answers("the risk distribution and expected losses, overall and by segment", *AUTH,
                                *ALWAYS),
             summary="Churn outlook: risk levels, expected customers lost and revenue at risk over 30 and 90 days")
    def get_churn_outlook() -> ChurnOutlookResponse:
        return cast(ChurnOutlookResponse, lifecycle.churn_outlook(runtime.snapshot()))

    @app.get(f"{PREFIX}/cohorts", tags=["customers"], security=SECURITY,
             responses=_answers("the cohort matrix, its average curve and, with a cost, the payback", *AUTH,
                                "validation_error", *ALWAYS),
             summary="Acquisition cohorts by month or week: retention, revenue or cumulative LTV; payback period")
    def get_cohorts(period: Annotated[Literal["month", "week"], Query()] = "month",
                    metric: Annotated[Literal["retention", "revenue", "ltv"], Query()] = "retention",
                    acquisition_cost: Annotated[float | None, Query(ge=0.0, allow_inf_nan=False)] = None
                    ) -> CohortsResponse:
        return cast(CohortsResponse, lifecycle.cohorts(runtime.snapshot(), period=period, metric=metric,
                                                       acquisition_cost=acquisition_cost))

    @app.get(f"{PREFIX}/growth-projection", tags=["customers"], security=SECURITY,
             responses=_answers("the projected active base with its interval and assumptions", *AUTH,
                                "validation_error", "insufficient_data", *ALWAYS),
             summary="The active customer base projected 6..24 months from measured acquisition and churn")
    def get_growth_projection(months: Annotated[int, Query(ge=6, le=24)] = 12,
                              by: Annotated[Literal["segment"] | None, Query()] = None) -> GrowthProjectionResponse:
        return cast(GrowthProjectionResponse, lifecycle.growth_projection(runtime.snapshot(), months=months, by=by))

    @app.get(f"{PREFIX}/segments/transitions", tags=["customers"], security=SECURITY,
             responses=_answers("moves between segments since the previous version (available: false on the "
                                "first refresh)", *AUTH, *ALWAYS),
             summary="How many customers moved between named segments since the previous snapshot version")
    def get_segment_transitions() -> TransitionsResponse:
        return cast(TransitionsResponse, lifecycle.segment_transitions(runtime.snapshot()))

    @app.get(f"{PREFIX}/exports/customer-scores", tags=["customers"], security=SECURITY,
             responses=_answers("a short-lived link to every customer's scores (needs customers:export; emails only "
                                "with customers:pii)", *AUTH, "validation_error", *ALWAYS),
             summary="Bulk export of every customer's scores: a presigned S3 URL (locally a file URL), CSV or Parquet")
    def get_customer_scores_export(format: Annotated[Literal["csv", "parquet"], Query()] = "csv") -> ExportResponse:
        principal = runtime.principal()
        return cast(ExportResponse, exports.customer_scores_export(
            runtime.snapshot(), fmt=format, scopes=principal.scopes if principal else (),
            snapshots=str(runtime.settings.snapshots), region=runtime.settings.region))
