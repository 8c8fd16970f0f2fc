"""Product insights answered from the snapshot: forecast (with a planned-price what-if), elasticity, price optimization.

Columns and documents: docs/snapshot.md. numpy only (models.pricing is numpy-only too): the API's request path.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np

from insights.api.jsonable import json_number
from insights.api.pricing_answers import (
    elasticity_fields,
    grain_fields,
    pricing_call,
    stored_elasticity,
    trading_days,
)
from insights.api.reasons import describe_driver
from insights.errors import InsufficientData, InvalidRequest, NotFound
from insights.snapshot.reader import ColumnTable, Snapshot
from models.pricing import optimize_price, what_if_quantity, whatif_forecast

__all__ = ["forecast", "price_elasticity", "price_optimization", "MAX_FORECAST_DAYS"]

MAX_FORECAST_DAYS = 90


def forecast(snapshot: Snapshot, *, product_id: str, forecast_days: int,
             planned_price: float | None = None, range_margin: float = 0.1) -> dict[str, Any]:
    """The stored daily forecast for the next ``forecast_days`` days, optionally under a planned price."""
    if not 1 <= forecast_days <= MAX_FORECAST_DAYS:
        raise InvalidRequest(f"forecast_days must be between 1 and {MAX_FORECAST_DAYS}, got {forecast_days}")
    if planned_price is not None and not planned_price > 0:
        raise InvalidRequest(f"planned_price must be > 0, got {planned_price}")
    table = snapshot.table("forecast")
    row = _row(table, product_id)
    status = str(table["status"][row])
    if status == "insufficient_history":
        raise InsufficientData(f"product {product_id!r} has too little sales history to forecast",
                               missing="sales_history", product_id=product_id)
    horizon = int(table["predicted_quantity"].shape[1])
    if forecast_days > horizon:
        raise InsufficientData(f"this snapshot stores {horizon} forecast days, {forecast_days} were asked",
                               missing="forecast_days", required=forecast_days, available=horizon)
    qty = np.asarray(table["predicted_quantity"][row, :forecast_days], dtype=np.float64)
    lower = np.asarray(table["confidence_lower"][row, :forecast_days], dtype=np.float64)
    upper = np.asarray(table["confidence_upper"][row, :forecast_days], dtype=np.float64)
    # the wide (95%) band; a snapshot written before it existed has no such columns: null
    wide = [np.asarray(table[c][row, :forecast_days], dtype=np.float64) if c in table
            else np.full(forecast_days, np.nan) for c in ("confidence_lower_wide", "confidence_upper_wide")]
    meta = snapshot.optional_doc("forecast_meta")
    what_if = None
    if planned_price is not None:
        new, what_if = _apply_planned_price(snapshot, table, row, product_id, planned_price, qty, range_margin)
        shift, qty = new - qty, new  # the intervals keep their calibrated widths around the new point
        lower, upper = np.maximum(lower + shift, 0.0), upper + shift
        wide = [np.maximum(wide[0] + shift, 0.0), wide[1] + shift]
    start = date.fromisoformat(snapshot.as_of) if snapshot.as_of else None
    dates = [(start + timedelta(days=d)).isoformat() if start else None for d in range(forecast_days)]
    grain = grain_fields(table, row)
    trading = trading_days(grain["trading_weekdays"], start, forecast_days)
    wlo, whi = ([json_number(v, 3) for v in w] for w in wide)
    points = [
        {"date": day, "predicted_quantity": q, "confidence_lower": lo, "confidence_upper": hi,
         "confidence_lower_wide": wl, "confidence_upper_wide": wh, "trading_day": t}
        for day, q, lo, hi, wl, wh, t in zip(dates, np.round(qty, 3).tolist(), np.round(lower, 3).tolist(),
                                             np.round(upper, 3).tolist(), wlo, whi, trading, strict=True)
    ]
    out: dict[str, Any] = {
        "product_id": product_id,
        "forecast": points,
        "drivers": _drivers(table, row, forecast_days),
        "method_note": _method_note(table, row, meta),
        "forecast_days": forecast_days,
        "total_predicted_quantity": round(float(qty.sum()), 3),
        "interval_level": meta.get("level"),
        "wide_interval_level": meta.get("wide_level") if "confidence_lower_wide" in table else None,
        "method": str(table["method"][row]),
        "status": status,
        "model": meta.get("model"),
        **grain,
        "currency": snapshot.currency,
        "as_of": snapshot.as_of,
    }
    if what_if is not None:
        out["what_if"] = what_if
    return out


def _method_note(table: ColumnTable, row: int, meta: dict[str, Any]) -> str:
    """Which method answered, in words (the refresh stores why for a fallback; the model's is said here)."""
    note = str(table["method_note"][row]) if "method_note" in table else ""
    if note or str(table["method"][row]) != "model":
        return note
    return (f"the demand model ({meta.get('model') or 'gradient boosting'}) trained on every product's daily sales "
            "learns from this product's recent sales, the time of year, the day of the week and its price")


def price_elasticity(snapshot: Snapshot, *, product_id: str) -> dict[str, Any]:
    """The stored pooled elasticity of ``product_id``: its interval, grain, pooling and whether to price on it."""
    table = snapshot.table("elasticity")
    row = _row(table, product_id)
    _require_elasticity(table, row, product_id)
    return {
        "product_id": product_id,
        "elasticity_coefficient": json_number(table["elasticity_coefficient"][row], 4),
        "standard_error": json_number(table["standard_error"][row], 4),
        "confidence_interval": {"lower": json_number(table["ci_lower"][row], 4),
                                "upper": json_number(table["ci_upper"][row], 4), "level": 0.95},
        "p_value": json_number(table["p_value"][row], 6),
        "r_squared": json_number(table["r_squared"][row], 4),
        "n_observations": int(table["n_observations"][row]),
        "elasticity_type": str(table["elasticity_type"][row]),
        "interpretation": str(table["interpretation"][row]),
        "price_range": {"min": json_number(table["price_min"][row], 4), "max": json_number(table["price_max"][row], 4),
                        "mean": json_number(table["price_mean"][row], 4)},
        **elasticity_fields(table, row),
        "currency": snapshot.currency,
        "as_of": snapshot.as_of,
    }


def price_optimization(snapshot: Snapshot, *, product_id: str, current_price: float | None,
                       current_quantity: float | None, cost_per_unit: float | None, max_change: float,
                       range_margin: float) -> dict[str, Any]:
    """The guarded profit-maximizing price (revenue without a cost); a flagged elasticity gives "hold". An omitted
    current price is the product's last observed one, an omitted quantity its mean daily units over 28 days."""
    table = snapshot.table("elasticity")
    row = _row(table, product_id)
    _require_elasticity(table, row, product_id)
    el = stored_elasticity(table, row)
    inputs = _current_point(snapshot, table, row, product_id, current_price, current_quantity)
    current_price, current_quantity = inputs["current_price"], inputs["current_quantity"]
    result = pricing_call(
        optimize_price,
        current_price=float(current_price),
        current_quantity=float(current_quantity),
        cost_per_unit=None if cost_per_unit is None else float(cost_per_unit),
        elasticity=el.coefficient,
        elasticity_ci=el.interval,
        price_min=el.price_min,
        price_max=el.price_max,
        max_change=float(max_change),
        range_margin=float(range_margin),
        usable_for_pricing=el.usable,
    )
    return {"product_id": product_id, **result.to_dict(), "inputs": inputs, "elasticity_status": el.answer_status,
            "currency": snapshot.currency, "as_of": snapshot.as_of}


def _current_point(snapshot: Snapshot, table: ColumnTable, row: int, product_id: str, price: float | None,
                   quantity: float | None) -> dict[str, Any]:
    """The current price and quantity the optimizer starts from: as given, else from the snapshot, each sourced."""
    out: dict[str, Any] = {"current_price": price, "current_price_source": "given",
                           "current_quantity": quantity, "current_quantity_source": "given"}
    if price is None:
        forecast = snapshot.table("forecast")
        frow = int(forecast.positions([product_id])[0])
        last = float(forecast["last_price"][frow]) if frow >= 0 else math.nan
        if not (math.isfinite(last) and last > 0):
            raise InvalidRequest(f"no last observed price is stored for product {product_id!r}: send current_price",
                                 reason="current_price_required", product_id=product_id)
        out.update(current_price=round(last, 4), current_price_source="the last observed unit price")
    if quantity is None:
        recent = float(table["reference_quantity"][row]) if "reference_quantity" in table else math.nan
        if not (math.isfinite(recent) and recent > 0):
            raise InvalidRequest(f"product {product_id!r} sold nothing in its last 28 days, so there is no current "
                                 "quantity to start from: send current_quantity (units per period)",
                                 reason="current_quantity_required", product_id=product_id)
        out.update(current_quantity=round(recent, 4),
                   current_quantity_source="mean daily units over the last 28 days (so quantity, revenue and "
                                           "profit are per day)")
    return out


def _apply_planned_price(snapshot: Snapshot, forecast_table: ColumnTable, row: int, product_id: str,
                         planned_price: float, qty: np.ndarray, range_margin: float
                         ) -> tuple[np.ndarray, dict[str, Any]]:
    """The point forecast under a planned price: the model's own what-if grid when stored (interpolated in log
    price), else the product's constant-elasticity response; and how it was moved."""
    days = qty.shape[0]
    multipliers = snapshot.optional_doc("forecast_meta").get("whatif_price_multipliers")
    last_price = float(forecast_table["last_price"][row])
    grid = np.asarray(forecast_table["whatif_quantity"][row], dtype=np.float64) \
        if "whatif_quantity" in forecast_table else None
    if grid is not None and multipliers and np.isfinite(grid).all() and np.isfinite(last_price) and last_price > 0:
        full = np.asarray(forecast_table["predicted_quantity"][row], dtype=np.float64)
        point, used = whatif_forecast(full, grid, multipliers, last_price=last_price, planned_price=planned_price)
        new = point[:days]
        info = {"planned_price": planned_price, "base_price": round(last_price, 4), "method": "model_price_grid",
                "price_multiplier": round(used, 6),
                "clipped_to_grid": not np.isclose(used, planned_price / last_price)}
    else:
        el = snapshot.table("elasticity")
        erow = int(el.positions([product_id])[0])
        stored = None if erow < 0 else stored_elasticity(el, erow)
        if stored is None or not stored.usable:
            reason = "" if stored is None else stored.reason
            raise InsufficientData(f"no usable price elasticity for product {product_id!r}, so a planned price "
                                   f"cannot be applied" + (f": {reason}" if reason else ""),
                                   missing="price_elasticity", product_id=product_id)
        # a model forecast assumes the last price continues; a fallback rate reflects the average (reference) price
        base_price = last_price if str(forecast_table["status"][row]) == "ok" else \
            float(forecast_table["reference_price"][row])
        if not np.isfinite(base_price) or base_price <= 0:
            base_price = float(el["price_mean"][erow])
        elasticity = stored.coefficient
        new = pricing_call(what_if_quantity, qty, base_price=base_price, planned_price=planned_price,
                           elasticity=elasticity, price_range=(stored.price_min, stored.price_max),
                           range_margin=range_margin)
        info = {"planned_price": planned_price, "base_price": round(base_price, 4), "method": "constant_elasticity",
                "elasticity": round(elasticity, 4)}
    return new, info


def _drivers(table: ColumnTable, row: int, horizon_days: int) -> list[dict[str, Any]]:
    """The product's own forecast drivers in words (empty for a fallback forecast: its method_note says why)."""
    out = []
    for j in (1, 2, 3):
        if f"driver_{j}" not in table:
            break
        name, effect = str(table[f"driver_{j}"][row]), float(table[f"driver_effect_{j}"][row])
        if name and effect != 0:
            out.append(describe_driver(name, effect, horizon_days))
    return out


def _row(table: ColumnTable, product_id: str) -> int:
    row = int(table.positions([product_id])[0])
    if row < 0:
        raise NotFound(f"product {product_id!r} is not in the current snapshot", product_id=product_id)
    return row


def _require_elasticity(table: ColumnTable, row: int, product_id: str) -> None:
    """Refused (the price never changed) is the only estimate without an answer."""
    if str(table["status"][row]) == "refused" or not np.isfinite(float(table["elasticity_coefficient"][row])):
        reason = str(table["reason"][row]) or "the estimate was refused"
        raise InsufficientData(f"no reliable price elasticity for product {product_id!r}: {reason}",
                               missing="price_variation_or_observations", product_id=product_id, reason=reason,
                               n_observations=int(table["n_observations"][row]))



