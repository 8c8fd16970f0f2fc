"""The ``cohorts`` document: acquisition cohorts by month and by week, from one lake aggregate each.

``customer_cohorts`` (athena/queries/) returns one row per cohort and period with activity; models/cohorts.py
turns the rows into the matrices. Bounded: the last ``MAX_COHORTS`` complete periods' cohorts (36 months, 52
weeks), so the document stays small (at most 666 monthly and 1,378 weekly cells) whatever the lake's age. Only
complete periods count: the period holding as_of is left out (it would read as a drop in retention).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from athena.engine import QueryEngine
from models.cohorts import CohortMatrix, cohort_matrix

__all__ = ["cohorts_doc", "MAX_COHORTS", "PERIODS", "period_start"]

PERIODS = ("month", "week")
MAX_COHORTS = {"month": 36, "week": 52}


def period_start(day: date, period: str) -> date:
    """The first day of the month, or the Monday of the ISO week, holding ``day``."""
    return day.replace(day=1) if period == "month" else day - timedelta(days=day.weekday())


def _shift(start: date, period: str, n: int) -> date:
    if period == "week":
        return start + timedelta(weeks=n)
    months = start.year * 12 + start.month - 1 + n
    return date(months // 12, months % 12 + 1, 1)


def _index(values: Any, period: str) -> np.ndarray:
    """Consecutive integers per period: months since 1970-01, or weeks since the Monday 1969-12-29."""
    days = pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[D]")
    if period == "month":
        return days.astype("datetime64[M]").astype(np.int64)
    return (days.astype(np.int64) + 3) // 7


def _label(index: int, period: str) -> str:
    if period == "month":
        return str(np.datetime64(int(index), "M"))
    return str(np.datetime64(int(index) * 7 - 3, "D"))


def cohorts_doc(engine: QueryEngine, as_of: date) -> dict[str, Any]:
    """``{"month": {...}, "week": {...}}``: each period's cohorts (oldest first) and average curves."""
    return {period: _period_doc(engine, as_of, period) for period in PERIODS}


def _period_doc(engine: QueryEngine, as_of: date, period: str) -> dict[str, Any]:
    end = period_start(as_of, period)
    start = _shift(end, period, -MAX_COHORTS[period])
    frame = engine.query("customer_cohorts", {"period": period, "start": start.isoformat(), "end": end.isoformat()})
    last = int(_index([end], period)[0]) - 1
    m = cohort_matrix(_index(frame["cohort"], period), _index(frame["period_start"], period),
                      frame["active_customers"].to_numpy("float64"), frame["revenue"].to_numpy("float64"),
                      last_period=last)
    return {
        "period": period,
        "max_cohorts": MAX_COHORTS[period],
        "first_period": start.isoformat(),
        "last_complete_period": _label(last, period),
        "cohorts": [_cohort(m, i, period) for i in range(m.cohorts.size)],
        "curve": {"retention": _round(m.curve_retention, 6), "ltv": _round(m.curve_ltv, 2),
                  "revenue": _round(m.curve_revenue, 2),
                  "cohorts": m.curve_cohorts.astype(int).tolist()},
    }


def _cohort(m: CohortMatrix, i: int, period: str) -> dict[str, Any]:
    seen = int(np.count_nonzero(~np.isnan(m.active[i])))
    return {
        "cohort": _label(int(m.cohorts[i]), period),
        "customers": int(m.sizes[i]),
        "active": [int(v) for v in m.active[i, :seen]],
        "retention": _round(m.retention[i, :seen], 6),
        "revenue": _round(m.revenue[i, :seen], 2),
        "ltv": _round(m.ltv[i, :seen], 2),
    }


def _round(values: np.ndarray, digits: int) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), digits) for v in values]
