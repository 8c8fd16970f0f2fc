"""Cohort matrices: retention, revenue and cumulative value per customer by acquisition cohort and age.

Pure numpy. Input: one row per (cohort, age) with activity, as integer period indices (the caller maps months or
weeks to consecutive integers). A cell is *observed* when the cohort has reached that age by the last complete
period; unobserved cells are NaN, observed cells without activity are 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CohortMatrix", "cohort_matrix", "payback_period"]


@dataclass(frozen=True)
class CohortMatrix:
    """Per cohort (rows, oldest first) and age (columns, 0 = the acquisition period)."""

    cohorts: np.ndarray  # period index of each cohort
    sizes: np.ndarray  # customers acquired (active at age 0)
    active: np.ndarray  # customers of the cohort with a purchase at that age; NaN where not observed
    revenue: np.ndarray  # the cohort's net revenue at that age; NaN where not observed
    retention: np.ndarray  # active / size
    ltv: np.ndarray  # cumulative revenue per acquired customer
    curve_retention: np.ndarray  # per age: sum of active / sum of sizes over the cohorts observed at that age
    curve_ltv: np.ndarray  # per age: size-weighted mean cumulative value over the cohorts observed at that age
    curve_revenue: np.ndarray  # per age: revenue per acquired customer over the cohorts observed at that age
    curve_cohorts: np.ndarray  # per age: how many cohorts the curve averages


def cohort_matrix(cohort: np.ndarray, period: np.ndarray, active: np.ndarray, revenue: np.ndarray, *,
                  last_period: int) -> CohortMatrix:
    """Build the matrices from (cohort, period, active customers, revenue) rows.

    Parameters
    ----------
    cohort, period : integer period indices (``period >= cohort``); one row per pair at most.
    active, revenue : the cohort's active customers and net revenue in that period.
    last_period : the last complete period: a cohort is observed up to age ``last_period - cohort``.
    """
    cohort, period = np.asarray(cohort, dtype=np.int64), np.asarray(period, dtype=np.int64)
    if cohort.shape != period.shape or np.any(period < cohort) or np.any(period > last_period):
        raise ValueError("each row needs cohort <= period <= last_period")
    ids = np.unique(cohort)
    n_ages = int(last_period - ids.min() + 1) if ids.size else 0
    ages = np.arange(n_ages)
    observed = ages[None, :] <= (last_period - ids)[:, None]
    act = np.where(observed, 0.0, np.nan)
    rev = np.where(observed, 0.0, np.nan)
    row = np.searchsorted(ids, cohort)
    act[row, period - cohort] = np.asarray(active, dtype="float64")
    rev[row, period - cohort] = np.asarray(revenue, dtype="float64")
    sizes = act[:, 0].copy() if n_ages else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        retention = act / sizes[:, None]
        ltv = np.cumsum(np.nan_to_num(rev), axis=1) / sizes[:, None]
    ltv = np.where(observed, ltv, np.nan)
    weight = np.where(observed, sizes[:, None], 0.0)
    total = weight.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve_ret = np.nansum(np.where(observed, act, 0.0), axis=0) / total
        curve_ltv = np.nansum(np.where(observed, ltv * sizes[:, None], 0.0), axis=0) / total
        curve_rev = np.nansum(np.where(observed, rev, 0.0), axis=0) / total
    return CohortMatrix(cohorts=ids, sizes=sizes, active=act, revenue=rev, retention=retention, ltv=ltv,
                        curve_retention=curve_ret, curve_ltv=curve_ltv, curve_revenue=curve_rev,
                        curve_cohorts=observed.sum(axis=0))


def payback_period(ltv: list[float | None] | np.ndarray, cost: float) -> int | None:
    """The first age (periods since acquisition, 0 = the acquisition period) at which the cumulative value per
    customer reaches ``cost``; None when it has not yet (or the values stop before it)."""
    for age, value in enumerate(ltv):
        if value is not None and value == value and value >= cost:
            return age
    return None
