"""What the product answers read from the stored elasticity and grain, and the pricing model's errors as API errors.

The elasticity table (insights/snapshot/schema.py) holds pooled estimates: ``answer_status`` is "answered",
"flagged_positive" (demand seems to rise with price: never priced on) or "refused" (the price never changed).
A snapshot written before those columns is read with the old meaning (status "ok", a negative coefficient).
numpy only: the request path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import numpy as np

from insights.api.jsonable import json_number
from insights.errors import InvalidRequest, PriceOutsideSupport
from insights.snapshot.reader import ColumnTable
from models.pricing import PriceOutOfSupport, PricingError

__all__ = ["StoredElasticity", "stored_elasticity", "elasticity_fields", "pricing_call", "grain_fields",
           "trading_days"]

T = TypeVar("T")
ALL_WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class StoredElasticity:
    coefficient: float
    interval: tuple[float, float]
    price_min: float
    price_max: float
    usable: bool
    answer_status: str
    reason: str


def _value(table: ColumnTable, name: str, row: int, default: Any) -> Any:
    return table[name][row] if name in table else default


def stored_elasticity(table: ColumnTable, row: int) -> StoredElasticity:
    """The row's estimate as the optimizer takes it; a flagged (positive) estimate is never usable for pricing."""
    coef = float(table["elasticity_coefficient"][row])
    lo, hi = float(table["ci_lower"][row]), float(table["ci_upper"][row])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        lo = hi = coef
    status = str(table["status"][row])
    legacy = "refused" if status == "refused" else ("flagged_positive" if coef >= 0 else "answered")
    answer = str(_value(table, "answer_status", row, legacy)) or legacy
    usable = bool(int(_value(table, "usable_for_pricing", row, 1))) and answer == "answered" and coef < 0
    return StoredElasticity(coef, (lo, hi), float(table["price_min"][row]), float(table["price_max"][row]), usable,
                            answer, str(table["reason"][row]))


def _toward(source: str) -> str:
    if source.startswith("category:"):
        return f"category {source.split(':', 1)[1]!r}"
    return {"population": "all of the shop's products", "default": "published price studies (a default prior)"}.get(
        source, "similar products")


def elasticity_fields(table: ColumnTable, row: int) -> dict[str, Any]:
    """The pooled estimate's own fields: status, pooling in words, own fit, grain, convergence."""
    el = stored_elasticity(table, row)
    weight = json_number(_value(table, "shrinkage_weight", row, np.nan), 3)
    pooled = bool(int(_value(table, "pooled", row, 0)))
    source = str(_value(table, "pooled_toward", row, ""))
    fit_status = str(_value(table, "fit_status", row, "converged" if el.answer_status != "refused" else ""))
    converged = bool(int(_value(table, "converged", row, 1 if fit_status == "converged" else 0)))
    if not source:
        note = "The product's own sales data alone."
    elif not converged or not weight:
        note = (f"Pooled: the product's own fit gave no usable estimate ({fit_status.replace('_', ' ')}), so this is "
                f"the typical elasticity of {_toward(source)}, with that group's wide interval.")
    elif pooled:
        note = (f"Pooled: the product's own sales say little about price, so they carry {weight:.0%} of this estimate "
                f"and the typical elasticity of {_toward(source)} the rest; the interval is wider than for a product "
                "measured on its own data, and honest about that.")
    else:
        note = (f"Mostly the product's own sales ({weight:.0%} of the estimate), shrunk toward the typical "
                f"elasticity of {_toward(source)} (the other {1 - weight:.0%}).")
    grain = str(_value(table, "grain", row, "")) or "daily"
    return {
        "status": el.answer_status,
        "usable_for_pricing": el.usable,
        "pooled": pooled,
        "own_data_weight": weight,
        "pooled_toward": source or None,
        "pooling_note": note,
        "own_estimate": {"coefficient": json_number(_value(table, "own_elasticity", row, np.nan), 4),
                         "standard_error": json_number(_value(table, "own_standard_error", row, np.nan), 4)},
        "converged": converged,
        "fit_status": fit_status or None,
        "grain": grain,
        "period_days": int(_value(table, "period_days", row, 1)) or 1,
        "reason": el.reason or None,
    }


def pricing_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a models.pricing function; its errors become documented API errors (422)."""
    try:
        return fn(*args, **kwargs)
    except PriceOutOfSupport as exc:
        raise PriceOutsideSupport(str(exc), **exc.details) from exc
    except PricingError as exc:
        raise InvalidRequest(str(exc), reason=exc.code, **exc.details) from exc


def grain_fields(table: ColumnTable, row: int) -> dict[str, Any]:
    """The product's selling grain, trading weekdays and what they did to the forecast."""
    text = str(_value(table, "trading_weekdays", row, ""))
    days = [int(w) for w in text.split(",") if w.strip()] or list(ALL_WEEKDAYS)
    grain = str(_value(table, "grain", row, "")) or "daily"
    return {"grain": grain, "trading_weekdays": days,
            "grain_note": str(_value(table, "grain_note", row, "")) or _GRAIN_NOTES.get(grain, "")}


# what a grain means for the forecast when no trading-day rule changed it (the refresh stores a note only then)
_GRAIN_NOTES = {
    "daily": "sells most days, on any day of the week: the forecast is day by day",
    "irregular": "sells on some days and not others: each day's figure is the expected units, so single days "
                 "often sell none or more than forecast, while totals over a week or more are reliable",
    "weekly": "sells once a week: each week's units are forecast on its selling day",
}


def trading_days(weekdays: list[int], start: date | None, n: int) -> list[bool]:
    """Whether each of the ``n`` days from ``start`` is one the product trades on (all True without a start)."""
    if start is None:
        return [True] * n
    return [(start + timedelta(days=d)).weekday() in weekdays for d in range(n)]
