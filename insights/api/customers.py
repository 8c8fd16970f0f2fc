"""Customer insights answered from the snapshot: segments, CLV, churn, at-risk customers (JSON-ready dicts).

Columns and documents: docs/snapshot.md. numpy only: this module is on the API's request path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from insights.api.jsonable import floats, json_number, money, strs
from insights.api.next_action import actions_for_rows
from insights.api.quality import card_link
from insights.api.reasons import GAP_FEATURES, base_rate_reason, describe_factor, without_repeats
from insights.errors import InsufficientData, InvalidRequest
from insights.snapshot.reader import ColumnTable, Snapshot

__all__ = ["segments", "clv", "churn", "at_risk_customers", "AT_RISK_LEVELS", "ORDER_BY"]

AT_RISK_LEVELS = ("High", "Critical")  # risk levels counted as "at risk" in the churn summary
ORDER_BY = ("value_at_risk", "churn_probability")
_MIN_K, _MAX_K = 2, 10


def segments(snapshot: Snapshot, *, n_clusters: int | None = None) -> dict[str, Any]:
    """The segment solution for ``n_clusters`` (2..10), or the automatic k chosen by silhouette."""
    if n_clusters is not None and not _MIN_K <= n_clusters <= _MAX_K:
        raise InvalidRequest(f"n_clusters must be between {_MIN_K} and {_MAX_K}, got {n_clusters}")
    doc = snapshot.doc("segments")
    auto_k = int(doc["auto_k"])
    k = auto_k if n_clusters is None else int(n_clusters)
    solution = doc.get("solutions", {}).get(str(k))
    if solution is None:
        available = sorted(int(x) for x in doc.get("solutions", {}))
        raise InsufficientData(f"no segment solution with {k} clusters in this snapshot (too few customers)",
                               missing=f"segments.solutions.{k}", required=k, available=available)
    segs = [dict(s) for s in solution["segments"]]
    return {
        "segments": segs,
        "total_customers": int(sum(int(s["count"]) for s in segs)),
        "n_clusters": k,
        "auto_k": auto_k,
        "silhouette_score": json_number(solution.get("silhouette")),
        "elbow": doc.get("elbow", []),
        "as_of": snapshot.as_of,
    }


def clv(snapshot: Snapshot, customer_ids: Sequence[str]) -> dict[str, Any]:
    """Predicted lifetime value of the known customers among ``customer_ids``; the rest go to ``not_found``."""
    table = snapshot.table("customers")
    ids, rows, not_found = _lookup(table, customer_ids)
    cols = _gather(table, rows, ("predicted_clv", "clv_segment", "clv_method", "simple_clv", "predicted_orders",
                                 "next_order_date", "spend_30d", "purchase_probability_30d"))
    next_dates = [d or None for d in strs(cols["next_order_date"])]
    meta = snapshot.optional_doc("customer_models")
    intervals = _intervals(table, rows, ((meta.get("clv") or {}).get("interval") or {}).get("level", 0.8))
    predictions = [
        {"customer_id": cid, "predicted_clv": v, "clv_segment": seg, "clv_method": method, "simple_clv": simple,
         "predicted_orders": orders, "next_order_date": nxt, "predicted_spend_30d": spend,
         "purchase_probability_30d": p30}
        for cid, v, seg, method, simple, orders, nxt, spend, p30 in zip(
            ids, floats(cols["predicted_clv"], 2), strs(cols["clv_segment"]), strs(cols["clv_method"]),
            floats(cols["simple_clv"], 2), floats(cols["predicted_orders"], 3), next_dates,
            floats(cols["spend_30d"], 2), floats(cols["purchase_probability_30d"], 4), strict=True)
    ]
    for row, interval in zip(predictions, intervals, strict=True):
        row["clv_interval"] = interval
    values = cols["predicted_clv"].astype(np.float64)
    return {
        "predictions": predictions,
        "segments": {
            "total_customers": len(predictions),
            "avg_clv": money(values.mean()) if values.size else None,
            "total_clv": money(values.sum()),
            "by_segment": {s: int(n) for s, n in zip(*np.unique(cols["clv_segment"].astype(str), return_counts=True),
                                                     strict=True)},
        },
        "horizon_days": _clv_horizon(meta),
        "not_found": not_found,
        "currency": snapshot.currency,
        "as_of": snapshot.as_of,
        "model_card": card_link("clv"),
    }


def churn(snapshot: Snapshot, customer_ids: Sequence[str]) -> dict[str, Any]:
    """Churn probability, risk level and top factors of the known customers among ``customer_ids``."""
    table = snapshot.table("customers")
    ids, rows, not_found = _lookup(table, customer_ids)
    cols = _gather(table, rows, ["churn_probability", "risk_level"])
    reasons = churn_reasons(snapshot, table, rows)
    predictions = [
        {"customer_id": cid, "churn_probability": prob, "risk_level": level, "churn_factors": why}
        for cid, prob, level, why in zip(ids, floats(cols["churn_probability"], 4), strs(cols["risk_level"]),
                                         reasons, strict=True)
    ]
    at_risk = int(np.isin(cols["risk_level"].astype(str), AT_RISK_LEVELS).sum())
    meta = snapshot.optional_doc("customer_models")
    return {
        "predictions": predictions,
        "summary": {
            "total_customers": len(predictions),
            "at_risk_count": at_risk,
            "at_risk_percentage": round(100.0 * at_risk / len(predictions), 2) if predictions else 0.0,
            "at_risk_levels": list(AT_RISK_LEVELS),
        },
        "horizon_days": _churn_horizon(meta),
        "not_found": not_found,
        "as_of": snapshot.as_of,
        "model_card": card_link("churn"),
    }


def at_risk_customers(snapshot: Snapshot, *, threshold: float, limit: int, with_pii: bool,
                      order_by: str = "value_at_risk") -> dict[str, Any]:
    """Customers with churn probability >= threshold, by value at risk (churn probability x CLV) descending,
    or by churn probability descending; ties by customer_id."""
    if not 0.0 <= threshold <= 1.0:
        raise InvalidRequest(f"threshold must be within [0, 1], got {threshold}")
    if limit < 1:
        raise InvalidRequest(f"limit must be at least 1, got {limit}")
    if order_by not in ORDER_BY:
        raise InvalidRequest(f"order_by must be one of {ORDER_BY}, got {order_by!r}")
    table = snapshot.table("customers")
    prob = table["churn_probability"]
    if order_by == "value_at_risk":
        rows = _first_matching(snapshot.table("at_risk")["order"], prob, threshold, limit)
    else:
        rows = _top_probability(np.asarray(prob), threshold, limit)
    total_above = int(np.count_nonzero(np.asarray(prob) >= threshold))
    fields = ["customer_id", "churn_probability", "risk_level", "recency_days", "frequency", "monetary_total",
              "predicted_clv", "value_at_risk"] + (["email"] if with_pii else [])
    cols = _gather(table, rows, fields)
    values = {
        "customer_id": strs(cols["customer_id"]),
        "churn_probability": floats(cols["churn_probability"], 4),
        "risk_level": strs(cols["risk_level"]),
        "recency_days": cols["recency_days"].astype(np.int64).tolist(),
        "frequency": cols["frequency"].astype(np.int64).tolist(),
        "monetary_total": floats(cols["monetary_total"], 2),
        "predicted_clv": floats(cols["predicted_clv"], 2),
        "value_at_risk": floats(cols["value_at_risk"], 2),
    }
    if with_pii:  # emails only for the customers:pii scope, placed after the id as the design shows
        values = {"customer_id": values.pop("customer_id"),
                  "email": [e or None for e in strs(cols["email"])], **values}
    names = list(values)
    out = [dict(zip(names, row, strict=True)) for row in zip(*values.values(), strict=True)]
    for row, why, action in zip(out, churn_reasons(snapshot, table, rows), actions_for_rows(snapshot, rows),
                                strict=True):
        row["reasons"] = why
        row["next_best_action"] = action
    return {
        "at_risk_customers": out,
        "count": len(out),
        "threshold": threshold,
        "limit": limit,
        "total_above_threshold": total_above,
        "order_by": order_by,
        "horizon_days": _churn_horizon(snapshot.optional_doc("customer_models")),
        "currency": snapshot.currency,
        "as_of": snapshot.as_of,
        "model_card": card_link("churn"),
    }


def _top_probability(prob: np.ndarray, threshold: float, limit: int) -> np.ndarray:
    """Rows of the ``limit`` highest probabilities >= threshold, descending, ties by row (= customer_id) order."""
    rows = np.flatnonzero(prob >= threshold)
    p = prob[rows]
    if rows.size > limit:  # keep everything tied with the limit-th largest, then sort only those
        kth = np.partition(p, rows.size - limit)[rows.size - limit]
        keep = p >= kth
        rows, p = rows[keep], p[keep]
    return rows[np.lexsort((rows, -p))][:limit]


def _first_matching(order: np.ndarray, prob: np.ndarray, threshold: float, limit: int) -> np.ndarray:
    """Row indices, in ``order``'s order, of the first ``limit`` rows with prob >= threshold.

    Scans growing chunks so a typical request touches a few thousand rows, not the whole table.
    """
    found: list[np.ndarray] = []
    n_found, start, chunk = 0, 0, max(4 * limit, 4096)
    while start < order.shape[0] and n_found < limit:
        idx = np.asarray(order[start:start + chunk], dtype=np.int64)
        hit = idx[np.asarray(prob[idx]) >= threshold]
        found.append(hit[: limit - n_found])
        n_found += found[-1].shape[0]
        start += chunk
        chunk *= 4
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def _lookup(table: ColumnTable, customer_ids: Sequence[str]) -> tuple[list[str], np.ndarray, list[str]]:
    """Unique ids in request order -> (known ids, their rows, unknown ids)."""
    unique = list(dict.fromkeys(str(c) for c in customer_ids))
    pos = table.positions(unique)
    known = pos >= 0
    return ([c for c, k in zip(unique, known, strict=True) if k], pos[known],
            [c for c, k in zip(unique, known, strict=True) if not k])


def _intervals(table: ColumnTable, rows: np.ndarray, level: float) -> list[dict[str, Any] | None]:
    """Each row's CLV interval; None for snapshots written before intervals (or a customer without one)."""
    if "clv_lower" not in table:
        return [None] * len(rows)
    lower, upper = floats(table["clv_lower"][rows], 2), floats(table["clv_upper"][rows], 2)
    return [None if lo is None or hi is None else {"lower": lo, "upper": hi, "level": level}
            for lo, hi in zip(lower, upper, strict=True)]


def _gather(table: ColumnTable, rows: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    return {n: np.asarray(table[n][rows]) for n in names}



def _clv_horizon(meta: dict[str, Any]) -> int | None:
    value = meta.get("clv_horizon_days", (meta.get("clv") or {}).get("horizon_days"))
    return None if value is None else int(value)


def _churn_horizon(meta: dict[str, Any]) -> int | None:
    value = meta.get("churn_horizon_days", (meta.get("churn") or {}).get("horizon_days"))
    return None if value is None else int(value)


def churn_reasons(snapshot: Snapshot, table: ColumnTable, rows: np.ndarray) -> list[list[dict[str, Any]]]:
    """Each row's churn reasons in plain words (insights/api/reasons.py), strongest first."""
    meta = snapshot.optional_doc("customer_models")
    medians = meta.get("feature_medians") or {}
    window = int((meta.get("churn") or {}).get("label_window_days") or _churn_horizon(meta) or 90)
    present = [j for j in (1, 2, 3) if f"churn_factor_{j}" in table]
    cols = _gather(table, rows, ["recency_days", "risk_level", "churn_probability"]
                   + [f"{kind}_{j}" for j in present for kind in ("churn_factor", "churn_contrib", "churn_value")
                      if f"{kind}_{j}" in table])
    recency = floats(cols["recency_days"], 3)
    # the order count only changes how gaps are worded (two orders are one gap, not a habit): read only then
    gaps = any(str(cols[f"churn_factor_{j}"][i]) in GAP_FEATURES for j in present for i in range(rows.shape[0]))
    orders = floats(np.asarray(table["frequency"][rows]), 0) if gaps else [None] * rows.shape[0]
    out: list[list[dict[str, Any]]] = []
    for i in range(rows.shape[0]):
        factors, engaged_days = [], None
        for j in present:
            name = str(cols[f"churn_factor_{j}"][i])
            if not name:
                continue
            value = float(cols[f"churn_value_{j}"][i]) if f"churn_value_{j}" in cols else None
            if name == "days_since_engagement" and value is not None:
                engaged_days = value
            factors.append(describe_factor(name, float(cols[f"churn_contrib_{j}"][i]), value,
                                           typical=medians.get(name), recency_days=recency[i],
                                           window_days=window, currency=snapshot.currency, orders=orders[i]))
        factors = without_repeats(factors, days_since_engagement=engaged_days)
        if str(cols["risk_level"][i]) in AT_RISK_LEVELS:  # what raises the risk comes first
            factors.sort(key=lambda f: f["direction"] != "increases_risk")
            if not factors or factors[0]["direction"] != "increases_risk":
                factors.insert(0, base_rate_reason(meta.get("mean_churn_probability"), _churn_horizon(meta)))
        out.append(factors)
    return out
