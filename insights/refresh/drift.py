"""Feature drift for the train-or-reuse decision: the population stability index (PSI) per key feature.

At training time the refresh stores, per key feature, decile bin edges of the training population and the
share of rows in each bin (plus a bin for missing values). On a rescoring day the same bins are filled
with today's population and ``PSI = sum((p_now - p_ref) * ln(p_now / p_ref))``. The usual reading
(Siddiqi, *Credit Risk Scorecards*, 2006): below 0.1 stable, 0.1-0.2 a moderate shift, above 0.2 a
significant shift; the refresh retrains when any key feature exceeds ``settings.drift_threshold`` (0.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["reference_bins", "psi", "drift_report"]

_EPS = 1e-4  # floor for empty bins, so ln() stays finite


def reference_bins(values: np.ndarray, *, n_bins: int = 10) -> dict[str, Any]:
    """Quantile bin edges of ``values`` and the share of rows per bin; the last share is the missing-value bin."""
    x = np.asarray(values, dtype="float64")
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        edges: list[float] = []
    else:
        qs = np.quantile(finite, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
        edges = [float(e) for e in np.unique(qs)]
    return {"edges": edges, "proportions": _shares(x, edges).tolist(), "n": int(x.size)}


def _shares(x: np.ndarray, edges: list[float]) -> np.ndarray:
    finite = np.isfinite(x)
    counts = np.bincount(np.searchsorted(np.asarray(edges, dtype="float64"), x[finite], side="right"),
                         minlength=len(edges) + 1).astype("float64")
    counts = np.append(counts, float((~finite).sum()))
    total = counts.sum()
    return counts / total if total else counts


def psi(reference: Mapping[str, Any], values: np.ndarray) -> float:
    """PSI of ``values`` against a :func:`reference_bins` reference (0 = the same distribution)."""
    expected = np.maximum(np.asarray(reference["proportions"], dtype="float64"), _EPS)
    actual = np.maximum(_shares(np.asarray(values, dtype="float64"), list(reference["edges"])), _EPS)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def drift_report(reference: Mapping[str, Mapping[str, Any]], current: Mapping[str, np.ndarray]) -> dict[str, float]:
    """PSI per feature present in both ``reference`` and ``current``, rounded to 4 decimals."""
    return {name: round(psi(reference[name], current[name]), 4) for name in sorted(reference) if name in current}
