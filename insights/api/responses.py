"""The 200 answers of the API as Pydantic models: published in the OpenAPI and checked as each answer is serialized.

The services return plain dicts; each route validates its service's dict into the model its return annotation
names, and Powertools serializes the model (about as fast as serializing the dict: 1000 rows cost ~0.5 ms more).
Keys a model does not declare are dropped, never sent undocumented; a field typed ``... | MISSING`` is absent from
the answer unless the service set it. Bounds (minimum, maximum) are published, not enforced: a bound of the data
never turns an answer into an error.
Numbers that the snapshot holds as NaN or infinity are answered as null (JSON has neither).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

__all__ = ["SegmentsResponse", "ClvResponse", "ChurnResponse", "AtRiskResponse", "ForecastResponse",
           "ElasticityResponse", "PriceOptimizationResponse", "HealthResponse", ]

AS_OF = "the snapshot's as_of date (ISO YYYY-MM-DD): the data the answer is computed from ends the day before"
IsoDate = Annotated[str, Field(json_schema_extra={"format": "date"})]
Money = Annotated[float | None, Field(description="currency units of the order data, to the cent; null if unknown")]
Probability = Annotated[float | None, Field(json_schema_extra={"minimum": 0, "maximum": 1})]


def _in(low: float, high: float | None = None) -> JsonDict:
    """Bounds published in the OpenAPI but not enforced: an answer never fails over a bound of the data."""
    return {"minimum": low} if high is None else {"minimum": low, "maximum": high}


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -- segments --
class Segment(_Answer):
    segment_id: int = Field(description="0..n_clusters-1, ordered by value (sum of the scaled R, F and M axes)")
    segment: str = Field(description="the segment's name (Champions, Loyal Customers, At Risk, Lost, ...)")
    description: str = Field(description="what the segment means, in one sentence")
    count: int = Field(json_schema_extra=_in(0), description="customers in the segment")
    percentage: float = Field(json_schema_extra=_in(0, 100), description="share of all customers, percent")
    avg_recency: float | None = Field(description="mean days since the last order; null for an empty segment")
    avg_frequency: float | None = Field(description="mean number of orders; null for an empty segment")
    avg_monetary: float | None = Field(description="mean total spend (currency units); null for an empty segment")


class ElbowPoint(_Answer):
    k: int = Field(json_schema_extra=_in(2, 10), description="number of clusters")
    inertia: float | None = Field(description="K-Means within-cluster sum of squares at k (standardized RFM)")
    silhouette: float | None = Field(description="silhouette score at k, -1..1 (higher separates better)")


class SegmentsResponse(_Answer):
    """Customer segments (RFM + K-Means) for the asked or the automatic number of clusters."""

    segments: list[Segment] = Field(description="one per cluster, by segment_id")
    total_customers: int = Field(json_schema_extra=_in(0), description="customers segmented (sum of the counts)")
    n_clusters: int = Field(json_schema_extra=_in(2, 10), description="the k answered: n_clusters, else auto_k")
    auto_k: int = Field(json_schema_extra=_in(2, 10), description="the k with the best silhouette (the default)")
    silhouette_score: float | None = Field(description="silhouette of this solution, -1..1; null if not computed")
    elbow: list[ElbowPoint] = Field(description="inertia and silhouette for every fitted k, to judge the choice")
    as_of: str = Field(description=AS_OF)


# -- clv --
class ClvPrediction(_Answer):
    customer_id: str = Field(description="the customer's id as asked")
    predicted_clv: Money = Field(description="predicted spend over horizon_days (currency units, >= 0)")
    clv_segment: str = Field(description="High (>= 80th percentile of predicted CLV), Medium (>= median) or Low")
    clv_method: str = Field(description="the model that predicted it, or simple_formula where the model had none")
    simple_clv: Money = Field(description="average order value x orders a day x horizon: the formula estimate")
    predicted_orders: float | None = Field(description="expected number of orders over horizon_days")
    next_order_date: IsoDate | None = Field(description="expected next order date; null if none is expected "
                                                        "within horizon_days")
    predicted_spend_30d: Money = Field(description="predicted spend over the next 30 days (currency units)")
    purchase_probability_30d: Probability = Field(description="probability of at least one order in the next "
                                                              "30 days, 0..1")


class ClvSummary(_Answer):
    total_customers: int = Field(json_schema_extra=_in(0), description="customers answered (known ids, no duplicates)")
    avg_clv: Money = Field(description="mean predicted CLV of those customers; null when none is known")
    total_clv: Money = Field(description="sum of their predicted CLV")
    by_segment: dict[str, int] = Field(description="customers answered per clv_segment")


class ClvResponse(_Answer):
    """Predicted lifetime value of the known customers, in request order without duplicates."""

    predictions: list[ClvPrediction] = Field(description="one per known id, in request order")
    segments: ClvSummary = Field(description="over the customers answered")
    horizon_days: int | None = Field(description="the CLV horizon in days (365 by default); null if the snapshot "
                                                 "does not record it")
    not_found: list[str] = Field(description="asked ids the snapshot does not know (a 200 even if all are unknown)")
    as_of: str = Field(description=AS_OF)


# -- churn --
class ChurnFactor(_Answer):
    feature: str = Field(description="model feature, for example recency_days or frequency")
    contribution: float | None = Field(description="its contribution to this customer's churn log-odds")
    direction: Literal["increases_risk", "decreases_risk"] = Field(description="the sign of the contribution")


class ChurnPrediction(_Answer):
    customer_id: str = Field(description="the customer's id as asked")
    churn_probability: Probability = Field(description="probability of no order in the next horizon_days, 0..1")
    risk_level: str = Field(description="Low (< 0.3), Medium (< 0.5), High (< 0.7) or Critical")
    churn_factors: list[ChurnFactor] = Field(description="up to three largest contributions, largest first")


class ChurnSummary(_Answer):
    total_customers: int = Field(json_schema_extra=_in(0), description="customers answered")
    at_risk_count: int = Field(json_schema_extra=_in(0), description="customers with a risk_level in at_risk_levels")
    at_risk_percentage: float = Field(json_schema_extra=_in(0, 100), description="at_risk_count / total, percent")
    at_risk_levels: list[str] = Field(description="the risk levels counted as at risk (High, Critical)")


class ChurnResponse(_Answer):
    """Churn probability, risk level and top factors of the known customers, in request order."""

    predictions: list[ChurnPrediction] = Field(description="one per known id, in request order")
    summary: ChurnSummary = Field(description="over the customers answered")
    horizon_days: int | None = Field(description="the churn horizon in days (90 by default); null if unrecorded")
    not_found: list[str] = Field(description="asked ids the snapshot does not know")
    as_of: str = Field(description=AS_OF)


# -- at-risk customers --
class AtRiskCustomer(_Answer):
    customer_id: str = Field(description="the customer's id as asked")
    email: str | None | MISSING = Field(default=MISSING, description="only with the customers:pii scope (absent "
                                                                      "without it); null when unknown")
    churn_probability: Probability = Field(description="probability of no order in the churn horizon, 0..1")
    risk_level: str = Field(description="Low, Medium, High or Critical")
    recency_days: int = Field(json_schema_extra=_in(0), description="days since the last order, at as_of")
    frequency: int = Field(json_schema_extra=_in(0), description="number of orders so far")
    monetary_total: Money = Field(description="total spend so far (currency units, net of returns)")
    predicted_clv: Money = Field(description="predicted spend over the CLV horizon")
    value_at_risk: Money = Field(description="churn_probability x predicted_clv")


class AtRiskResponse(_Answer):
    """Customers at or above the churn threshold, by value at risk (or churn probability), descending."""

    at_risk_customers: list[AtRiskCustomer] = Field(description="ties in the sort key by customer_id")
    count: int = Field(json_schema_extra=_in(0), description="customers in this answer (<= limit)")
    threshold: float = Field(json_schema_extra=_in(0, 1), description="the churn_probability threshold (inclusive)")
    limit: int = Field(json_schema_extra=_in(1, 1000), description="the limit applied")
    total_above_threshold: int = Field(json_schema_extra=_in(0), description="all customers at or above threshold")
    order_by: Literal["value_at_risk", "churn_probability"] = Field(description="the sort key applied, descending")
    as_of: str = Field(description=AS_OF)


# -- forecast --
class ForecastPoint(_Answer):
    date: IsoDate | None = Field(description="the day (day 0 = as_of); null if the snapshot has no as_of")
    predicted_quantity: float | None = Field(description="expected units sold that day, >= 0")
    confidence_lower: float | None = Field(description="lower bound of the interval_level interval, >= 0")
    confidence_upper: float | None = Field(description="upper bound of the interval_level interval")


class FeatureImportance(_Answer):
    feature: str = Field(description="model feature name")
    importance: float = Field(description="share of the model's total gain, 0..1 (all features sum to 1)")


class WhatIfModelGrid(_Answer):
    planned_price: float = Field(description="the planned unit price asked")
    base_price: float = Field(description="the last observed price: the price the stored forecast assumes")
    method: Literal["model_price_grid"] = Field(description="the model's own forecasts at 0.7..1.3 x the last "
                                                            "price, interpolated in log price")
    price_multiplier: float = Field(description="planned / base price, clipped to the grid (0.7..1.3)")
    clipped_to_grid: bool = Field(description="true when the planned price was outside the grid and clipped")


class WhatIfElasticity(_Answer):
    planned_price: float = Field(description="the planned unit price asked")
    base_price: float = Field(description="the price the stored forecast corresponds to")
    method: Literal["constant_elasticity"] = Field(description="units scaled by (planned / base) ^ elasticity")
    elasticity: float = Field(description="the product's price elasticity used")


class ForecastResponse(_Answer):
    """Daily demand forecast with intervals; with planned_price, the forecast under that price (what_if)."""

    product_id: str = Field(description="the product's id as asked")
    forecast: list[ForecastPoint] = Field(description="one point a day, forecast_days points from as_of")
    feature_importance: list[FeatureImportance] = Field(description="the forecast model's global importances")
    forecast_days: int = Field(json_schema_extra=_in(1, 90), description="days answered, as asked")
    total_predicted_quantity: float = Field(description="sum of predicted_quantity over the days answered")
    interval_level: float | None = Field(description="nominal coverage of the interval, e.g. 0.8; null if unknown")
    method: str = Field(description="model (the trained forecaster) or tsb (the intermittent-demand fallback)")
    status: str = Field(description="ok (model forecast) or fallback (too little history for the model)")
    model: str | None = Field(description="the forecaster's name (lightgbm, xgboost); null if unknown")
    what_if: Annotated[WhatIfModelGrid | WhatIfElasticity, Field(discriminator="method")] | MISSING = Field(
        default=MISSING, description="only with planned_price: how the forecast was moved to that price")
    as_of: str = Field(description=AS_OF)


# -- price elasticity --
class ConfidenceInterval(_Answer):
    lower: float | None = Field(description="lower end; null when unknown")
    upper: float | None = Field(description="upper end; null when unknown")
    level: float = Field(description="nominal coverage (0.95)")


class PriceRange(_Answer):
    min: float | None = Field(description="lowest observed unit price on days with sales")
    max: float | None = Field(description="highest observed unit price on days with sales")
    mean: float | None = Field(description="mean observed unit price on days with sales")


class ElasticityResponse(_Answer):
    """The product's log-log price elasticity of demand (Poisson fit with controls), with its interval."""

    product_id: str = Field(description="the product's id as asked")
    elasticity_coefficient: float | None = Field(description="% change in units for a 1% price rise (< 0 normal)")
    standard_error: float | None = Field(description="Newey-West standard error of the coefficient")
    confidence_interval: ConfidenceInterval = Field(description="the coefficient's 95% interval")
    p_value: float | None = Field(json_schema_extra=_in(0, 1), description="for H0: elasticity = 0")
    r_squared: float | None = Field(description="deviance R2 of the fit, 0..1")
    n_observations: int = Field(json_schema_extra=_in(0), description="days in the fit, zero-sale days included")
    elasticity_type: str = Field(description="Elastic, Inelastic, Unit elastic or Positive: suspect")
    interpretation: str = Field(description="the estimate in one sentence")
    price_range: PriceRange = Field(description="prices seen in the fit (currency units)")
    as_of: str = Field(description=AS_OF)


# -- price optimization --
class Guardrails(_Answer):
    cost_floor: float = Field(description="the unit cost (0 without one): the price never goes below it")
    range_min: float = Field(description="lowest observed price less the range margin")
    range_max: float = Field(description="highest observed price plus the range margin")
    step_min: float = Field(description="current price less the maximum step")
    step_max: float = Field(description="current price plus the maximum step")


class EstimatedImpact(_Answer):
    quantity_change_pct: float = Field(description="units at the optimal price vs now, percent")
    revenue_change_pct: float | None = Field(description="percent; null when the current revenue is 0")
    profit_change_pct: float | None = Field(description="percent; null without a cost or with a current profit "
                                                        "of 0")
    estimated_revenue: float = Field(description="revenue at the optimal price (currency units)")
    estimated_quantity: float = Field(description="units at the optimal price")
    estimated_profit: float | None = Field(description="profit at the optimal price; null without a cost")


class SensitivityPoint(_Answer):
    price_change_pct: float = Field(description="the move from the current price, percent (-30..30)")
    price: float = Field(description="unit price (currency units)")
    quantity: float = Field(description="units at that price, per the period of current_quantity")
    revenue: float = Field(description="price x quantity")
    profit: float | None = Field(description="null without a cost")


class OptimumAtElasticity(_Answer):
    optimal_price: float | None = Field(description="the guarded optimum at this elasticity")
    unconstrained_optimal_price: float | None = Field(description="the markup-rule optimum; null when unbounded")
    unbounded: bool = Field(description="true when profit keeps rising with price (elasticity >= -1)")
    note: str | MISSING = Field(default=MISSING, description="present when the interval end is not a demand curve")


class OptimalPriceRange(_Answer):
    elasticity_lower: float = Field(description="lower end of the elasticity's 95% interval")
    elasticity_upper: float = Field(description="upper end of the elasticity's 95% interval")
    at_elasticity_lower: OptimumAtElasticity = Field(description="the optimum if the elasticity were the lower end")
    at_elasticity_upper: OptimumAtElasticity = Field(description="the optimum if the elasticity were the upper end")
    min: float | None = Field(description="lowest of the two optima; null when neither exists")
    max: float | None = Field(description="highest of the two optima; null when neither exists")


class PriceOptimizationResponse(_Answer):
    """The profit-maximizing price (revenue without a cost) from the stored elasticity, within the guardrails."""

    product_id: str = Field(description="the product's id as asked")
    current_price: float = Field(description="the current unit price asked")
    optimal_price: float = Field(description="the recommended unit price, within the guardrails")
    price_change_pct: float = Field(description="optimal vs current price, percent")
    recommendation: str = Field(description="Increase price, Decrease price or Keep current price (|change| < 0.5%)")
    objective: str = Field(description="profit (a cost was given) or revenue")
    elasticity: float = Field(description="the product's elasticity used")
    unconstrained_optimal_price: float | None = Field(description="optimum before the guardrails; null when "
                                                                  "unbounded")
    unbounded: bool = Field(description="true when profit rises with price without bound (inelastic demand)")
    binding_constraint: str | None = Field(description="the guardrail that set the price (max_step, cost, "
                                                       "observed_range, cost_above_max_step); null if none")
    guardrails: Guardrails = Field(description="the allowed price interval's bounds (currency units)")
    estimated_impact: EstimatedImpact = Field(description="at the optimal price, per the period of current_quantity")
    sensitivity: list[SensitivityPoint] = Field(description="the demand curve at -30%..+30% of the current price")
    optimal_price_range: OptimalPriceRange = Field(description="the optimum at both ends of the elasticity's "
                                                               "interval: how much the answer depends on it")
    note: str = Field(description="how the price was chosen, in one or two sentences")
    as_of: str = Field(description=AS_OF)


# -- health --
class SnapshotStatus(_Answer):
    version: str | None = Field(description="the live snapshot's version id")
    as_of: str | None = Field(description=AS_OF)
    created_at: str | None = Field(description="when the refresh published it (ISO 8601, UTC)")
    age_seconds: float | None = Field(description="seconds since created_at; null if unknown")


class HealthResponse(_Answer):
    """Liveness and the live snapshot's version and age (public: nothing else)."""

    status: Literal["ok"] = Field(description="always ok in a 200")
    snapshot: SnapshotStatus = Field(description="the live snapshot")
    recheck_seconds: float = Field(description="how often `latest` is re-checked, seconds")
    store_error: str | None = Field(description="null, or why the last re-check failed while the loaded snapshot "
                                                "is still served: store_unreachable, snapshot_unreadable")

