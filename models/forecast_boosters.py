"""The boosting back ends of the demand model: XGBoost (default) or LightGBM, trained the same way.

Imported lazily inside the functions, so loading a forecaster pulls in only the library it was trained with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.forecast_features import FEATURES, PRICE_FEATURES

__all__ = ["contributions", "OBJECTIVES", "fit_booster", "predict_booster", "importance"]

# objective name -> (xgboost, lightgbm) objective
OBJECTIVES = {"squared": ("reg:squarederror", "regression"), "tweedie": ("reg:tweedie", "tweedie"),
               "absolute": ("reg:absoluteerror", "l1"), "huber": ("reg:pseudohubererror", "huber")}


def fit_booster(est: Any, Xt, yt, st, Xv, yv, sv, *, early_stopping: bool,
                 n_estimators: int | None = None):
    """Train on scaled targets, each row weighted by its scale (so big sellers count as in unit-weighted WAPE)."""
    n_trees = n_estimators or est.n_estimators
    if est.objective == "tweedie":  # a log-link count loss: net returns (negative days) count as no sale
        yt = np.maximum(yt, 0.0)
        yv = None if yv is None else np.maximum(yv, 0.0)
    mono = [(-1 if f in PRICE_FEATURES else 0) for f in FEATURES]
    if est.backend == "xgboost":
        import xgboost as xgb

        params = {"objective": OBJECTIVES[est.objective][0],
                  "eta": est.learning_rate, "max_depth": est.max_depth, "subsample": 0.8,
                  "colsample_bytree": 0.8, "min_child_weight": 5.0, "lambda": 1.0, "tree_method": "hist",
                  "nthread": est.n_jobs, "seed": est.random_state or 0,
                  "monotone_constraints": "(" + ",".join(map(str, mono)) + ")"}
        dtrain = xgb.DMatrix(Xt, label=yt, weight=st, feature_names=list(FEATURES), missing=np.nan)
        evals, kw = [], {}
        if early_stopping:
            dval = xgb.DMatrix(Xv, label=yv, weight=sv, feature_names=list(FEATURES), missing=np.nan)
            evals, kw = [(dval, "validation")], {"early_stopping_rounds": est.early_stopping_rounds}
        booster = xgb.train(params, dtrain, num_boost_round=n_trees, evals=evals, verbose_eval=False, **kw)
        best = booster.best_iteration if early_stopping else n_trees - 1
        return booster, best
    import lightgbm as lgb

    params = {"objective": OBJECTIVES[est.objective][1],
              "learning_rate": est.learning_rate, "num_leaves": 2 ** est.max_depth - 1, "max_depth": est.max_depth,
              "bagging_fraction": 0.8, "bagging_freq": 1, "feature_fraction": 0.8, "min_child_weight": 5.0,
              "num_threads": est.n_jobs, "seed": est.random_state or 0, "deterministic": True, "verbose": -1,
              "monotone_constraints": mono}
    dtrain = lgb.Dataset(Xt, label=yt, weight=st, feature_name=list(FEATURES), free_raw_data=False)
    callbacks, valid = [], []
    if early_stopping:
        valid = [lgb.Dataset(Xv, label=yv, weight=sv, reference=dtrain)]
        callbacks = [lgb.early_stopping(est.early_stopping_rounds, verbose=False)]
    booster = lgb.train(params, dtrain, num_boost_round=n_trees, valid_sets=valid, callbacks=callbacks)
    best = (booster.best_iteration - 1) if early_stopping and booster.best_iteration > 0 else n_trees - 1
    return booster, best


def predict_booster(backend: str, booster, X: np.ndarray) -> np.ndarray:
    if backend == "xgboost":
        import xgboost as xgb

        return booster.predict(xgb.DMatrix(X, feature_names=list(FEATURES), missing=np.nan),
                               iteration_range=(0, booster.best_iteration + 1) if _has_best(booster) else (0, 0))
    return booster.predict(X, num_iteration=booster.best_iteration or None)


def contributions(backend: str, booster, X: np.ndarray) -> np.ndarray:
    """Per-row, per-feature contributions to the raw (scaled) prediction, bias dropped: (n_rows, n_features)."""
    if backend == "xgboost":
        import xgboost as xgb

        out = booster.predict(xgb.DMatrix(X, feature_names=list(FEATURES), missing=np.nan), pred_contribs=True,
                              iteration_range=(0, booster.best_iteration + 1) if _has_best(booster) else (0, 0))
    else:
        out = booster.predict(X, num_iteration=booster.best_iteration or None, pred_contrib=True)
    return np.asarray(out)[:, :-1]


def _has_best(booster) -> bool:
    try:
        return booster.best_iteration is not None
    except AttributeError:
        return False


def importance(backend: str, booster, names: list[str]) -> list[dict[str, Any]]:
    if backend == "xgboost":
        raw = booster.get_score(importance_type="total_gain")
        gains = np.array([raw.get(n, 0.0) for n in names])
    else:
        gains = booster.feature_importance(importance_type="gain").astype(float)
    total = gains.sum() or 1.0
    order = np.argsort(-gains, kind="stable")
    return [{"feature": names[j], "importance": round(float(gains[j] / total), 6)} for j in order]
