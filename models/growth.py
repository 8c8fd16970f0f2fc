"""Projection of the active customer base from measured monthly acquisition and churn. Pure numpy.

Measured: A_m, the active customers at the end of month m (a purchase in the last three months), and N_m, the
customers acquired in m. Then ``A_m = A_{m-1} (1 - r_m) + N_m`` defines r_m, the month's net churn rate (customers
lapsing minus customers coming back, as a share of the base). Projected: ``A_k = A_{k-1} (1 - r) + a`` with the
mean measured rate and acquisitions; the interval re-draws, for each projected month, one measured month's
(a, r) pair (a bootstrap over months), so it is as wide as the months have varied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MeasuredRates", "Projection", "measured_rates", "project", "segment_split"]


@dataclass(frozen=True)
class MeasuredRates:
    acquisitions: np.ndarray  # N_m for each measured month (the first month of the series has no rate)
    churn_rates: np.ndarray  # r_m


@dataclass(frozen=True)
class Projection:
    point: np.ndarray  # months ahead 1..H
    lower: np.ndarray
    upper: np.ndarray


def measured_rates(active: np.ndarray, new: np.ndarray) -> MeasuredRates:
    """Net monthly churn ``r_m = (A_{m-1} + N_m - A_m) / A_{m-1}`` and acquisitions ``N_m`` for m = 1..n-1.

    Parameters
    ----------
    active, new : consecutive months' active base and acquisitions (equal lengths); months whose previous base
        is 0 give no rate and are left out.
    """
    a, n = np.asarray(active, dtype="float64"), np.asarray(new, dtype="float64")
    if a.shape != n.shape or a.ndim != 1:
        raise ValueError(f"active and new must be 1-D of equal length, got {a.shape} and {n.shape}")
    prev, cur, acq = a[:-1], a[1:], n[1:]
    ok = prev > 0
    return MeasuredRates(acquisitions=acq[ok], churn_rates=(prev[ok] + acq[ok] - cur[ok]) / prev[ok])


def project(base: float, rates: MeasuredRates, *, months: int, level: float = 0.8, n_paths: int = 4000,
            seed: int = 0) -> Projection:
    """The base ``months`` months ahead: the mean-rate path and a bootstrap interval at ``level``."""
    if months < 1 or rates.churn_rates.size == 0:
        raise ValueError("need at least one projected month and one measured month")
    r_bar, a_bar = float(rates.churn_rates.mean()), float(rates.acquisitions.mean())
    point = np.empty(months)
    x = float(base)
    for k in range(months):
        x = max(0.0, x * (1.0 - r_bar) + a_bar)
        point[k] = x
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, rates.churn_rates.size, size=(n_paths, months))
    paths = np.empty((n_paths, months))
    x_paths = np.full(n_paths, float(base))
    for k in range(months):
        j = draws[:, k]
        x_paths = np.maximum(0.0, x_paths * (1.0 - rates.churn_rates[j]) + rates.acquisitions[j])
        paths[:, k] = x_paths
    tail = (1.0 - level) / 2.0
    lower, upper = np.quantile(paths, [tail, 1.0 - tail], axis=0)
    return Projection(point=point, lower=np.minimum(lower, point), upper=np.maximum(upper, point))


def segment_split(counts: np.ndarray, monthly_churn: np.ndarray, entry: np.ndarray, acquisitions: float, *,
                  months: int) -> np.ndarray:
    """Each segment's projected share of the base, shape (months, segments).

    Segment s keeps a share ``1 - monthly_churn[s]`` of its customers each month and receives ``entry[s]`` of
    the ``acquisitions``; the shares then split the overall projection, so the segments add up to it.
    """
    n = np.asarray(counts, dtype="float64").copy()
    h, w = np.asarray(monthly_churn, dtype="float64"), np.asarray(entry, dtype="float64")
    if not (n.shape == h.shape == w.shape):
        raise ValueError("counts, monthly_churn and entry must have one value per segment")
    w = w / w.sum() if w.sum() > 0 else np.full(w.shape, 1.0 / max(w.size, 1))
    shares = np.empty((months, n.size))
    for k in range(months):
        n = n * (1.0 - h) + acquisitions * w
        total = n.sum()
        shares[k] = n / total if total > 0 else w
    return shares
