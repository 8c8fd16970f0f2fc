"""The store at a glance: the aggregates the dashboard's overview draws, from the snapshot (numpy only).

Counts, sums and histograms over every customer, and the products the forecast covers ranked by their next 30
days: a few kilobytes whatever the store's size, so the page never asks for every customer. Computed once per
snapshot version (a million customers take ~30 ms) and kept with the version it came from.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from insights.api.jsonable import floats, json_number, money, strs
from insights.snapshot.codec import DictColumn
from insights.snapshot.reader import Snapshot

__all__ = ["overview", "ACTIVE_DAYS", "TOP_PRODUCTS", "CHURN_EDGES"]

ACTIVE_DAYS = 90  # a customer is active with an order in the last 90 days (recency_days < 90)
TOP_PRODUCTS = 50  # products listed, by predicted units over the next 30 days
FORECAST_DAYS = 30
CHURN_EDGES = tuple(round(i / 10, 1) for i in range(11))  # ten bins of churn probability, 0..1
RISK_ORDER = ("Low", "Medium", "High", "Critical")
_cache: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def overview(snapshot: Snapshot) -> dict[str, Any]:
    """Counts, revenue, risk and value distributions, segments of value, and the top products."""
    with _lock:
        hit = _cache.get(snapshot.version)
    if hit is None:
        hit = _compute(snapshot)
        with _lock:
            _cache.clear()  # one version at a time: the warm container serves the live one
            _cache[snapshot.version] = hit
    return hit


def _compute(snapshot: Snapshot) -> dict[str, Any]:
    table = snapshot.table("customers")
    n = table.n_rows
    churn = np.asarray(table["churn_probability"])  # float32: binned against float32 edges (0.7 stays in [0.7, 0.8))
    clv = np.asarray(table["predicted_clv"], dtype=np.float64)
    var = np.asarray(table["value_at_risk"], dtype=np.float64)
    recency = np.asarray(table["recency_days"])
    meta = snapshot.optional_doc("customer_models")
    totals = meta.get("totals") or {}
    return {
        "customers": int(n),
        "active_customers": int(np.count_nonzero(recency < ACTIVE_DAYS)),
        "active_days": ACTIVE_DAYS,
        "revenue_90d": money(totals.get("revenue_90d")),
        "predicted_revenue_30d": money(np.nansum(np.asarray(table["spend_30d"], dtype=np.float64))),
        "predicted_clv_total": money(np.nansum(clv)),
        "value_at_risk_total": money(np.nansum(var)),
        "clv_horizon_days": int((meta.get("clv") or {}).get("horizon_days") or 365),
        "risk_levels": _risk_levels(table["risk_level"], var),
        "churn_histogram": _histogram(churn, np.array(CHURN_EDGES)),
        "clv_histogram": _histogram(clv, _value_edges(clv)),
        "clv_segments": _groups(table["clv_segment"], clv, ("Low", "Medium", "High")),
        **_products(snapshot),
        "currency": snapshot.currency,
        "as_of": snapshot.as_of,
    }


def _risk_levels(column: Any, value_at_risk: np.ndarray) -> list[dict[str, Any]]:
    groups = _by_label(column, value_at_risk)
    names = [n for n in RISK_ORDER] + sorted(set(groups) - set(RISK_ORDER))
    return [{"risk_level": name, "count": groups.get(name, (0, [0.0]))[0],
             "value_at_risk": money(groups.get(name, (0, [0.0]))[1][0])} for name in names]


def _groups(column: Any, values: np.ndarray, order: tuple[str, ...]) -> list[dict[str, Any]]:
    groups = _by_label(column, values)
    names = [o for o in order if o in groups] + sorted(set(groups) - set(order))
    return [{"clv_segment": name, "count": groups[name][0], "total_clv": money(groups[name][1][0])} for name in names]


def _by_label(column: Any, *weights: np.ndarray) -> dict[str, tuple[int, list[float]]]:
    """label -> (rows, the sum of each of ``weights``) over a text column, without a Python object per row."""
    if isinstance(column, DictColumn):  # the snapshot's dictionary encoding: count the codes
        labels, codes = column.categories.astype(str), np.asarray(column.raw, dtype=np.intp)
    else:
        labels, codes = np.unique(np.asarray(column).astype(str), return_inverse=True)
    k = labels.shape[0]
    counts = np.bincount(codes.ravel(), minlength=k)
    sums = [np.bincount(codes.ravel(), weights=np.nan_to_num(np.asarray(w, dtype=np.float64)), minlength=k)
            for w in weights]
    return {str(label): (int(counts[i]), [float(t[i]) for t in sums]) for i, label in enumerate(labels.tolist())
            if counts[i] or label in RISK_ORDER}


def _value_edges(values: np.ndarray) -> np.ndarray:
    """Bin edges for money: 0, then 1-2-5 steps up to the largest finite value (a long right tail stays readable)."""
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    edges = [0.0]
    step = 1.0
    while edges[-1] <= top and len(edges) < 40:
        for m in (1.0, 2.0, 5.0):
            if edges[-1] <= top:
                edges.append(step * m)
        step *= 10.0
    first = next((i for i, e in enumerate(edges) if e >= 0.01 * top), 1) if top > 0 else 1
    return np.array([0.0, *edges[max(first, 1):]])


def _histogram(values: np.ndarray, edges: np.ndarray) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    if np.issubdtype(values.dtype, np.floating):
        edges = edges.astype(values.dtype)  # the values' own precision: a stored 0.7 is not below the edge 0.7
    # bin i is [edges[i], edges[i+1]), the last one closed: np.histogram's rule, by searchsorted (no sort of n values)
    index = np.clip(np.searchsorted(edges, finite, side="right") - 1, 0, edges.shape[0] - 2)
    counts = np.bincount(index, minlength=edges.shape[0] - 1)
    return {"edges": floats(edges, 4), "counts": [int(c) for c in counts], "missing": int(values.size - finite.size)}


def _products(snapshot: Snapshot) -> dict[str, Any]:
    if "forecast" not in snapshot.tables:  # a snapshot whose refresh skipped the products: no list
        return {"products": [], "products_total": 0}
    table = snapshot.table("forecast")
    ids = strs(table["product_id"])
    quantity = np.asarray(table["predicted_quantity"], dtype=np.float64)
    next_30 = np.nansum(quantity[:, :FORECAST_DAYS], axis=1) if quantity.ndim == 2 and len(ids) else np.zeros(len(ids))
    order = np.lexsort((np.arange(len(ids)), -next_30))[:TOP_PRODUCTS]
    priced = _priced(snapshot)
    last = np.asarray(table["last_price"], dtype=np.float64)
    status = strs(table["status"])
    return {"products_total": len(ids), "products": [
        {"product_id": ids[i], "predicted_quantity_30d": json_number(next_30[i], 2), "last_price": money(last[i]),
         "forecast_status": status[i], "elasticity_status": priced.get(ids[i])} for i in order.tolist()]}


def _priced(snapshot: Snapshot) -> dict[str, str]:
    if "elasticity" not in snapshot.tables:
        return {}
    table = snapshot.table("elasticity")
    return dict(zip(strs(table["product_id"]), strs(table["status"]), strict=True))

