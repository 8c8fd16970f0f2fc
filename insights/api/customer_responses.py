"""The 200 answers of the customer routes (segments, CLV, churn, at-risk): see insights/api/responses.py."""

# No `from __future__ import annotations`: TypedDict must see NotRequired evaluated to know the optional keys.
from typing import Annotated, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from insights.api.responses import AS_OF, CURRENCY, IsoDate, Money, Probability, bounds

__all__ = ["SegmentsResponse", "ClvResponse", "ChurnResponse", "AtRiskResponse", "ChurnFactor", "ClvInterval",
           "NextBestAction"]


# -- segments --
class Segment(TypedDict):
    segment_id: Annotated[int, Field(description="0..n_clusters-1, ordered by value (sum of the scaled R, F and M "
                                                 "axes)")]
    segment: Annotated[str, Field(description="the segment's name (Champions, Loyal Customers, At Risk, Lost, ...)")]
    description: Annotated[str, Field(description="what the segment means, in one sentence")]
    count: Annotated[int, Field(json_schema_extra=bounds(0), description="customers in the segment")]
    percentage: Annotated[float, Field(json_schema_extra=bounds(0, 100), description="share of all customers, percent")]
    avg_recency: Annotated[float | None, Field(description="mean days since the last order; null for an empty segment")]
    avg_frequency: Annotated[float | None, Field(description="mean number of orders; null for an empty segment")]
    avg_monetary: Annotated[float | None, Field(description="mean total spend (currency units); null for an empty "
                                                            "segment")]


class ElbowPoint(TypedDict):
    k: Annotated[int, Field(json_schema_extra=bounds(2, 10), description="number of clusters")]
    inertia: Annotated[float | None, Field(description="K-Means within-cluster sum of squares at k (standardized RFM)")]
    silhouette: Annotated[float | None, Field(description="silhouette score at k, -1..1 (higher separates better)")]


class SegmentsResponse(TypedDict):
    """Customer segments (RFM + K-Means) for the asked or the automatic number of clusters."""

    segments: Annotated[list[Segment], Field(description="one per cluster, by segment_id")]
    total_customers: Annotated[int, Field(json_schema_extra=bounds(0), description="customers segmented (sum of the "
                                                                                "counts)")]
    n_clusters: Annotated[int, Field(json_schema_extra=bounds(2, 10), description="the k answered: n_clusters, else "
                                                                               "auto_k")]
    auto_k: Annotated[int, Field(json_schema_extra=bounds(2, 10), description="the k with the best silhouette (the "
                                                                           "default)")]
    silhouette_score: Annotated[float | None, Field(description="silhouette of this solution, -1..1; null if not "
                                                                "computed")]
    elbow: Annotated[list[ElbowPoint], Field(description="inertia and silhouette for every fitted k, to judge the "
                                                         "choice")]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- clv --
class ClvInterval(TypedDict):
    lower: Annotated[Money, Field(description="lower end of the CLV interval (currency units)")]
    upper: Annotated[Money, Field(description="upper end of the CLV interval (currency units)")]
    level: Annotated[float, Field(description="nominal coverage, e.g. 0.8")]


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
    clv_interval: Annotated[ClvInterval | None, Field(description="the predicted CLV's interval (conformal, measured "
                                                                  "on the validation slice); null for snapshots "
                                                                  "written before intervals")]


class ClvSummary(TypedDict):
    total_customers: Annotated[int, Field(json_schema_extra=bounds(0), description="customers answered (known ids, no "
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
    currency: Annotated[str, Field(description=CURRENCY)]
    model_card: Annotated[str, Field(description="where the model card of the model behind this answer is served "
                                                 "(GET /demand-insights/quality)")]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- churn --
class ChurnFactor(TypedDict):
    description: Annotated[str, Field(description="the reason in plain words, with the customer's own value and the "
                                                  "typical customer's (or their own usual gap between orders)")]
    direction: Annotated[Literal["increases_risk", "decreases_risk"], Field(description="whether it raises or lowers "
                                                                                        "the risk")]
    strength: Annotated[Literal["strong", "moderate", "slight", "base rate"], Field(
        description="|log-odds| >= 1 strong, >= 0.3 moderate, else slight; 'base rate' when no own feature raises a "
                    "High/Critical risk and the shop's usual churn explains it")]
    feature: Annotated[str, Field(description="secondary: the model feature behind the reason (base_rate for the "
                                              "shop's base rate)")]
    contribution: Annotated[float | None, Field(description="its contribution to this customer's churn log-odds")]


class ChurnPrediction(TypedDict):
    customer_id: Annotated[str, Field(description="the customer's id as asked")]
    churn_probability: Annotated[Probability, Field(description="probability of no order in the next horizon_days, "
                                                                "0..1")]
    risk_level: Annotated[str, Field(description="Low (< 0.3), Medium (< 0.5), High (< 0.7) or Critical")]
    churn_factors: Annotated[list[ChurnFactor], Field(description="up to three reasons that explain the risk level "
                                                                  "(what raises it first from Medium up)")]


class ChurnSummary(TypedDict):
    total_customers: Annotated[int, Field(json_schema_extra=bounds(0), description="customers answered")]
    at_risk_count: Annotated[int, Field(json_schema_extra=bounds(0), description="customers with a risk_level in "
                                                                              "at_risk_levels")]
    at_risk_percentage: Annotated[float, Field(json_schema_extra=bounds(0, 100), description="at_risk_count / total, "
                                                                                          "percent")]
    at_risk_levels: Annotated[list[str], Field(description="the risk levels counted as at risk (High, Critical)")]


class ChurnResponse(TypedDict):
    """Churn probability, risk level and top factors of the known customers, in request order."""

    predictions: Annotated[list[ChurnPrediction], Field(description="one per known id, in request order")]
    summary: Annotated[ChurnSummary, Field(description="over the customers answered")]
    horizon_days: Annotated[int | None, Field(description="the churn horizon in days (90 by default); null if "
                                                          "unrecorded")]
    not_found: Annotated[list[str], Field(description="asked ids the snapshot does not know")]
    model_card: Annotated[str, Field(description="where the model card of the model behind this answer is served "
                                                 "(GET /demand-insights/quality)")]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- at-risk customers --
class NextBestAction(TypedDict):
    action: Annotated[Literal["win_back", "vip_care", "nurture_second_order", "cross_sell", "do_nothing"], Field(
        description="the first rule of the policy table that holds (docs/api.md, 'Next best action')")]
    label: Annotated[str, Field(description="the action in words")]
    reason: Annotated[str, Field(description="why, in plain words, with the customer's own risk, value and recency")]
    products: Annotated[list[str], Field(description="product ids to feature (up to 2, from the recommendations); "
                                                     "empty when the action names none")]


class AtRiskCustomer(TypedDict):
    customer_id: Annotated[str, Field(description="the customer's id as asked")]
    email: NotRequired[Annotated[str | None, Field(description="only with the customers:pii scope (absent "
                                                                      "without it); null when unknown")]]
    churn_probability: Annotated[Probability, Field(description="probability of no order in the churn horizon, 0..1")]
    risk_level: Annotated[str, Field(description="Low, Medium, High or Critical")]
    recency_days: Annotated[int, Field(json_schema_extra=bounds(0), description="days since the last order, at as_of")]
    frequency: Annotated[int, Field(json_schema_extra=bounds(0), description="number of orders so far")]
    monetary_total: Annotated[Money, Field(description="total spend so far (currency units, net of returns)")]
    predicted_clv: Annotated[Money, Field(description="predicted spend over the CLV horizon")]
    value_at_risk: Annotated[Money, Field(description="churn_probability x predicted_clv")]
    reasons: Annotated[list[ChurnFactor], Field(description="why this customer is at risk, strongest first")]
    next_best_action: Annotated[NextBestAction, Field(description="what to do next (docs/api.md, 'Next best "
                                                                  "action')")]


class AtRiskResponse(TypedDict):
    """Customers at or above the churn threshold, by value at risk (or churn probability), descending."""

    at_risk_customers: Annotated[list[AtRiskCustomer], Field(description="ties in the sort key by customer_id")]
    count: Annotated[int, Field(json_schema_extra=bounds(0), description="customers in this answer (<= limit)")]
    threshold: Annotated[float, Field(json_schema_extra=bounds(0, 1), description="the churn_probability threshold "
                                                                               "(inclusive)")]
    limit: Annotated[int, Field(json_schema_extra=bounds(1, 1000), description="the limit applied")]
    total_above_threshold: Annotated[int, Field(json_schema_extra=bounds(0), description="all customers at or above "
                                                                                      "threshold")]
    order_by: Annotated[Literal["value_at_risk", "churn_probability"], Field(description="the sort key applied, "
                                                                                         "descending")]
    horizon_days: Annotated[int | None, Field(description="the churn horizon in days the probabilities are for")]
    currency: Annotated[str, Field(description=CURRENCY)]
    model_card: Annotated[str, Field(description="where the model card of the model behind this answer is served "
                                                 "(GET /demand-insights/quality)")]
    as_of: Annotated[str, Field(description=AS_OF)]
