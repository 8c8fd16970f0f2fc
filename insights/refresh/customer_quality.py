"""The customer model card: holdout metrics of ours and of the classical anchor, measured in the same refresh.

:func:`model_card` runs at training time on the validation slice (features as of ``as_of - h``, outcomes in
``[as_of - h, as_of)``), where our predictions come from models fitted on the training slices only and the
anchor, BG/NBD + Gamma-Gamma, is fitted on the same customers' history before the validation cutoff (the
``bg_*`` / ``gg_*`` columns of the slice, models/features.py). :func:`with_drift` adds, at scoring time, how
far today's population moved from the training one. The result is the ``quality`` document of the snapshot,
served by ``GET /demand-insights/quality`` (insights/api/quality.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from models.churn import classification_metrics
from models.customer_metrics import clv_metrics, reliability_table

__all__ = ["model_card", "with_drift", "BASELINE", "DRIFT_FEATURES"]

BASELINE = "BG/NBD + Gamma-Gamma"
DRIFT_FEATURES = ("recency_days", "frequency", "monetary_total", "avg_order_value")


def _window(plan: dict[str, Any]) -> dict[str, Any]:
    start = date.fromisoformat(plan["validation_cutoff"])
    return {"cutoff": plan["validation_cutoff"], "outcomes_from": start.isoformat(),
            "outcomes_until": (start + timedelta(days=int(plan["label_window_days"]))).isoformat()}


def _rounded(block: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 6) if isinstance(v, float) and np.isfinite(v) else v) for k, v in block.items()}


def clv_card(plan: dict[str, Any], model_name: str, X_val: pd.DataFrame, y_val: np.ndarray,
             ours: np.ndarray, interval: dict[str, Any]) -> dict[str, Any]:
    anchor = np.nan_to_num(X_val["bg_gg_expected_spend"].to_numpy(dtype="float64"), nan=0.0)
    mine, base = clv_metrics(y_val, ours), clv_metrics(y_val, anchor)
    ratio = {k: (mine[k] / base[k] if base[k] else None) for k in ("rmse", "mae")}
    return {
        "target": f"spend in the {plan['label_window_days']} days after the validation cutoff",
        "model": model_name, "baseline": BASELINE, "validation": {**_window(plan), "customers": int(y_val.size)},
        "metrics": {"model": _rounded({k: v for k, v in mine.items() if k != "deciles"}),
                    "baseline": _rounded({k: v for k, v in base.items() if k != "deciles"})},
        "vs_baseline": {"rmse_ratio": ratio["rmse"], "mae_ratio": ratio["mae"],
                        "normalized_gini_difference": mine["normalized_gini"] - base["normalized_gini"]},
        "calibration_by_decile": {"model": mine["deciles"], "baseline": base["deciles"]},
        "interval": {"level": interval.get("level"), "coverage": interval.get("cross_fitted_coverage"),
                     "how": "split-conformal ratios by decile of the prediction; coverage of each half of the "
                            "validation slice under the table fitted on the other half"} if interval else None,
    }


def churn_card(plan: dict[str, Any], model_name: str, X_val: pd.DataFrame, y_val: np.ndarray,
               ours: np.ndarray) -> dict[str, Any]:
    anchor = np.clip(np.nan_to_num(X_val["bg_p_no_purchase"].to_numpy(dtype="float64"), nan=0.5), 0.0, 1.0)
    mine, base = classification_metrics(y_val, ours), classification_metrics(y_val, anchor)
    return {
        "target": f"no purchase in the {plan['label_window_days']} days after the validation cutoff",
        "model": model_name, "baseline": BASELINE, "validation": {**_window(plan), "customers": int(y_val.size)},
        "metrics": {"model": _rounded(mine), "baseline": _rounded(base)},
        "vs_baseline": {"roc_auc_difference": mine["roc_auc"] - base["roc_auc"],
                        "ece_difference": mine["ece"] - base["ece"]},
        "calibration_by_decile": {"model": reliability_table(y_val, ours),
                                  "baseline": reliability_table(y_val, anchor)},
    }


def model_card(meta: dict[str, Any], cards: dict[str, dict[str, Any]], gates: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``quality`` document: one card per family, the data-sufficiency gates, the training facts."""
    return {
        "trained_as_of": meta["trained_as_of"], "history_days": meta["history_days"],
        "training_rows": meta["sampling"]["train_rows"], "validation_rows": meta["sampling"]["validation_rows"],
        "families": cards, "gates": gates,
    }


def gate(name: str, available: float, required: float, what: str) -> dict[str, Any]:
    return {"gate": name, "required": required, "available": available, "passed": bool(available >= required),
            "what": what}


def with_drift(card: dict[str, Any], feature_stats: dict[str, Any], frame: pd.DataFrame,
               scored_as_of: str) -> dict[str, Any]:
    """The card plus today's drift: per key feature, the shift of its mean in training standard deviations."""
    shifts = {}
    for c in DRIFT_FEATURES:
        ref = feature_stats.get(c) or {}
        if c in frame and ref.get("std"):
            now = float(np.nanmean(frame[c].to_numpy(dtype="float64"))) if len(frame) else float("nan")
            shifts[c] = round((now - float(ref["mean"])) / float(ref["std"]), 4) if np.isfinite(now) else None
    worst = max((abs(v) for v in shifts.values() if v is not None), default=0.0)
    return {**card, "scored_as_of": scored_as_of,
            "drift": {"standardized_mean_shift": shifts, "max_abs_shift": worst,
                      "how": "(today's mean - the training population's mean) / its standard deviation, per feature; "
                             "the refresh's PSI rule (manifest) decides retraining"}}
