"""Customer lifetime value: a learned regressor of spend over a horizon and the simple CLV formula.

``CLVRegressor`` fits the original design's Random Forest and a LightGBM alternative on one time slice
(features as of T - 2H, spend in [T - 2H, T - H)), keeps whichever has the lower RMSE on the next slice
(features as of T - H, spend in [T - H, T)), then refits the winner on both slices. The same estimator
predicts any additive per-customer quantity over a window (spend, number of orders).

``simple_clv`` is the textbook formula average order value x purchase frequency x expected lifespan
(x margin when one is configured): the explanation shown beside the model and the fallback for customers
the model cannot score.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestRegressor
from sklearn.utils.validation import check_is_fitted

from models.clv_intervals import apply_conformal, conformal_ratios
from models.customer_metrics import clv_metrics
from models.spend_heads import HurdleLognormal

__all__ = ["CLVRegressor", "SimpleCLV", "simple_clv", "clv_segments", "regression_metrics",
           "CLV_SEGMENT_QUANTILES", "conformal_ratios", "apply_conformal"]

#: population quantiles of predicted CLV: >= q80 is High, >= q50 Medium, below Low.
CLV_SEGMENT_QUANTILES: tuple[float, float] = (0.5, 0.8)
_CANDIDATES = ("random_forest", "lightgbm")  # what "auto" chooses between
# Spend-shaped losses, available by name; not auto candidates: on Online Retail the validation slice preferred
# them and the holdout did not (docs/customer-models.md, "What was tried").
_OTHERS = ("lightgbm_tweedie", "hurdle_lognormal")


@dataclass(frozen=True)
class SimpleCLV:
    """The simple formula's value and its factors, one entry per customer."""

    value: np.ndarray
    average_order_value: np.ndarray
    orders_per_day: np.ndarray
    lifespan_days: float
    margin: float


def simple_clv(avg_order_value, frequency, customer_age_days, *, horizon_days: int, margin: float | None = None,
               expected_lifespan_days: float | None = None, min_age_days: float = 90.0) -> SimpleCLV:
    """CLV = average order value x orders per day x expected lifespan (days) x margin.

    Parameters
    ----------
    avg_order_value, frequency, customer_age_days : array-like of shape (n,)
        From ``customer_features``; orders per day = frequency / max(age, ``min_age_days``) so that a
        customer seen for a week is not extrapolated from a single order.
    horizon_days : int
        The CLV horizon; the lifespan counted is ``min(horizon_days, expected_lifespan_days)``.
    margin : float in (0, 1] or None
        Gross margin; None counts revenue.
    expected_lifespan_days : float or None
        None: the whole horizon.
    """
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}")
    if margin is not None and not 0 < margin <= 1:
        raise ValueError(f"margin must be in (0, 1], got {margin}")
    aov = np.nan_to_num(np.asarray(avg_order_value, dtype="float64"), nan=0.0).clip(min=0.0)
    freq = np.asarray(frequency, dtype="float64")
    age = np.asarray(customer_age_days, dtype="float64")
    if not aov.shape == freq.shape == age.shape:
        raise ValueError("avg_order_value, frequency and customer_age_days must have equal shapes")
    lifespan = float(horizon_days if expected_lifespan_days is None else min(horizon_days, expected_lifespan_days))
    rate = freq / np.maximum(age, min_age_days)
    m = 1.0 if margin is None else float(margin)
    return SimpleCLV(value=aov * rate * lifespan * m, average_order_value=aov, orders_per_day=rate,
                     lifespan_days=lifespan, margin=m)


def clv_segments(values, thresholds: tuple[float, float] | None = None) -> tuple[np.ndarray, tuple[float, float]]:
    """High / Medium / Low by population quantiles (:data:`CLV_SEGMENT_QUANTILES`) unless ``thresholds``
    (medium_from, high_from) are given. Returns the labels and the thresholds used."""
    v = np.asarray(values, dtype="float64")
    if thresholds is None:
        if v.size == 0:
            return np.zeros(0, dtype="<U6"), (0.0, 0.0)
        q = np.quantile(v, CLV_SEGMENT_QUANTILES)
        thresholds = (float(q[0]), float(q[1]))
    labels = np.where(v >= thresholds[1], "High", np.where(v >= thresholds[0], "Medium", "Low")).astype("<U6")
    return labels, thresholds


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """MAE, RMSE and total predicted vs actual of per-customer predictions."""
    y = np.asarray(y_true, dtype="float64")
    p = np.asarray(y_pred, dtype="float64")
    return {"n": int(y.size), "mae": float(np.mean(np.abs(p - y))), "rmse": float(np.sqrt(np.mean((p - y) ** 2))),
            "total_predicted": float(p.sum()), "total_actual": float(y.sum())}


class CLVRegressor(BaseEstimator):
    """Per-customer value over a window: Random Forest or LightGBM, chosen on a later time slice.

    Parameters
    ----------
    estimator : {"auto", "random_forest", "lightgbm", "lightgbm_tweedie", "hurdle_lognormal"}
        "auto" fits the random forest and LightGBM and keeps the lower validation RMSE (needs ``X_val``/``y_val``).
        ``lightgbm_tweedie`` is LightGBM with a Tweedie loss (variance power 1.5, log link): a point mass at zero
        and a right-skewed positive part, the shape of spend over a window. ``hurdle_lognormal`` is the zero-inflated
        lognormal of Wang, Liu and Miao (2019) with trees: P(spend > 0) from a LightGBM classifier times
        E[spend | spend > 0] from a LightGBM regression of log spend (Duan's smearing for the mean).
    n_estimators : int
    refit : bool
        Refit the chosen estimator on the training and validation slices together.
    rf_max_rows : int or None
        With ``estimator="auto"``, the random forest is a candidate only up to this many training rows.
        Its fully grown trees cost O(n log n) each per feature tried (measured here: 150 trees on 200k rows,
        2 cores, 390 s) while LightGBM's histograms stay linear (seconds); where rows are that plentiful the
        boosted trees are the better-founded choice anyway. The skip is recorded in ``skipped_``. None: always.
    blend_column : str or None
        A column of X holding a probabilistic model's prediction of the same quantity (e.g. BG/NBD's
        ``bg_expected_spend``). With a validation slice, the final prediction is the convex blend
        ``w x trees + (1 - w) x column``, w on a 0.05 grid in [0, 1] chosen by validation RMSE of the
        winner fitted on the training slices only (ties go to the larger w); rows where the column is NaN
        get the trees alone. None (or no validation slice): w = 1.
    interval_level : float or None
        With a validation slice, per-customer intervals of this coverage (:meth:`predict_interval`) from
        split-conformal ratios actual / predicted on the validation slice, by decile of the prediction
        (Mondrian), the lower end taken at the ``(1 - level) / 2`` quantile and the upper end so that the
        validation share inside is ``level`` (spend has a point mass at 0: a symmetric pair of quantiles would
        over-cover). None: no interval.
    n_jobs : int
    random_state : int or None

    Attributes
    ----------
    estimator_ : the fitted regressor
    winner_ : str
        "random_forest" or "lightgbm".
    validation_ : dict
        Per candidate: mae, rmse, total_predicted, total_actual on the validation slice (empty without one).
    feature_names_ : list of str
    skipped_ : dict[str, str]
        Candidates not fitted, with the reason.
    blend_weight_ : float
        w of ``blend_column`` (1.0 = the trees alone).
    blend_ : dict
        With a blend column and a validation slice: the chosen weight and validation metrics of the trees
        alone, the column alone and the blend.
    validation_predictions_ : ndarray
        The final pipeline's predictions on the validation slice (trees fitted on the training slices only,
        blended): what :attr:`validation_metrics_` and the intervals are measured on.
    validation_metrics_ : dict
        :func:`models.customer_metrics.clv_metrics` of those predictions (empty without a validation slice).
    interval_ : dict
        The conformal table (decile edges of the prediction, lower and upper ratios, validation coverage).
    """

    def __init__(self, *, estimator: str = "auto", n_estimators: int = 150, refit: bool = True,
                 rf_max_rows: int | None = 60_000, blend_column: str | None = None,
                 interval_level: float | None = 0.8, n_jobs: int = 1, random_state: int | None = None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.refit = refit
        self.rf_max_rows = rf_max_rows
        self.blend_column = blend_column
        self.interval_level = interval_level
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y, *, X_val: pd.DataFrame | None = None, y_val=None) -> CLVRegressor:
        """Fit on (X, y); with (X_val, y_val) from a later time slice, select and report on it."""
        y = _check_target(y, len(X), "y")
        if self.estimator not in ("auto", *_CANDIDATES, *_OTHERS):
            raise ValueError(f"estimator={self.estimator!r}: use auto, {', '.join(_CANDIDATES + _OTHERS)}")
        if self.estimator == "auto" and X_val is None:
            raise ValueError("estimator='auto' needs a validation slice (X_val, y_val) to choose on")
        self.feature_names_ = [str(c) for c in X.columns]
        candidates = _CANDIDATES if self.estimator == "auto" else (self.estimator,)
        self.skipped_: dict[str, str] = {}
        if self.estimator == "auto" and self.rf_max_rows is not None and len(X) > self.rf_max_rows:
            candidates = tuple(c for c in candidates if c != "random_forest")
            self.skipped_["random_forest"] = f"{len(X)} training rows > rf_max_rows={self.rf_max_rows}"
        self.validation_: dict[str, dict[str, float]] = {}
        if self.blend_column is not None and self.blend_column not in self.feature_names_:
            raise ValueError(f"blend column {self.blend_column!r} is not in X")
        fitted, val_pred = {}, {}
        for name in candidates:
            fitted[name] = self._make(name).fit(_prepare(name, X), _target(name, y))
            if X_val is not None:
                y_v = _check_target(y_val, len(X_val), "y_val")
                val_pred[name] = np.clip(fitted[name].predict(_prepare(name, X_val[self.feature_names_])), 0.0, None)
                self.validation_[name] = regression_metrics(y_v, val_pred[name])
        self.winner_ = min(candidates, key=lambda n: (self.validation_.get(n, {}).get("rmse", 0.0), n))
        self.estimator_ = fitted[self.winner_]
        self.blend_weight_, self.blend_ = 1.0, {}
        self.validation_metrics_: dict = {}
        self.interval_: dict = {}
        if X_val is not None:
            y_v = _check_target(y_val, len(X_val), "y_val")
            if self.blend_column is not None:
                self._choose_blend(val_pred[self.winner_], X_val, y_v)
            final = self._blend(val_pred[self.winner_], X_val, self.blend_weight_) if self.blend_weight_ < 1.0 \
                else val_pred[self.winner_]
            self.validation_predictions_ = final
            self.validation_metrics_ = clv_metrics(y_v, final)
            if self.interval_level is not None:
                self.interval_ = conformal_ratios(y_v, final, self.interval_level)
        if self.refit and X_val is not None:
            X_all = pd.concat([X, X_val[self.feature_names_]], ignore_index=True)
            y_all = np.concatenate([y, _check_target(y_val, len(X_val), "y_val")])
            self.estimator_ = self._make(self.winner_).fit(_prepare(self.winner_, X_all), _target(self.winner_, y_all))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted value over the training window, clipped at 0, shape (n,) (blended, see ``blend_column``)."""
        check_is_fitted(self)
        pred = np.clip(self.estimator_.predict(_prepare(self.winner_, X[self.feature_names_])), 0.0, None)
        if getattr(self, "blend_weight_", 1.0) < 1.0:
            pred = self._blend(pred, X, self.blend_weight_)
        return pred

    def predict_interval(self, X: pd.DataFrame, prediction: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ends of each customer's ``interval_level`` interval (see the parameter)."""
        check_is_fitted(self)
        if not getattr(self, "interval_", None):
            raise ValueError("no interval: fit with a validation slice and interval_level set")
        pred = self.predict(X) if prediction is None else np.asarray(prediction, dtype="float64")
        return apply_conformal(self.interval_, pred)

    def _blend(self, trees: np.ndarray, X: pd.DataFrame, w: float) -> np.ndarray:
        other = X[self.blend_column].to_numpy(dtype="float64")
        return np.where(np.isnan(other), trees, w * trees + (1.0 - w) * np.clip(other, 0.0, None))

    def _choose_blend(self, trees: np.ndarray, X_val: pd.DataFrame, y_val: np.ndarray) -> None:
        if X_val[self.blend_column].isna().all():
            return
        rmse = {round(w, 2): regression_metrics(y_val, self._blend(trees, X_val, w))["rmse"]
                for w in np.linspace(0.0, 1.0, 21)}
        best = min(rmse, key=lambda w: (round(rmse[w], 9), -w))
        self.blend_weight_ = float(best)
        self.blend_ = {"column": self.blend_column, "weight": float(best),
                       "trees": regression_metrics(y_val, trees),
                       "column_alone": regression_metrics(y_val, self._blend(trees, X_val, 0.0)),
                       "blend": regression_metrics(y_val, self._blend(trees, X_val, best))}

    def _make(self, name: str):
        if name == "hurdle_lognormal":
            return HurdleLognormal(self.n_estimators, self.random_state, self.n_jobs)
        if name == "random_forest":
            return RandomForestRegressor(n_estimators=self.n_estimators, min_samples_leaf=5, max_features=0.5,
                                         n_jobs=self.n_jobs, random_state=self.random_state)
        extra = {"objective": "tweedie", "tweedie_variance_power": 1.5} if name == "lightgbm_tweedie" else {}
        return lgb.LGBMRegressor(**extra, n_estimators=self.n_estimators, learning_rate=0.03, num_leaves=15,
                                 min_child_samples=20, subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                                 reg_lambda=1.0, random_state=self.random_state, n_jobs=self.n_jobs,
                                 deterministic=True, force_row_wise=True, verbose=-1)


def _target(name: str, y: np.ndarray) -> np.ndarray:
    # Tweedie needs y >= 0: net spend below zero (more returned than bought in the window) counts as none.
    return np.clip(y, 0.0, None) if name == "lightgbm_tweedie" else y


def _prepare(name: str, X: pd.DataFrame):
    # The forest gets -1 for "not defined" (e.g. the gap between orders of one-order customers);
    # LightGBM routes NaN itself.
    return X.fillna(-1.0).to_numpy(dtype="float64") if name == "random_forest" else X


def _check_target(y, n: int, name: str) -> np.ndarray:
    arr = np.asarray(y, dtype="float64")
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr
