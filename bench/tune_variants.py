"""The variants bench/tune_customers.py compares (edited between runs; the numbers are in docs/customer-models.md)."""

from __future__ import annotations

from models.churn import ChurnModel
from models.clv import CLVRegressor

NEW = ("first_order_value", "first_order_lines", "last_order_value", "max_order_value", "gap_cv", "order_trend",
       "first_basket_share", "last_basket_ratio", "gg_expected_value", "bg_gg_expected_spend")


class Drop:
    """A model fitted without some columns (ablation)."""

    def __init__(self, model, drop):
        self.model, self.drop = model, tuple(drop)

    def _x(self, X):
        return X.drop(columns=[c for c in self.drop if c in X.columns])

    def fit(self, X, y, **kw):
        kw = {k: (self._x(v) if k in ("X_cal", "X_val") else v) for k, v in kw.items()}
        self.model.fit(self._x(X), y, **kw)
        self.holdout_metrics_ = getattr(self.model, "holdout_metrics_", None)
        self.validation_metrics_ = getattr(self.model, "validation_metrics_", None)
        return self

    def predict_proba(self, X):
        return self.model.predict_proba(self._x(X))

    def predict(self, X):
        return self.model.predict(self._x(X))


CHURN = {
    "plain 3 leaves (prod)": lambda: ChurnModel(random_state=0),
    "plain 7 leaves 300 trees": lambda: ChurnModel(num_leaves=7, n_estimators=300, random_state=0),
    "plain 15 leaves 400 trees lr .03": lambda: ChurnModel(num_leaves=15, n_estimators=400, learning_rate=0.03,
                                                           random_state=0),
    "prior 7 leaves 300 trees": lambda: ChurnModel(prior="bg_p_no_purchase", num_leaves=7, n_estimators=300,
                                                   random_state=0),
}

CLV = {"lightgbm_tweedie": lambda: CLVRegressor(estimator="lightgbm_tweedie", blend_column="bg_expected_spend",
                                                random_state=0),
       "hurdle_lognormal": lambda: CLVRegressor(estimator="hurdle_lognormal", blend_column="bg_expected_spend",
                                                random_state=0)}
