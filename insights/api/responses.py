"""The 200 answers of the API as Pydantic-validated TypedDicts: published in the OpenAPI, checked on the way out.

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
from typing import Annotated, Literal, NotRequired

from pydantic import Field
from pydantic.json_schema import JsonDict
from typing_extensions import TypedDict

__all__ = ["SegmentsResponse", "ClvResponse", "ChurnResponse", "AtRiskResponse", "ForecastResponse",
           "ElasticityResponse", "PriceOptimizationResponse", "HealthResponse"]

AS_OF = "the snapshot's as_of date (ISO YYYY-MM-DD): the data the answer is computed from ends the day before"
IsoDate = Annotated[str, Field(json_schema_extra={"format": "date"})]
Money = Annotated[float | None, Field(description="currency units of the order data, to the cent; null if unknown")]
Probability = Annotated[float | None, Field(json_schema_extra={"minimum": 0, "maximum": 1})]


def _in(low: float, high: float | None = None) -> JsonDict:
    """Bounds published in the OpenAPI but not enforced: an answer never fails over a bound of the data."""
    return {"minimum": low} if high is None else {"minimum": low, "maximum": high}


# -- segments --
class Segment(TypedDict):
    segment_id: Annotated[int, Field(description="0..n_clusters-1, ordered by value (sum of the scaled R, F and M "
                                                 "axes)")]
    segment: Annotated[str, Field(description="the segment's name (Champions, Loyal Customers, At Risk, Lost, ...)")]
    description: Annotated[str, Field(description="what the segment means, in one sentence")]
    count: Annotated[int, Field(json_schema_extra=_in(0), description="customers in the segment")]
    percentage: Annotated[float, Field(json_schema_extra=_in(0, 100), description="share of all customers, percent")]
    avg_recency: Annotated[float | None, Field(description="mean days since the last order; null for an empty segment")]
    avg_frequency: Annotated[float | None, Field(description="mean number of orders; null for an empty segment")]
    avg_monetary: Annotated[float | None, Field(description="mean total spend (currency units); null for an empty "
                                                            "segment")]


class ElbowPoint(TypedDict):
    k: Annotated[int, Field(json_schema_extra=_in(2, 10), description="number of clusters")]
    inertia: Annotated[float | None, Field(description="K-Means within-cluster sum of squares at k (standardized RFM)")]
    silhouette: Annotated[float | None, Field(description="silhouette score at k, -1..1 (higher separates better)")]


class SegmentsResponse(TypedDict):
    """Customer segments (RFM + K-Means) for the asked or the automatic number of clusters."""

    segments: Annotated[list[Segment], Field(description="one per cluster, by segment_id")]
    total_customers: Annotated[int, Field(json_schema_extra=_in(0), description="customers segmented (sum of the "
                                                                                "counts)")]
    n_clusters: Annotated[int, Field(json_schema_extra=_in(2, 10), description="the k answered: n_clusters, else "
                                                                               "auto_k")]
    auto_k: Annotated[int, Field(json_schema_extra=_in(2, 10), description="the k with the best silhouette (the "
                                                                           "default)")]
    silhouette_score: Annotated[float | None, Field(description="silhouette of this solution, -1..1; null if not "
                                                                "computed")]
    elbow: Annotated[list[ElbowPoint], Field(description="inertia and silhouette for every fitted k, to judge the "
                                                         "choice")]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- clv --
class ClvPrediction(TypedDict):
    customer_id: Annotated[str, Field(description="the customer's id as asked")]
    predicted_clv: Annotated[Money, Field(description="predicted spend over horizon_days (currency units, >= 0)")]
    clv_segment: Annotated[str, Field(description="High (>= 80th percentile of predicted CLV), Medium (>= median) or "
                                                  "Low")]
    clv_method: Annotated[str, Field(description="the model that predicted it, or simple_formula where the model had "
                                                 "none")]
    simple_clv: Annotated[Money, Field(description="average order value x orders a day x horizon: the formula "
                                                   "estimate")]
    predicted_orders: Annotated[float | None, Field(description="expected number of orders over horizon_days")]
    next_order_date: Annotated[IsoDate | None, Field(description="expected next order date; null if none is expected "
                                                        "within horizon_days")]
    predicted_spend_30d: Annotated[Money, Field(description="predicted spend over the next 30 days (currency units)")]
    purchase_probability_30d: Annotated[Probability, Field(description="probability of at least one order in the next "
                                                              "30 days, 0..1")]


class ClvSummary(TypedDict):
    total_customers: Annotated[int, Field(json_schema_extra=_in(0), description="customers answered (known ids, no "
                                                                                "duplicates)")]
    avg_clv: Annotated[Money, Field(description="mean predicted CLV of those customers; null when none is known")]
    total_clv: Annotated[Money, Field(description="sum of their predicted CLV")]
    by_segment: Annotated[dict[str, int], Field(description="customers answered per clv_segment")]


class ClvResponse(TypedDict):
    """Predicted lifetime value of the known customers, in request order without duplicates."""

    predictions: Annotated[list[ClvPrediction], Field(description="one per known id, in request order")]
    segments: Annotated[ClvSummary, Field(description="over the customers answered")]
    horizon_days: Annotated[int | None, Field(description="the CLV horizon in days (365 by default); null if the "
                                                          "snapshot "
                                                 "does not record it")]
    not_found: Annotated[list[str], Field(description="asked ids the snapshot does not know (a 200 even if all are "
                                                      "unknown)")]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- churn --
class ChurnFactor(TypedDict):
    feature: Annotated[str, Field(description="model feature, for example recency_days or frequency")]
    contribution: Annotated[float | None, Field(description="its contribution to this customer's churn log-odds")]
    direction: Annotated[Literal["increases_risk", "decreases_risk"], Field(description="the sign of the contribution")]


class ChurnPrediction(TypedDict):
    customer_id: Annotated[str, Field(description="the customer's id as asked")]
    churn_probability: Annotated[Probability, Field(description="probability of no order in the next horizon_days, "
                                                                "0..1")]
    risk_level: Annotated[str, Field(description="Low (< 0.3), Medium (< 0.5), High (< 0.7) or Critical")]
    churn_factors: Annotated[list[ChurnFactor], Field(description="up to three largest contributions, largest first")]


class ChurnSummary(TypedDict):
    total_customers: Annotated[int, Field(json_schema_extra=_in(0), description="customers answered")]
    at_risk_count: Annotated[int, Field(json_schema_extra=_in(0), description="customers with a risk_level in "
                                                                              "at_risk_levels")]
    at_risk_percentage: Annotated[float, Field(json_schema_extra=_in(0, 100), description="at_risk_count / total, "
                                                                                          "percent")]
    at_risk_levels: Annotated[list[str], Field(description="the risk levels counted as at risk (High, Critical)")]


class ChurnResponse(TypedDict):
    """Churn probability, risk level and top factors of the known customers, in request order."""

    predictions: Annotated[list[ChurnPrediction], Field(description="one per known id, in request order")]
    summary: Annotated[ChurnSummary, Field(description="over the customers answered")]
    horizon_days: Annotated[int | None, Field(description="the churn horizon in days (90 by default); null if "
                                                          "unrecorded")]
    not_found: Annotated[list[str], Field(description="asked ids the snapshot does not know")]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- at-risk customers --
class AtRiskCustomer(TypedDict):
    customer_id: Annotated[str, Field(description="the customer's id as asked")]
    email: NotRequired[Annotated[str | None, Field(description="only with the customers:pii scope (absent "
                                                                      "without it); null when unknown")]]
    churn_probability: Annotated[Probability, Field(description="probability of no order in the churn horizon, 0..1")]
    risk_level: Annotated[str, Field(description="Low, Medium, High or Critical")]
    recency_days: Annotated[int, Field(json_schema_extra=_in(0), description="days since the last order, at as_of")]
    frequency: Annotated[int, Field(json_schema_extra=_in(0), description="number of orders so far")]
    monetary_total: Annotated[Money, Field(description="total spend so far (currency units, net of returns)")]
    predicted_clv: Annotated[Money, Field(description="predicted spend over the CLV horizon")]
    value_at_risk: Annotated[Money, Field(description="churn_probability x predicted_clv")]


class AtRiskResponse(TypedDict):
    """Customers at or above the churn threshold, by value at risk (or churn probability), descending."""

    at_risk_customers: Annotated[list[AtRiskCustomer], Field(description="ties in the sort key by customer_id")]
    count: Annotated[int, Field(json_schema_extra=_in(0), description="customers in this answer (<= limit)")]
    threshold: Annotated[float, Field(json_schema_extra=_in(0, 1), description="the churn_probability threshold "
                                                                               "(inclusive)")]
    limit: Annotated[int, Field(json_schema_extra=_in(1, 1000), description="the limit applied")]
    total_above_threshold: Annotated[int, Field(json_schema_extra=_in(0), description="all customers at or above "
                                                                                      "threshold")]
    order_by: Annotated[Literal["value_at_risk", "churn_probability"], Field(description="the sort key applied, "
                                                                                         "descending")]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- forecast --
class ForecastPoint(TypedDict):
    date: Annotated[IsoDate | None, Field(description="the day (day 0 = as_of); null if the snapshot has no as_of")]
    predicted_quantity: Annotated[float | None, Field(description="expected units sold that day, >= 0")]
    confidence_lower: Annotated[float | None, Field(description="lower bound of the interval_level interval, >= 0")]
    confidence_upper: Annotated[float | None, Field(description="upper bound of the interval_level interval")]


class FeatureImportance(TypedDict):
    feature: Annotated[str, Field(description="model feature name")]
    importance: Annotated[float, Field(description="share of the model's total gain, 0..1 (all features sum to 1)")]


class WhatIfModelGrid(TypedDict):
    planned_price: Annotated[float, Field(description="the planned unit price asked")]
    base_price: Annotated[float, Field(description="the last observed price: the price the stored forecast assumes")]
    method: Annotated[Literal["model_price_grid"], Field(description="the model's own forecasts at 0.7..1.3 x the last "
                                                            "price, interpolated in log price")]
    price_multiplier: Annotated[float, Field(description="planned / base price, clipped to the grid (0.7..1.3)")]
    clipped_to_grid: Annotated[bool, Field(description="true when the planned price was outside the grid and clipped")]


class WhatIfElasticity(TypedDict):
    planned_price: Annotated[float, Field(description="the planned unit price asked")]
    base_price: Annotated[float, Field(description="the price the stored forecast corresponds to")]
    method: Annotated[Literal["constant_elasticity"], Field(description="units scaled by (planned / base) ^ "
                                                                        "elasticity")]
    elasticity: Annotated[float, Field(description="the product's price elasticity used")]


class ForecastResponse(TypedDict):
    """Daily demand forecast with intervals; with planned_price, the forecast under that price (what_if)."""

    product_id: Annotated[str, Field(description="the product's id as asked")]
    forecast: Annotated[list[ForecastPoint], Field(description="one point a day, forecast_days points from as_of")]
    feature_importance: Annotated[list[FeatureImportance], Field(description="the forecast model's global importances")]
    forecast_days: Annotated[int, Field(json_schema_extra=_in(1, 90), description="days answered, as asked")]
    total_predicted_quantity: Annotated[float, Field(description="sum of predicted_quantity over the days answered")]
    interval_level: Annotated[float | None, Field(description="nominal coverage of the interval, e.g. 0.8; null if "
                                                              "unknown")]
    method: Annotated[str, Field(description="model (the trained forecaster) or tsb (the intermittent-demand "
                                             "fallback)")]
    status: Annotated[str, Field(description="ok (model forecast) or fallback (too little history for the model)")]
    model: Annotated[str | None, Field(description="the forecaster's name (lightgbm, xgboost); null if unknown")]
    what_if: NotRequired[Annotated[WhatIfModelGrid | WhatIfElasticity, Field(
        discriminator="method", description="only with planned_price: how the forecast was moved to that price")]]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- price elasticity --
class ConfidenceInterval(TypedDict):
    lower: Annotated[float | None, Field(description="lower end; null when unknown")]
    upper: Annotated[float | None, Field(description="upper end; null when unknown")]
    level: Annotated[float, Field(description="nominal coverage (0.95)")]


class PriceRange(TypedDict):
    min: Annotated[float | None, Field(description="lowest observed unit price on days with sales")]
    max: Annotated[float | None, Field(description="highest observed unit price on days with sales")]
    mean: Annotated[float | None, Field(description="mean observed unit price on days with sales")]


class ElasticityResponse(TypedDict):
    """The product's log-log price elasticity of demand (Poisson fit with controls), with its interval."""

    product_id: Annotated[str, Field(description="the product's id as asked")]
    elasticity_coefficient: Annotated[float | None, Field(description="% change in units for a 1% price rise (< 0 "
                                                                      "normal)")]
    standard_error: Annotated[float | None, Field(description="Newey-West standard error of the coefficient")]
    confidence_interval: Annotated[ConfidenceInterval, Field(description="the coefficient's 95% interval")]
    p_value: Annotated[float | None, Field(json_schema_extra=_in(0, 1), description="for H0: elasticity = 0")]
    r_squared: Annotated[float | None, Field(description="deviance R2 of the fit, 0..1")]
    n_observations: Annotated[int, Field(json_schema_extra=_in(0), description="days in the fit, zero-sale days "
                                                                               "included")]
    elasticity_type: Annotated[str, Field(description="Elastic, Inelastic, Unit elastic or Positive: suspect")]
    interpretation: Annotated[str, Field(description="the estimate in one sentence")]
    price_range: Annotated[PriceRange, Field(description="prices seen in the fit (currency units)")]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- price optimization --
class Guardrails(TypedDict):
    cost_floor: Annotated[float, Field(description="the unit cost (0 without one): the price never goes below it")]
    range_min: Annotated[float, Field(description="lowest observed price less the range margin")]
    range_max: Annotated[float, Field(description="highest observed price plus the range margin")]
    step_min: Annotated[float, Field(description="current price less the maximum step")]
    step_max: Annotated[float, Field(description="current price plus the maximum step")]


class EstimatedImpact(TypedDict):
    quantity_change_pct: Annotated[float, Field(description="units at the optimal price vs now, percent")]
    revenue_change_pct: Annotated[float | None, Field(description="percent; null when the current revenue is 0")]
    profit_change_pct: Annotated[float | None, Field(description="percent; null without a cost or with a current "
                                                                 "profit "
                                                        "of 0")]
    estimated_revenue: Annotated[float, Field(description="revenue at the optimal price (currency units)")]
    estimated_quantity: Annotated[float, Field(description="units at the optimal price")]
    estimated_profit: Annotated[float | None, Field(description="profit at the optimal price; null without a cost")]


class SensitivityPoint(TypedDict):
    price_change_pct: Annotated[float, Field(description="the move from the current price, percent (-30..30)")]
    price: Annotated[float, Field(description="unit price (currency units)")]
    quantity: Annotated[float, Field(description="units at that price, per the period of current_quantity")]
    revenue: Annotated[float, Field(description="price x quantity")]
    profit: Annotated[float | None, Field(description="null without a cost")]


class OptimumAtElasticity(TypedDict):
    optimal_price: Annotated[float | None, Field(description="the guarded optimum at this elasticity")]
    unconstrained_optimal_price: Annotated[float | None, Field(description="the markup-rule optimum; null when "
                                                                           "unbounded")]
    unbounded: Annotated[bool, Field(description="true when profit keeps rising with price (elasticity >= -1)")]
    note: NotRequired[Annotated[str, Field(description="present when the interval end is not a demand curve")]]


class OptimalPriceRange(TypedDict):
    elasticity_lower: Annotated[float, Field(description="lower end of the elasticity's 95% interval")]
    elasticity_upper: Annotated[float, Field(description="upper end of the elasticity's 95% interval")]
    at_elasticity_lower: Annotated[OptimumAtElasticity, Field(description="the optimum if the elasticity were the "
                                                                          "lower end")]
    at_elasticity_upper: Annotated[OptimumAtElasticity, Field(description="the optimum if the elasticity were the "
                                                                          "upper end")]
    min: Annotated[float | None, Field(description="lowest of the two optima; null when neither exists")]
    max: Annotated[float | None, Field(description="highest of the two optima; null when neither exists")]


class PriceOptimizationResponse(TypedDict):
    """The profit-maximizing price (revenue without a cost) from the stored elasticity, within the guardrails."""

    product_id: Annotated[str, Field(description="the product's id as asked")]
    current_price: Annotated[float, Field(description="the current unit price asked")]
    optimal_price: Annotated[float, Field(description="the recommended unit price, within the guardrails")]
    price_change_pct: Annotated[float, Field(description="optimal vs current price, percent")]
    recommendation: Annotated[str, Field(description="Increase price, Decrease price or Keep current price (|change| "
                                                     "< 0.5%)")]
    objective: Annotated[str, Field(description="profit (a cost was given) or revenue")]
    elasticity: Annotated[float, Field(description="the product's elasticity used")]
    unconstrained_optimal_price: Annotated[float | None, Field(description="optimum before the guardrails; null when "
                                                                  "unbounded")]
    unbounded: Annotated[bool, Field(description="true when profit rises with price without bound (inelastic demand)")]
    binding_constraint: Annotated[str | None, Field(description="the guardrail that set the price (max_step, cost, "
                                                       "observed_range, cost_above_max_step); null if none")]
    guardrails: Annotated[Guardrails, Field(description="the allowed price interval's bounds (currency units)")]
    estimated_impact: Annotated[EstimatedImpact, Field(description="at the optimal price, per the period of "
                                                                   "current_quantity")]
    sensitivity: Annotated[list[SensitivityPoint], Field(description="the demand curve at -30%..+30% of the current "
                                                                     "price")]
    optimal_price_range: Annotated[OptimalPriceRange, Field(description="the optimum at both ends of the elasticity's "
                                                               "interval: how much the answer depends on it")]
    note: Annotated[str, Field(description="how the price was chosen, in one or two sentences")]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- health --
class SnapshotStatus(TypedDict):
    version: Annotated[str | None, Field(description="the live snapshot's version id")]
    as_of: Annotated[str | None, Field(description=AS_OF)]
    created_at: Annotated[str | None, Field(description="when the refresh published it (ISO 8601, UTC)")]
    age_seconds: Annotated[float | None, Field(description="seconds since created_at; null if unknown")]


class HealthResponse(TypedDict):
    """Liveness and the live snapshot's version and age (public: nothing else)."""

    status: Annotated[Literal["ok"], Field(description="always ok in a 200")]
    snapshot: Annotated[SnapshotStatus, Field(description="the live snapshot")]
    recheck_seconds: Annotated[float, Field(description="how often `latest` is re-checked, seconds")]
    store_error: Annotated[str | None, Field(description="null, or why the last re-check failed while the loaded "
                                                         "snapshot "
                                                "is still served: store_unreachable, snapshot_unreadable")]

