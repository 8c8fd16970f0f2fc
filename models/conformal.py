"""Split-conformal prediction intervals for the demand forecaster, by horizon bucket and volume class (Mondrian).

The validation window's scaled residuals give, per cell, the quantiles that widen a point forecast into an
interval with the requested coverage; the forecaster applies them with :func:`conformal_cells`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["HORIZON_BUCKETS", "conformal_table", "conformal_cells"]

# Upper ends (exclusive) of the horizon buckets that get their own conformal quantiles.
HORIZON_BUCKETS = (7, 14, 28, 56, 91)


def conformal_cells(k: np.ndarray, scale: np.ndarray, edges: list[float]) -> tuple[np.ndarray, np.ndarray]:
    b = np.minimum(np.searchsorted(np.asarray(HORIZON_BUCKETS), k, side="right"), len(HORIZON_BUCKETS) - 1)
    return b, np.searchsorted(np.asarray(edges, dtype=float), scale, side="right")


def conformal_table(y: np.ndarray, pred: np.ndarray, scale: np.ndarray, k: np.ndarray,
                     level: float, n_scale_bins: int = 4) -> dict[str, Any]:
    """Per horizon bucket x volume class (Mondrian conformal): quantiles of scaled residuals y/scale - pred.

    Scaled residuals of slow sellers are relatively wider (Poisson noise); one pooled quantile would
    over-cover the big sellers and under-cover the small ones, so each scale quartile gets its own.
    """
    resid = y - pred
    edges = [float(e) for e in np.unique(np.quantile(scale, np.linspace(0, 1, n_scale_bins + 1)[1:-1]))]
    b, v = conformal_cells(k, scale, edges)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    shape = (len(HORIZON_BUCKETS), len(edges) + 1)
    lower, upper, counts = np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=int)
    for j in range(shape[0]):
        for c in range(shape[1]):
            r = resid[(b == j) & (v == c)]
            counts[j, c] = r.size
            if r.size < 50:  # too few: the horizon bucket's residuals, or all of them
                r = resid[b == j] if np.sum(b == j) >= 50 else resid
            lower[j, c], upper[j, c] = np.quantile(r, lo_q), np.quantile(r, hi_q)
    return {"buckets": list(HORIZON_BUCKETS), "scale_edges": edges, "lower": lower.tolist(),
            "upper": upper.tolist(), "n": counts.tolist()}
