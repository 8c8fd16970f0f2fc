"""The 200 answers of the product routes (forecast, elasticity, price optimization): see insights/api/responses.py."""

# No `from __future__ import annotations`: TypedDict must see NotRequired evaluated to know the optional keys.
from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from insights.api.responses import AS_OF, CURRENCY, IsoDate, bounds

__all__ = ["ForecastResponse", "ElasticityResponse", "PriceOptimizationResponse"]


# -- forecast --
class ForecastPoint(TypedDict):
    date: Annotated[IsoDate | None, Field(description="the day (day 0 = as_of); null if the snapshot has no as_of")]
    predicted_quantity: Annotated[float | None, Field(description="expected units sold that day, >= 0")]
    confidence_lower: Annotated[float | None, Field(description="lower bound of the interval_level interval, >= 0")]
    confidence_upper: Annotated[float | None, Field(description="upper bound of the interval_level interval")]
    confidence_lower_wide: Annotated[float | None, Field(
        description="lower bound of the wider wide_interval_level (95%) interval, >= 0, at or below confidence_lower; "
                    "null when the snapshot predates it")]
    confidence_upper_wide: Annotated[float | None, Field(
        description="upper bound of the wider wide_interval_level (95%) interval, at or above confidence_upper; "
                    "null when the snapshot predates it")]
    trading_day: Annotated[bool, Field(description="false on a weekday the product (or the shop) never trades on: "
                                                   "then the forecast is 0 with a zero-width interval")]


class ForecastDriver(TypedDict):
    description: Annotated[str, Field(description="what moves this product's forecast, in plain words")]
    direction: Annotated[Literal["raises", "lowers"], Field(description="whether it raises or lowers the forecast")]
    effect_units_per_day: Annotated[float, Field(description="its mean effect on the forecast, units a day, over the "
                                                             "days answered")]
    driver: Annotated[str, Field(description="secondary: the driver group (recent_sales, day_of_week, time_of_year, "
                                             "price, product_history, days_ahead)")]


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
    drivers: Annotated[list[ForecastDriver], Field(description="up to three drivers of this product's own forecast, "
                                                               "largest first; empty for a fallback forecast")]
    method_note: Annotated[str, Field(description="which method answered, in words; for a fallback forecast also why "
                                                  "the demand model did not")]
    forecast_days: Annotated[int, Field(json_schema_extra=bounds(1, 90), description="days answered, as asked")]
    total_predicted_quantity: Annotated[float, Field(description="sum of predicted_quantity over the days answered")]
    interval_level: Annotated[float | None, Field(description="nominal coverage of the interval, e.g. 0.8; null if "
                                                              "unknown")]
    wide_interval_level: Annotated[float | None, Field(
        description="nominal coverage of the wide interval, e.g. 0.95: the day's units fall inside it 95 times in "
                    "100, inside the interval_level one 80 times in 100; null if the snapshot has no wide interval")]
    method: Annotated[str, Field(description="model (the trained forecaster) or tsb (the intermittent-demand "
                                             "fallback)")]
    status: Annotated[str, Field(description="ok (model forecast) or fallback (too little history for the model)")]
    model: Annotated[str | None, Field(description="the forecaster's name (lightgbm, xgboost); null if unknown")]
    grain: Annotated[Literal["daily", "weekly", "irregular"], Field(
        description="the product's selling grain read from its sales: weekly = one observation a week on one "
                    "weekday (each week's units are forecast on that day, the date stated), irregular = scattered "
                    "sales")]
    trading_weekdays: Annotated[list[int], Field(description="the weekdays the product trades on (Monday = 0); "
                                                             "other days get no units and no interval")]
    grain_note: Annotated[str, Field(description="what the grain means for the forecast, in words (closed weekdays "
                                                 "named when the product never trades on them)")]
    what_if: NotRequired[Annotated[WhatIfModelGrid | WhatIfElasticity, Field(
        discriminator="method", description="only with planned_price: how the forecast was moved to that price")]]
    currency: Annotated[str, Field(description=CURRENCY)]
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
    p_value: Annotated[float | None, Field(json_schema_extra=bounds(0, 1), description="for H0: elasticity = 0")]
    r_squared: Annotated[float | None, Field(description="deviance R2 of the fit, 0..1")]
    n_observations: Annotated[int, Field(json_schema_extra=bounds(0), description="real observations on the "
                                                                               "product's grain in the fit (days "
                                                                               "or weeks, see grain)")]
    elasticity_type: Annotated[str, Field(description="Elastic, Inelastic, Unit elastic or Positive: suspect")]
    interpretation: Annotated[str, Field(description="the estimate in one sentence")]
    price_range: Annotated[PriceRange, Field(description="prices seen in the fit (currency units): the observed "
                                                         "support the optimizer stays inside")]
    status: Annotated[Literal["answered", "flagged_positive"], Field(
        description="answered, or flagged_positive: demand seems to rise with price (confounding, not a demand "
                    "curve); never priced on: price-optimization answers hold")]
    usable_for_pricing: Annotated[bool, Field(description="false for a flagged estimate")]
    pooled: Annotated[bool, Field(description="true when the product's own data carry under half of the estimate: "
                                              "it is mostly its category's (or all products') typical value, with "
                                              "a wider interval")]
    own_data_weight: Annotated[float | None, Field(json_schema_extra=bounds(0, 1), description="the weight of the "
                                                   "product's own fit in the estimate (0: none, 1: all)")]
    pooled_toward: Annotated[str | None, Field(description="the prior the estimate was shrunk toward: "
                                                           "category:<name>, population or default")]
    pooling_note: Annotated[str, Field(description="the pooling in plain words")]
    own_estimate: Annotated[dict[str, float | None], Field(description="{coefficient, standard_error}: the "
                                                                       "product's own fit alone; null without a "
                                                                       "converged fit")]
    converged: Annotated[bool, Field(description="whether the own fit converged; a fit that did not is never used "
                                                 "as the estimate")]
    fit_status: Annotated[str | None, Field(description="converged, not_converged, separated, collinear, "
                                                        "too_few_observations")]
    grain: Annotated[Literal["daily", "weekly", "irregular"], Field(description="the grain the own fit ran on: "
                                                                                "n_observations counts its periods")]
    period_days: Annotated[int, Field(description="days in one observation period (1 daily, 7 weekly/irregular)")]
    reason: Annotated[str | None, Field(description="why the estimate is pooled or flagged, in words; null "
                                                    "otherwise")]
    currency: Annotated[str, Field(description=CURRENCY)]
    as_of: Annotated[str, Field(description=AS_OF)]


# -- price optimization --
Num = Annotated[float | None, Field(description="null where undefined (see impact_reasons)")]


class Guardrails(TypedDict):
    cost_floor: Annotated[float | None, Field(description="the unit cost: the price never goes below it; null without "
                                                          "one")]
    observed_min: Annotated[float | None, Field(description="lowest unit price the product sold at")]
    observed_max: Annotated[float | None, Field(description="highest unit price the product sold at")]
    range_min: Annotated[float | None, Field(description="observed_min less the range margin: demand is never "
                                                         "extrapolated below it")]
    range_max: Annotated[float | None, Field(description="observed_max plus the range margin")]
    step_min: Annotated[float | None, Field(description="current price less the maximum step")]
    step_max: Annotated[float | None, Field(description="current price plus the maximum step")]
    lower: Annotated[float | None, Field(description="the lowest price allowed (all guardrails together)")]
    upper: Annotated[float | None, Field(description="the highest price allowed")]


class PriceOptimizationResponse(TypedDict):
    """The guarded profit-maximizing price (revenue without a cost), or hold when the estimate cannot carry a move."""

    product_id: Annotated[str, Field(description="the product's id as asked")]
    current_price: Annotated[float, Field(description="the current unit price asked")]
    optimal_price: Annotated[float | None, Field(description="the guarded optimum at the point elasticity, inside "
                                                             "optimal_price_range; null when the elasticity is not "
                                                             "usable for pricing")]
    recommended_price: Annotated[float, Field(description="the price to set now: optimal_price, or current_price on "
                                                          "hold and keep")]
    price_change_pct: Annotated[float, Field(description="recommended vs current price, percent")]
    action: Annotated[Literal["increase", "decrease", "keep", "hold"], Field(
        description="keep: a move under 0.5%; hold: the elasticity's interval spans the decision (the move could "
                    "lose money) or the estimate is not usable for pricing")]
    recommendation: Annotated[str, Field(description="the action in words")]
    hold_reason: Annotated[str | None, Field(description="why hold, in one sentence; null otherwise")]
    objective: Annotated[Literal["profit", "revenue"], Field(description="profit (a cost was given) or revenue")]
    elasticity: Annotated[float, Field(description="the product's point elasticity used")]
    elasticity_ci: Annotated[dict[str, float | None], Field(description="{lower, upper}: its interval")]
    usable_for_pricing: Annotated[bool, Field(description="false when the estimate was flagged (positive, or only a "
                                                          "prior): no optimum is computed")]
    unconstrained_optimal_price: Annotated[float | None, Field(
        description="the markup-rule optimum before the guardrails; null when unbounded, or when with no cost "
                    "revenue keeps rising as the price falls")]
    unbounded: Annotated[bool, Field(description="true when profit keeps rising with price (inelastic demand)")]
    binding_constraint: Annotated[str | None, Field(description="the guardrail that set the price (max_step, "
                                                                "observed_range, cost, cost_above_allowed_prices); "
                                                                "null if none")]
    guardrails: Annotated[Guardrails, Field(description="the allowed price interval and where each bound comes from")]
    estimated_impact: Annotated[dict[str, Num], Field(description="at the recommended price, per the period of "
                                                                  "current_quantity: quantity, revenue and profit, "
                                                                  "their changes (absolute, percent, and at both ends "
                                                                  "of the elasticity's interval)")]
    impact_reasons: Annotated[dict[str, str], Field(description="impact field -> why it is null (no cost given, a "
                                                                "baseline of zero or less)")]
    sensitivity: Annotated[list[dict[str, Any]], Field(description="-30%..+30% of the current price: price, "
                                                                   "within_support, quantity, revenue, profit (null "
                                                                   "outside the observed price support)")]
    profit_curve: Annotated[list[dict[str, Any]], Field(description="prices across the allowed interval with "
                                                                    "quantity, revenue and profit and their band "
                                                                    "(_low/_high) from the elasticity's interval")]
    optimal_price_range: Annotated[dict[str, Any], Field(description="the optimum at both ends of the elasticity's "
                                                                     "interval (min, max, at_elasticity_lower/upper)")]
    note: Annotated[str, Field(description="how the answer came about, in one paragraph")]
    inputs: Annotated[dict[str, Any], Field(description="the current price and quantity the answer starts from, each "
                                                        "with its source: given, or read from the snapshot (the "
                                                        "last observed price; mean daily units over the last 28 "
                                                        "days) when omitted")]
    elasticity_status: Annotated[Literal["answered", "flagged_positive"], Field(
        description="the elasticity's status (price-elasticity): a flagged one always gives hold")]
    currency: Annotated[str, Field(description=CURRENCY)]
    as_of: Annotated[str, Field(description=AS_OF)]
