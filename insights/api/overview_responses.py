"""The overview's 200 answer (GET /demand-insights/overview) as a Pydantic-validated TypedDict (see responses.py)."""

# No `from __future__ import annotations`: TypedDict must see its fields evaluated.
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from insights.api.responses import AS_OF, CURRENCY, Money, bounds

__all__ = ["OverviewResponse"]


class RiskLevelCount(TypedDict):
    risk_level: Annotated[str, Field(description="Low, Medium, High or Critical (the churn answer's levels)")]
    count: Annotated[int, Field(json_schema_extra=bounds(0), description="customers at this level")]
    value_at_risk: Annotated[Money, Field(description="sum of churn probability x CLV of these customers")]


class Histogram(TypedDict):
    edges: Annotated[list[float | None], Field(description="bin edges, ascending: bin i is [edges[i], edges[i+1]) "
                                                           "(the last bin includes its upper edge)")]
    counts: Annotated[list[int], Field(description="customers per bin (one fewer than edges)")]
    missing: Annotated[int, Field(json_schema_extra=bounds(0), description="customers without a finite value")]


class ClvSegmentCount(TypedDict):
    clv_segment: Annotated[str, Field(description="Low, Medium or High (the CLV answer's clv_segment)")]
    count: Annotated[int, Field(json_schema_extra=bounds(0), description="customers in this value segment")]
    total_clv: Annotated[Money, Field(description="their predicted CLV, summed")]


class ProductSummary(TypedDict):
    product_id: Annotated[str, Field(description="the product's id (ask forecast, price-elasticity with it)")]
    predicted_quantity_30d: Annotated[float | None, Field(description="units forecast over the next 30 days")]
    last_price: Annotated[Money, Field(description="the last observed unit price")]
    forecast_status: Annotated[str, Field(description="ok (model forecast) or fallback")]
    elasticity_status: Annotated[str | None, Field(description="the elasticity estimate's status (ok: usable for "
                                                               "pricing); null when the snapshot has none")]


class OverviewResponse(TypedDict):
    """The store at a glance: aggregates over every customer and the busiest products."""

    customers: Annotated[int, Field(json_schema_extra=bounds(0), description="customers with a purchase before "
                                                                              "as_of (scored)")]
    active_customers: Annotated[int, Field(json_schema_extra=bounds(0), description="customers with an order in "
                                                                                     "the last active_days days")]
    active_days: Annotated[int, Field(description="the window of active_customers, days (90)")]
    revenue_90d: Annotated[Money, Field(description="customers' spend over the 90 days before as_of (guest lines "
                                                    "excluded); null for a snapshot made before it was recorded")]
    predicted_revenue_30d: Annotated[Money, Field(description="sum of every customer's predicted 30-day spend")]
    predicted_clv_total: Annotated[Money, Field(description="sum of every customer's predicted CLV over "
                                                            "clv_horizon_days")]
    value_at_risk_total: Annotated[Money, Field(description="sum of churn probability x CLV over every customer: "
                                                            "the value expected to be lost")]
    clv_horizon_days: Annotated[int, Field(description="the CLV horizon, days")]
    risk_levels: Annotated[list[RiskLevelCount], Field(description="customers and value at risk per risk level")]
    churn_histogram: Annotated[Histogram, Field(description="churn probability in ten bins of 0.1")]
    clv_histogram: Annotated[Histogram, Field(description="predicted CLV in 1-2-5 bins (currency units)")]
    clv_segments: Annotated[list[ClvSegmentCount], Field(description="customers and CLV per value segment")]
    products: Annotated[list[ProductSummary], Field(description="up to 50 products, by predicted units over the "
                                                                "next 30 days, descending")]
    products_total: Annotated[int, Field(json_schema_extra=bounds(0), description="products the forecast covers")]
    currency: Annotated[str, Field(description=CURRENCY)]
    as_of: Annotated[str, Field(description=AS_OF)]
