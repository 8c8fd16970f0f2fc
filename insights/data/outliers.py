"""Extreme quantities and prices judged against their own product's distribution (no fixed absolute cap).

A value is extreme when, on the log scale, it lies above its product's median by more than
``max(k x MAD, log(min_ratio))``: the MAD (median absolute deviation, x 1.4826 so that it estimates a standard
deviation under normality) makes the rule scale with how much the product varies, and ``min_ratio`` keeps a
product that always sells the same amount from losing its first big line (a promotion week, a wholesale order).
A product with fewer than ``min_lines`` lines is judged against the whole population instead. Only the upper side
is tested: a small quantity or a low (clearance) price is never an entry error of this kind. docs/importer.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Limits", "extreme_upper"]

_MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class Limits:
    """What :func:`extreme_upper` found: a flag per row and how the products were judged."""

    extreme: np.ndarray          # bool per row
    products_own: int            # products judged against their own lines
    products_population: int     # products with too few lines, judged against the population
    population_median: float | None   # on the original scale (exp of the log median)
    population_limit: float | None    # the population's upper limit, original scale

    def summary(self) -> dict[str, object]:
        return {"set_aside": int(self.extreme.sum()), "products_judged_on_own_lines": self.products_own,
                "products_judged_on_population": self.products_population,
                "population_median": _round(self.population_median),
                "population_limit": _round(self.population_limit)}


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


def extreme_upper(values: np.ndarray, products: pd.Series, eligible: np.ndarray, *, mads: float, min_ratio: float,
                  min_lines: int) -> Limits:
    """Flag rows whose positive ``values`` are extreme for their product (only ``eligible`` rows count and are
    judged; the others are never flagged). Raises ValueError on a non-positive ``mads`` or ``min_ratio`` <= 1."""
    if not mads > 0:
        raise ValueError(f"the MAD multiple must be positive, got {mads}")
    if not min_ratio > 1:
        raise ValueError(f"the minimum ratio to the median must be above 1, got {min_ratio}")
    if min_lines < 1:
        raise ValueError(f"the minimum number of lines must be at least 1, got {min_lines}")
    n = len(values)
    ok = np.asarray(eligible, dtype=bool) & np.isfinite(values) & (values > 0)
    flag = np.zeros(n, dtype=bool)
    if not ok.any():
        return Limits(flag, 0, 0, None, None)
    logs = np.log(values[ok])
    keys, _ = pd.factorize(products.to_numpy()[ok], use_na_sentinel=False)  # small ints group fastest
    grouped = pd.Series(logs).groupby(keys, sort=False)
    median = grouped.transform("median").to_numpy()
    mad = _MAD_TO_SD * pd.Series(np.abs(logs - median)).groupby(keys, sort=False).transform("median").to_numpy()
    count = np.bincount(keys)[keys]
    pop_median = float(np.median(logs))
    pop_mad = _MAD_TO_SD * float(np.median(np.abs(logs - pop_median)))
    floor = np.log(min_ratio)
    own = count >= min_lines
    limit = np.where(own, median + np.maximum(mads * mad, floor), pop_median + max(mads * pop_mad, floor))
    flag[np.flatnonzero(ok)] = logs > limit
    n_own = int(np.unique(keys[own]).size)
    n_pop = int(np.unique(keys[~own]).size)
    return Limits(flag, n_own, n_pop, float(np.exp(pop_median)),
                  float(np.exp(pop_median + max(mads * pop_mad, floor))))
