"""The routes under /demand-insights: each calls one service function, with no try/except (errors: api/app.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.params import Query

from insights.api import customers, products, quality
from insights.api.auth import SCOPE_PII
from insights.api.events import PREFIX
from insights.api.runtime import ApiRuntime
from insights.api.schemas import (
    ERROR_RESPONSES,
    CustomerIdsRequest,
    ForecastRequest,
    PriceOptimizationRequest,
    ProductRequest,
)

__all__ = ["register_routes", "SECURITY"]

SECURITY = [{"bearerAuth": []}]
_OK = {"description": "the answer, a JSON object", "content": {"application/json": {"schema": {"type": "object"}}}}


def _errors(*codes: int) -> dict[int, Any]:
    """The documented responses: 200 (Powertools leaves it out once ``responses`` is given) and the errors."""
    return {200: _OK, **{c: ERROR_RESPONSES[c] for c in codes}}


_AUTHED = (401, 403, 422, 503)


def register_routes(resolver: ApiGatewayResolver, runtime: ApiRuntime) -> frozenset[tuple[str, str]]:
    """Add every route to ``resolver`` (HTTP or REST); returns the (method, path) pairs registered."""
    app = _Recording(resolver)

    @app.get(f"{PREFIX}/segments", tags=["customers"], security=SECURITY, responses=_errors(*_AUTHED),
             summary="Customer segments (RFM + K-Means) for the automatic k or a chosen n_clusters")
    def get_segments(n_clusters: Annotated[int | None, Query(ge=2, le=10)] = None) -> dict:
        return customers.segments(runtime.snapshot(), n_clusters=n_clusters)

    @app.post(f"{PREFIX}/clv", tags=["customers"], security=SECURITY, responses=_errors(400, 415, *_AUTHED),
              summary="Predicted customer lifetime value for up to 1000 customers")
    def post_clv(body: CustomerIdsRequest) -> dict:
        return customers.clv(runtime.snapshot(), body.customer_ids)

    @app.post(f"{PREFIX}/churn", tags=["customers"], security=SECURITY, responses=_errors(400, 415, *_AUTHED),
              summary="Churn probability, risk level and factors for up to 1000 customers")
    def post_churn(body: CustomerIdsRequest) -> dict:
        return customers.churn(runtime.snapshot(), body.customer_ids)

    @app.get(f"{PREFIX}/at-risk-customers", tags=["customers"], security=SECURITY, responses=_errors(*_AUTHED),
             summary="Customers above a churn threshold, by value at risk; emails only with customers:pii")
    def get_at_risk(threshold: Annotated[float, Query(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.5,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    order_by: Annotated[Literal["value_at_risk", "churn_probability"], Query()] = "value_at_risk"
                    ) -> dict:
        principal = runtime.principal()
        return customers.at_risk_customers(runtime.snapshot(), threshold=threshold, limit=limit,
                                           with_pii=bool(principal and principal.has(SCOPE_PII)), order_by=order_by)

    @app.post(f"{PREFIX}/forecast", tags=["products"], security=SECURITY, responses=_errors(400, 415, 404, *_AUTHED),
              summary="Daily demand forecast with intervals, 1..90 days, optionally under a planned price")
    def post_forecast(body: ForecastRequest) -> dict:
        return products.forecast(runtime.snapshot(), product_id=body.product_id, forecast_days=body.forecast_days,
                                 planned_price=body.planned_price)

    @app.post(f"{PREFIX}/price-elasticity", tags=["products"], security=SECURITY,
              responses=_errors(400, 415, 404, *_AUTHED), summary="Price elasticity of demand (log-log with controls)")
    def post_price_elasticity(body: ProductRequest) -> dict:
        return products.price_elasticity(runtime.snapshot(), product_id=body.product_id)

    @app.post(f"{PREFIX}/price-optimization", tags=["products"], security=SECURITY,
              responses=_errors(400, 415, 404, *_AUTHED), summary="Guarded profit-maximizing price from the elasticity")
    def post_price_optimization(body: PriceOptimizationRequest) -> dict:
        s = runtime.settings
        return products.price_optimization(
            runtime.snapshot(), product_id=body.product_id, current_price=body.current_price,
            current_quantity=body.current_quantity, cost_per_unit=body.cost_per_unit,
            max_change=s.max_price_change, range_margin=s.price_range_margin)

    @app.get(f"{PREFIX}/quality", tags=["models"], security=SECURITY, responses=_errors(*_AUTHED),
             summary="Model cards: each family's holdout metrics against its named baseline, calibration, coverage")
    def get_quality(family: Annotated[Literal["clv", "churn"] | None, Query()] = None) -> dict:
        return quality.quality(runtime.snapshot(), family=family)

    @app.get(f"{PREFIX}/health", tags=["operations"], responses=_errors(503),
             summary="Liveness and the live snapshot's version and age (no auth)")
    def get_health() -> dict:
        runtime.snapshot()  # 503 when there is none
        status = runtime.cache.status()  # version and age only: row counts are business data, and this is public
        return {"status": "ok", "snapshot": {k: status.get(k) for k in ("version", "as_of", "created_at",
                                                                       "age_seconds")},
                "recheck_seconds": status["recheck_seconds"], "store_error": status["last_error"]}

    openapi: dict[str, str] = {}

    @app.get(f"{PREFIX}/openapi.json", include_in_schema=False)
    def get_openapi():  # no annotation: the validator would try to model Response
        if "json" not in openapi:  # generated once per container, on the first ask
            openapi["json"] = resolver.get_openapi_json_schema(
                title="Demand Insights Engine API", version="1.0.0",
                description="Customer segments, CLV, churn, demand forecasts, price elasticity and price optimization "
                            "answered from the daily insight snapshot. Bearer JWT with scope insights:read.",
                security_schemes={"bearerAuth": _bearer_scheme()})
        return Response(200, content_types.APPLICATION_JSON, openapi["json"],
                        headers={"Cache-Control": "public, max-age=300"})

    return frozenset(app.seen)


def _bearer_scheme() -> Any:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return HTTPBearer(bearerFormat="JWT", description="JWT with scope insights:read (customers:pii adds emails)")


class _Recording:
    """The resolver's route decorators, remembering each (method, path): the metrics' route names come from here."""

    def __init__(self, resolver: ApiGatewayResolver) -> None:
        self.resolver = resolver
        self.seen: set[tuple[str, str]] = set()

    def get(self, path: str, **kwargs: Any) -> Any:
        self.seen.add(("GET", path))
        return self.resolver.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        self.seen.add(("POST", path))
        return self.resolver.post(path, **kwargs)
