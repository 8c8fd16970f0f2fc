"""Churn reasons in the shop's words: each factor as a sentence with the customer's own value and a reference.

The refresh stores, per customer, the three model features that explain the risk level best (in the level's
direction), their log-odds contributions and the customer's own values, plus the scored population's medians
(the ``customer_models`` document). Here they become sentences such as "74 days since the last order; this
customer usually orders every 21 days". The feature name stays as a secondary ``feature`` key only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["describe_factor", "base_rate_reason", "strength", "without_repeats", "TEMPLATES", "GAP_FEATURES"]

# the features whose wording depends on the customer's order count (two orders are one gap, not a habit)
GAP_FEATURES = frozenset({"mean_days_between_orders", "std_days_between_orders", "recency_over_gap", "gap_cv"})

# |log-odds contribution| above which a reason is called strong or moderate (below: slight). A log-odds
# change of 1 moves a 50% risk to 73%; 0.3 moves it to 57%.
STRONG, MODERATE = 1.0, 0.3


def strength(contribution: float) -> str:
    size = abs(contribution)
    return "strong" if size >= STRONG else "moderate" if size >= MODERATE else "slight"


def _num(v: float) -> str:
    if abs(v - round(v)) < 0.05:
        return f"{round(v):,}"
    return f"{v:,.1f}"


def _every(days: float) -> str:
    """'every day', 'every 21 days': the usual gap between orders as a shop owner says it."""
    return "every day" if _num(days) == "1" else f"every {_num(days)} days"


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


class _Ctx:
    """What a template may use: the value, the population's median, recency, windows and the currency."""

    def __init__(self, value: float, typical: float | None, recency: float | None, window: int, currency: str,
                 orders: float | None = None):
        self.v, self.m, self.recency, self.window, self.currency = value, typical, recency, window, currency
        self.orders = orders

    @property
    def one_gap(self) -> bool:
        """Exactly two orders: one gap between them, which is not yet a habit."""
        return self.orders is not None and math.isfinite(self.orders) and round(self.orders) == 2

    def money(self, amount: float | None) -> str:
        return "an unknown amount" if amount is None or not math.isfinite(amount) else \
            f"{amount:,.2f} {self.currency}".rstrip()

    def typical(self, fmt: Callable[[float], str], text: str = "a typical customer's is {}") -> str:
        return "" if self.m is None or not math.isfinite(self.m) else "; " + text.format(fmt(self.m))


def _recency(c: _Ctx) -> str:
    return f"{_num(c.v)} days since the last order" + c.typical(_num, "a typical customer's last order was {} days ago")


def _gap(c: _Ctx) -> str:
    if not math.isfinite(c.v):
        return "Only one order so far, so there is no habit of returning yet"
    if c.one_gap:
        return (f"Their two orders so far were {_days(c.v)} apart"
                + c.typical(_every, "a typical repeat customer orders {}"))
    return f"Usually orders {_every(c.v)}" + c.typical(_every, "a typical repeat customer {}")


def _days(v: float) -> str:
    return "1 day" if _num(v) == "1" else f"{_num(v)} days"


def _overdue(c: _Ctx) -> str:
    if not math.isfinite(c.v) or c.v <= 0 or c.recency is None:
        return "Only one order so far, so there is no usual gap between orders to compare with"
    usual = c.recency / c.v
    if c.one_gap:
        return (f"{_num(c.recency)} days since the last order; their two orders so far were {_days(usual)} apart "
                f"({c.v:.1f} times that gap)")
    return (f"{_num(c.recency)} days since the last order; this customer usually orders {_every(usual)} "
            f"({c.v:.1f} times the usual gap)")


def _irregular(text: Callable[[_Ctx], str]) -> Callable[[_Ctx], str]:
    """How regular the gaps are needs at least two gaps (three orders)."""
    def phrase(c: _Ctx) -> str:
        few = not math.isfinite(c.v) or (c.orders is not None and math.isfinite(c.orders) and c.orders < 3)
        return "Too few orders to tell how regular they are" if few else text(c)
    return phrase


def _trend(c: _Ctx) -> str:
    if c.v > 0.05:
        change = "more"
    elif c.v < -0.05:
        change = "less"
    else:
        return "Spent about the same in the last 90 days as in the 90 days before"
    return f"Spent {change} in the last 90 days than in the 90 days before (trend {c.v:+.2f} on a -1 to +1 scale)"


def _since_engaged(c: _Ctx) -> str:
    if not math.isfinite(c.v):
        return "No visit or email interaction on record"
    return (f"Has not opened an email or visited in {_num(c.v)} day{'s' if round(c.v) != 1 else ''}"
            + c.typical(_num, "a typical customer's last was {} days ago"))


def _engaged_in(days: int) -> Callable[[_Ctx], str]:
    return lambda c: (f"{_num(c.v)} visit{'s' if round(c.v) != 1 else ''} or email interactions in the last "
                      f"{days} days" + c.typical(_num, "a typical customer had {}"))


def _engagement_trend(c: _Ctx) -> str:
    if abs(c.v) <= 0.05:
        return "Visits and opens emails about as often in the last 30 days as in the 60 days before"
    change = "more" if c.v > 0 else "less"
    return f"Visits and opens emails {change} often in the last 30 days than in the 60 days before"


def _stars(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _rating_trend(c: _Ctx) -> str:
    if not math.isfinite(c.v):
        return "Only one rating so far, so no change in ratings to compare"
    if abs(c.v) < 0.5:
        return "The most recent rating is in line with their earlier ones"
    return f"The most recent rating is {_stars(abs(c.v))} stars {'below' if c.v < 0 else 'above'} their earlier ones"


def _sentiment(c: _Ctx) -> str:
    if not math.isfinite(c.v):
        return "No review text to read"
    tone = "negative" if c.v < -0.05 else "positive" if c.v > 0.05 else "neutral"
    return f"Their reviews read {tone} (sentiment {c.v:+.2f} on a -1 to +1 scale)" + c.typical(
        lambda m: f"{m:+.2f}", "typically {}")


def _span(c: _Ctx) -> str:
    if round(c.v) == 0:
        return "All their orders so far were placed on one day" + c.typical(
            _num, "a typical customer's first and last orders are {} days apart")
    return f"Ordered over {_num(c.v)} days from the first to the last order" + c.typical(_num, "typically {} days")


def _orders_in(days: int) -> Callable[[_Ctx], str]:
    return lambda c: (f"{_num(c.v)} order{'s' if round(c.v) != 1 else ''} in the last {days} days"
                      + c.typical(_num, "a typical customer placed {}"))


def _spend_in(days: int) -> Callable[[_Ctx], str]:
    return lambda c: f"Spent {c.money(c.v)} in the last {days} days" + c.typical(c.money, "a typical customer {}")


TEMPLATES: Mapping[str, Callable[[_Ctx], str]] = {
    "recency_days": _recency,
    "frequency": lambda c: f"{_num(c.v)} order{'s' if round(c.v) != 1 else ''} so far"
                           + c.typical(_num, "a typical customer has placed {}"),
    "monetary_total": lambda c: f"Spent {c.money(c.v)} in total" + c.typical(c.money, "a typical customer {}"),
    "customer_age_days": lambda c: f"First ordered {_num(c.v)} days ago"
                                   + c.typical(_num, "a typical customer {} days ago"),
    "avg_order_value": lambda c: f"An average order of {c.money(c.v)}" + c.typical(c.money, "the typical one is {}"),
    "mean_days_between_orders": _gap,
    "std_days_between_orders": _irregular(lambda c: f"The gaps between orders vary by about {_num(c.v)} days"
                                          + c.typical(_num, "typically by {} days")),
    **{f"orders_{d}d": _orders_in(d) for d in (30, 90, 180, 365)},
    **{f"spend_{d}d": _spend_in(d) for d in (30, 90, 180, 365)},
    "distinct_products": lambda c: f"Bought {_num(c.v)} different product{'s' if round(c.v) != 1 else ''}"
                                   + c.typical(_num, "a typical customer {}"),
    "return_rate": lambda c: f"Returned {_pct(c.v)} of the units bought" + c.typical(_pct, "the typical rate is {}"),
    "spend_trend": _trend,
    "active_span_days": _span,
    "orders_per_30d": lambda c: f"About {c.v:.1f} orders a month since becoming a customer"
                                + c.typical(lambda m: f"{m:.1f}", "typically {}"),
    "spend_per_30d": lambda c: f"About {c.money(c.v)} a month since becoming a customer"
                               + c.typical(c.money, "typically {}"),
    "recency_over_gap": _overdue,
    "last_90d_share": lambda c: f"{_pct(c.v)} of their orders were placed in the last 90 days"
                                + c.typical(_pct, "typically {}"),
    "gap_cv": _irregular(lambda c: f"Orders come {'regularly' if c.v < 0.5 else 'irregularly'} (gaps vary by "
                                   f"{_pct(c.v)} of the usual gap)" + c.typical(_pct, "typically {}")),
    "order_trend": lambda c: f"{_num(abs(c.v))} order{'s' if round(abs(c.v)) != 1 else ''} "
                             f"{'more' if c.v >= 0 else 'fewer'} in the last 90 days than in the 90 days before",
    "first_order_value": lambda c: f"A first order of {c.money(c.v)}" + c.typical(c.money, "the typical one is {}"),
    "first_order_lines": lambda c: f"{_num(c.v)} item{'s' if round(c.v) != 1 else ''} in the first order"
                                   + c.typical(_num, "typically {}"),
    "last_order_value": lambda c: f"A last order of {c.money(c.v)}" + c.typical(c.money, "the typical one is {}"),
    "max_order_value": lambda c: f"A largest order of {c.money(c.v)}" + c.typical(c.money, "the typical one is {}"),
    "first_basket_share": lambda c: f"The first day's orders came to {c.v:.1f} times their average order"
                                    + c.typical(lambda m: f"{m:.1f}", "typically {}"),
    "last_basket_ratio": lambda c: f"The last day's orders came to {c.v:.1f} times their average order"
                                   + c.typical(lambda m: f"{m:.1f}", "typically {}"),
    "gg_expected_value": lambda c: f"Their orders are expected to be worth {c.money(c.v)} each"
                                   + c.typical(c.money, "typically {}"),
    "bg_gg_expected_spend": lambda c: f"Their buying rhythm and order values predict {c.money(c.v)} of spend in the "
                                      f"next {c.window} days" + c.typical(c.money, "typically {}"),
    "bg_expected_purchases": lambda c: f"Their buying rhythm predicts {c.v:.1f} orders in the next {c.window} days"
                                       + c.typical(lambda m: f"{m:.1f}", "typically {}"),
    "bg_expected_spend": lambda c: f"Their buying rhythm predicts {c.money(c.v)} of spend in the next {c.window} "
                                   "days" + c.typical(c.money, "typically {}"),
    "bg_p_alive": lambda c: f"Their buying rhythm gives a {_pct(c.v)} chance they are still an active customer"
                            + c.typical(_pct, "typically {}"),
    "days_since_engagement": _since_engaged,
    **{f"engagement_{d}d": _engaged_in(d) for d in (30, 90)},
    "engagement_trend": _engagement_trend,
    "email_click_rate": lambda c: "Has not opened any email" if not math.isfinite(c.v)
    else f"Clicked in {_pct(c.v)} of the emails they opened" + c.typical(_pct, "typically {}"),
    "review_count": lambda c: f"{_num(c.v)} review{'s' if round(c.v) != 1 else ''} written"
                              + c.typical(_num, "a typical customer wrote {}"),
    "mean_rating": lambda c: "Has not rated any product" if not math.isfinite(c.v)
    else f"Rates products {_stars(c.v)} of 5 on average" + c.typical(_stars, "typically {}"),
    "last_rating": lambda c: "Has not rated any product" if not math.isfinite(c.v)
    else f"Recent review rated {_stars(c.v)} of 5",
    "rating_trend": _rating_trend,
    "review_sentiment": _sentiment,
    "bg_p_no_purchase": lambda c: f"Their buying rhythm gives a {_pct(c.v)} chance of no order in the next "
                                  f"{c.window} days" + c.typical(_pct, "typically {}"),
}


# features whose template phrases a missing value (no second order, no email opened, no review)
_NAN_PHRASED = GAP_FEATURES | frozenset({"days_since_engagement", "email_click_rate", "mean_rating",
                                         "last_rating", "rating_trend", "review_sentiment"})


# features that say nothing more once "no visit or email interaction on record" has been said
_NO_ENGAGEMENT_REPEATS = frozenset({"engagement_30d", "engagement_90d", "engagement_trend", "email_click_rate"})


def without_repeats(reasons: list[dict[str, Any]], *, days_since_engagement: float | None) -> list[dict[str, Any]]:
    """The reasons minus those that repeat another in other words. Beside "no visit or email interaction on
    record" (``days_since_engagement`` NaN), the engagement counts say nothing more; beside "has not visited in 189
    days", neither does "0 visits in the last 30 / 90 days"."""
    if days_since_engagement is None or not any(r["feature"] == "days_since_engagement" for r in reasons):
        return reasons
    if not math.isfinite(days_since_engagement):
        return [r for r in reasons if r["feature"] not in _NO_ENGAGEMENT_REPEATS]
    implied = {f"engagement_{d}d" for d in (30, 90) if days_since_engagement >= d}
    return [r for r in reasons if r["feature"] not in implied]


def describe_factor(feature: str, contribution: float, value: float | None, *, typical: float | None,
                    recency_days: float | None, window_days: int, currency: str,
                    orders: float | None = None) -> dict[str, Any]:
    """One reason: ``{"description", "direction", "strength", "feature", "contribution"}``."""
    v = math.nan if value is None else float(value)
    template = TEMPLATES.get(feature)
    if template is None or (not math.isfinite(v) and feature not in _NAN_PHRASED):
        text = f"A {feature.replace('_', ' ')} unlike most customers'"  # a feature this version cannot phrase
    else:
        text = template(_Ctx(v, typical, recency_days, window_days, currency, orders))
    return {"description": text[0].upper() + text[1:] + ".",
            "direction": "increases_risk" if contribution > 0 else "decreases_risk",
            "strength": strength(contribution), "feature": feature, "contribution": round(float(contribution), 4)}


def base_rate_reason(mean_probability: float | None, horizon_days: int | None) -> dict[str, Any]:
    """Why a customer is at risk when none of their own features raises the risk: the shop's base rate."""
    share = "Most" if mean_probability is None or mean_probability >= 0.5 else "Many"
    rate = "" if mean_probability is None else f" (on average {_pct(mean_probability)})"
    window = f"within {horizon_days} days" if horizon_days else "soon"
    return {"description": f"{share} of this shop's customers do not order again {window}{rate}; nothing in this "
                           "customer's history lowers that risk.",
            "direction": "increases_risk", "strength": "base rate", "feature": "base_rate", "contribution": 0.0}


# what a forecast driver group is called in a sentence (models/forecast_drivers.py DRIVER_GROUPS)
DRIVER_SUBJECTS: Mapping[str, str] = {
    "recent_sales": "Recent sales", "product_history": "The product's longer sales history",
    "day_of_week": "The days of the week ahead", "time_of_year": "The time of year", "price": "The current price",
    "days_ahead": "How far ahead the days are",
}


def describe_driver(driver: str, effect: float, horizon_days: int) -> dict[str, Any]:
    """One forecast driver: ``{"description", "direction", "effect_units_per_day", "driver"}``."""
    subject = DRIVER_SUBJECTS.get(driver, driver.replace("_", " ").capitalize())
    verb = "raise" if effect > 0 else "lower"
    if not subject.endswith("s") or subject.startswith(("The product", "The current", "The time", "How")):
        verb += "s"
    return {"description": f"{subject} {verb} the forecast by about {abs(effect):,.1f} units a day on average "
                           f"over the {horizon_days} days.",
            "direction": "raises" if effect > 0 else "lowers", "effect_units_per_day": round(float(effect), 3),
            "driver": driver}
