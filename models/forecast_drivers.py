"""What moves a product's forecast, in groups a shop owner can name (recent sales, day of week, time of year,
price...): the boosted model's per-row contributions, summed by group and averaged over the horizon."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from models.forecast import DemandForecaster
from models.forecast_boosters import contributions, predict_booster
from models.forecast_features import FEATURES, Panel, make_rows

__all__ = ["DRIVER_GROUPS", "forecast_drivers"]

# The forecast's drivers as a shop owner names them: feature groups whose contributions add up.
DRIVER_GROUPS: dict[str, tuple[str, ...]] = {
    "recent_sales": ("lag_1", "lag_7", "lag_14", "lag_28", "same_dow_last", "same_dow_mean_4", "roll_mean_7",
                     "roll_mean_28", "roll_mean_91", "roll_std_7", "roll_std_28", "roll_std_91", "nonzero_frac_28",
                     "nonzero_frac_91", "days_since_sale"),
    "product_history": ("age_days", "log_scale", "history_mean_ratio"),
    "day_of_week": ("dow", "dow_sin", "dow_cos"),
    "time_of_year": ("doy", "month", "day_of_month", "doy_sin", "doy_cos", "month_sin", "month_cos"),
    "price": ("price", "price_ratio_ref", "planned_change", "price_change_recent", "log_ref_price"),
    "days_ahead": ("horizon",),
}


def forecast_drivers(model: DemandForecaster, panel: Panel, rows: np.ndarray, n: int = 3
                     ) -> tuple[np.ndarray, np.ndarray]:
    """What moves each product's forecast: the ``n`` feature groups (:data:`DRIVER_GROUPS`) with the largest
    mean effect over the horizon, in units a day (positive raises the forecast above the model's baseline).

    Returns group names (``<U``, shape (len(rows), n)) and effects (float, same shape).
    """
    check_is_fitted(model, "booster_")
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size == 0:
        return np.zeros((0, n), dtype="<U1"), np.zeros((0, n))
    H, origin = model.horizon_days, panel.n_days
    ii, kk = np.repeat(rows, H), np.tile(np.arange(H, dtype=np.int64), rows.size)
    X, _, s = make_rows(panel, ii, np.full(ii.shape, origin, dtype=np.int64), kk, with_target=False,
                        realized_price=False, yearly=model.yearly_)
    contrib = contributions(model.backend, model.booster_, X)
    names = list(DRIVER_GROUPS)
    grouped = np.column_stack([contrib[:, [FEATURES.index(f) for f in DRIVER_GROUPS[g] if f in FEATURES]]
                               .sum(axis=1) for g in names])
    if model.objective == "tweedie":  # log link: a group's effect is the share of the point it multiplies in
        point = np.maximum(predict_booster(model.backend, model.booster_, X) * s, 0.0)
        effect = point[:, None] * (1.0 - np.exp(-grouped))
    else:
        effect = grouped * s[:, None]
    mean = effect.reshape(rows.size, H, len(names)).mean(axis=1)
    order = np.argsort(-np.abs(mean), axis=1, kind="stable")[:, :n]
    return np.asarray(names, dtype=str)[order], np.take_along_axis(mean, order, axis=1)
