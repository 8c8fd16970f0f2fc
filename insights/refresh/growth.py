"""The ``growth`` document: the active customer base projected 24 months ahead, overall and by segment.

``customer_activity_monthly`` (athena/queries/) gives each complete month's active base (a purchase in it or
the two months before) and acquisitions; models/growth.py measures the monthly net churn and projects. Segments
split the overall projection by their own dynamics: each keeps ``(1 - p)^(1/3)`` of its active customers a
month (p: its active customers' mean calibrated 90-day churn probability) and receives new customers in the
proportions of today's recent first-time buyers (one order, within the last 90 days).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from athena.engine import QueryEngine
from models.growth import measured_rates, project, segment_split

__all__ = ["growth_doc", "MAX_MONTHS", "MEASURED_MONTHS", "MIN_MEASURED_MONTHS", "LEVEL"]

MAX_MONTHS = 24  # the longest projection the API answers
MEASURED_MONTHS = 12  # the rates come from the last 12 complete months (fewer when the lake is younger)
MIN_MEASURED_MONTHS = 3
LEVEL = 0.8
ACTIVE_DAYS = 90


def growth_doc(engine: QueryEngine, as_of: date, customers: Mapping[str, np.ndarray], *,
               model_horizon_days: int) -> dict[str, Any]:
    """The measured months, the rates, the 24-month projection and its split by segment."""
    end = np.datetime64(as_of.isoformat(), "M")
    start = end - (MEASURED_MONTHS + 1)
    frame = engine.query("customer_activity_monthly", {"start": f"{start}-01", "end": f"{end}-01"})
    months = pd.to_datetime(frame["month_start"]).to_numpy().astype("datetime64[M]")
    grid = np.arange(months.min(), end) if months.size else np.zeros(0, "datetime64[M]")
    active, new = np.zeros(grid.size), np.zeros(grid.size)
    pos = (months - grid[0]).astype(np.int64) if grid.size else np.zeros(0, np.int64)
    active[pos], new[pos] = frame["active_customers"].to_numpy("float64"), frame["new_customers"].to_numpy("float64")
    # a lake that begins inside the window: in its first two months nobody can have lapsed yet (and the first
    # month's "new" customers are its whole past), so rates start with its fourth month
    skip = 2 if grid.size and grid[0] > start else 0
    rates = measured_rates(active[skip:], new[skip:])
    doc: dict[str, Any] = {
        "max_months": MAX_MONTHS, "level": LEVEL, "active_days": ACTIVE_DAYS,
        "measured": {"months": [str(m) for m in grid], "active_customers": active.astype(int).tolist(),
                     "new_customers": new.astype(int).tolist()},
        "available": bool(rates.churn_rates.size >= MIN_MEASURED_MONTHS),
    }
    if not doc["available"]:
        doc["note"] = (f"{rates.churn_rates.size} month(s) of measured churn before {as_of}; the projection needs "
                       f"at least {MIN_MEASURED_MONTHS} complete months of history")
        return doc
    base = float(active[-1])
    proj = project(base, rates, months=MAX_MONTHS, level=LEVEL)
    ahead = [str(grid[-1] + k) for k in range(1, MAX_MONTHS + 1)]
    doc.update({
        "start": {"month": str(grid[-1]), "active_customers": int(base)},
        "rates": {"months_measured": int(rates.churn_rates.size), "first_rate_month": str(grid[skip + 1]),
                  "mean_new_customers": round(float(rates.acquisitions.mean()), 2),
                  "sd_new_customers": round(float(rates.acquisitions.std(ddof=1)), 2)
                  if rates.acquisitions.size > 1 else 0.0,
                  "mean_churn_rate": round(float(rates.churn_rates.mean()), 6),
                  "sd_churn_rate": round(float(rates.churn_rates.std(ddof=1)), 6)
                  if rates.churn_rates.size > 1 else 0.0,
                  "monthly_churn_rates": [round(float(r), 6) for r in rates.churn_rates]},
        "projection": _rows(ahead, proj.point, proj.lower, proj.upper),
        "by_segment": _segments(customers, proj, ahead, float(rates.acquisitions.mean()), model_horizon_days),
    })
    return doc


def _segments(customers: Mapping[str, np.ndarray], proj: Any, ahead: list[str], acquisitions: float,
              horizon: int) -> list[dict[str, Any]]:
    codes, all_names = pd.factorize(np.asarray(customers["segment"]).astype(object), sort=True)
    recency = np.asarray(customers["recency_days"], dtype="float64")
    frequency = np.asarray(customers["frequency"], dtype="float64")
    p = np.nan_to_num(np.asarray(customers["churn_probability"], dtype="float64"))
    active = recency <= ACTIVE_DAYS
    k = len(all_names)
    counts = np.bincount(codes[active], minlength=k).astype("float64")
    keep = counts > 0
    if not keep.any():
        return []
    mean_p = np.bincount(codes[active], weights=p[active], minlength=k)[keep] / counts[keep]
    names, counts = np.asarray(all_names, dtype=object)[keep], counts[keep]
    monthly = 1.0 - (1.0 - np.clip(mean_p, 0.0, 1.0)) ** (30.0 / horizon)
    newcomers = active & (frequency <= 1)
    entry = np.bincount(codes[newcomers], minlength=k).astype("float64")[keep]
    if entry.sum() == 0:
        entry = counts
    shares = segment_split(counts, monthly, entry, acquisitions, months=len(ahead))
    out = []
    for j, name in enumerate(names):
        share = shares[:, j]
        out.append({"segment": str(name), "active_customers_now": int(counts[j]),
                    "monthly_churn_rate": round(float(monthly[j]), 6),
                    "share_of_new_customers": round(float(entry[j] / entry.sum()), 6),
                    "projection": _rows(ahead, proj.point * share, proj.lower * share, proj.upper * share)})
    out.sort(key=lambda s: (-s["active_customers_now"], s["segment"]))
    return out


def _rows(months: list[str], point: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> list[dict[str, Any]]:
    return [{"month": m, "active_customers": round(float(x), 1), "lower": round(float(lo), 1),
             "upper": round(float(hi), 1)} for m, x, lo, hi in zip(months, point, lower, upper, strict=True)]
