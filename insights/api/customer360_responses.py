"""The 200 answers of the customer profile and the recommendations, and the next best action (also in at-risk rows).

See insights/api/responses.py for how these TypedDicts are used; the request body of POST recommendations is
here too.
"""

# No `from __future__ import annotations`: TypedDict must see NotRequired evaluated to know the optional keys.
from typing import Annotated, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from typing_extensions import TypedDict

from insights.api.customer_responses import ChurnFactor, ClvInterval, NextBestAction
from insights.api.responses import AS_OF, CURRENCY, IsoDate, Money, Probability, bounds
from insights.api.trait_responses import CustomerTraits

__all__ = ["RecommendedProduct", "RecommendationsResponse", "ProfileResponse",
           "RecommendationRequest"]

_Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7E]+$")]


class RecommendationRequest(BaseModel):
    """Exactly one of customer_id (personal recommendations) or product_id (bought together)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    customer_id: Annotated[_Id | None, Field(description="recommend for this customer (1..64 printable "
                                                         "characters)")] = None
    product_id: Annotated[_Id | None, Field(description="products often bought together with this one")] = None
    limit: Annotated[int, Field(ge=1, le=50, description="products wanted, 1..50 (a customer has at most 20 stored)")
                     ] = 10


class RecommendedProduct(TypedDict):
    product_id: Annotated[str, Field(description="the recommended product")]
    score: Annotated[float | None, Field(description="for a customer: the sum over the products they bought of the "
                                                     "share of that product's buyers who also bought this one "
                                                     "(shrunk), plus the repeat rate for a replenishable rebuy; for a "
                                                     "product: the (shrunk) share of its buyers who also bought this "
                                                     "one. Higher is better; comparable within one answer")]
    reason: Annotated[str, Field(description="why, in words (e.g. 'often bought with P0003, which this customer "
                                             "bought')")]
    because_product_id: Annotated[str | None, Field(description="the product behind the reason (the product itself "
                                                                "for a rebuy); null for a popularity pick")]
    category: Annotated[str, Field(description="the product's category from the order lines; 'uncategorized' when "
                                               "the data has none")]


class Backtest(TypedDict):
    split: Annotated[IsoDate | None, Field(description="the backtest's cutoff: history before it, each customer's "
                                                       "next basket after it")]
    customers: Annotated[int, Field(json_schema_extra=bounds(0), description="customers evaluated")]
    k: Annotated[int, Field(description="list length evaluated (10)")]
    recall_at_k: Annotated[float | None, Field(description="the recommender's mean recall@k on the next basket")]
    ndcg_at_k: Annotated[float | None, Field(description="the recommender's mean NDCG@k")]
    popularity_recall_at_k: Annotated[float | None, Field(description="the popularity baseline's recall@k")]
    popularity_ndcg_at_k: Annotated[float | None, Field(description="the popularity baseline's NDCG@k")]


class RecommendationsResponse(TypedDict):
    """Recommended products for a customer, or products bought together with a product."""

    kind: Annotated[Literal["customer", "product"], Field(description="which of the two was asked")]
    customer_id: Annotated[str | None, Field(description="the customer asked; null for a product")]
    product_id: Annotated[str | None, Field(description="the product asked; null for a customer")]
    recommendations: Annotated[list[RecommendedProduct], Field(description="best first; a customer's never holds a "
                                                                           "product they bought unless it is "
                                                                           "replenishable")]
    count: Annotated[int, Field(json_schema_extra=bounds(0), description="products answered (<= limit)")]
    limit: Annotated[int, Field(json_schema_extra=bounds(1, 50), description="the limit asked")]
    stored_per_subject: Annotated[int, Field(description="the most the snapshot holds per customer (20) or per "
                                                         "product (50)")]
    method: Annotated[str, Field(description="how the refresh computed them")]
    backtest: Annotated[Backtest | None, Field(description="the refresh's next-basket backtest against popularity; "
                                                           "null when none was measured")]
    as_of: Annotated[str, Field(description=AS_OF)]


class Rfm(TypedDict):
    recency_days: Annotated[int, Field(json_schema_extra=bounds(0), description="days since the last order")]
    frequency: Annotated[int, Field(json_schema_extra=bounds(0), description="number of orders so far")]
    monetary_total: Annotated[Money, Field(description="total spend so far (net of returns)")]
    r_score: Annotated[int, Field(json_schema_extra=bounds(1, 5), description="recency quintile score, 5 = most "
                                                                                  "recent")]
    f_score: Annotated[int, Field(json_schema_extra=bounds(1, 5), description="frequency quintile score")]
    m_score: Annotated[int, Field(json_schema_extra=bounds(1, 5), description="monetary quintile score")]


class ProfileSegment(TypedDict):
    name: Annotated[str, Field(description="the segment's name at the automatic k")]
    segment_id: Annotated[int | None, Field(description="its index in GET segments' list at that k")]
    k: Annotated[int | None, Field(description="the automatic number of segments")]


class ProfileClv(TypedDict):
    predicted_clv: Annotated[Money, Field(description="as POST clv answers")]
    clv_interval: Annotated[ClvInterval | None, Field(description="as POST clv answers")]
    clv_segment: Annotated[str, Field(description="High, Medium or Low")]
    clv_method: Annotated[str, Field(description="the model, or simple_formula")]
    simple_clv: Annotated[Money, Field(description="the formula estimate")]
    horizon_days: Annotated[int | None, Field(description="the CLV horizon in days")]


class ProfileChurn(TypedDict):
    churn_probability: Annotated[Probability, Field(description="as POST churn answers")]
    risk_level: Annotated[str, Field(description="Low, Medium, High or Critical")]
    reasons: Annotated[list[ChurnFactor], Field(description="the churn factors in plain words, as POST churn")]
    horizon_days: Annotated[int | None, Field(description="the churn horizon in days")]


class ProfilePurchases(TypedDict):
    predicted_orders: Annotated[float | None, Field(description="expected orders over the CLV horizon")]
    next_order_date: Annotated[IsoDate | None, Field(description="expected next order; null beyond the horizon")]
    purchase_probability_30d: Annotated[Probability, Field(description="P(at least one order in 30 days)")]
    predicted_spend_30d: Annotated[Money, Field(description="predicted spend in the next 30 days")]


class CategorySpend(TypedDict):
    category: Annotated[str, Field(description="category from the order lines; 'uncategorized' when the data has "
                                               "none; 'other' for the categories beyond the customer's top five")]
    share: Annotated[float | None, Field(json_schema_extra=bounds(0, 1), description="the customer's historical "
                                                                                     "share of spend in it")]
    predicted_spend: Annotated[Money, Field(description="predicted_spend_30d x share")]


class ProfileResponse(TypedDict):
    """Everything the snapshot knows about one customer."""

    customer_id: Annotated[str, Field(description="the customer's id as asked")]
    email: NotRequired[Annotated[str | None, Field(description="only with the customers:pii scope (absent without "
                                                               "it); null when unknown")]]
    rfm: Annotated[Rfm, Field(description="RFM values and 1-5 scores")]
    segment: Annotated[ProfileSegment, Field(description="the customer's segment")]
    clv: Annotated[ProfileClv, Field(description="lifetime value, identical to POST clv for this id")]
    churn: Annotated[ProfileChurn, Field(description="churn risk, identical to POST churn for this id")]
    purchases: Annotated[ProfilePurchases, Field(description="next purchases, identical to POST clv for this id")]
    category_spend_30d: Annotated[list[CategorySpend], Field(description="predicted 30-day spend per category, "
                                                                         "largest first; empty when the snapshot "
                                                                         "has no recommendations")]
    recommended_products: Annotated[list[RecommendedProduct], Field(description="the top 5 recommended products")]
    next_best_action: Annotated[NextBestAction, Field(description="what to do next (the documented policy)")]
    traits: Annotated[CustomerTraits | None, Field(description="behavioural traits beyond RFM (GET segments/traits "
                                                               "describes the axes); null when the snapshot has none")]
    currency: Annotated[str, Field(description=CURRENCY)]
    as_of: Annotated[str, Field(description=AS_OF)]
