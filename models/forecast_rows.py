"""Training and validation rows of the demand forecaster: (product, origin, horizon) triples, sampled and weighted.

Also the fit's summaries (validation metrics, per-feature training distribution). numpy only; private kernels
assume valid input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.forecast_features import SCALE_FLOOR, Panel

__all__ = ["training_rows", "validation_rows", "fit_metrics", "feature_summary"]

Rows = tuple[np.ndarray, np.ndarray, np.ndarray]


def training_rows(est: Any, panel: Panel, eligible: np.ndarray, *, target_end: int,
                  rng: np.random.Generator) -> tuple[Rows, np.ndarray]:
    """(product, origin, horizon) triples with every target before ``target_end``, sampled down, and weights.

    With ``est.sampling == "volume"`` rows are kept with probability proportional to the product's mean daily
    units (Poisson sampling, capped at 1) and weighted by the inverse: the loss is the same in expectation as
    uniform sampling, but the row budget goes to the products that carry the volume instead of thousands
    of slow sellers whose rows barely count once weighted by scale.
    """
    H, parts = est.horizon_days, []
    for i in np.flatnonzero(eligible):
        first = panel.first_index[i] + 28  # a month of history before the first origin
        origins = np.arange(target_end - 1, first - 1, -est.origin_step)
        for o in origins:
            k = np.arange(min(H, target_end - o))
            parts.append((np.full(k.size, i), np.full(k.size, o), k))
    if est.sampling == "uniform":
        rows = _concat_sample(parts, est.max_train_rows, rng)
        return rows, np.ones(rows[0].size)
    rows = _concat_sample(parts, np.iinfo(np.int64).max, rng)
    with np.errstate(invalid="ignore"):
        volume = np.maximum(np.nan_to_num(np.nanmean(panel.quantity, axis=1)), SCALE_FLOOR)
    return _poisson_sample(rows, volume[rows[0]], est.max_train_rows, rng)


def validation_rows(est: Any, panel: Panel, eligible: np.ndarray, start: int, end: int,
                    rng: np.random.Generator) -> Rows:
    """Targets in [start, end) from weekly origins at and before ``start``: every horizon is represented."""
    H, parts = est.horizon_days, []
    for i in np.flatnonzero(eligible):
        first = panel.first_index[i] + 28
        for o in range(start, max(first, start - H) - 1, -7):
            k = np.arange(max(0, start - o), min(H, end - o))
            if k.size:
                parts.append((np.full(k.size, i), np.full(k.size, o), k))
    return _concat_sample(parts, est.max_train_rows // 2, rng)


def fit_metrics(y: np.ndarray, p: np.ndarray, bands: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """WAPE, bias, RMSE and, per band suffix ("" for the primary level, "_95" ...), coverage and mean width."""
    denom = max(float(np.abs(y).sum()), 1e-9)
    out: dict[str, float] = {"wape": float(np.abs(y - p).sum() / denom), "bias": float((p - y).sum() / denom),
                             "rmse": float(np.sqrt(np.mean((y - p) ** 2)))}
    for suffix, (lo, hi) in bands.items():
        out[f"coverage{suffix}"] = float(np.mean((y >= lo) & (y <= hi)))
        out[f"mean_width{suffix}"] = float(np.mean(hi - lo))
    out["n"] = int(y.size)
    return out


def feature_summary(X: np.ndarray, names: list[str]) -> dict[str, dict[str, float]]:
    """Per feature: mean, std and quantiles of the training rows (the refresh compares them for drift)."""
    out = {}
    for j, n in enumerate(names):
        col = X[:, j][np.isfinite(X[:, j])]
        if col.size == 0:
            out[n] = {"missing": 1.0}
            continue
        q = np.quantile(col, [0.05, 0.25, 0.5, 0.75, 0.95])
        out[n] = {"mean": float(col.mean()), "std": float(col.std()), "p05": float(q[0]), "p25": float(q[1]),
                  "p50": float(q[2]), "p75": float(q[3]), "p95": float(q[4]),
                  "missing": float(1 - col.size / X.shape[0])}
    return out


# ---------------------------------------------------------------------- private kernels (valid input assumed)
def _concat_sample(parts, cap: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not parts:
        e = np.empty(0, dtype=np.int64)
        return e, e, e
    i = np.concatenate([p[0] for p in parts]).astype(np.int64)
    o = np.concatenate([p[1] for p in parts]).astype(np.int64)
    k = np.concatenate([p[2] for p in parts]).astype(np.int64)
    if i.size > cap:
        keep = np.sort(rng.choice(i.size, size=cap, replace=False))
        i, o, k = i[keep], o[keep], k[keep]
    return i, o, k


def _poisson_sample(rows, w: np.ndarray, cap: int, rng: np.random.Generator):
    """Keep row r with probability pi_r = min(1, c w_r), sum pi = cap; weights 1/pi normalized to mean 1."""
    n = w.size
    if n <= cap:
        return rows, np.ones(n)
    lo, hi = cap / w.sum(), cap / w.min()
    for _ in range(60):  # bisection on c: sum(min(1, c w)) is increasing in c
        c = np.sqrt(lo * hi)
        lo, hi = (c, hi) if np.minimum(1.0, c * w).sum() < cap else (lo, c)
    pi = np.minimum(1.0, hi * w)
    keep = rng.random(n) < pi
    inv = 1.0 / pi[keep]
    return tuple(r[keep] for r in rows), inv / inv.mean()
