"""Private: input checks of models.elasticity (one product's arrays, the panel's long table)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models._elasticity_fit import GRAINS

__all__ = ["validate", "validate_options", "columns", "category_label"]


def category_label(values: np.ndarray) -> str:
    """The first non-missing category among one product's rows ("" when none)."""
    for c in values:
        if c is not None and not (isinstance(c, float) and np.isnan(c)) and str(c) not in ("", "nan", "<NA>"):
            return str(c)
    return ""


def validate_options(method: str, grain: str, confidence: float) -> None:
    """Raise ValueError naming a bad option."""
    if method not in ("poisson", "ols"):
        raise ValueError(f"method must be 'poisson' or 'ols', got {method!r}")
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}, got {grain!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _promo_share(q, p, promo, discount, list_price) -> np.ndarray | None:
    """The promotion share per row: the flag/share as given, else discount > 0.5%, else price 0.5% below list."""
    if promo is not None:
        return np.clip(np.asarray(promo, dtype=float), 0, 1)
    if discount is not None:
        return (np.asarray(discount, dtype=float) > 0.005).astype(float)
    if list_price is not None:
        return (p < np.asarray(list_price, dtype=float) * 0.995).astype(float)
    return None


def validate(dates, quantity, price, promo, discount, list_price, method, grain, confidence):
    """One product's arrays checked and converted: (dates, quantity, price, promotion share or None)."""
    validate_options(method, grain, confidence)
    d = np.asarray(dates).astype("datetime64[D]")
    q = np.asarray(quantity, dtype=float)
    p = np.asarray(price, dtype=float)
    if not (d.shape == q.shape == p.shape) or d.ndim != 1:
        raise ValueError(f"dates, quantity and price must be 1-D of one length, got {d.shape}, {q.shape}, {p.shape}")
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ValueError(f"quantity must be finite and >= 0, got min {q.min() if q.size else 'n/a'}")
    if np.any(~np.isfinite(p) | (p <= 0)):
        raise ValueError(f"price must be finite and > 0, got min {np.nanmin(p) if p.size else 'n/a'}")
    for name, v in (("promo", promo), ("discount", discount), ("list_price", list_price)):
        if v is not None and (np.shape(v) != q.shape or not np.all(np.isfinite(np.asarray(v, dtype=float)))):
            raise ValueError(f"{name} must be finite with the shape of quantity {q.shape}")
    return d, q, p, _promo_share(q, p, promo, discount, list_price)


def columns(table: Mapping[str, Any]):
    """The long table's columns as arrays, rows without a usable price or quantity left out:
    (product_id, date, quantity, price, promotion share or None, category or None)."""
    date_col = "date" if "date" in table else "sale_date"
    missing = {"product_id", "quantity", "price", date_col} - set(table)
    if missing:
        raise ValueError(f"table lacks columns: {sorted(missing)}")
    ids = np.asarray(table["product_id"]).astype(str)
    d = np.asarray(table[date_col]).astype("datetime64[D]")
    q = np.asarray(table["quantity"], dtype=float)
    p = np.asarray(table["price"], dtype=float)
    opt = {k: (np.asarray(table[k], dtype=float) if k in table else None) for k in ("promo", "discount", "list_price")}
    keep = np.isfinite(q) & (q >= 0) & np.isfinite(p) & (p > 0) & ~np.isnat(d)
    for v in opt.values():
        if v is not None:
            keep &= np.isfinite(v)
    pr = _promo_share(q, p, opt["promo"], opt["discount"], opt["list_price"])
    cat = None
    if "category" in table:  # raw values; labels are read once per product (see category_label)
        cat = np.asarray(table["category"], dtype=object)[keep]
    return ids[keep], d[keep], q[keep], p[keep], (None if pr is None else pr[keep]), cat
