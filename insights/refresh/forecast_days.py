"""A product's forecast after the model: zero on weekdays it never trades on; the words for a fallback.

Used by insights/refresh/products.py when it writes the ``forecast`` table.
"""

from __future__ import annotations

import numpy as np

from insights.refresh.pricing import forecast_grain
from models.forecast import DemandForecaster

__all__ = ["on_trading_days", "fallback_note"]


def fallback_note(forecaster: DemandForecaster | None, sale_days: int, history_days: int) -> str:
    """Why the demand model did not answer for a product, and what did (the TSB rate)."""
    rate = "its average selling rate and how often it sells (TSB method)"
    if forecaster is None:
        return f"the demand model could not be trained on this lake, so the forecast is {rate}"
    if history_days < forecaster.min_history_days:
        return (f"on sale for {history_days} days, fewer than the {forecaster.min_history_days} the demand model "
                f"needs, so the forecast is {rate}")
    return (f"sold on {sale_days} days in the last year, fewer than the {forecaster.min_sale_days} the demand model "
            f"needs, so the forecast is {rate}")


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def on_trading_days(sales, panel, as_of, arrays, whatif) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero forecast (and intervals) on weekdays a product never trades on, in place; its mass moves to the trading
    days (scaled by at most 7 / trading weekdays, keeping the horizon's units). ``arrays``: the point forecast
    first, then the interval ends. Returns grain, weekdays, note."""
    pred = arrays[0]
    horizon = pred.shape[1]
    grain, weekdays, mask, cap = forecast_grain(sales, panel.product_ids, as_of, horizon)
    note = np.full(grain.size, "", dtype=object)
    for i in np.flatnonzero(np.isfinite(pred).all(axis=1) & ~mask.all(axis=1)):
        inside = float(np.sum(pred[i] * mask[i]))
        scale = min(float(np.sum(pred[i])) / inside, float(cap[i])) if inside > 0 else 1.0
        for arr in arrays:
            arr[i] = np.where(mask[i], arr[i] * scale, 0.0)
        whatif[i] = np.where(mask[i][None, :], whatif[i] * scale, 0.0)
        open_days = [_DAY_NAMES[int(w)] for w in weekdays[i].split(",") if w]
        if grain[i] == "weekly":
            note[i] = (f"sold weekly, on {open_days[0]}s: each week's units are forecast on its {open_days[0]}; "
                       "other days are 0 with a zero-width interval")
        else:
            closed = [d for d in _DAY_NAMES if d not in open_days]
            note[i] = (f"never sold on {', '.join(closed)}: those days are forecast 0 with a zero-width interval "
                       "and their units are on the trading days")
    return grain, weekdays, note.astype(str)
