"""Customer-base answers read from documents the refresh derived: churn outlook, cohorts, growth, transitions.

Each function reads one document of the live snapshot (declared in insights/snapshot/schema.py, built by
insights/refresh/derived.py) and shapes it for JSON; nothing is computed over customer rows on a request.
numpy-free and pandas-free: this module is on the API's request path.
"""

from __future__ import annotations

from typing import Any

from insights.api.quality import card_link
from insights.errors import InsufficientData, InvalidRequest
from insights.snapshot.reader import Snapshot

__all__ = ["churn_outlook", "cohorts", "growth_projection", "segment_transitions", "PERIODS", "COHORT_METRICS",
           "MIN_MONTHS", "MAX_MONTHS"]

MIN_MONTHS, MAX_MONTHS = 6, 24

PERIODS = ("month", "week")
COHORT_METRICS = ("retention", "revenue", "ltv")
_CURVE = {"retention": "retention", "revenue": "revenue", "ltv": "ltv"}
_DEFINITIONS = {
    "cohort": "the customers whose first purchase (a line of positive quantity) fell in that period",
    "retention": "share of the cohort's customers with a purchase in the period, by periods since acquisition "
                 "(period 0 = the acquisition period, always 1)",
    "revenue": "the cohort's net revenue in the period (returns subtract), currency units",
    "ltv": "cumulative net revenue per acquired customer up to and including the period",
    "curve": "per period since acquisition, the average over the cohorts that have reached it, weighted by "
             "their size",
    "payback_period": "the first period since acquisition at which the cumulative value per customer reaches "
                      "acquisition_cost (gross: revenue net of returns, before cost of goods); null when not "
                      "reached yet",
    "complete_periods": "only complete periods count: the period holding as_of is left out",
}


def _outlook_summary(doc: dict[str, Any], currency: str) -> str:
    """What the outlook says, as a shop owner would read it aloud."""
    overall, horizon = doc["overall"], int(doc["model_horizon_days"])
    first, last = overall["horizons"][0], overall["horizons"][-1]
    money = f"{last['revenue_at_risk']:,.0f} {currency}".rstrip()
    if "active_customers" not in overall:  # a snapshot from before the split
        return (f"Of {overall['customers']:,} customers, about {first['expected_customers_lost']:,.0f} are expected "
                f"not to order within {first['days']} days and {last['expected_customers_lost']:,.0f} within "
                f"{last['days']} days; {money} of predicted value is at risk.")
    if overall["lapsed_customers"]:
        start = (f"Of {overall['customers']:,} customers, {overall['lapsed_customers']:,} have not ordered in the last "
                 f"{horizon} days and count as already lost. Of the {overall['active_customers']:,} still "
                 f"active, about")
    else:
        start = f"All {overall['customers']:,} customers ordered within the last {horizon} days; about"
    return (f"{start} {first['expected_active_customers_lost']:,.0f} are expected to stop ordering within "
            f"{first['days']} days and {last['expected_active_customers_lost']:,.0f} within {last['days']} days. "
            f"{money} of predicted customer value is at risk over {last['days']} days.")


def churn_outlook(snapshot: Snapshot) -> dict[str, Any]:
    """Risk levels, expected customers lost and revenue at risk over 30 and 90 days, overall and by segment."""
    doc = snapshot.doc("churn_outlook")
    return {
        "summary": _outlook_summary(doc, snapshot.currency),
        "overall": doc["overall"],
        "by_segment": doc["by_segment"],
        "horizons_days": doc["horizons_days"],
        "model_horizon_days": doc["model_horizon_days"],
        "interval": doc["interval"],
        "assumptions": [
            "each customer leaves independently with their calibrated churn probability, the one the churn and "
            "at-risk answers give (P(no purchase within the model horizon))",
            "a shorter horizon h uses a constant hazard: p_h = 1 - (1 - p)^(h / model horizon)",
            "revenue at risk sums probability x predicted CLV, so at the model horizon it is the sum of the "
            "at-risk answers' value_at_risk",
            "customers without an order in the last model-horizon days have already churned by its definition: "
            "expected_customers_lost counts them, expected_active_customers_lost does not",
        ],
        "currency": snapshot.currency,
        "as_of": snapshot.as_of,
        "model_card": card_link("churn"),
    }


def cohorts(snapshot: Snapshot, *, period: str = "month", metric: str = "retention",
            acquisition_cost: float | None = None) -> dict[str, Any]:
    """The cohort matrix of ``metric`` by first-purchase ``period``, the average curve and, given a cost, payback."""
    if period not in PERIODS:
        raise InvalidRequest(f"period must be one of {PERIODS}, got {period!r}")
    if metric not in COHORT_METRICS:
        raise InvalidRequest(f"metric must be one of {COHORT_METRICS}, got {metric!r}")
    if acquisition_cost is not None and not acquisition_cost >= 0:
        raise InvalidRequest(f"acquisition_cost must be a number >= 0, got {acquisition_cost}")
    doc = snapshot.doc("cohorts")[period]
    rows = []
    for c in doc["cohorts"]:
        row = {"cohort": c["cohort"], "customers": c["customers"], "values": c[metric]}
        if acquisition_cost is not None:
            row["payback_period"] = _payback(c["ltv"], acquisition_cost)
        rows.append(row)
    curve = doc["curve"]
    payback = None
    if acquisition_cost is not None:
        reached = [r["payback_period"] for r in rows if r["payback_period"] is not None]
        payback = {"acquisition_cost": acquisition_cost, "periods": _payback(curve["ltv"], acquisition_cost),
                   "cohorts_paid_back": len(reached), "cohorts": len(rows)}
    return {
        "period": period,
        "metric": metric,
        "cohorts": rows,
        "curve": {"values": curve[_CURVE[metric]], "ltv": curve["ltv"], "cohorts": curve["cohorts"]},
        "payback": payback,
        "max_cohorts": doc["max_cohorts"],
        "last_complete_period": doc["last_complete_period"],
        "definitions": _DEFINITIONS,
        "currency": snapshot.currency,
        "as_of": snapshot.as_of,
    }


def _payback(ltv: list[float | None], cost: float) -> int | None:
    """The first period since acquisition whose cumulative value per customer reaches ``cost`` (None: not yet)."""
    return next((age for age, v in enumerate(ltv) if v is not None and v >= cost), None)


def growth_projection(snapshot: Snapshot, *, months: int = 12, by: str | None = None) -> dict[str, Any]:
    """The active base ``months`` (6..24) months ahead with its interval; per segment with ``by="segment"``."""
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        raise InvalidRequest(f"months must be between {MIN_MONTHS} and {MAX_MONTHS}, got {months}")
    if by not in (None, "segment"):
        raise InvalidRequest(f"by must be 'segment' or absent, got {by!r}")
    doc = snapshot.doc("growth")
    if not doc.get("available"):
        raise InsufficientData(f"no growth projection in this snapshot: {doc.get('note', 'too little history')}",
                               missing="growth.measured", measured_months=len(doc["measured"]["months"]))
    rates, start = doc["rates"], doc["start"]
    level = doc["level"]
    answer: dict[str, Any] = {
        "months": months,
        "start": start,
        "projection": doc["projection"][:months],
        "interval_level": level,
        "measured": doc["measured"],
        "rates": {k: rates[k] for k in ("months_measured", "first_rate_month", "mean_new_customers",
                                        "sd_new_customers",
                                        "mean_churn_rate", "sd_churn_rate", "monthly_churn_rates")},
        "assumptions": [
            f"active customer: a purchase in the month or the two before it (the churn model's "
            f"{doc['active_days']} days in whole months); the base starts from {start['active_customers']:,} "
            f"active customers at the end of {start['month']}, the last complete month",
            f"each month {rates['mean_new_customers']:,} new customers arrive and a net "
            f"{100 * rates['mean_churn_rate']:.1f}% of the base lapses (lapsed minus returning customers): the "
            f"means of the last {rates['months_measured']} complete months (from {rates['first_rate_month']}; a lake "
            "younger than the window starts measuring in its fourth month, when lapses become possible)",
            f"the {round(100 * level)}% interval re-draws, for every projected month, one measured month's "
            "acquisitions and churn rate (a bootstrap over months): it shows how much the months have varied, "
            "not changes in marketing, prices or the economy",
            "seasonality is not modelled: the months are treated as exchangeable",
        ],
        "as_of": snapshot.as_of,
    }
    if by == "segment":
        answer["by_segment"] = [{**s, "projection": s["projection"][:months]} for s in doc["by_segment"]]
        answer["assumptions"].append(
            "by segment: each segment keeps (1 - p)^(1/3) of its active customers a month (p: their mean "
            "calibrated 90-day churn probability) and receives new customers in the proportions of today's recent "
            "first-time buyers; the segments' shares then split the overall projection, so they add up to it")
    return answer


def segment_transitions(snapshot: Snapshot) -> dict[str, Any]:
    """Customers who moved between named segments since the previous snapshot version (computed by the refresh)."""
    doc = snapshot.doc("segment_transitions")
    if not doc.get("available"):
        return {"available": False, "note": doc.get("note"), "previous_version": None, "previous_as_of": None,
                "compared_customers": 0, "moved_customers": 0, "transitions": [], "stayed": [],
                "new_customers": [], "customers_no_longer_scored": 0, "as_of": snapshot.as_of}
    return {**{k: doc[k] for k in ("previous_version", "previous_as_of", "compared_customers", "moved_customers",
                                   "transitions", "stayed", "new_customers", "customers_no_longer_scored")},
            "available": True, "note": None, "as_of": snapshot.as_of}
