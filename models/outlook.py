"""Aggregate churn outlook: expected customers lost and value at risk from calibrated churn probabilities.

Pure numpy. The number of customers lost is a sum of independent Bernoulli draws with the calibrated
probabilities (a Poisson-binomial count): its mean is ``sum(p)`` and its variance ``sum(p (1 - p))``; the value
lost is ``sum(v B)`` with mean ``sum(v p)`` and variance ``sum(v^2 p (1 - p))``. Intervals use the normal
approximation (central limit theorem over many customers), clipped to what is possible ([0, n], [0, sum(v)]).
A shorter horizon than the model's uses a constant hazard: ``p_h = 1 - (1 - p_H)^(h / H)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ExpectedLoss", "expected_loss", "loss_from_sums", "rescale_horizon", "Z_95"]

Z_95 = 1.959963984540054  # two-sided 95% normal quantile


@dataclass(frozen=True)
class ExpectedLoss:
    """Expected number of customers lost and value lost over one horizon, with normal-approximation intervals."""

    customers: int
    expected_lost: float
    lost_lower: float
    lost_upper: float
    value_at_risk: float
    value_lower: float
    value_upper: float


def rescale_horizon(p: np.ndarray, *, from_days: float, to_days: float) -> np.ndarray:
    """P(lost within ``to_days``) from P(lost within ``from_days``) under a constant hazard.

    Parameters
    ----------
    p : array of probabilities in [0, 1] over ``from_days``.
    from_days, to_days : positive horizons in days.
    """
    if from_days <= 0 or to_days <= 0:
        raise ValueError(f"horizons must be positive, got from_days={from_days}, to_days={to_days}")
    q = np.clip(np.asarray(p, dtype="float64"), 0.0, 1.0)
    return 1.0 - (1.0 - q) ** (to_days / from_days)


def expected_loss(p: np.ndarray, value: np.ndarray, *, z: float = Z_95) -> ExpectedLoss:
    """Expected customers and value lost when customer i leaves with probability ``p[i]`` taking ``value[i]``.

    Parameters
    ----------
    p : probabilities in [0, 1] (NaN counts as 0).
    value : what each customer's departure loses (NaN or negative counts as 0), same length as ``p``.
    z : the normal quantile of the interval (1.96: 95%).
    """
    p = np.nan_to_num(np.clip(np.asarray(p, dtype="float64"), 0.0, 1.0))
    v = np.asarray(value, dtype="float64")
    if v.shape != p.shape:
        raise ValueError(f"p and value differ in shape: {p.shape} vs {v.shape}")
    v = np.where(np.isfinite(v) & (v > 0), v, 0.0)
    var_p = p * (1.0 - p)
    return loss_from_sums(int(p.size), float(p.sum()), float(var_p.sum()), float((v * p).sum()),
                          float((v * v * var_p).sum()), float(v.sum()), z=z)


def loss_from_sums(n: int, sum_p: float, sum_var: float, sum_vp: float, sum_v2var: float, total_value: float, *,
                   z: float = Z_95) -> ExpectedLoss:
    """:func:`expected_loss` from its sufficient sums (gathered per group by the caller, e.g. with bincount):
    n, sum(p), sum(p(1-p)), sum(v p), sum(v^2 p(1-p)) and sum(v)."""
    sd_n, sd_v = float(np.sqrt(max(sum_var, 0.0))), float(np.sqrt(max(sum_v2var, 0.0)))
    return ExpectedLoss(customers=n, expected_lost=sum_p, lost_lower=max(0.0, sum_p - z * sd_n),
                        lost_upper=min(float(n), sum_p + z * sd_n), value_at_risk=sum_vp,
                        value_lower=max(0.0, sum_vp - z * sd_v), value_upper=min(total_value, sum_vp + z * sd_v))
