"""Per-customer CLV intervals: split-conformal ratios actual / predicted by decile of the prediction (Mondrian).

Fitted on the validation slice by :class:`models.clv.CLVRegressor`; pure numpy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["conformal_ratios", "apply_conformal"]


def conformal_ratios(y: np.ndarray, pred: np.ndarray, level: float, n_bins: int = 10, *,
                     cross_fit: bool = True) -> dict:
    """Split-conformal table: per decile of ``pred``, quantiles of actual / predicted with coverage ``level``.

    The ratio scales each interval with the customer's own prediction; predictions are floored at 1% of the
    median positive prediction so a zero prediction still gets an interval (then in absolute terms). The
    upper quantile is ``level`` + the share strictly below the lower end, so the validation coverage is
    ``level`` even with ties at zero. ``cross_fitted_coverage`` (with ``cross_fit`` and 200+ rows) is the
    coverage of each random half under the table fitted on the other half.
    """
    if not 0 < level < 1:
        raise ValueError(f"interval level must be in (0, 1), got {level}")
    positive = pred[pred > 0]
    floor = 0.01 * float(np.median(positive)) if positive.size else 1.0
    edges = np.unique(np.quantile(pred, np.linspace(0, 1, n_bins + 1)[1:-1])) if pred.size else np.zeros(0)
    cell = np.searchsorted(edges, pred, side="right")
    ratio = y / np.maximum(pred, floor)
    lower, upper, counts = [], [], []
    for c in range(edges.size + 1):
        r = ratio[cell == c]
        if r.size < 20:  # too few to estimate quantiles: the pooled ratios
            r = ratio
        lo = float(np.quantile(r, (1 - level) / 2))
        hi = float(np.quantile(r, min(1.0, level + float(np.mean(r < lo)))))
        lower.append(lo)
        upper.append(max(hi, lo))
        counts.append(int((cell == c).sum()))
    table = {"level": level, "floor": floor, "edges": [float(e) for e in edges], "lower": lower, "upper": upper,
             "n": counts}
    if cross_fit and y.size >= 200:
        # an honest estimate: each half's coverage under the table of the other half
        fold = np.random.default_rng(0).permutation(y.size) % 2
        inside = np.zeros(y.size, dtype=bool)
        for f in (0, 1):
            other = conformal_ratios(y[fold != f], pred[fold != f], level, n_bins, cross_fit=False)
            lo, hi = apply_conformal(other, pred[fold == f])
            inside[fold == f] = (y[fold == f] >= lo) & (y[fold == f] <= hi)
        table["cross_fitted_coverage"] = float(inside.mean())
    return table


def apply_conformal(table: dict, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper interval ends for predictions ``pred`` from a :func:`conformal_ratios` table."""
    pred = np.asarray(pred, dtype="float64")
    cell = np.searchsorted(np.asarray(table["edges"], dtype="float64"), pred, side="right")
    base = np.maximum(pred, table["floor"])
    lower = np.clip(base * np.asarray(table["lower"])[cell], 0.0, None)
    # the interval always holds the point prediction (spend's mean can sit above the bulk of a zero-heavy cell)
    upper = np.maximum(base * np.asarray(table["upper"])[cell], np.maximum(lower, pred))
    lower = np.minimum(lower, np.clip(pred, 0.0, None))
    return lower, upper
