"""The ``churn_outlook`` document: risk levels, expected customers lost and revenue at risk, overall and by segment.

Built in the refresh from the scored ``customers`` columns (the very probabilities and CLVs the churn and at-risk
answers serve), so the API only reads it. Maths: models/outlook.py; meaning of each field: docs/api.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.churn import RISK_LEVELS
from models.outlook import Z_95, ExpectedLoss, expected_loss, rescale_horizon

__all__ = ["churn_outlook_doc", "OUTLOOK_HORIZONS"]

OUTLOOK_HORIZONS = (30, 90)  # days


def churn_outlook_doc(customers: Mapping[str, np.ndarray], *, model_horizon_days: int,
                      horizons: Sequence[int] = OUTLOOK_HORIZONS) -> dict[str, Any]:
    """The document: ``overall`` and ``by_segment`` (largest 90-day revenue at risk first)."""
    p = np.asarray(customers["churn_probability"], dtype="float64")
    clv = np.asarray(customers["predicted_clv"], dtype="float64")
    risk = np.asarray(customers["risk_level"]).astype(str)
    probs = {h: p if h == model_horizon_days else rescale_horizon(p, from_days=model_horizon_days, to_days=h)
             for h in horizons}
    segment = np.asarray(customers["segment"]).astype(str)
    names, codes = np.unique(segment, return_inverse=True) if segment.size else (np.zeros(0, str), np.zeros(0, int))
    by_segment = []
    for j, name in enumerate(names):
        rows = np.flatnonzero(codes == j)
        by_segment.append({"segment": str(name), **_block(rows, probs, clv, risk)})
    by_segment.sort(key=lambda s: (-s["horizons"][-1]["revenue_at_risk"], s["segment"]))
    return {
        "model_horizon_days": int(model_horizon_days),
        "horizons_days": [int(h) for h in horizons],
        "interval": {"level": 0.95, "z": round(Z_95, 4),
                     "method": "normal approximation to the sum of independent Bernoulli departures "
                               "(Poisson-binomial): mean sum(p), variance sum(p(1-p)); value: sum(v p), "
                               "variance sum(v^2 p(1-p))"},
        "overall": _block(np.arange(p.size), probs, clv, risk),
        "by_segment": by_segment,
    }


def _block(rows: np.ndarray, probs: Mapping[int, np.ndarray], clv: np.ndarray, risk: np.ndarray) -> dict[str, Any]:
    n = int(rows.size)
    levels = risk[rows]
    counts = {lvl: int(np.count_nonzero(levels == lvl)) for lvl in RISK_LEVELS}
    p_model = probs[max(probs)][rows]
    return {
        "customers": n,
        "mean_churn_probability": round(float(p_model.mean()), 6) if n else None,
        "risk_levels": [{"risk_level": lvl, "customers": c, "percentage": round(100.0 * c / n, 2) if n else 0.0}
                        for lvl, c in counts.items()],
        "horizons": [_loss(expected_loss(pr[rows], clv[rows]), h) for h, pr in sorted(probs.items())],
    }


def _loss(loss: ExpectedLoss, days: int) -> dict[str, Any]:
    return {
        "days": int(days),
        "expected_customers_lost": round(loss.expected_lost, 2),
        "customers_lost_interval": {"lower": round(loss.lost_lower, 2), "upper": round(loss.lost_upper, 2)},
        "revenue_at_risk": round(loss.value_at_risk, 2),
        "revenue_at_risk_interval": {"lower": round(loss.value_lower, 2), "upper": round(loss.value_upper, 2)},
    }
