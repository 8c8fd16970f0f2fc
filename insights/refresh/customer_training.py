"""Training the customer models (segmentation, churn, 30-day purchase and spend, CLV, orders); the bundle.

Public entry point: :func:`train_customer_models`. The time splits (label windows, cutoffs, the short-history
path) are insights/refresh/training_slices.py.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from athena.engine import QueryEngine
from insights.errors import InsufficientData, InvalidRequest
from insights.refresh.customer_quality import churn_card, clv_card, gate, model_card
from insights.refresh.engagement import has_engagement
from insights.refresh.side import jsonable
from insights.refresh.training_slices import (
    MAX_SLICE_ROWS,
    MIN_FEATURE_DAYS,
    MIN_LABEL_DAYS,
    SEASON_SLICES,
    TRAIN_SLICES,
    Slices,
    plan_for,
)
from models.churn import ChurnModel
from models.clv import CLVRegressor
from models.features import ENGAGEMENT_COLUMNS, FEATURE_NAMES, feature_matrix
from models.segmentation import RFMSegmenter

__all__ = ["CustomerModels", "train_customer_models", "MIN_CUSTOMERS", "TRAIN_ROWS"]

MIN_CUSTOMERS = 50  # customers with a purchase before as_of (and per training window)
# Bounded training cost: the number of training slices is what it takes to reach about TRAIN_ROWS rows (all
# TRAIN_SLICES below ~33k customers, 2 from 100k up); past slices are sampled (training_slices.MAX_SLICE_ROWS).
# Scoring always covers every customer.
TRAIN_ROWS = 200_000
_FILE = "customer_models.joblib"


@dataclass
class CustomerModels:
    """Everything scoring needs: segmentation, churn, 30-day purchase and spend, CLV and order models."""

    segmenter: RFMSegmenter
    churn: ChurnModel
    purchase_30d: ChurnModel  # P(no purchase in 30 days)
    spend_30d: CLVRegressor
    clv: CLVRegressor
    orders: CLVRegressor
    metadata: dict[str, Any]

    def save(self, folder: Path) -> None:
        """Write the bundle (joblib) and its metadata (JSON, for people and drift checks) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, folder / _FILE, compress=3)
        (folder / "metadata.json").write_text(json.dumps(self.metadata, indent=1, sort_keys=True))

    @classmethod
    def load(cls, folder: Path) -> CustomerModels:
        """Read a bundle written by :meth:`save`."""
        path = Path(folder) / _FILE
        if not path.exists():
            raise FileNotFoundError(f"no customer models at {path}")
        models = joblib.load(path)
        if not isinstance(models, cls):
            raise TypeError(f"{path} does not hold CustomerModels")
        return models


def train_customer_models(engine: QueryEngine, as_of: date, current: pd.DataFrame, *, clv_horizon_days: int = 365,
                          churn_horizon_days: int = 90, margin: float | None = None, random_state: int = 0,
                          min_customers: int = MIN_CUSTOMERS) -> CustomerModels:
    """Fit every customer model from orders before ``as_of``; raise ``InsufficientData`` naming what is missing.

    ``current`` is ``customer_features`` as of ``as_of`` (the refresh has it from its extract stage); the past
    cutoffs' features and labels are queried here, each once. When ``current`` carries ``customer_engagement``'s
    columns (the lake has reviews or engagement events) every model gets the engagement features too, and the
    metadata and the quality document say so (``engagement``); otherwise nothing differs from a lake of orders.
    """
    if clv_horizon_days < 1 or churn_horizon_days < 1:
        raise InvalidRequest("horizons must be positive")
    if margin is not None and not 0 < margin <= 1:
        raise InvalidRequest(f"margin must be in (0, 1], got {margin}")
    engaged = has_engagement(current)
    data = Slices(engine, random_state, engagement=engaged)
    current = data.seed(as_of, current)
    if len(current) < min_customers:
        raise InsufficientData(f"{len(current)} customers with a purchase before {as_of}; at least "
                               f"{min_customers} are needed", missing="customers", required=min_customers,
                               available=len(current))
    first = pd.Timestamp(current["first_order_date"].min()).date()
    span = (as_of - first).days
    budget = max(2, math.ceil(TRAIN_ROWS / len(current)))  # slices' worth of rows
    slices = int(min(TRAIN_SLICES, budget))
    season_slices = int(min(SEASON_SLICES, budget - slices))

    segmenter = RFMSegmenter(random_state=random_state).fit(current)

    churn_plan = plan_for("churn", churn_horizon_days, span, slices, season_slices)
    Xc, yc, Xc_val, yc_val = data.training_set(as_of, churn_plan, first, "churn", min_customers)
    churn, churn_choice = _churn_model(Xc, yc, Xc_val, yc_val, random_state)

    p30_plan = plan_for("30-day purchase", 30, span, slices, season_slices)
    Xp, yp, Xp_val, yp_val = data.training_set(as_of, p30_plan, first, "churn", min_customers)
    purchase_30d, p30_choice = _churn_model(Xp, yp, Xp_val, yp_val, random_state)

    clv_plan = plan_for("CLV", clv_horizon_days, span, slices, season_slices)
    Xv, yv, Xv_val, yv_val = data.training_set(as_of, clv_plan, first, "future_spend", min_customers)
    clv = CLVRegressor(blend_column="bg_expected_spend", random_state=random_state).fit(
        Xv, yv, X_val=Xv_val, y_val=yv_val)
    _, yo, _, yo_val = data.training_set(as_of, clv_plan, first, "future_orders", min_customers)
    orders = CLVRegressor(estimator=clv.winner_, blend_column="bg_expected_purchases",
                          random_state=random_state).fit(Xv, yo, X_val=Xv_val, y_val=yo_val)
    _, ys, _, ys_val = data.training_set(as_of, p30_plan, first, "future_spend", min_customers)
    spend_30d = CLVRegressor(estimator=clv.winner_, blend_column="bg_expected_spend",
                             random_state=random_state).fit(Xp, ys, X_val=Xp_val, y_val=ys_val)

    X_now = feature_matrix(current, engagement=engaged)
    meta: dict[str, Any] = {
        "trained_as_of": as_of.isoformat(), "history_start": first.isoformat(), "history_days": span,
        "random_state": random_state, "margin": margin, "n_customers": len(current),
        "sampling": {"max_slice_rows": MAX_SLICE_ROWS, "train_slices": slices, "train_rows": {
            "churn": len(Xc), "purchase_30d": len(Xp), "clv": len(Xv)}, "validation_rows": {
            "churn": len(Xc_val), "purchase_30d": len(Xp_val), "clv": len(Xv_val)},
            "segmentation_fit_rows": segmenter.n_fit_},
        "libraries": _library_versions(),
        "segmentation": {"model": "kmeans(log-standardized RFM)", "auto_k": int(segmenter.k_),
                         "silhouette": segmenter.silhouette_, "ks": segmenter.ks_},
        "churn": {"model": f"lightgbm+{churn.calibration_method_}", **churn_plan.describe(as_of, first),
                  "trees": churn.n_trees_, "candidates": churn_choice,
                  "seasonal": data.seasonal(as_of, churn_plan, first),
                  "holdout": churn.holdout_metrics_, "feature_importance": _importance(churn)},
        "purchase_30d": {"model": f"lightgbm+{purchase_30d.calibration_method_}", **p30_plan.describe(as_of, first),
                         "trees": purchase_30d.n_trees_, "candidates": p30_choice,
                         "seasonal": data.seasonal(as_of, p30_plan, first),
                         "holdout": purchase_30d.holdout_metrics_,
                         "spend_model": spend_30d.winner_, "spend_holdout": spend_30d.validation_,
                         "spend_blend": spend_30d.blend_},
        "clv": {"model": clv.winner_, **clv_plan.describe(as_of, first), "holdout": clv.validation_,
                "skipped_candidates": clv.skipped_, "blend": clv.blend_, "orders_blend": orders.blend_,
                "interval": clv.interval_,
                "orders_holdout": orders.validation_,
                "selection": "lowest validation RMSE of random_forest vs lightgbm, then refit on all slices"},
        "feature_stats": {c: {"mean": float(np.nanmean(X_now[c])) if X_now[c].notna().any() else None,
                              "std": float(np.nanstd(X_now[c])) if X_now[c].notna().any() else None}
                          for c in FEATURE_NAMES + (ENGAGEMENT_COLUMNS if engaged else ())},
    }
    if engaged:  # only then: a lake without the tables gives the metadata (and version) it always gave
        meta["engagement"] = _engagement_facts(current, churn)
    churn_plan_d, clv_plan_d = meta["churn"], meta["clv"]
    cards = {
        "clv": clv_card(clv_plan_d, clv.winner_, Xv_val, yv_val, clv.validation_predictions_, clv.interval_),
        "churn": churn_card(churn_plan_d, meta["churn"]["model"], Xc_val, yc_val, churn.validation_proba_),
    }
    gates = [
        gate("customers", len(current), min_customers, "customers with a purchase before as_of"),
        gate("history_days", span, MIN_FEATURE_DAYS + 2 * MIN_LABEL_DAYS,
             "days of order history (30 of features and two 28-day label windows)"),
        gate("full_label_window_churn", span, MIN_FEATURE_DAYS + 2 * churn_horizon_days,
             "history for training windows of the full churn horizon (else shorter windows, extrapolated)"),
        gate("full_label_window_clv", span, MIN_FEATURE_DAYS + 2 * clv_horizon_days,
             "history for training windows of the full CLV horizon (else shorter windows, extrapolated)"),
        gate("training_rows", len(Xc), min_customers, "customer rows in the churn training slices"),
        gate("churn_label_classes", len(np.unique(yc)), 2, "both outcomes (bought, did not) among training rows"),
        gate("validation_customers", len(Xc_val), 1000, "validation customers for metrics within about 0.02"),
    ]
    meta["quality"] = model_card(meta, cards, gates)
    if engaged:
        meta["quality"]["engagement_features"] = meta["engagement"]
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode()).hexdigest()[:12]
    meta["version"] = f"customers-{as_of.isoformat()}-{digest}"
    return CustomerModels(segmenter=segmenter, churn=churn, purchase_30d=purchase_30d, spend_30d=spend_30d,
                          clv=clv, orders=orders, metadata=jsonable(meta))


def _churn_model(X, y, X_val, y_val, random_state: int) -> tuple[ChurnModel, dict[str, Any]]:
    """LightGBM from scratch vs LightGBM boosting from BG/NBD's log-odds: the higher validation ROC-AUC wins.

    Where the purchase process is close to BG/NBD's (the sample lake) the prior wins; on wholesale data with
    seasonal bulk buyers (Online Retail) trees from scratch rank better. Ties go to the prior.
    """
    fitted = {name: ChurnModel(prior=prior, random_state=random_state).fit(X, y, X_cal=X_val, y_cal=y_val)
              for name, prior in (("bgnbd_prior", "bg_p_no_purchase"), ("plain", None))}
    auc = {name: m.holdout_metrics_.get("uncalibrated", {}).get("roc_auc", float("nan")) for name, m in fitted.items()}
    best = max(fitted, key=lambda n: (np.nan_to_num(auc[n], nan=-1.0), n == "bgnbd_prior"))
    return fitted[best], {"chosen": best, "validation_roc_auc": auc}


def _engagement_facts(current: pd.DataFrame, churn: ChurnModel) -> dict[str, Any]:
    """What the quality document says about the engagement and review features of this training."""
    events = current["days_since_engagement"].notna() if "days_since_engagement" in current else False
    reviews = current["review_count"].fillna(0) > 0 if "review_count" in current else False
    share = sum(churn.feature_importance_.get(c, 0.0) for c in ENGAGEMENT_COLUMNS)
    return {"used": True, "features": list(ENGAGEMENT_COLUMNS),
            "customers_with_events": int(np.sum(events)), "customers_with_reviews": int(np.sum(reviews)),
            "churn_gain_share": round(float(share), 6),
            "sentiment": "VADER compound score (the vaderSentiment package's analyzer), scored in the refresh"}


def _importance(model: ChurnModel) -> list[dict[str, Any]]:
    return [{"feature": k, "importance": round(v, 6)}
            for k, v in sorted(model.feature_importance_.items(), key=lambda kv: (-kv[1], kv[0]))]


def _library_versions() -> dict[str, str]:
    import lightgbm
    import sklearn

    return {"lightgbm": lightgbm.__version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__}
