"""The 200 answers of the customer-base routes (churn outlook, cohorts, growth, transitions): see responses.py."""

# No `from __future__ import annotations`: TypedDict must see NotRequired evaluated to know the optional keys.
from typing import Annotated, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from insights.api.responses import AS_OF, CURRENCY, Money, Probability, bounds

__all__ = ["ChurnOutlookResponse", "CohortsResponse", "GrowthProjectionResponse", "TransitionsResponse",
           "ExportResponse"]


# -- churn outlook --
class Interval(TypedDict):
    lower: Annotated[float, Field(description="lower end of the interval")]
    upper: Annotated[float, Field(description="upper end of the interval")]


class RiskLevelCount(TypedDict):
    risk_level: Annotated[str, Field(description="Low, Medium, High or Critical (thresholds of the churn model)")]
    customers: Annotated[int, Field(json_schema_extra=bounds(0), description="customers at this level")]
    percentage: Annotated[float, Field(json_schema_extra=bounds(0, 100), description="share of the group, percent")]


class HorizonLoss(TypedDict):
    days: Annotated[int, Field(description="the horizon, days from as_of")]
    expected_customers_lost: Annotated[float, Field(description="sum of the customers' probabilities of leaving "
                                                                "within the horizon")]
    customers_lost_interval: Annotated[Interval, Field(description="95% interval of the number lost (normal "
                                                                   "approximation to the Poisson-binomial)")]
    revenue_at_risk: Annotated[Money, Field(description="sum of probability x predicted CLV over the customers")]
    revenue_at_risk_interval: Annotated[Interval, Field(description="95% interval of the value lost")]
    expected_active_customers_lost: NotRequired[Annotated[float, Field(
        description="the part of expected_customers_lost among the active customers (an order in the last "
                    "model-horizon days): the customers who would actually stop ordering; absent in snapshots "
                    "before it")]]
    active_customers_lost_interval: NotRequired[Annotated[Interval, Field(
        description="95% interval of expected_active_customers_lost")]]


class OutlookBlock(TypedDict):
    customers: Annotated[int, Field(json_schema_extra=bounds(0), description="customers in the group")]
    active_customers: NotRequired[Annotated[int, Field(json_schema_extra=bounds(0), description=(
        "customers with an order in the last model-horizon days, as the overview's active_customers (absent "
        "in snapshots before it)"))]]
    lapsed_customers: NotRequired[Annotated[int, Field(json_schema_extra=bounds(0), description=(
        "customers without an order in the last model-horizon days: already lost by the churn definition; they "
        "are inside expected_customers_lost, not inside expected_active_customers_lost"))]]
    mean_churn_probability: Annotated[Probability, Field(description="mean churn probability at the model horizon; "
                                                                     "null for an empty group")]
    risk_levels: Annotated[list[RiskLevelCount], Field(description="the risk-level distribution, Low to Critical")]
    horizons: Annotated[list[HorizonLoss], Field(description="one entry per horizon, shortest first")]


class SegmentOutlook(OutlookBlock):
    segment: Annotated[str, Field(description="the segment's name (automatic k)")]


class IntervalMethod(TypedDict):
    level: Annotated[float, Field(description="the intervals' confidence level")]
    z: Annotated[float, Field(description="the normal quantile used")]
    method: Annotated[str, Field(description="how the intervals are computed, in words")]


class ChurnOutlookResponse(TypedDict):
    """The customer base's churn outlook: who is at which risk level and what leaving would cost."""

    summary: Annotated[str, Field(description="the overall outlook in one or two sentences")]
    overall: Annotated[OutlookBlock, Field(description="every scored customer")]
    by_segment: Annotated[list[SegmentOutlook], Field(description="one per segment, largest revenue at risk over "
                                                                  "the longest horizon first")]
    horizons_days: Annotated[list[int], Field(description="the horizons answered, days")]
    model_horizon_days: Annotated[int, Field(description="the churn model's horizon: churn = no purchase within it")]
    interval: Annotated[IntervalMethod, Field(description="how the intervals are computed")]
    assumptions: Annotated[list[str], Field(description="the assumptions behind the numbers, in words")]
    currency: Annotated[str, Field(description=CURRENCY)]
    as_of: Annotated[str, Field(description=AS_OF)]
    model_card: Annotated[str, Field(description="where the churn model's card is served")]


# -- cohorts --
class CohortRow(TypedDict):
    cohort: Annotated[str, Field(description="the acquisition period: YYYY-MM for months, the Monday YYYY-MM-DD of "
                                             "the ISO week for weeks")]
    customers: Annotated[int, Field(json_schema_extra=bounds(0), description="customers acquired in the period")]
    values: Annotated[list[float | None], Field(description="the metric by periods since acquisition (index 0 = "
                                                            "the acquisition period), up to the last complete "
                                                            "period: retention share 0..1, revenue or cumulative "
                                                            "LTV per customer in currency units")]
    payback_period: NotRequired[Annotated[int | None, Field(
        description="only with acquisition_cost: the first period since acquisition whose cumulative value per "
                    "customer reaches the cost; null when not reached yet")]]


class CohortCurve(TypedDict):
    values: Annotated[list[float | None], Field(description="the metric's average curve by periods since "
                                                            "acquisition, weighted by cohort size over the cohorts "
                                                            "that reached each period (revenue: per acquired "
                                                            "customer)")]
    ltv: Annotated[list[float | None], Field(description="the average cumulative value per customer, the payback "
                                                         "basis")]
    cohorts: Annotated[list[int], Field(description="how many cohorts each period's average covers")]


class Payback(TypedDict):
    acquisition_cost: Annotated[float, Field(description="the cost asked, currency units per customer")]
    periods: Annotated[int | None, Field(description="periods until the average curve's cumulative value reaches "
                                                     "the cost; null when not reached within the data")]
    cohorts_paid_back: Annotated[int, Field(description="cohorts whose own value has reached the cost")]
    cohorts: Annotated[int, Field(description="cohorts in the answer")]


class CohortsResponse(TypedDict):
    """Acquisition cohorts: retention, revenue or cumulative LTV per customer by periods since acquisition."""

    period: Annotated[Literal["month", "week"], Field(description="the cohort period")]
    metric: Annotated[Literal["retention", "revenue", "ltv"], Field(description="the metric of values")]
    cohorts: Annotated[list[CohortRow], Field(description="oldest first, at most max_cohorts")]
    curve: Annotated[CohortCurve, Field(description="the average curves")]
    payback: Annotated[Payback | None, Field(description="with acquisition_cost: the payback summary; else null")]
    max_cohorts: Annotated[int, Field(description="the bound on cohorts: the last 36 months or 52 weeks")]
    last_complete_period: Annotated[str, Field(description="the last period counted (the one holding as_of is "
                                                           "incomplete and left out)")]
    definitions: Annotated[dict[str, str], Field(description="what each term means")]
    currency: Annotated[str, Field(description=CURRENCY)]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- growth projection --
class ProjectedMonth(TypedDict):
    month: Annotated[str, Field(description="YYYY-MM")]
    active_customers: Annotated[float, Field(description="the projected active base at the month's end")]
    lower: Annotated[float, Field(description="the interval's lower end (interval_level)")]
    upper: Annotated[float, Field(description="the interval's upper end (interval_level)")]


class GrowthStart(TypedDict):
    month: Annotated[str, Field(description="the last complete month (YYYY-MM): the projection's starting point")]
    active_customers: Annotated[int, Field(description="the active base measured at its end")]


class MeasuredMonths(TypedDict):
    months: Annotated[list[str], Field(description="the complete months measured (YYYY-MM), oldest first")]
    active_customers: Annotated[list[int], Field(description="active base at each month's end")]
    new_customers: Annotated[list[int], Field(description="customers acquired (first purchase) in each month")]


class GrowthRates(TypedDict):
    months_measured: Annotated[int, Field(description="months whose rates were measured (up to 12)")]
    first_rate_month: Annotated[str, Field(description="the first month whose rates count (YYYY-MM): a lake younger "
                                                       "than the window starts in its fourth month")]
    mean_new_customers: Annotated[float, Field(description="mean customers acquired a month")]
    sd_new_customers: Annotated[float, Field(description="their standard deviation across months")]
    mean_churn_rate: Annotated[float, Field(description="mean net monthly churn: (lapsed - returning) / base")]
    sd_churn_rate: Annotated[float, Field(description="its standard deviation across months")]
    monthly_churn_rates: Annotated[list[float], Field(description="each measured month's net churn rate")]


class SegmentProjection(TypedDict):
    segment: Annotated[str, Field(description="the segment's name (automatic k)")]
    active_customers_now: Annotated[int, Field(description="its customers with a purchase in the last 90 days")]
    monthly_churn_rate: Annotated[float, Field(description="1 - (1 - p)^(1/3), p its active customers' mean 90-day "
                                                           "churn probability")]
    share_of_new_customers: Annotated[float, Field(description="the share of new customers assumed to enter it")]
    projection: Annotated[list[ProjectedMonth], Field(description="its part of the overall projection")]


class GrowthProjectionResponse(TypedDict):
    """The active customer base projected month by month from measured acquisition and churn."""

    months: Annotated[int, Field(json_schema_extra=bounds(6, 24), description="months projected")]
    start: Annotated[GrowthStart, Field(description="where the projection starts")]
    projection: Annotated[list[ProjectedMonth], Field(description="one entry per month ahead")]
    interval_level: Annotated[float, Field(description="the intervals' level (0.8: 80%)")]
    measured: Annotated[MeasuredMonths, Field(description="the history the rates come from")]
    rates: Annotated[GrowthRates, Field(description="the measured rates")]
    assumptions: Annotated[list[str], Field(description="the assumptions, in words")]
    by_segment: NotRequired[Annotated[list[SegmentProjection], Field(
        description="only with by=segment: one per segment with active customers, largest first")]]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- segment transitions --
class Transition(TypedDict):
    from_segment: Annotated[str, Field(description="the customer's segment in the previous version")]
    to_segment: Annotated[str, Field(description="the customer's segment now")]
    customers: Annotated[int, Field(json_schema_extra=bounds(1), description="customers who moved so")]


class SegmentCount(TypedDict):
    segment: Annotated[str, Field(description="a segment's name")]
    customers: Annotated[int, Field(json_schema_extra=bounds(0), description="customers")]


class TransitionsResponse(TypedDict):
    """How many customers moved between named segments since the previous snapshot version."""

    available: Annotated[bool, Field(description="false when there is no earlier version to compare with (the "
                                                 "first refresh): note says why; every count is then 0")]
    note: Annotated[str | None, Field(description="why there are no transitions; null when available")]
    previous_version: Annotated[str | None, Field(description="the version compared with: the newest with an "
                                                              "earlier as_of")]
    previous_as_of: Annotated[str | None, Field(description="its as_of")]
    compared_customers: Annotated[int, Field(description="customers scored in both versions")]
    moved_customers: Annotated[int, Field(description="of them, those whose segment changed")]
    transitions: Annotated[list[Transition], Field(description="each (from, to) pair with moves, most customers "
                                                               "first")]
    stayed: Annotated[list[SegmentCount], Field(description="customers who kept their segment, per segment")]
    new_customers: Annotated[list[SegmentCount], Field(description="customers scored now but not then (first "
                                                                   "purchase since), by their segment now")]
    customers_no_longer_scored: Annotated[int, Field(description="customers of the previous version absent now")]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- exports --
class ExportResponse(TypedDict):
    """A short-lived link to every customer's scores (the copy the refresh wrote)."""

    format: Annotated[Literal["csv", "parquet"], Field(description="the file's format")]
    url: Annotated[str, Field(description="in AWS a presigned S3 GET (valid expires_in_seconds; no token needed to "
                                          "fetch it: treat it as a secret), locally a file:// URL")]
    url_kind: Annotated[Literal["presigned_s3", "file"], Field(description="which of the two the url is")]
    expires_in_seconds: Annotated[int | None, Field(description="seconds the presigned url stays valid; null for a "
                                                                "file url")]
    rows: Annotated[int, Field(description="customers in the file (one row each)")]
    columns: Annotated[list[str], Field(description="the file's columns, in order (email only with customers:pii)")]
    includes_emails: Annotated[bool, Field(description="true when the token also holds customers:pii")]
    version: Annotated[str, Field(description="the snapshot version the file belongs to")]
    as_of: Annotated[str, Field(description=AS_OF)]
