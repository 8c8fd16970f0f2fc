"""The 200 answers of the experiment calculator (experiments/sample-size, experiments/analyze): see responses.py."""

# No `from __future__ import annotations`: TypedDict must see NotRequired evaluated to know the optional keys.
from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

from insights.api.responses import Probability, bounds

__all__ = ["SampleSizeResponse", "AnalyzeResponse"]

METRIC = "conversion_rate (arms of visitors and conversions) or mean (arms of n, mean and sd)"


class ArmSizes(TypedDict):
    control: Annotated[int, Field(json_schema_extra=bounds(1), description="units for the control arm")]
    treatment: Annotated[int, Field(json_schema_extra=bounds(1), description="units for each treatment arm "
                                                                             "(ratio x control, rounded up)")]


class SampleSizeResponse(TypedDict):
    """Units per arm needed to detect the effect with a two-sided test."""

    metric: Annotated[Literal["conversion_rate", "mean"], Field(description=METRIC)]
    baseline: Annotated[float, Field(description="the control's rate or mean")]
    baseline_sd: Annotated[float | None, Field(description="the standard deviation given; null for a rate")]
    target: Annotated[float, Field(description="the rate or mean the treatment would reach: baseline + "
                                               "absolute_effect")]
    absolute_effect: Annotated[float, Field(description="the effect in the metric's units")]
    relative_effect: Annotated[float | None, Field(description="the effect as a fraction of the baseline; null for "
                                                               "a zero baseline")]
    mde_type: Annotated[Literal["relative", "absolute"], Field(description="how the effect was given")]
    alpha: Annotated[float, Field(description="significance level (two-sided)")]
    power: Annotated[float, Field(description="probability of detecting a real effect of this size")]
    ratio: Annotated[float, Field(description="treatment units per control unit")]
    two_sided: Annotated[bool, Field(description="always true: the tests are two-sided")]
    sample_size_per_arm: Annotated[ArmSizes, Field(description="units per arm, rounded up")]
    total_sample_size: Annotated[int, Field(description="control + treatment units (add one treatment size per "
                                                        "extra arm)")]
    unrounded_control: Annotated[float, Field(description="the formula's control size before rounding up")]
    method: Annotated[str, Field(description="the test the size is computed for, in words")]


class Interval(TypedDict):
    lower: Annotated[float | None, Field(description="lower end")]
    upper: Annotated[float | None, Field(description="upper end")]
    level: Annotated[float | None, Field(description="coverage, 1 - alpha")]


class ArmSummary(TypedDict):
    name: Annotated[str, Field(description="the arm's name as given")]
    n: Annotated[int, Field(description="visitors (rates) or units measured (means)")]
    conversions: Annotated[int | None, Field(description="conversions; null for a mean")]
    value: Annotated[float | None, Field(description="the arm's conversion rate or mean")]
    sd: Annotated[float | None, Field(description="the sd given; null for a rate")]
    interval: Annotated[Interval, Field(description="the value's interval: Wilson score for a rate, t for a mean")]


class Comparison(TypedDict):
    arm: Annotated[str, Field(description="the treatment arm")]
    control: Annotated[str, Field(description="the control arm it is compared with")]
    difference: Annotated[float | None, Field(description="arm - control, in the metric's units")]
    relative_lift: Annotated[float | None, Field(description="difference / control's value; null when that is 0")]
    difference_interval: Annotated[Interval, Field(description="the difference's interval: Wald (unpooled) for "
                                                               "rates, Welch t for means")]
    statistic: Annotated[float | None, Field(description="z (rates, pooled) or Welch t; null when neither arm "
                                                         "varies")]
    df: Annotated[float | None, Field(description="Welch-Satterthwaite degrees of freedom; null for the z test")]
    p_value: Annotated[float | None, Field(description="two-sided p-value of this comparison alone")]
    p_value_holm: Annotated[float | None, Field(description="the p-value adjusted for the number of treatment arms "
                                                            "(Holm); equals p_value with one treatment")]
    significant: Annotated[bool, Field(description="p_value_holm < alpha")]
    probability_beats_control: Annotated[Probability, Field(description="posterior probability that the arm's rate "
                                                                        "or mean is above the control's")]


class AnalyzeResponse(TypedDict):
    """Each treatment arm against the control: frequentist test, interval and Bayesian probability."""

    metric: Annotated[Literal["conversion_rate", "mean"], Field(description=METRIC)]
    control: Annotated[str, Field(description="the control arm's name")]
    alpha: Annotated[float, Field(description="significance level (two-sided)")]
    confidence_level: Annotated[float | None, Field(description="1 - alpha: the intervals' level")]
    arms: Annotated[list[ArmSummary], Field(description="every arm, in request order")]
    comparisons: Annotated[list[Comparison], Field(description="every arm but the control, against the control")]
    test: Annotated[Literal["two_proportion_z", "welch_t"], Field(description="the frequentist test used")]
    bayesian_method: Annotated[str, Field(description="how probability_beats_control is computed")]
