"""Spend heads with the shape of spend over a window: a point mass at zero and a right-skewed positive part.

:class:`HurdleLognormal` is the zero-inflated lognormal (ZILN) of Wang, Liu and Miao (2019), "A deep probabilistic
model for customer lifetime value prediction", with gradient-boosted trees in place of the network: P(spend > 0)
from a classifier, E[spend | spend > 0] from a regression of log spend with Duan's (1983) smearing estimate of
the mean. Used by :class:`models.clv.CLVRegressor` as ``estimator="hurdle_lognormal"``.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

__all__ = ["HurdleLognormal"]


class HurdleLognormal:
    """P(y > 0) x E[y | y > 0]: a LightGBM classifier and a LightGBM regression of log y on the positives."""

    def __init__(self, n_estimators: int, random_state: int | None, n_jobs: int) -> None:
        self.kw = {"n_estimators": n_estimators, "learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 20,
                   "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0,
                   "random_state": random_state, "n_jobs": n_jobs, "deterministic": True, "force_row_wise": True,
                   "verbose": -1}

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> HurdleLognormal:
        buy = y > 0
        self.constant_p_ = float(buy.mean()) if buy.all() or not buy.any() else None
        if self.constant_p_ is None:
            self.classifier_ = lgb.LGBMClassifier(**self.kw).fit(X, buy.astype(int))
        self.regressor_ = lgb.LGBMRegressor(**self.kw).fit(X[buy], np.log(y[buy])) if buy.sum() >= 20 else None
        if self.regressor_ is not None:
            resid = np.log(y[buy]) - self.regressor_.predict(X[buy])
            self.smear_ = float(np.mean(np.exp(resid)))
        else:
            self.mean_positive_ = float(y[buy].mean()) if buy.any() else 0.0
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.constant_p_ is not None:
            p = np.full(len(X), self.constant_p_)
        else:
            p = self.classifier_.predict_proba(X)[:, 1]
        if self.regressor_ is None:
            return p * self.mean_positive_
        return p * np.exp(self.regressor_.predict(X)) * self.smear_
