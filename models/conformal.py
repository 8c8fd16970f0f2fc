"""Split-conformal prediction intervals and quantiles for the demand forecaster, by horizon bucket and volume class.

The validation window's scaled residuals y/scale - prediction give, per cell (horizon bucket x volume quartile:
Mondrian conformal), the quantiles that widen a point forecast into an interval with the requested coverage
(:func:`conformal_table`) or into a set of predictive quantiles (:func:`quantile_table`, e.g. the nine of the M5
uncertainty track); the forecaster applies them with :func:`conformal_cells` / :func:`apply_quantiles`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["HORIZON_BUCKETS", "M5_QUANTILES", "conformal_table", "conformal_cells", "quantile_table",
           "apply_quantiles", "pinball_loss"]

# Upper ends (exclusive) of the horizon buckets that get their own conformal quantiles.
HORIZON_BUCKETS = (7, 14, 28, 56, 91)
# The nine quantiles of the M5 uncertainty competition (median and the 50%, 67%, 95% and 99% intervals).
M5_QUANTILES = (0.005, 0.025, 0.165, 0.25, 0.5, 0.75, 0.835, 0.975, 0.995)
_MIN_CELL = 50  # fewest residuals a cell needs for its own 10th/90th percentile


def conformal_cells(k: np.ndarray, scale: np.ndarray, edges: list[float]) -> tuple[np.ndarray, np.ndarray]:
    b = np.minimum(np.searchsorted(np.asarray(HORIZON_BUCKETS), k, side="right"), len(HORIZON_BUCKETS) - 1)
    return b, np.searchsorted(np.asarray(edges, dtype=float), scale, side="right")


def quantile_table(y: np.ndarray, pred: np.ndarray, scale: np.ndarray, k: np.ndarray, probs: Sequence[float],
                   n_scale_bins: int = 4) -> dict[str, Any]:
    """Per horizon bucket x volume class: the ``probs`` quantiles of scaled residuals y - pred (y, pred scaled).

    Scaled residuals of slow sellers are relatively wider (Poisson noise); one pooled quantile would over-cover
    the big sellers and under-cover the small ones, so each scale quartile gets its own. A tail quantile p needs
    more residuals than a central one: a cell with fewer than max(50, 5 / min(p, 1 - p)) borrows its horizon
    bucket's residuals (or all of them).

    Returns
    -------
    dict with ``probs``, ``buckets``, ``scale_edges``, ``q`` (len(probs) x buckets x classes, sorted along probs
    in each cell) and ``n`` (residuals per cell).
    """
    probs = [float(p) for p in probs]
    if not probs or any(not 0 < p < 1 for p in probs) or probs != sorted(probs):
        raise ValueError(f"probs must be increasing and inside (0, 1), got {probs}")
    resid = np.asarray(y, dtype=float) - np.asarray(pred, dtype=float)
    if resid.size == 0:
        raise ValueError("no residuals to calibrate on")
    edges = [float(e) for e in np.unique(np.quantile(scale, np.linspace(0, 1, n_scale_bins + 1)[1:-1]))]
    b, v = conformal_cells(k, scale, edges)
    shape = (len(HORIZON_BUCKETS), len(edges) + 1)
    q, counts = np.zeros((len(probs), *shape)), np.zeros(shape, dtype=int)
    need = [max(_MIN_CELL, int(np.ceil(5 / min(p, 1 - p)))) for p in probs]
    for j in range(shape[0]):
        in_bucket = resid[b == j]
        for c in range(shape[1]):
            cell = resid[(b == j) & (v == c)]
            counts[j, c] = cell.size
            for m, p in enumerate(probs):
                r = cell if cell.size >= need[m] else (in_bucket if in_bucket.size >= need[m] else resid)
                q[m, j, c] = np.quantile(r, p)
    q = np.maximum.accumulate(q, axis=0)  # pooled tails may cross a cell's own centre: keep them ordered
    return {"probs": probs, "buckets": list(HORIZON_BUCKETS), "scale_edges": edges, "q": q.tolist(),
            "n": counts.tolist()}


def conformal_table(y: np.ndarray, pred: np.ndarray, scale: np.ndarray, k: np.ndarray,
                    level: float, n_scale_bins: int = 4) -> dict[str, Any]:
    """The central ``level`` interval per cell: {buckets, scale_edges, lower, upper, n} (scaled residuals)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    t = quantile_table(y, pred, scale, k, ((1 - level) / 2, (1 + level) / 2), n_scale_bins)
    return {"buckets": t["buckets"], "scale_edges": t["scale_edges"], "lower": t["q"][0], "upper": t["q"][1],
            "n": t["n"]}


def apply_quantiles(table: dict[str, Any], raw: np.ndarray, scale: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Predictive quantiles (len(probs) x rows) in units: (raw + q) x scale, never negative, non-decreasing."""
    b, v = conformal_cells(k, scale, table["scale_edges"])
    q = np.asarray(table["q"])[:, b, v]
    return np.maximum((raw[None, :] + q) * scale[None, :], 0.0)


def pinball_loss(y: np.ndarray, quantiles: np.ndarray, probs: Sequence[float]) -> np.ndarray:
    """Pinball (quantile) loss of each prob, averaged over the observations.

    Parameters
    ----------
    y : (n,) observed values
    quantiles : (len(probs), n) predicted quantiles
    probs : the quantile levels

    Returns
    -------
    (len(probs),) mean of max(p (y - q), (p - 1) (y - q)) over the n observations.
    """
    y = np.asarray(y, dtype=float)
    qs = np.asarray(quantiles, dtype=float)
    p = np.asarray(probs, dtype=float)[:, None]
    if qs.shape != (p.shape[0], y.size):
        raise ValueError(f"quantiles must be (len(probs), n) = ({p.shape[0]}, {y.size}), got {qs.shape}")
    d = y[None, :] - qs
    return np.mean(np.maximum(p * d, (p - 1) * d), axis=1)
