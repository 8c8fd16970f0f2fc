"""Fallback forecasts for products the global model cannot serve: TSB (Teunter, Syntetos and Babai 2011).

TSB smooths two things separately: the probability that a day has a sale (updated every day, so it decays
while a product stops selling, unlike Croston) and the size of a sale (updated on sale days only). The forecast
is flat: p x z units a day. Its interval comes from the mixture "no sale with probability 1 - p, else one of
the product's observed sale sizes": the q-quantile is 0 while q <= 1 - p, else the (q - (1 - p)) / p quantile
of the sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TSBForecast", "tsb_forecast"]


@dataclass(frozen=True)
class TSBForecast:
    """A flat daily forecast with its interval; ``probability`` of a sale a day and mean ``size`` of one."""

    predicted: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    probability: float
    size: float


def tsb_forecast(quantity: np.ndarray, *, horizon_days: int, level: float = 0.8, alpha_probability: float = 0.1,
                 alpha_size: float = 0.2) -> TSBForecast:
    """TSB on a daily series (zeros included, oldest first); needs at least one day with a sale.

    Parameters
    ----------
    quantity : daily units, >= 0, NaN-free
    horizon_days : forecast length
    level : nominal interval coverage
    alpha_probability, alpha_size : smoothing constants in (0, 1]
    """
    y = np.asarray(quantity, dtype=float)
    if y.ndim != 1 or y.size == 0 or not np.all(np.isfinite(y)) or np.any(y < 0):
        raise ValueError(f"quantity must be a non-empty 1-D array of finite values >= 0 (shape {y.shape})")
    if not np.any(y > 0):
        raise ValueError("quantity has no day with a sale: nothing to forecast from")
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be >= 1, got {horizon_days}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    for name, a in (("alpha_probability", alpha_probability), ("alpha_size", alpha_size)):
        if not 0 < a <= 1:
            raise ValueError(f"{name} must be in (0, 1], got {a}")
    first = int(np.argmax(y > 0))
    sizes = y[y > 0]
    p, z = 1.0, float(y[first])
    for v in y[first + 1:]:
        p += alpha_probability * (float(v > 0) - p)
        if v > 0:
            z += alpha_size * (v - z)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    lower, upper = _mixture_quantile(lo_q, p, sizes), _mixture_quantile(hi_q, p, sizes)
    point = p * z
    h = horizon_days
    return TSBForecast(np.full(h, point), np.full(h, min(lower, point)), np.full(h, max(upper, point)), p, z)


def _mixture_quantile(q: float, p: float, sizes: np.ndarray) -> float:
    if q <= 1 - p:
        return 0.0
    return float(np.quantile(sizes, (q - (1 - p)) / p))
