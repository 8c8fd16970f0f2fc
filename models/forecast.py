"""One global gradient-boosted demand model across products, direct multi-horizon, with conformal intervals.

The strategy is *direct* (horizon as a feature), not recursive: a row is (product, origin o, horizon k) with
features computed from days strictly before o and calendar/price features of the target day o + k, so one
model forecasts days 0..H-1 without feeding its own predictions back (no compounding error, and the interval
width can be calibrated per horizon). Quantity features and the target are divided by the product's recent
level (``scale``: mean units per day over the 56 days before the origin) so one model serves products that sell
1 or 1,000 units a day; predictions are multiplied back and clipped at zero.

Intervals are split-conformal: the model is first fitted on targets before a validation window, stopped early
on it, and the scaled residuals on that window give quantiles per horizon bucket and volume quartile (Mondrian);
the final model is refitted on all data with the early-stopped number of trees and reuses those quantiles.
Methods and measurements: docs/product-models.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from models.cadence import weekday
from models.conformal import (
    HORIZON_BUCKETS,
    M5_QUANTILES,
    apply_quantiles,
    conformal_cells,
    conformal_table,
    quantile_table,
)
from models.forecast_boosters import OBJECTIVES, fit_booster, importance, predict_booster
from models.forecast_coverage import coverage_by_grain
from models.forecast_features import FEATURES, Panel, build_panel, make_rows
from models.forecast_rows import feature_summary, fit_metrics, training_rows, validation_rows

__all__ = ["DemandForecaster", "ForecastResult", "Panel", "build_panel", "FEATURES", "HORIZON_BUCKETS",
           "M5_QUANTILES"]


@dataclass(frozen=True)
class ForecastResult:
    """Forecasts for ``product_ids`` (rows) and days ``as_of + 0 .. H-1`` (columns); never negative."""

    product_ids: np.ndarray
    predicted: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    whatif: np.ndarray | None = None  # (n, len(multipliers), H): point forecasts under price x multiplier
    lower_wide: np.ndarray | None = None  # the wide_level interval (contains lower..upper); None without one
    upper_wide: np.ndarray | None = None


class DemandForecaster(BaseEstimator):
    """A global direct multi-horizon demand model (XGBoost or LightGBM) with conformal intervals.

    Parameters
    ----------
    horizon_days : int
        Days forecast from the origin (day 0 = the first day without data).
    level : float
        Nominal coverage of the interval (0.8 = 10th to 90th percentile).
    wide_level : float or None
        Nominal coverage of a second, wider interval (0.95), calibrated the same way; None: none.
    backend : {"xgboost", "lightgbm"}
    validation_days : int
        Length of the time-based validation window (early stopping and conformal calibration).
    min_history_days, min_sale_days : int
        Eligibility: days since the first sale and sale days in the last 365 days.
    origin_step : int
        Days between training origins.
    max_train_rows : int
        Training rows are sampled down to this many (fixed seed).
    objective : {"tweedie", "squared", "absolute", "huber"}
        The booster's loss on the scaled target; tweedie (log link, variance power 1.5) by default: on every
        product with 28 sale days it beat squared error on Online Retail and the synthetic lake (RESULTS.md).
    """

    def __init__(self, *, horizon_days: int = 90, level: float = 0.8, wide_level: float | None = 0.95,
                 backend: str = "xgboost",
                 validation_days: int = 28, min_history_days: int = 56, min_sale_days: int = 10,
                 origin_step: int = 7, max_train_rows: int = 200_000, n_estimators: int = 2000,
                 learning_rate: float = 0.05, max_depth: int = 6, early_stopping_rounds: int = 50,
                 objective: str = "tweedie", target_cap: float | None = 5.0, train_price: str = "realized",
                 yearly_min_days: int = 400, sampling: str = "volume", n_jobs: int = 2, random_state: int | None = 0):
        self.horizon_days = horizon_days
        self.level = level
        self.wide_level = wide_level
        self.backend = backend
        self.validation_days = validation_days
        self.min_history_days = min_history_days
        self.min_sale_days = min_sale_days
        self.origin_step = origin_step
        self.max_train_rows = max_train_rows
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.early_stopping_rounds = early_stopping_rounds
        self.objective = objective
        self.target_cap = target_cap
        self.train_price = train_price
        self.yearly_min_days = yearly_min_days
        self.sampling = sampling
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, panel: Panel, *, grain: np.ndarray | None = None,
            trading: np.ndarray | None = None) -> DemandForecaster:
        """Fit on every eligible product of ``panel`` (its days are the observed history).

        ``grain`` (per product) and ``trading`` (per product, 7 weekday flags) add ``validation_by_grain_``:
        the validation coverage by grain on each product's trading days (models/forecast_coverage.py).
        """
        self._validate_params()
        eligible = self.eligible(panel)
        if not eligible.any():
            raise ValueError(f"no product has {self.min_history_days} days of history and {self.min_sale_days} "
                             f"sale days: nothing to fit (panel of {panel.n_products} products, {panel.n_days} days)")
        rng = np.random.default_rng(self.random_state)
        end = panel.n_days
        val_start = end - self.validation_days
        train, train_w = training_rows(self, panel, eligible, target_end=val_start, rng=rng)
        val = validation_rows(self, panel, eligible, val_start, end, rng)
        if train[0].size == 0 or val[0].size == 0:
            raise ValueError(f"panel of {panel.n_days} days is too short for {self.min_history_days} days of history "
                             f"plus a {self.validation_days}-day validation window")
        realized = self.train_price == "realized"
        # the yearly features need more than one season to be learnable; decided once, at fit time
        self.yearly_ = bool(panel.n_days >= self.yearly_min_days)
        Xt, yt, st = make_rows(panel, *train, realized_price=realized, yearly=self.yearly_)
        Xv, yv, sv = make_rows(panel, *val, realized_price=False, yearly=self.yearly_)
        # one-off wholesale orders (e.g. 80,995 units in a day) would dominate the loss: cap the scaled target
        cap = np.inf if self.target_cap is None else self.target_cap
        yt_fit, yv_fit = np.minimum(yt, cap), np.minimum(yv, cap)
        booster, best_iter = fit_booster(self, Xt, yt_fit, st * train_w, Xv, yv_fit, sv, early_stopping=True)
        pred_v = predict_booster(self.backend, booster, Xv)
        self.best_iteration_ = int(best_iter)
        self.conformal_ = conformal_table(yv, pred_v, sv, val[2], self.level)
        self.conformal_wide_ = (None if self.wide_level is None
                                else conformal_table(yv, pred_v, sv, val[2], self.wide_level))
        self.quantiles_ = quantile_table(yv, pred_v, sv, val[2], M5_QUANTILES)
        lo_v, hi_v, wide_v = self._intervals(pred_v, sv, val[2])
        bands = {"": (lo_v, hi_v), **({} if wide_v is None else {"_wide": wide_v})}
        self.validation_metrics_ = fit_metrics(yv * sv, np.maximum(pred_v * sv, 0.0), bands)
        if grain is not None and trading is not None:
            day = np.datetime64(panel.start, "D") + (val[1] + val[2]).astype(np.int64)
            self.validation_by_grain_ = coverage_by_grain(yv * sv, lo_v, hi_v, val[0], weekday(day), grain, trading)
        full, full_w = training_rows(self, panel, eligible, target_end=end, rng=rng)
        Xf, yf, sf = make_rows(panel, *full, realized_price=realized, yearly=self.yearly_)
        self.booster_, _ = fit_booster(self, Xf, np.minimum(yf, cap), sf * full_w, None, None, None,
                                        early_stopping=False, n_estimators=self.best_iteration_ + 1)
        self.feature_names_ = list(FEATURES)
        self.feature_importance_ = importance(self.backend, self.booster_, self.feature_names_)
        self.feature_summary_ = feature_summary(Xf, self.feature_names_)
        self.n_train_rows_ = int(Xf.shape[0])
        self.n_products_fitted_ = int(eligible.sum())
        return self

    def eligible(self, panel: Panel) -> np.ndarray:
        """Boolean mask of products with enough history for the model (the rest need a fallback)."""
        end = panel.n_days
        age = end - panel.first_index
        recent = panel.quantity[:, max(0, end - 365):end]
        sale_days = np.sum(np.nan_to_num(recent) > 0, axis=1)
        return (age >= self.min_history_days) & (sale_days >= self.min_sale_days)

    # ------------------------------------------------------------------ predict
    def predict(self, panel: Panel, *, rows: np.ndarray | None = None,
                price_multipliers: tuple[float, ...] = ()) -> ForecastResult:
        """Forecast days ``panel.n_days + 0 .. H-1`` for ``rows`` of the panel (default: the eligible ones).

        The planned price is the last observed price; ``price_multipliers`` adds what-if point forecasts with
        the planned price multiplied by each factor (the other features unchanged).
        """
        check_is_fitted(self, "booster_")
        rows = np.flatnonzero(self.eligible(panel)) if rows is None else np.asarray(rows, dtype=np.int64)
        H, origin = self.horizon_days, panel.n_days
        ii = np.repeat(rows, H)
        oo = np.full(ii.shape, origin, dtype=np.int64)
        kk = np.tile(np.arange(H, dtype=np.int64), rows.size)
        X, _, s = make_rows(panel, ii, oo, kk, with_target=False, realized_price=False, yearly=self.yearly_)
        raw = predict_booster(self.backend, self.booster_, X)
        lo, hi, wide = self._intervals(raw, s, kk)
        point = np.maximum(raw * s, 0.0).reshape(rows.size, H)
        whatif = None
        if price_multipliers:
            whatif = np.empty((rows.size, len(price_multipliers), H))
            for j, m in enumerate(price_multipliers):
                Xm, _, _ = make_rows(panel, ii, oo, kk, with_target=False, realized_price=False,
                                     yearly=self.yearly_, price_multiplier=float(m))
                whatif[:, j, :] = np.maximum(predict_booster(self.backend, self.booster_, Xm) * s, 0.0
                                             ).reshape(rows.size, H)
        shaped = [None, None] if wide is None else [w.reshape(rows.size, H) for w in wide]
        return ForecastResult(panel.product_ids[rows], point, lo.reshape(rows.size, H), hi.reshape(rows.size, H),
                              whatif, *shaped)

    def predict_quantiles(self, panel: Panel, *, rows: np.ndarray | None = None,
                          probs: tuple[float, ...] | None = None) -> np.ndarray:
        """Predictive quantiles (n rows, len(probs), H) from the validation residuals; default: the M5 nine.

        Only the probabilities calibrated at fit time are available (``quantiles_["probs"]``).
        """
        check_is_fitted(self, "quantiles_")
        table = self.quantiles_
        probs = tuple(table["probs"]) if probs is None else tuple(float(p) for p in probs)
        missing = sorted(set(probs) - set(table["probs"]))
        if missing:
            raise ValueError(f"quantiles {missing} were not calibrated; available: {table['probs']}")
        rows = np.flatnonzero(self.eligible(panel)) if rows is None else np.asarray(rows, dtype=np.int64)
        H, ii = self.horizon_days, np.repeat(rows, self.horizon_days)
        kk = np.tile(np.arange(H, dtype=np.int64), rows.size)
        X, _, s = make_rows(panel, ii, np.full(ii.shape, panel.n_days, dtype=np.int64), kk, with_target=False,
                            realized_price=False, yearly=self.yearly_)
        q = apply_quantiles(table, predict_booster(self.backend, self.booster_, X), s, kk)
        pick = [table["probs"].index(p) for p in probs]
        return q[pick].reshape(len(probs), rows.size, H).transpose(1, 0, 2)

    def _intervals(self, raw: np.ndarray, scale: np.ndarray, k: np.ndarray):
        """The level interval and, with a wide level, the wide one widened to contain it (nested bands)."""
        lo, hi = self._bounds(raw, scale, k, self.conformal_)
        table = getattr(self, "conformal_wide_", None)
        if table is None:
            return lo, hi, None
        wlo, whi = self._bounds(raw, scale, k, table)
        return lo, hi, (np.minimum(wlo, lo), np.maximum(whi, hi))

    def _bounds(self, raw: np.ndarray, scale: np.ndarray, k: np.ndarray,
                table: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        b, v = conformal_cells(k, scale, table["scale_edges"])
        point = raw * scale
        lo = np.asarray(table["lower"])[b, v] * scale + point
        hi = np.asarray(table["upper"])[b, v] * scale + point
        point = np.maximum(point, 0.0)
        return np.clip(lo, 0.0, point), np.maximum(hi, point)

    def _validate_params(self) -> None:
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        if self.wide_level is not None and not self.level < self.wide_level < 1:
            raise ValueError(f"wide_level must be in (level, 1) or None, got {self.wide_level}")
        if self.backend not in ("xgboost", "lightgbm"):
            raise ValueError(f"backend must be 'xgboost' or 'lightgbm', got {self.backend!r}")
        if not 1 <= self.horizon_days <= HORIZON_BUCKETS[-1] - 1:
            raise ValueError(f"horizon_days must be in 1..{HORIZON_BUCKETS[-1] - 1}, got {self.horizon_days}")
        if self.validation_days < 7:
            raise ValueError(f"validation_days must be >= 7, got {self.validation_days}")
        if self.sampling not in ("volume", "uniform"):
            raise ValueError(f"sampling must be 'volume' or 'uniform', got {self.sampling!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {sorted(OBJECTIVES)}, got {self.objective!r}")
