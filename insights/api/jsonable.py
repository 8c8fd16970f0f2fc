"""Numbers and text of the snapshot made ready for a JSON answer (JSON has no NaN; numpy scalars are not JSON)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["json_number", "floats", "strs", "money"]


def json_number(value: Any, digits: int = 6) -> float | None:
    """A rounded float for a JSON answer; None for a missing or non-finite value."""
    if value is None:
        return None
    v = float(value)
    return None if not math.isfinite(v) else round(v, digits)


def money(value: Any) -> float | None:
    """An amount of money, to the cent."""
    return json_number(value, 2)


def floats(values: Any, digits: int) -> list[float | None]:
    """Rounded Python floats, None where not finite (vectorized: this runs for up to 1000 rows per request)."""
    arr = np.asarray(values, dtype=np.float64)
    out: list[float | None] = np.round(arr, digits).tolist()
    finite = np.isfinite(arr)
    if not finite.all():
        for i in np.flatnonzero(~finite):
            out[i] = None
    return out


def strs(values: Any) -> list[str]:
    return [str(v) for v in np.asarray(values).astype(str).tolist()]
