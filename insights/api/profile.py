"""One customer's profile: everything the snapshot knows about them, in one answer (GET customers/{customer_id}).

The churn and CLV parts are the answers of the churn and CLV services for this one id (insights/api/customers.py),
so the profile and those routes can never disagree. The 30-day spend per category is the customer's predicted
30-day spend split by their historical spend shares per category (stored by the refresh, top 5 categories plus
"other"). numpy only: this module is on the request path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from insights.api import customers
from insights.api.jsonable import json_number, money
from insights.api.next_action import actions_for_rows
from insights.api.recommendations import customer_products
from insights.api.traits import customer_traits
from insights.errors import NotFound
from insights.snapshot.reader import Snapshot

__all__ = ["customer_profile", "PROFILE_PRODUCTS", "OTHER"]

PROFILE_PRODUCTS = 5  # recommended products shown in a profile (POST recommendations gives up to 20)
OTHER = "other"


def customer_profile(snapshot: Snapshot, customer_id: str, *, with_pii: bool) -> dict[str, Any]:
    """The profile of ``customer_id``; NotFound when the live snapshot does not know them."""
    table = snapshot.table("customers")
    row = int(table.positions([customer_id])[0])
    if row < 0:
        raise NotFound(f"customer {customer_id!r} is not in the current snapshot", customer_id=customer_id)
    rows = np.array([row])
    churn = customers.churn(snapshot, [customer_id])
    clv = customers.clv(snapshot, [customer_id])
    c, v = churn["predictions"][0], clv["predictions"][0]
    pick = {n: table[n][row] for n in ("recency_days", "frequency", "monetary_total", "r_score", "f_score",
                                       "m_score", "segment")}
    answer: dict[str, Any] = {"customer_id": customer_id}
    if with_pii:
        answer["email"] = str(table["email"][row]) or None
    answer.update({
        "rfm": {"recency_days": int(pick["recency_days"]), "frequency": int(pick["frequency"]),
                "monetary_total": money(pick["monetary_total"]), "r_score": int(pick["r_score"]),
                "f_score": int(pick["f_score"]), "m_score": int(pick["m_score"])},
        "segment": _segment(snapshot, table, row, str(pick["segment"])),
        "clv": {"predicted_clv": v["predicted_clv"], "clv_interval": v["clv_interval"],
                "clv_segment": v["clv_segment"], "clv_method": v["clv_method"], "simple_clv": v["simple_clv"],
                "horizon_days": clv["horizon_days"]},
        "churn": {"churn_probability": c["churn_probability"], "risk_level": c["risk_level"],
                  "reasons": c["churn_factors"], "horizon_days": churn["horizon_days"]},
        "purchases": {"predicted_orders": v["predicted_orders"], "next_order_date": v["next_order_date"],
                      "purchase_probability_30d": v["purchase_probability_30d"],
                      "predicted_spend_30d": v["predicted_spend_30d"]},
        "category_spend_30d": _category_spend(snapshot, customer_id, float(table["spend_30d"][row])),
        "recommended_products": _recommended(snapshot, customer_id),
        "next_best_action": actions_for_rows(snapshot, rows)[0],
        "traits": _traits(snapshot, customer_id),
        "currency": snapshot.currency,
        "as_of": snapshot.as_of,
    })
    return answer


def _segment(snapshot: Snapshot, table: Any, row: int, name: str) -> dict[str, Any]:
    """The segment at the automatic k: name, id (index into GET segments' list at that k) and k."""
    auto_k = snapshot.optional_doc("segments").get("auto_k")
    column = f"segment_k{auto_k}"
    segment_id = int(table[column][row]) if auto_k is not None and column in table else None
    return {"name": name, "segment_id": segment_id if segment_id is not None and segment_id >= 0 else None,
            "k": int(auto_k) if auto_k is not None else None}


def _category_spend(snapshot: Snapshot, customer_id: str, spend_30d: float) -> list[dict[str, Any]]:
    """The predicted 30-day spend split by the customer's historical category shares (largest first, then
    "other" for the categories beyond the five stored); [] when the snapshot has no recommendations side."""
    if "recommendations" not in snapshot.tables:
        return []
    recs = snapshot.table("recommendations")
    row = int(recs.positions([customer_id])[0])
    if row < 0:
        return []
    names = snapshot.optional_doc("recommendation_meta").get("categories") or []
    idx = np.asarray(recs["category"][row], dtype=np.int64)
    share = np.asarray(recs["category_share"][row], dtype=np.float64)
    spend = spend_30d if np.isfinite(spend_30d) else 0.0
    out = [{"category": str(names[i]) if 0 <= i < len(names) else OTHER, "share": json_number(s, 4),
            "predicted_spend": money(spend * s)} for i, s in zip(idx.tolist(), share.tolist(), strict=True) if i >= 0]
    rest = 1.0 - float(share[idx >= 0].sum())
    if rest > 5e-4:
        out.append({"category": OTHER, "share": json_number(rest, 4), "predicted_spend": money(spend * rest)})
    return out


def _traits(snapshot: Snapshot, customer_id: str) -> dict[str, Any] | None:
    """The behavioural traits (insights/api/traits.py); None when the snapshot has none for this customer."""
    if "customer_traits" not in snapshot.tables:
        return None
    try:
        return customer_traits(snapshot, customer_id)
    except NotFound:
        return None


def _recommended(snapshot: Snapshot, customer_id: str) -> list[dict[str, Any]]:
    if "recommendations" not in snapshot.tables or "rec_products" not in snapshot.tables:
        return []
    row = int(snapshot.table("recommendations").positions([customer_id])[0])
    return customer_products(snapshot, np.array([row]), PROFILE_PRODUCTS)[0] if row >= 0 else []
