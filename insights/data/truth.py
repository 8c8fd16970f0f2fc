"""The ground truth of a sample lake (``<lake>/_truth/``) and the yardsticks derived from it.

Written by insights.data.sample; read by the benchmarks. Format: docs/sample-data.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Truth", "load_truth", "seasonality", "expected_orders", "raw_seasonality"]


@dataclass
class Truth:
    """The ground truth saved in ``<lake>/_truth/``."""

    products: pd.DataFrame
    customers: pd.DataFrame
    daily_prices: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def raw_seasonality(process: Mapping[str, Any], start: date, days: int, k: np.ndarray):
    """Dates, yearly factor and the unscaled global seasonality for day offsets ``k`` from ``start``."""
    dates = np.datetime64(start, "D") + k
    dow = (dates.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    doy = (dates - dates.astype("datetime64[Y]")).astype("int64") + 1
    yearly = 1 + process["yearly_amplitude"] * np.cos(2 * np.pi * (doy - process["yearly_peak_day_of_year"]) / 365.25)
    trend = np.exp(process["trend_per_year"] * (k - days / 2) / 365.25)
    return dates, yearly, np.asarray(process["weekly"])[dow] * yearly * trend


def load_truth(lake: str | Path) -> Truth:
    """Read ``<lake>/_truth/`` back (dates as ``datetime.date`` Arrow-backed columns)."""
    folder = Path(lake) / "_truth"
    if not (folder / "meta.json").exists():
        raise FileNotFoundError(f"no ground truth in {folder}: was this lake made by `insights sample`?")
    read = {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("products", "customers", "daily_prices")}
    return Truth(meta=json.loads((folder / "meta.json").read_text()), **read)


def seasonality(meta: Mapping[str, Any], first: date, last: date) -> np.ndarray:
    """The global seasonality s(t) of the sample described by ``meta`` for the days in [first, last).

    On the generator's scale (mean 1 over the sample's period); days outside the period extend the same formula.
    """
    start, end = date.fromisoformat(meta["start"]), date.fromisoformat(meta["end"])
    days = (end - start).days + 1
    offset = (first - start).days
    _, _, period = raw_seasonality(meta["process"], start, days, np.arange(days))
    _, _, raw = raw_seasonality(meta["process"], start, days, np.arange(offset, offset + max((last - first).days, 0)))
    return raw / period.mean()


def expected_orders(truth: Truth, first: date, last: date) -> pd.Series:
    """Each customer's expected purchase orders in [first, last) under the generating process (by customer_id).

    Repeat orders: purchase_rate_per_day x s(t) summed over the days in the window when the customer is active;
    plus the acquisition order when the acquisition day is in the window and in the sample's period.
    """
    if last < first:
        raise ValueError(f"last ({last}) is before first ({first})")
    cum = np.concatenate([[0.0], np.cumsum(seasonality(truth.meta, first, last))])
    n_days = cum.shape[0] - 1
    customers = truth.customers

    def offset(column: str) -> np.ndarray:
        days = np.asarray(customers[column].astype("datetime64[s]")).astype("datetime64[D]")
        return (days - np.datetime64(first, "D")).astype("int64")

    acq, churn = offset("acquisition_date"), offset("churn_date")
    lo, hi = np.clip(acq, 0, n_days), np.clip(churn, 0, n_days)
    start_offset = (date.fromisoformat(truth.meta["start"]) - first).days
    acquisition = (acq >= max(start_offset, 0)) & (acq < n_days)
    values = customers["purchase_rate_per_day"].to_numpy() * (cum[hi] - cum[lo]) + acquisition
    return pd.Series(values, index=pd.Index(customers["customer_id"], name="customer_id"), name="expected_orders")
