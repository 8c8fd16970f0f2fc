"""Metrics a CLV or churn user asks for, beside RMSE and ROC-AUC: ranking, calibration by decile, intervals.

Pure numpy. The same functions score our models and the anchors (BG/NBD + Gamma-Gamma) in the bench and in the
refresh's quality card, so every number of bench/RESULTS.md and of ``GET /demand-insights/quality`` means the same.

- :func:`normalized_gini`: the Gini of the actual values ordered by the prediction over the Gini of the actual
  values ordered by themselves (Wang, Liu and Miao 2019, "A deep probabilistic model for customer lifetime value
  prediction"): 1 = a perfect ranking of who is worth most, 0 = random. Tied predictions count at their average
  (the expectation over random orders of the ties), so a model that predicts one value for everyone scores 0.
- :func:`decile_table`: customers cut into ten equal groups by predicted value; mean predicted vs mean actual
  per group, and their mean absolute percentage error (decile MAPE, same paper).
- :func:`reliability_table`: the churn analogue: ten groups by predicted probability, mean predicted vs observed.
- :func:`interval_coverage`: share of actual values inside [lower, upper] and the mean width.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["normalized_gini", "spearman", "decile_table", "reliability_table", "clv_metrics", "interval_coverage"]


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype="float64")
    p = np.asarray(y_pred, dtype="float64")
    if y.shape != p.shape or y.ndim != 1 or y.size == 0:
        raise ValueError(f"y_true and y_pred must be non-empty 1-D arrays of equal length, got {y.shape}, {p.shape}")
    if not (np.isfinite(y).all() and np.isfinite(p).all()):
        raise ValueError("y_true and y_pred must be finite")
    return y, p


def _gini(y: np.ndarray, key: np.ndarray) -> float:
    """Area between the Lorenz curve of ``y`` sorted by ``key`` descending and the diagonal; ties averaged."""
    order = np.argsort(-key, kind="stable")
    k, v = key[order], y[order]
    # replace values within a tie group of the key by the group's mean
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    sums = np.add.reduceat(v, starts)
    counts = np.diff(np.r_[starts, v.size])
    v = np.repeat(sums / counts, counts)
    total = v.sum()
    if total == 0:
        return 0.0
    n = v.size
    cum = np.cumsum(v) / total
    return float(cum.sum() / n - (n + 1) / (2 * n))


def normalized_gini(y_true, y_pred) -> float:
    """Gini of ``y_true`` ordered by ``y_pred`` over its Gini ordered by itself (1 perfect, 0 random)."""
    y, p = _pair(y_true, y_pred)
    best = _gini(y, y)
    return float(_gini(y, p) / best) if best > 0 else float("nan")


def spearman(y_true, y_pred) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when either side is constant."""
    y, p = _pair(y_true, y_pred)
    ry, rp = _ranks(y), _ranks(p)
    if ry.std() == 0 or rp.std() == 0:
        return float("nan")
    return float(np.corrcoef(ry, rp)[0, 1])


def _ranks(a: np.ndarray) -> np.ndarray:
    order = np.argsort(a, kind="stable")
    s = a[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    counts = np.diff(np.r_[starts, s.size])
    avg = starts + (counts - 1) / 2.0
    out = np.empty(a.size)
    out[order] = np.repeat(avg, counts)
    return out


def _groups(p: np.ndarray, n_groups: int) -> np.ndarray:
    """Equal-count groups 0..n_groups-1 by ``p`` ascending (stable by index within ties)."""
    order = np.argsort(p, kind="stable")
    g = np.empty(p.size, dtype="int64")
    g[order] = (np.arange(p.size) * n_groups) // p.size
    return g


def decile_table(y_true, y_pred, *, n_groups: int = 10) -> dict[str, Any]:
    """Mean predicted vs mean actual in ``n_groups`` equal groups by predicted value (lowest first) and their MAPE.

    Returns ``{"groups": [{"group", "n", "mean_predicted", "mean_actual"}], "mape"}``; the MAPE averages
    |predicted - actual| / actual over groups whose actual mean is positive (NaN when none is).
    """
    y, p = _pair(y_true, y_pred)
    g = _groups(p, n_groups)
    rows, errors = [], []
    for i in range(n_groups):
        m = g == i
        if not m.any():
            continue
        mp, ma = float(p[m].mean()), float(y[m].mean())
        rows.append({"group": i + 1, "n": int(m.sum()), "mean_predicted": mp, "mean_actual": ma})
        if ma > 0:
            errors.append(abs(mp - ma) / ma)
    return {"groups": rows, "mape": float(np.mean(errors)) if errors else float("nan")}


def reliability_table(y_true, y_prob, *, n_groups: int = 10) -> list[dict[str, Any]]:
    """Churn reliability by decile of predicted probability: n, mean predicted, observed rate (lowest first)."""
    y, p = _pair(y_true, y_prob)
    g = _groups(p, n_groups)
    return [{"group": i + 1, "n": int((g == i).sum()), "mean_predicted": float(p[g == i].mean()),
             "observed_rate": float(y[g == i].mean())} for i in range(n_groups) if (g == i).any()]


def clv_metrics(y_true, y_pred, *, with_deciles: bool = True) -> dict[str, Any]:
    """MAE, RMSE, totals, normalized Gini, Spearman and decile MAPE (plus the decile table) of per-customer values."""
    y, p = _pair(y_true, y_pred)
    table = decile_table(y, p)
    out: dict[str, Any] = {
        "n": int(y.size), "mae": float(np.mean(np.abs(p - y))), "rmse": float(np.sqrt(np.mean((p - y) ** 2))),
        "total_predicted": float(p.sum()), "total_actual": float(y.sum()),
        "normalized_gini": normalized_gini(y, p), "spearman": spearman(y, p), "decile_mape": table["mape"],
    }
    if with_deciles:
        out["deciles"] = table["groups"]
    return out


def interval_coverage(y_true, lower, upper) -> dict[str, float]:
    """Share of ``y_true`` within [lower, upper], the shares below and above, and the mean width."""
    y = np.asarray(y_true, dtype="float64")
    lo = np.asarray(lower, dtype="float64")
    hi = np.asarray(upper, dtype="float64")
    if not y.shape == lo.shape == hi.shape or y.size == 0:
        raise ValueError("y_true, lower and upper must be non-empty arrays of equal shape")
    if (lo > hi).any():
        raise ValueError("lower must not exceed upper")
    return {"coverage": float(np.mean((y >= lo) & (y <= hi))), "below": float(np.mean(y < lo)),
            "above": float(np.mean(y > hi)), "mean_width": float(np.mean(hi - lo)), "n": int(y.size)}
