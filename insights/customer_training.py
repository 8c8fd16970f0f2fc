"""Training the customer models on time splits, with minimum-data gates; the ``CustomerModels`` bundle.

Public entry point: :func:`train_customer_models` (re-exported by insights.customer_scoring).

Label window per target: the horizon H when the history before ``as_of`` covers at least
``MIN_FEATURE_DAYS + 2H`` days ("full_label_window"); otherwise the longest whole number of weeks h with
``MIN_FEATURE_DAYS + 2h`` days ("short_history"), and predictions are extrapolated to H by rate (spend and
orders x H/h; P(no purchase) ^ (H/h)). Below ``MIN_LABEL_DAYS`` the gate refuses with ``InsufficientData``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from athena.engine import QueryEngine
from insights.errors import InsufficientData
from models._features import FEATURE_NAMES, feature_matrix, fit_bgnbd, with_bgnbd_features
from models.churn import ChurnModel
from models.clv import CLVRegressor
from models.segmentation import RFMSegmenter

__all__ = ["CustomerModels", "train_customer_models", "MIN_CUSTOMERS", "MIN_FEATURE_DAYS", "MIN_LABEL_DAYS",
           "TRAIN_SLICES", "SLICE_STEP_DAYS", "MAX_SLICE_ROWS", "TRAIN_ROWS"]

MIN_CUSTOMERS = 50  # customers with a purchase before as_of (and per training window)
MIN_FEATURE_DAYS = 30  # history every training cutoff must have behind it
MIN_LABEL_DAYS = 28  # shortest label window worth learning from
TRAIN_SLICES = 6  # training cutoffs per target, SLICE_STEP_DAYS apart (more rows, more seasons)
SLICE_STEP_DAYS = 14
# Bounded training cost: every past slice (training or validation) keeps at most MAX_SLICE_ROWS customers,
# a seeded uniform sample; the number of training slices is what it takes to reach about TRAIN_ROWS rows
# (all TRAIN_SLICES below ~33k customers, 2 from 100k up). Scoring always covers every customer.
MAX_SLICE_ROWS = 100_000
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


def train_customer_models(engine: QueryEngine, as_of: date, *, clv_horizon_days: int = 365,
                          churn_horizon_days: int = 90, margin: float | None = None, random_state: int = 0,
                          min_customers: int = MIN_CUSTOMERS) -> CustomerModels:
    """Fit every customer model from orders before ``as_of``; raise ``InsufficientData`` naming what is missing."""
    if clv_horizon_days < 1 or churn_horizon_days < 1:
        raise ValueError("horizons must be positive")
    if margin is not None and not 0 < margin <= 1:
        raise ValueError(f"margin must be in (0, 1], got {margin}")
    data = _Slices(engine, random_state)
    current = data.features(as_of, sample=False)
    if len(current) < min_customers:
        raise InsufficientData(f"{len(current)} customers with a purchase before {as_of}; at least "
                               f"{min_customers} are needed", missing="customers", required=min_customers,
                               available=len(current))
    first = pd.Timestamp(current["first_order_date"].min()).date()
    span = (as_of - first).days
    slices = int(min(TRAIN_SLICES, max(2, math.ceil(TRAIN_ROWS / len(current)))))

    segmenter = RFMSegmenter(random_state=random_state).fit(current)

    churn_plan = _plan("churn", churn_horizon_days, span, slices)
    Xc, yc, Xc_val, yc_val = data.training_set(as_of, churn_plan, first, "churn", min_customers)
    churn, churn_choice = _churn_model(Xc, yc, Xc_val, yc_val, random_state)

    p30_plan = _plan("30-day purchase", 30, span, slices)
    Xp, yp, Xp_val, yp_val = data.training_set(as_of, p30_plan, first, "churn", min_customers)
    purchase_30d, p30_choice = _churn_model(Xp, yp, Xp_val, yp_val, random_state)

    clv_plan = _plan("CLV", clv_horizon_days, span, slices)
    Xv, yv, Xv_val, yv_val = data.training_set(as_of, clv_plan, first, "future_spend", min_customers)
    clv = CLVRegressor(blend_column="bg_expected_spend", random_state=random_state).fit(
        Xv, yv, X_val=Xv_val, y_val=yv_val)
    _, yo, _, yo_val = data.training_set(as_of, clv_plan, first, "future_orders", min_customers)
    orders = CLVRegressor(estimator=clv.winner_, blend_column="bg_expected_purchases",
                          random_state=random_state).fit(Xv, yo, X_val=Xv_val, y_val=yo_val)
    _, ys, _, ys_val = data.training_set(as_of, p30_plan, first, "future_spend", min_customers)
    spend_30d = CLVRegressor(estimator=clv.winner_, blend_column="bg_expected_spend",
                             random_state=random_state).fit(Xp, ys, X_val=Xp_val, y_val=ys_val)

    X_now = feature_matrix(current)
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
                "orders_holdout": orders.validation_,
                "selection": "lowest validation RMSE of random_forest vs lightgbm, then refit on all slices"},
        "feature_stats": {c: {"mean": float(np.nanmean(X_now[c])) if X_now[c].notna().any() else None,
                              "std": float(np.nanstd(X_now[c])) if X_now[c].notna().any() else None}
                          for c in FEATURE_NAMES},
    }
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode()).hexdigest()[:12]
    meta["version"] = f"customers-{as_of.isoformat()}-{digest}"
    return CustomerModels(segmenter=segmenter, churn=churn, purchase_30d=purchase_30d, spend_30d=spend_30d,
                          clv=clv, orders=orders, metadata=_json_safe(meta))


@dataclass(frozen=True)
class _Plan:
    target: str
    horizon_days: int
    label_window_days: int
    path: str
    slices: int = TRAIN_SLICES

    @property
    def scale(self) -> float:
        return self.horizon_days / self.label_window_days

    def cutoffs(self, as_of: date, first: date) -> tuple[list[date], date]:
        """Training cutoffs (newest first) and the validation cutoff."""
        h = self.label_window_days
        val_cut = as_of - timedelta(days=h)
        cuts = [val_cut - timedelta(days=h + SLICE_STEP_DAYS * i) for i in range(self.slices)]
        return [c for c in cuts if (c - first).days >= MIN_FEATURE_DAYS] or cuts[:1], val_cut

    def describe(self, as_of: date, first: date) -> dict[str, Any]:
        cuts, val_cut = self.cutoffs(as_of, first)
        return {"horizon_days": self.horizon_days, "label_window_days": self.label_window_days,
                "path": self.path, "scale": self.scale, "train_cutoffs": [c.isoformat() for c in cuts],
                "validation_cutoff": val_cut.isoformat()}


def _plan(target: str, horizon: int, span: int, slices: int = TRAIN_SLICES) -> _Plan:
    if span >= MIN_FEATURE_DAYS + 2 * horizon:
        return _Plan(target, horizon, horizon, "full_label_window", slices)
    window = (span - MIN_FEATURE_DAYS) // 2 // 7 * 7
    if window < MIN_LABEL_DAYS:
        raise InsufficientData(
            f"{span} days of order history; the {target} model needs at least "
            f"{MIN_FEATURE_DAYS + 2 * MIN_LABEL_DAYS} ({MIN_FEATURE_DAYS} of features and two "
            f"{MIN_LABEL_DAYS}-day label windows)", missing="history",
            required=MIN_FEATURE_DAYS + 2 * MIN_LABEL_DAYS, available=span)
    return _Plan(target, horizon, min(window, horizon), "short_history", slices)


class _Slices:
    """Feature and label queries at cutoffs, each run once per training."""

    def __init__(self, engine: QueryEngine, random_state: int = 0) -> None:
        self._engine = engine
        self._random_state = random_state
        self._features: dict[date, pd.DataFrame] = {}
        self._labels: dict[tuple[date, int], pd.DataFrame] = {}
        self._inputs: dict[tuple[date, int], pd.DataFrame] = {}
        self._bgnbd: dict[date, Any] = {}

    def features(self, cutoff: date, *, sample: bool = True) -> pd.DataFrame:
        """``customer_features`` as of ``cutoff``, sorted by customer; with ``sample`` (past slices) at most
        :data:`MAX_SLICE_ROWS` customers, a uniform sample seeded by random_state and the cutoff."""
        if cutoff not in self._features:
            frame = self._engine.query("customer_features", {"cutoff": cutoff.isoformat()})
            frame = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
            if sample and len(frame) > MAX_SLICE_ROWS:
                rng = np.random.default_rng([self._random_state, cutoff.toordinal()])
                keep = np.sort(rng.choice(len(frame), MAX_SLICE_ROWS, replace=False))
                frame = frame.iloc[keep].reset_index(drop=True)
            self._features[cutoff] = frame
        return self._features[cutoff]

    def labels(self, cutoff: date, window: int) -> pd.DataFrame:
        """``customer_labels`` of every customer (not kept: at 1M customers each is ~100 MB of strings)."""
        frame = self._engine.query("customer_labels", {"cutoff": cutoff.isoformat(), "horizon_days": window})
        return frame.set_index("customer_id")

    def aligned_labels(self, cutoff: date, window: int) -> pd.DataFrame:
        """Labels of the (possibly sampled) slice's customers, in its row order; kept per (cutoff, window)."""
        key = (cutoff, window)
        if key not in self._labels:
            self._labels[key] = self.labels(cutoff, window).reindex(self.features(cutoff)["customer_id"])
        return self._labels[key]

    def inputs(self, cutoff: date, window: int) -> pd.DataFrame:
        """Model inputs as of ``cutoff``: features plus BG/NBD summaries over ``window`` days."""
        key = (cutoff, window)
        if key not in self._inputs:
            feats = self.features(cutoff)
            if cutoff not in self._bgnbd:
                self._bgnbd[cutoff] = fit_bgnbd(feats, random_state=self._random_state)
            self._inputs[key] = with_bgnbd_features(feats, feature_matrix(feats), window, self._bgnbd[cutoff])
        return self._inputs[key]

    def seasonal(self, as_of: date, plan: _Plan, first: date) -> dict[str, Any]:
        """Year-over-year seasonal shift of churn's level between the calibration window and the scored one.

        The calibrator learns churn's level on the validation window ``[as_of - h, as_of)``; the scored window
        ``[as_of, as_of + h)`` may sit in another season. The same two windows 52 weeks earlier measure the
        change: ``churn_logit_shift`` = logit(churn rate then in the scored window's season) - logit(churn
        rate then in the validation window's season), added to the calibrated log-odds. Needs a year of
        history before last year's validation window and a window under half a year (otherwise 0).
        Spend is not adjusted: on the sample lake last year's spend ratios did not predict this year's.
        """
        h = plan.label_window_days
        val_cut = as_of - timedelta(days=h)
        year = timedelta(days=364)  # 52 weeks: same weekdays
        if h >= 182 or plan.path != "full_label_window":
            return {"applied": False, "churn_logit_shift": 0.0, "reason": "window of half a year or more, or short"}
        if (val_cut - year - first).days < MIN_FEATURE_DAYS:
            return {"applied": False, "churn_logit_shift": 0.0, "reason": "under a year of history"}
        then_scored = _churn_rate(self.labels(as_of - year, h))
        then_val = _churn_rate(self.labels(val_cut - year, h))
        return {"applied": True, "reference_cutoff": (as_of - year).isoformat(),
                "churn_rate_then_scored_window": then_scored, "churn_rate_then_validation_window": then_val,
                "churn_logit_shift": _logit(then_scored) - _logit(then_val)}

    def one(self, cutoff: date, window: int, target: str) -> tuple[pd.DataFrame, np.ndarray]:
        labels = self.aligned_labels(cutoff, window)
        if target == "churn":
            y = 1 - labels["purchased"].fillna(0).to_numpy(dtype="int64")
        else:
            y = labels[target].fillna(0).to_numpy(dtype="float64").round(9)  # see feature_matrix
        return self.inputs(cutoff, window), y

    def training_set(self, as_of: date, plan: _Plan, first: date, target: str, min_customers: int):
        h = plan.label_window_days
        cuts, val_cut = plan.cutoffs(as_of, first)
        parts = [self.one(c, h, target) for c in cuts]
        X = pd.concat([p[0] for p in parts], ignore_index=True)
        y = np.concatenate([p[1] for p in parts])
        X_val, y_val = self.one(val_cut, h, target)
        if len(X) < min_customers:
            raise InsufficientData(
                f"{len(X)} customer rows in the {plan.target} training window(s) before {cuts[0]}; at least "
                f"{min_customers} are needed", missing="customers in the training window",
                required=min_customers, available=len(X))
        if target == "churn" and len(np.unique(y)) < 2:
            what = "churned" if y[0] == 0 else "came back"
            raise InsufficientData(
                f"no customer {what} in the {plan.target} training window(s) ({h} days from {cuts[-1]}): "
                "a single label class", missing=f"{plan.target} label classes", required=2, available=1)
        return X, y, X_val, y_val


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


def _churn_rate(labels: pd.DataFrame) -> float:
    return 1.0 - float(labels["purchased"].mean())


def _logit(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)
    return float(np.log(p / (1 - p)))


def _json_safe(value: Any) -> Any:
    """NaN/inf -> None and numpy scalars -> Python, recursively (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _importance(model: ChurnModel) -> list[dict[str, Any]]:
    return [{"feature": k, "importance": round(v, 6)}
            for k, v in sorted(model.feature_importance_.items(), key=lambda kv: (-kv[1], kv[0]))]


def _library_versions() -> dict[str, str]:
    import lightgbm
    import sklearn

    return {"lightgbm": lightgbm.__version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__}
