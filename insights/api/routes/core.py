"""The engine's first routes: segments, CLV, churn, at-risk, forecast, pricing, quality, health, the OpenAPI."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Literal, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query

from insights.api import customers, operations, products, quality
from insights.api.auth import SCOPE_PII
from insights.api.customer_responses import AtRiskResponse, ChurnResponse, ClvResponse, SegmentsResponse
from insights.api.error_codes import ALWAYS, AUTH, BODY, finish_openapi
from insights.api.events import PREFIX
from insights.api.product_responses import ElasticityResponse, ForecastResponse, PriceOptimizationResponse
from insights.api.pseudonyms import by_store_ids
from insights.api.responses import HealthResponse, QualityResponse
from insights.api.routes.kit import SECURITY, Recording
from insights.api.routes.kit import answers as _answers
from insights.api.runtime import ApiRuntime
from insights.api.schemas import CustomerIdsRequest, ForecastRequest, PriceOptimizationRequest, ProductRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

__all__ = ["register"]


def register(app: Recording, runtime: ApiRuntime) -> None:
    """Add these routes to ``app`` (the resolver, recording each route)."""
    resolver = app.resolver

    @app.get(f"{PREFIX}/segments", tags=["customers"], security=SECURITY,
             responses=_answers("the segments of the asked or the automatic k", *AUTH, "validation_error",
                                "insufficient_data", *ALWAYS),
             summary="Customer segments (RFM + K-Means) for the automatic k or a chosen n_clusters")
    def get_segments(n_clusters: Annotated[int | None, Query(ge=2, le=10)] = None) -> SegmentsResponse:
        return cast(SegmentsResponse, customers.segments(runtime.snapshot(), n_clusters=n_clusters))

    @app.post(f"{PREFIX}/clv", tags=["customers"], security=SECURITY,
              responses=_answers("the known customers' predictions; unknown ids in not_found", *AUTH, *BODY,
                                 *ALWAYS),
              summary="Predicted customer lifetime value for up to 1000 customers")
    def post_clv(body: CustomerIdsRequest) -> ClvResponse:
        return cast(ClvResponse, by_store_ids(runtime.pseudonyms, body.customer_ids,
                                              lambda ids: customers.clv(runtime.snapshot(), ids)))

    @app.post(f"{PREFIX}/churn", tags=["customers"], security=SECURITY,
              responses=_answers("the known customers' predictions; unknown ids in not_found", *AUTH, *BODY,
                                 *ALWAYS),
              summary="Churn probability, risk level and factors for up to 1000 customers")
    def post_churn(body: CustomerIdsRequest) -> ChurnResponse:
        return cast(ChurnResponse, by_store_ids(runtime.pseudonyms, body.customer_ids,
                                                lambda ids: customers.churn(runtime.snapshot(), ids)))

    @app.get(f"{PREFIX}/at-risk-customers", tags=["customers"], security=SECURITY,
             responses=_answers("customers at or above the threshold, up to limit", *AUTH, "validation_error",
                                *ALWAYS),
             summary="Customers above a churn threshold, by value at risk; emails only with customers:pii")
    def get_at_risk(threshold: Annotated[float, Query(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.5,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    order_by: Annotated[Literal["value_at_risk", "churn_probability"], Query()] = "value_at_risk"
                    ) -> AtRiskResponse:
        principal = runtime.principal()
        return cast(AtRiskResponse, customers.at_risk_customers(
            runtime.snapshot(), threshold=threshold, limit=limit,
            with_pii=bool(principal and principal.has(SCOPE_PII)), order_by=order_by))

    @app.post(f"{PREFIX}/forecast", tags=["products"], security=SECURITY,
              responses=_answers("the daily forecast (and the what-if under planned_price)", *AUTH, *BODY,
                                 "not_found", "insufficient_data", "price_out_of_support", *ALWAYS),
              summary="Daily demand forecast with intervals, 1..90 days, optionally under a planned price")
    def post_forecast(body: ForecastRequest) -> ForecastResponse:
        return cast(ForecastResponse, products.forecast(
            runtime.snapshot(), product_id=body.product_id, forecast_days=body.forecast_days,
            planned_price=body.planned_price, range_margin=runtime.settings.price_range_margin))

    @app.post(f"{PREFIX}/price-elasticity", tags=["products"], security=SECURITY,
              responses=_answers("the product's elasticity estimate", *AUTH, *BODY, "not_found",
                                 "insufficient_data", *ALWAYS),
              summary="Price elasticity of demand (pooled log-log with controls, on the product's grain)")
    def post_price_elasticity(body: ProductRequest) -> ElasticityResponse:
        return cast(ElasticityResponse, products.price_elasticity(runtime.snapshot(),
                                                                           product_id=body.product_id))

    @app.post(f"{PREFIX}/price-optimization", tags=["products"], security=SECURITY,
              responses=_answers("the guarded optimal price and its impact", *AUTH, *BODY, "not_found",
                                 "insufficient_data", "price_out_of_support", "invalid_value", *ALWAYS),
              summary="Guarded profit-maximizing price from the elasticity")
    def post_price_optimization(body: PriceOptimizationRequest) -> PriceOptimizationResponse:
        s = runtime.settings
        return cast(PriceOptimizationResponse, products.price_optimization(
            runtime.snapshot(), product_id=body.product_id, current_price=body.current_price,
            current_quantity=body.current_quantity, cost_per_unit=body.cost_per_unit,
            max_change=s.max_price_change, range_margin=s.price_range_margin))

    @app.get(f"{PREFIX}/quality", tags=["models"], security=SECURITY,
             responses=_answers("one model card per family of the live snapshot", *AUTH, "validation_error",
                                *ALWAYS),
             summary="Model cards: each family's holdout metrics against its named baseline, calibration, coverage")
    def get_quality(family: Annotated[Literal["clv", "churn"] | None, Query()] = None) -> QualityResponse:
        return cast(QualityResponse, quality.quality(runtime.snapshot(), family=family))

    @app.get(f"{PREFIX}/health", tags=["operations"], responses=_answers("the API is up and has a snapshot", *ALWAYS),
             summary="Liveness and the live snapshot's freshness: ok, or degraded with the reasons (no auth)")
    def get_health() -> HealthResponse:
        answer = operations.health(runtime.snapshot(), runtime.cache.status(), runtime.settings)  # 503 without one
        runtime.metric("SnapshotDegraded", 1.0 if answer["status"] == "degraded" else 0.0)  # the alarm's metric
        return cast(HealthResponse, answer)

    openapi: dict[str, str] = {}

    @app.get(f"{PREFIX}/openapi.json", include_in_schema=False, enable_validation=False)
    def get_openapi() -> Response[str]:  # not validated: the validator would try to model Response
        if "json" not in openapi:  # generated once per container, on the first ask
            doc = resolver.get_openapi_schema(
                title="Demand Insights Engine API", version="1.0.0",
                description="Customer segments, CLV, churn, demand forecasts, price elasticity and price optimization "
                            "answered from the daily insight snapshot. Bearer JWT with scope insights:read. Every "
                            "GET also answers HEAD; a path with a trailing slash is the same path.",
                security_schemes={"bearerAuth": _bearer_scheme()})
            openapi["json"] = json.dumps(finish_openapi(doc.model_dump(mode="json", by_alias=True,
                                                                       exclude_none=True)), indent=2)
        return Response(200, content_types.APPLICATION_JSON, openapi["json"],
                        headers={"Cache-Control": "public, max-age=300"})


def _bearer_scheme() -> HTTPBearer:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer  # pydantic models: on first ask only

    return HTTPBearer(bearerFormat="JWT", description="JWT with scope insights:read (customers:pii adds emails)")
