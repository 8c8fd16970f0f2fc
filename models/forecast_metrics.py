"""Forecast accuracy measures used by the benches and the tests: WAPE, MASE and M5's scaled pinball loss (numpy).

Conventions: ``y`` and ``pred`` are (series, days) arrays of the evaluation window; ``history`` is a list of each
series' in-sample values (oldest first, from its first sale).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.conformal import pinball_loss

__all__ = ["wape", "mase", "naive_scale", "scaled_pinball"]


def wape(y: np.ndarray, pred: np.ndarray) -> float:
    """sum |y - pred| / sum |y| over every series and day (aggregate, so big sellers weigh more)."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    denom = float(np.abs(y).sum())
    if denom == 0:
        raise ValueError("WAPE is undefined when every actual is 0")
    return float(np.abs(y - pred).sum() / denom)


def naive_scale(history: Sequence[np.ndarray], lag: int) -> np.ndarray:
    """Per series: the in-sample MAE of the lag-``lag`` naive forecast (NaN when the series is too short)."""
    out = np.full(len(history), np.nan)
    for j, s in enumerate(history):
        s = np.asarray(s, dtype=float)
        if s.size > lag:
            out[j] = np.mean(np.abs(s[lag:] - s[:-lag]))
    return out


def mase(y: np.ndarray, pred: np.ndarray, history: Sequence[np.ndarray], season: int = 7) -> float:
    """Mean over series of mean |y - pred| / in-sample seasonal-naive MAE; series with a zero or NaN scale skipped."""
    scale = naive_scale(history, season)
    ok = np.isfinite(scale) & (scale > 0)
    if not ok.any():
        raise ValueError("no series has a non-zero seasonal-naive scale")
    err = np.abs(np.asarray(y, dtype=float) - np.asarray(pred, dtype=float)).mean(axis=1)
    return float(np.mean(err[ok] / scale[ok]))


def scaled_pinball(y: np.ndarray, quantiles: np.ndarray, probs: Sequence[float],
                   history: Sequence[np.ndarray]) -> float:
    """M5's SPL with equal series weights: per series the pinball loss averaged over ``probs`` and days, divided
    by its in-sample mean |y_t - y_t-1|; the mean over series with a non-zero scale. ``quantiles``: (series,
    len(probs), days)."""
    y = np.asarray(y, dtype=float)
    scale = naive_scale(history, 1)
    ok = np.isfinite(scale) & (scale > 0)
    if not ok.any():
        raise ValueError("no series has a non-zero naive scale")
    loss = np.array([pinball_loss(y[j], quantiles[j], probs).mean() for j in range(y.shape[0])])
    return float(np.mean(loss[ok] / scale[ok]))
