"""The tools POST /demand-insights/mcp offers to AI agents: one declarative table, one entry per tool.

Each entry names the tool, says what it answers (the description an agent reads), gives the pydantic model of its
arguments (its JSON schema is the tool's ``inputSchema``; arguments are validated strictly, as the REST bodies
are), the REST route's response type (the answer is dumped through it, as Powertools dumps the route's), the scope
it needs and the call: the SAME service function the REST route calls, with the same arguments. So a tool answers
exactly the JSON the route answers, and fails with the same error codes (as an MCP tool error).

Adding a tool for a new route is one entry in TOOLS (insights/api/mcp.py needs no change)::

    McpTool("get_customer_profile", "POST /demand-insights/...", "One customer's profile: ...",
            ProfileArgs, ProfileResponse, lambda rt, a: profile.customer_profile(rt.snapshot(), a.customer_id,
                                                                               with_pii=_pii(rt)))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from insights.api import (
    customers,
    experiments,
    lifecycle,
    overview,
    products,
    profile,
    quality,
    recommendations,
    traits,
)
from insights.api.auth import SCOPE_PII, SCOPE_READ
from insights.api.customer360_responses import ProfileResponse, RecommendationRequest, RecommendationsResponse
from insights.api.customer_responses import AtRiskResponse, ChurnResponse, ClvResponse, SegmentsResponse
from insights.api.events import PREFIX
from insights.api.experiment_responses import AnalyzeResponse, SampleSizeResponse
from insights.api.experiment_schemas import AnalyzeRequest, SampleSizeRequest
from insights.api.lifecycle_responses import (
    ChurnOutlookResponse,
    CohortsResponse,
    GrowthProjectionResponse,
    TransitionsResponse,
)
from insights.api.overview_responses import OverviewResponse
from insights.api.product_responses import ElasticityResponse, ForecastResponse, PriceOptimizationResponse
from insights.api.pseudonyms import by_store_id, by_store_ids
from insights.api.responses import QualityResponse
from insights.api.runtime import ApiRuntime
from insights.api.schemas import CustomerIdsRequest, ForecastRequest, PriceOptimizationRequest, ProductRequest
from insights.api.trait_responses import TraitsResponse

__all__ = ["McpTool", "TOOLS", "tool_named"]


@dataclass(frozen=True)
class McpTool:
    """One MCP tool: what it is called and mirrors, what it says, takes and answers, needs, and calls."""

    name: str
    route: str  # the REST route whose answer it gives ("METHOD /demand-insights/...")
    description: str
    arguments: type[BaseModel]  # strict, extra="forbid"; its JSON schema is the tool's inputSchema
    answer: Any  # the REST route's response type (a TypedDict of insights/api/*_responses.py)
    call: Callable[[ApiRuntime, Any], dict[str, Any]]  # (runtime, validated arguments) -> the service's dict
    scope: str = SCOPE_READ  # a token without it neither sees nor calls the tool


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NoArgs(_Args):
    """No arguments."""


class SegmentsArgs(_Args):
    n_clusters: Annotated[int | None, Field(ge=2, le=10, description="2..10 segments; omit for the automatic k "
                                                                     "(best silhouette)")] = None


class AtRiskArgs(_Args):
    threshold: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False,
                                      description="lowest churn probability listed, 0..1")] = 0.5
    limit: Annotated[int, Field(ge=1, le=1000, description="at most this many customers, 1..1000")] = 100
    order_by: Annotated[Literal["value_at_risk", "churn_probability"],
                        Field(description="value_at_risk (churn probability x CLV) or churn_probability, "
                                          "descending")] = "value_at_risk"


class QualityArgs(_Args):
    family: Annotated[Literal["clv", "churn"] | None, Field(description="one model family; omit for all")] = None


class ProfileArgs(_Args):
    customer_id: Annotated[str, Field(min_length=1, max_length=64, description="the store's customer id")]


class CohortsArgs(_Args):
    period: Annotated[Literal["month", "week"], Field(description="cohorts by first-order month or week")] = "month"
    metric: Annotated[Literal["retention", "revenue", "ltv"],
                      Field(description="retention share, revenue, or cumulative LTV per customer")] = "retention"
    acquisition_cost: Annotated[float | None, Field(ge=0.0, allow_inf_nan=False,
                                                    description="cost to acquire a customer, for the payback "
                                                                "period; omit for none")] = None


class GrowthArgs(_Args):
    months: Annotated[int, Field(ge=6, le=24, description="months to project, 6..24")] = 12
    by: Annotated[Literal["segment"] | None, Field(description="'segment' to split the projection by segment")] = None


def _pii(runtime: ApiRuntime) -> bool:
    principal = runtime.principal()
    return bool(principal and principal.has(SCOPE_PII))


def _price_optimization(rt: ApiRuntime, a: PriceOptimizationRequest) -> dict[str, Any]:
    s = rt.settings
    return products.price_optimization(rt.snapshot(), product_id=a.product_id, current_price=a.current_price,
                                       current_quantity=a.current_quantity, cost_per_unit=a.cost_per_unit,
                                       max_change=s.max_price_change, range_margin=s.price_range_margin)


TOOLS: tuple[McpTool, ...] = (
    McpTool("get_segments", f"GET {PREFIX}/segments",
            "Customer segments (RFM + K-Means): each segment's name, meaning, size and mean recency, frequency and "
            "spend, for the automatic number of clusters or a chosen n_clusters.",
            SegmentsArgs, SegmentsResponse, lambda rt, a: customers.segments(rt.snapshot(), n_clusters=a.n_clusters)),
    McpTool("predict_churn", f"POST {PREFIX}/churn",
            "Churn probability (no purchase within the horizon), risk level and the reasons in words for up to 1000 "
            "customers; unknown ids are listed in not_found.",
            CustomerIdsRequest, ChurnResponse, lambda rt, a: by_store_ids(
                rt.pseudonyms, a.customer_ids, lambda ids: customers.churn(rt.snapshot(), ids))),
    McpTool("list_at_risk_customers", f"GET {PREFIX}/at-risk-customers",
            "Customers whose churn probability is at or above a threshold, by value at risk (or probability), with "
            "reasons; emails only for a token with customers:pii.",
            AtRiskArgs, AtRiskResponse, lambda rt, a: customers.at_risk_customers(
                rt.snapshot(), threshold=a.threshold, limit=a.limit, with_pii=_pii(rt), order_by=a.order_by)),
    McpTool("predict_clv", f"POST {PREFIX}/clv",
            "Predicted customer lifetime value over the horizon (with interval, value segment, expected orders, next "
            "order date and 30-day spend) for up to 1000 customers.",
            CustomerIdsRequest, ClvResponse, lambda rt, a: by_store_ids(
                rt.pseudonyms, a.customer_ids, lambda ids: customers.clv(rt.snapshot(), ids))),
    McpTool("forecast_demand", f"POST {PREFIX}/forecast",
            "A product's daily demand forecast for 1..90 days with 80% intervals and its drivers; with planned_price, "
            "the forecast under that price (what-if).",
            ForecastRequest, ForecastResponse, lambda rt, a: products.forecast(
                rt.snapshot(), product_id=a.product_id, forecast_days=a.forecast_days,
                planned_price=a.planned_price)),
    McpTool("get_price_elasticity", f"POST {PREFIX}/price-elasticity",
            "A product's price elasticity of demand (log-log with day-of-week, season and trend controls) with its "
            "confidence interval and reliability.",
            ProductRequest, ElasticityResponse, lambda rt, a: products.price_elasticity(rt.snapshot(),
                                                                                      product_id=a.product_id)),
    McpTool("optimize_price", f"POST {PREFIX}/price-optimization",
            "The profit-maximizing price (revenue-maximizing without a unit cost) from the product's elasticity, "
            "within guardrails (cost floor, observed price range, at most a 20% step), with its expected impact.",
            PriceOptimizationRequest, PriceOptimizationResponse, _price_optimization),
    McpTool("get_model_quality", f"GET {PREFIX}/quality",
            "Model cards: each model family's holdout metrics against its named baseline, calibration, interval "
            "coverage, drift and training facts.",
            QualityArgs, QualityResponse, lambda rt, a: quality.quality(rt.snapshot(), family=a.family)),
    McpTool("get_overview", f"GET {PREFIX}/overview",
            "The store at a glance: customers and active customers, 90-day revenue, predicted 30-day revenue and "
            "total CLV, value at risk, churn-risk levels, churn and CLV histograms, CLV segments, products.",
            NoArgs, OverviewResponse, lambda rt, a: overview.overview(rt.snapshot())),
    McpTool("get_segment_traits", f"GET {PREFIX}/segments/traits",
            "Behavioural traits beyond RFM: how customers split by category affinity, purchase cadence, tenure stage "
            "and return propensity, and the most common trait combinations (archetypes) with their size and value.",
            NoArgs, TraitsResponse, lambda rt, a: traits.segment_traits(rt.snapshot())),
    McpTool("get_customer_profile", f"GET {PREFIX}/customers/<customer_id>",
            "Everything about one customer: RFM, segment, CLV with its interval, churn risk with reasons, next "
            "purchases, 30-day spend per category, recommended products and the next best action.",
            ProfileArgs, ProfileResponse, lambda rt, a: by_store_id(rt.pseudonyms, a.customer_id, lambda sid: (
                profile.customer_profile(rt.snapshot(), str(sid), with_pii=_pii(rt))))),
    McpTool("recommend_products", f"POST {PREFIX}/recommendations",
            "Products for a customer (not already bought unless replenishable) or bought together with a product, "
            "each with a score and a reason in words; exactly one of customer_id or product_id.",
            RecommendationRequest, RecommendationsResponse, lambda rt, a: by_store_id(
                rt.pseudonyms, a.customer_id, lambda sid: recommendations.recommendations(
                    rt.snapshot(), customer_id=sid, product_id=a.product_id, limit=a.limit))),
    McpTool("get_churn_outlook", f"GET {PREFIX}/churn-outlook",
            "The churn outlook of the whole customer base: risk-level counts, expected customers lost and revenue at "
            "risk over 30 and 90 days with intervals, overall and by segment.",
            NoArgs, ChurnOutlookResponse, lambda rt, a: lifecycle.churn_outlook(rt.snapshot())),
    McpTool("get_cohorts", f"GET {PREFIX}/cohorts",
            "Cohorts by first-order month or week: retention, revenue or cumulative LTV per customer by period since "
            "acquisition, the average curve, and the payback period when an acquisition cost is given.",
            CohortsArgs, CohortsResponse, lambda rt, a: lifecycle.cohorts(
                rt.snapshot(), period=a.period, metric=a.metric, acquisition_cost=a.acquisition_cost)),
    McpTool("project_growth", f"GET {PREFIX}/growth-projection",
            "The active customer base projected month by month from measured acquisition and churn, with an 80% "
            "interval and the assumptions stated; optionally by segment.",
            GrowthArgs, GrowthProjectionResponse, lambda rt, a: lifecycle.growth_projection(
                rt.snapshot(), months=a.months, by=a.by)),
    McpTool("get_segment_transitions", f"GET {PREFIX}/segments/transitions",
            "How many customers moved between named segments since the previous snapshot (e.g. Loyal Customers -> "
            "At Risk).",
            NoArgs, TransitionsResponse, lambda rt, a: lifecycle.segment_transitions(rt.snapshot())),
    McpTool("experiment_sample_size", f"POST {PREFIX}/experiments/sample-size",
            "A/B test planning: units per arm to detect a minimum effect on a conversion rate (baseline_rate) or a "
            "mean (baseline_mean, baseline_sd) with a two-sided test at alpha and power.",
            SampleSizeRequest, SampleSizeResponse, lambda rt, a: experiments.sample_size(**a.model_dump())),
    McpTool("experiment_analyze", f"POST {PREFIX}/experiments/analyze",
            "A/B test results: each arm against the control with a two-proportion z test (visitors, conversions) or "
            "Welch's t test (n, mean, sd), the difference's interval, Holm-adjusted p-values and the Bayesian "
            "probability that the arm beats the control.",
            AnalyzeRequest, AnalyzeResponse, lambda rt, a: experiments.analyze(a.arms, control=a.control,
                                                                              alpha=a.alpha)),
)


def tool_named(name: str) -> McpTool | None:
    """The tool called ``name``; None when there is none."""
    return next((t for t in TOOLS if t.name == name), None)
