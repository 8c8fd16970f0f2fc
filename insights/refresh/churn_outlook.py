"""The ``churn_outlook`` document: risk levels, expected customers lost and revenue at risk, overall and by segment.

Built in the refresh from the scored ``customers`` columns (the very probabilities and CLVs the churn and at-risk
answers serve), so the API only reads it. Maths: models/outlook.py (sums and variances, here gathered per segment
in one pass with ``np.bincount``: a million customers take well under a second); fields: docs/api.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.churn import RISK_LEVELS
from models.outlook import Z_95, ExpectedLoss, loss_from_sums, rescale_horizon

__all__ = ["churn_outlook_doc", "OUTLOOK_HORIZONS"]

OUTLOOK_HORIZONS = (30, 90)  # days


def churn_outlook_doc(customers: Mapping[str, np.ndarray], *, model_horizon_days: int,
                      horizons: Sequence[int] = OUTLOOK_HORIZONS) -> dict[str, Any]:
    """The document: ``overall`` and ``by_segment`` (largest revenue at risk over the longest horizon first)."""
    p = np.nan_to_num(np.clip(np.asarray(customers["churn_probability"], dtype="float64"), 0.0, 1.0))
    clv = np.asarray(customers["predicted_clv"], dtype="float64")
    clv = np.where(np.isfinite(clv) & (clv > 0), clv, 0.0)
    seg_codes, names = pd.factorize(np.asarray(customers["segment"]).astype(object), sort=True)
    risk_codes = pd.Categorical(np.asarray(customers["risk_level"]).astype(object), categories=RISK_LEVELS).codes
    k = len(names)
    # customers without an order in the last model-horizon days have already churned by the model's own definition:
    # counted apart, so "lost within 30 days" can be read for the customers still active (the overview's rule too)
    recency = np.asarray(customers["recency_days"], dtype="float64")
    active = (np.isfinite(recency) & (recency < model_horizon_days)).astype(float)
    sums: dict[str, Any] = {"n": np.bincount(seg_codes, minlength=k).astype(float),
                            "active": np.bincount(seg_codes, weights=active, minlength=k),
                            "p_model": np.bincount(seg_codes, weights=p, minlength=k),
                            "risk": np.bincount(seg_codes * len(RISK_LEVELS) + np.maximum(risk_codes, 0),
                                                weights=(risk_codes >= 0).astype(float),
                                                minlength=k * len(RISK_LEVELS)).reshape(k, len(RISK_LEVELS))}
    for h in horizons:
        ph = p if h == model_horizon_days else rescale_horizon(p, from_days=model_horizon_days, to_days=h)
        var = ph * (1.0 - ph)
        for key, w in (("p", ph), ("var", var), ("v", clv * ph), ("v_var", clv * clv * var), ("total", clv),
                       ("p_active", ph * active), ("var_active", var * active)):
            sums[f"{key}_{h}"] = np.bincount(seg_codes, weights=w, minlength=k)
    blocks = [_block({key: val[j] for key, val in sums.items()}, horizons) for j in range(k)]
    overall = _block({key: val.sum(axis=0) for key, val in sums.items()}, horizons)
    by_segment = [{"segment": str(name), **block} for name, block in zip(names, blocks, strict=True)]
    by_segment.sort(key=lambda s: (-s["horizons"][-1]["revenue_at_risk"], s["segment"]))
    return {
        "model_horizon_days": int(model_horizon_days),
        "horizons_days": [int(h) for h in horizons],
        "interval": {"level": 0.95, "z": round(Z_95, 4),
                     "method": "normal approximation to the sum of independent Bernoulli departures "
                               "(Poisson-binomial): mean sum(p), variance sum(p(1-p)); value: sum(v p), "
                               "variance sum(v^2 p(1-p))"},
        "overall": overall,
        "by_segment": by_segment,
    }


def _block(s: Mapping[str, Any], horizons: Sequence[int]) -> dict[str, Any]:
    n = int(round(float(s["n"])))
    active = int(round(float(s["active"])))
    counts = np.asarray(s["risk"]).astype(int)
    return {
        "customers": n,
        "active_customers": active,
        "lapsed_customers": n - active,
        "mean_churn_probability": round(float(s["p_model"]) / n, 6) if n else None,
        "risk_levels": [{"risk_level": lvl, "customers": int(c), "percentage": round(100.0 * c / n, 2) if n else 0.0}
                        for lvl, c in zip(RISK_LEVELS, counts, strict=True)],
        "horizons": [_loss(loss_from_sums(n, float(s[f"p_{h}"]), float(s[f"var_{h}"]), float(s[f"v_{h}"]),
                                          float(s[f"v_var_{h}"]), float(s[f"total_{h}"])), h,
                           loss_from_sums(active, float(s[f"p_active_{h}"]), float(s[f"var_active_{h}"]), 0.0, 0.0,
                                          0.0)) for h in horizons],
    }


def _loss(loss: ExpectedLoss, days: int, active: ExpectedLoss) -> dict[str, Any]:
    return {
        "days": int(days),
        "expected_customers_lost": round(loss.expected_lost, 2),
        "customers_lost_interval": {"lower": round(loss.lost_lower, 2), "upper": round(loss.lost_upper, 2)},
        "expected_active_customers_lost": round(active.expected_lost, 2),
        "active_customers_lost_interval": {"lower": round(active.lost_lower, 2),
                                           "upper": round(active.lost_upper, 2)},
        "revenue_at_risk": round(loss.value_at_risk, 2),
        "revenue_at_risk_interval": {"lower": round(loss.value_lower, 2), "upper": round(loss.value_upper, 2)},
    }
