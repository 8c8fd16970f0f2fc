"""Interval coverage of the forecaster's validation rows by selling grain, on the days each product trades (numpy).

The forecaster's validation window measures its 80% intervals over every product-day. A product's grain
(models/cadence.py: daily, weekly, irregular) and its trading weekdays change what a day means: the refresh
puts no units and no interval on a weekday a product never trades on, so the coverage that matters is the one
on its trading days, per grain. Those days are what this measures.
"""

from __future__ import annotations

import numpy as np

__all__ = ["coverage_by_grain"]


def coverage_by_grain(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, product: np.ndarray,
                      weekday: np.ndarray, grain: np.ndarray, trading: np.ndarray) -> dict[str, dict[str, float]]:
    """{grain: {coverage, n, mean_width, products}} over validation rows on the product's trading weekdays.

    Parameters
    ----------
    y, lower, upper : realized units and the interval of each validation row
    product : the row's product index (into ``grain`` and ``trading``)
    weekday : the target day's weekday (Monday = 0)
    grain : per product, its grain label
    trading : per product, a boolean mask of its 7 trading weekdays
    """
    y, lower, upper = (np.asarray(a, dtype=float) for a in (y, lower, upper))
    product, weekday = np.asarray(product, dtype=np.int64), np.asarray(weekday, dtype=np.int64)
    if not (y.shape == lower.shape == upper.shape == product.shape == weekday.shape):
        raise ValueError("y, lower, upper, product and weekday must have one shape")
    trading = np.asarray(trading, dtype=bool)
    if trading.ndim != 2 or trading.shape[1] != 7:
        raise ValueError(f"trading must be (n_products, 7), got {trading.shape}")
    on = trading[product, weekday]
    labels = np.asarray(grain).astype(str)[product]
    out: dict[str, dict[str, float]] = {}
    for g in sorted(set(labels[on].tolist())):
        m = on & (labels == g)
        out[g] = {"coverage": float(np.mean((y[m] >= lower[m]) & (y[m] <= upper[m]))), "n": int(m.sum()),
                  "mean_width": float(np.mean(upper[m] - lower[m])), "products": int(np.unique(product[m]).size)}
    return out
