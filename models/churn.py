"""Churn: P(no purchase in the next H days) from LightGBM, calibrated on a held-out time slice.

The booster learns on one time slice (features as of T - 2H, labels in [T - 2H, T - H)); the calibrator
(isotonic, or Platt's sigmoid when the calibration slice is small) learns on the next slice
(features as of T - H, labels in [T - H, T)). Holdout metrics are computed on that calibration slice with
two-fold cross-fitting of the calibrator, so no probability is judged by a calibrator that saw its label.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.utils.validation import check_is_fitted

__all__ = ["ChurnModel", "expected_calibration_error", "classification_metrics", "risk_levels",
           "RISK_THRESHOLDS", "RISK_LEVELS"]

#: churn probability lower bounds of Medium, High and Critical (Low below the first).
RISK_THRESHOLDS: tuple[float, float, float] = (0.3, 0.5, 0.7)
RISK_LEVELS: tuple[str, ...] = ("Low", "Medium", "High", "Critical")

_EPS = 1e-6


def expected_calibration_error(y_true, y_prob, *, n_bins: int = 10) -> float:
    """Expected calibration error: sum over equal-width probability bins of
    (bin share) x |observed rate - mean predicted probability|.

    Parameters
    ----------
    y_true : array-like of {0, 1}
    y_prob : array-like of probabilities in [0, 1]
    n_bins : int
    """
    y = np.asarray(y_true, dtype="float64")
    p = np.asarray(y_prob, dtype="float64")
    if y.shape != p.shape or y.ndim != 1 or y.size == 0:
        raise ValueError("y_true and y_prob must be non-empty 1-D arrays of equal length")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("y_prob must lie in [0, 1]")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.mean() * abs(y[mask].mean() - p[mask].mean())
    return float(total)


def classification_metrics(y_true, y_prob) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision), Brier score, log-loss and ECE of churn probabilities."""
    y = np.asarray(y_true, dtype="int64")
    p = np.clip(np.asarray(y_prob, dtype="float64"), 0.0, 1.0)
    both = len(np.unique(y)) == 2
    return {
        "n": int(y.size),
        "base_rate": float(y.mean()) if y.size else float("nan"),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, np.clip(p, _EPS, 1 - _EPS), labels=[0, 1])),
        "ece": expected_calibration_error(y, p),
    }


def risk_levels(probability, thresholds: tuple[float, float, float] = RISK_THRESHOLDS) -> np.ndarray:
    """Low / Medium / High / Critical for each probability: p >= thresholds[i] moves one level up."""
    p = np.asarray(probability, dtype="float64")
    idx = np.searchsorted(np.asarray(thresholds), p, side="right")
    return np.asarray(RISK_LEVELS, dtype="<U8")[idx]


class ChurnModel(BaseEstimator):
    """Calibrated gradient-boosted P(churn) with per-customer tree contributions.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves : LightGBM parameters. Small trees: on customer data
        (thousands of rows, strongly correlated RFM features) shallow boosting ranks better out of time.
    min_child_samples : int or "auto"
        "auto" = n_rows // 50, between 5 and 100.
    calibration : {"auto", "isotonic", "sigmoid", "none"}
        "sigmoid" (Platt, the default) is strictly monotone, so calibrating never changes the ranking
        (ROC-AUC, PR-AUC); isotonic's steps tie customers. "auto" is isotonic with at least
        ``isotonic_min_samples`` calibration rows, sigmoid below.
    prior : str or None
        Name of a probability column of X (e.g. BG/NBD's P(no purchase)) the booster starts from: its
        log-odds are the initial score and the trees learn corrections to it.
    early_stopping_rounds : int or None
        With a calibration slice, stop adding trees when its log-loss has not improved for this many
        rounds (``n_estimators`` is then a maximum; possibly few trees survive on top of a good prior).
    isotonic_min_samples : int
    random_state : int or None

    Attributes
    ----------
    booster_ : lightgbm.LGBMClassifier
    calibrator_ : fitted calibrator or None
    calibration_method_ : str
    feature_names_ : list of str
    feature_importance_ : dict[str, float]
        Share of total split gain per feature (sums to 1).
    holdout_metrics_ : dict
        On the calibration slice: ``calibrated`` (two-fold cross-fitted) and ``uncalibrated`` metrics.
    validation_proba_ : ndarray
        The two-fold cross-fitted calibrated probabilities of the calibration slice (what ``calibrated`` scores).
    """

    def __init__(self, *, n_estimators: int = 150, learning_rate: float = 0.05, num_leaves: int = 3,
                 min_child_samples: int | str = "auto", calibration: str = "sigmoid", isotonic_min_samples: int = 1000,
                 prior: str | None = None, early_stopping_rounds: int | None = 30, random_state: int | None = None):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.calibration = calibration
        self.isotonic_min_samples = isotonic_min_samples
        self.prior = prior
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y, *, X_cal: pd.DataFrame | None = None, y_cal=None) -> ChurnModel:
        """Fit the booster on (X, y) and, when given, the calibrator on the later slice (X_cal, y_cal).

        Parameters
        ----------
        X : DataFrame of features; y : array-like of {0, 1} (1 = churned: no purchase in the horizon).
        X_cal, y_cal : the held-out later time slice.
        """
        y = _check_binary(y, "y")
        if len(X) != y.size:
            raise ValueError(f"X has {len(X)} rows but y has {y.size}")
        if self.calibration not in ("auto", "isotonic", "sigmoid", "none"):
            raise ValueError(f"calibration={self.calibration!r}: use auto, isotonic, sigmoid or none")
        if self.prior is not None and self.prior not in X.columns:
            raise ValueError(f"prior column {self.prior!r} is not in X")
        self.feature_names_ = [str(c) for c in X.columns]
        fit_kw: dict[str, Any] = {"init_score": self._prior_logit(X)}
        if X_cal is not None and self.early_stopping_rounds:
            fit_kw.update(eval_X=X_cal[self.feature_names_], eval_y=_check_binary(y_cal, "y_cal", allow_single=True),
                          eval_init_score=[self._prior_logit(X_cal)],
                          callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)])
        self.booster_ = lgb.LGBMClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
            min_child_samples=_min_child(self.min_child_samples, y.size), subsample=0.8, subsample_freq=1,
            colsample_bytree=0.8, reg_lambda=1.0, random_state=self.random_state, n_jobs=1, deterministic=True,
            force_row_wise=True, verbose=-1,
        ).fit(X, y, **fit_kw)
        self.n_trees_ = int(self.booster_.booster_.current_iteration()) if not self.booster_.best_iteration_ \
            else int(self.booster_.best_iteration_)
        self.prior_mean_logit_ = 0.0 if self.prior is None else float(np.mean(self._prior_logit(X)))
        gain = self.booster_.booster_.feature_importance(importance_type="gain", iteration=self.n_trees_)
        total = float(gain.sum()) or 1.0
        self.feature_importance_ = {n: float(g) / total for n, g in zip(self.feature_names_, gain, strict=True)}
        self.calibrator_ = None
        self.calibration_method_ = "none"
        self.holdout_metrics_: dict[str, Any] = {}
        if X_cal is not None and self.calibration != "none":
            y_cal = _check_binary(y_cal, "y_cal", allow_single=True)
            raw = self.predict_raw(X_cal)
            method = self.calibration
            if method == "auto":
                method = "isotonic" if y_cal.size >= self.isotonic_min_samples else "sigmoid"
            self.calibration_method_ = method
            self.calibrator_ = _fit_calibrator(method, raw, y_cal)
            self.validation_proba_ = _cross_fit(method, raw, y_cal, self.random_state)
            self.holdout_metrics_ = {
                "uncalibrated": classification_metrics(y_cal, raw),
                "calibrated": classification_metrics(y_cal, self.validation_proba_),
                "calibration": method,
            }
        return self

    def predict_raw(self, X: pd.DataFrame) -> np.ndarray:
        """The booster's uncalibrated P(churn) (prior log-odds + trees)."""
        check_is_fitted(self)
        margin = self.booster_.predict(X[self.feature_names_], raw_score=True, num_iteration=self.n_trees_)
        prior = self._prior_logit(X)
        return 1.0 / (1.0 + np.exp(-(margin + (0.0 if prior is None else prior))))

    def _prior_logit(self, X: pd.DataFrame) -> np.ndarray | None:
        if self.prior is None:
            return None
        return _logit(np.nan_to_num(X[self.prior].to_numpy(dtype="float64"), nan=0.5))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated P(churn), shape (n,)."""
        raw = self.predict_raw(X)
        return raw if self.calibrator_ is None else _apply_calibrator(self.calibrator_, raw)

    def contributions(self, X: pd.DataFrame) -> np.ndarray:
        """Per-feature log-odds contributions (before calibration), shape (n, n_features): LightGBM's
        pred_contrib, plus, with a prior, the prior's log-odds centred on its training mean in the prior's
        column (so the prior is named when it drives a customer's risk). The bias column is dropped."""
        check_is_fitted(self)
        contrib = np.asarray(self.booster_.predict(X[self.feature_names_], pred_contrib=True,
                                                   num_iteration=self.n_trees_))[:, :-1]
        if self.prior is not None:
            contrib[:, self.feature_names_.index(self.prior)] += self._prior_logit(X) - self.prior_mean_logit_
        return contrib

    def top_factors(self, X: pd.DataFrame, n: int = 3, direction: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` features with the largest contribution per customer, in the customer's ``direction``.

        Parameters
        ----------
        X : features of the customers, as for :meth:`predict_proba`
        n : factors per customer
        direction : optional int array of shape (n_customers,): +1 ranks the features that raise the churn
            risk first (what explains a high risk), -1 those that lower it (what explains a low one), 0 by
            absolute size. Features pushing the other way come after all those in the direction.

        Returns
        -------
        names : ``<U`` array (n_customers, n), "" where a contribution is exactly 0
        contributions : signed log-odds (positive = pushes the risk up), same shape. Ties go to the earlier
            feature.
        """
        contrib = self.contributions(X)
        d = np.zeros(contrib.shape[0]) if direction is None else np.asarray(direction, dtype="float64")
        if d.shape != (contrib.shape[0],):
            raise ValueError(f"direction must have one entry per customer, got shape {d.shape}")
        aligned = contrib * np.where(d == 0, 1.0, d)[:, None]
        # in the customer's direction first (largest first), then the rest by absolute size
        key = np.where(d[:, None] == 0, -np.abs(contrib), np.where(aligned > 0, -aligned, 1e9 - np.abs(contrib)))
        order = np.argsort(key, axis=1, kind="stable")[:, :n]
        values = np.take_along_axis(contrib, order, axis=1)
        names = np.asarray(self.feature_names_, dtype=str)[order]
        names = np.where(values == 0.0, "", names)
        return names, values


def _min_child(value: int | str, n: int) -> int:
    if value == "auto":
        return int(min(100, max(5, n // 50)))
    return int(value)


def _check_binary(y, name: str, *, allow_single: bool = False) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array")
    values = set(np.unique(arr).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"{name} must hold 0/1 labels, got {sorted(values)[:5]}")
    if len(values) < 2 and not allow_single:
        raise ValueError(f"{name} holds a single class ({values.pop()}); a classifier needs both")
    return arr.astype("int64")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _fit_calibrator(method: str, raw: np.ndarray, y: np.ndarray):
    if len(np.unique(y)) < 2:  # nothing to learn: a constant at the observed rate
        return ("constant", float(y.mean()))
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    return LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), y)


def _apply_calibrator(cal, raw: np.ndarray) -> np.ndarray:
    if isinstance(cal, tuple):
        return np.full(raw.shape, cal[1])
    if isinstance(cal, IsotonicRegression):
        return np.clip(cal.predict(raw), 0.0, 1.0)
    return cal.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]


def _cross_fit(method: str, raw: np.ndarray, y: np.ndarray, random_state: int | None) -> np.ndarray:
    """Out-of-fold calibrated probabilities: two seeded folds, each calibrated on the other."""
    rng = np.random.default_rng(0 if random_state is None else random_state)
    fold = rng.permutation(y.size) % 2
    out = np.empty(y.size, dtype="float64")
    for f in (0, 1):
        train, test = fold != f, fold == f
        if not test.any():
            continue
        out[test] = _apply_calibrator(_fit_calibrator(method, raw[train], y[train]), raw[test])
    return out
