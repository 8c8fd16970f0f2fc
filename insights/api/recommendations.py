"""Product recommendations answered from the snapshot: a customer's top products, a product's bought-together list.

The refresh stores per customer the top 20 products (``recommendations``: product rows of ``rec_products``, a
score, the bought product behind each) and per product its 50 most co-bought products; this module only looks
rows up and says why in words (docs/recommendations.md). numpy only: this module is on the request path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from insights.api.jsonable import json_number
from insights.errors import InvalidRequest, NotFound
from insights.snapshot.reader import ColumnTable, Snapshot

__all__ = ["recommendations", "customer_products", "backtest_summary", "unique_ints", "RecommendedProduct"]

RecommendedProduct = dict[str, Any]


def unique_ints(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique imports a numpy submodule the API package leaves out)."""
    values = np.sort(np.asarray(values, dtype=np.int64).ravel())
    return values[np.r_[True, values[1:] != values[:-1]]] if values.size else values


def recommendations(snapshot: Snapshot, *, customer_id: str | None = None, product_id: str | None = None,
                    limit: int = 10) -> dict[str, Any]:
    """Top ``limit`` products for a customer (not already bought unless replenishable), or the products most often
    bought together with a product; exactly one of ``customer_id`` / ``product_id``."""
    if (customer_id is None) == (product_id is None):
        raise InvalidRequest("give exactly one of customer_id or product_id",
                             fields=["customer_id", "product_id"],
                             given=[f for f, v in (("customer_id", customer_id), ("product_id", product_id)) if v])
    if not 1 <= limit <= 50:
        raise InvalidRequest(f"limit must be between 1 and 50, got {limit}")
    meta = snapshot.optional_doc("recommendation_meta")
    if customer_id is not None:
        table = snapshot.table("recommendations")
        row = int(table.positions([customer_id])[0])
        if row < 0:
            raise NotFound(f"customer {customer_id!r} is not in the current snapshot", customer_id=customer_id)
        items = customer_products(snapshot, np.array([row]), limit)[0]
        subject: dict[str, Any] = {"customer_id": customer_id, "product_id": None, "kind": "customer"}
        available = int(table["rec_product"].shape[1])
    else:
        items = _together(snapshot, str(product_id), limit)
        subject = {"customer_id": None, "product_id": product_id, "kind": "product"}
        available = int(snapshot.table("rec_products")["together_product"].shape[1])
    return {**subject, "recommendations": items, "count": len(items), "limit": limit, "stored_per_subject": available,
            "method": str(meta.get("method") or "item-item co-occurrence"), "backtest": backtest_summary(meta),
            "as_of": snapshot.as_of}


def customer_products(snapshot: Snapshot, rows: np.ndarray, limit: int) -> list[list[RecommendedProduct]]:
    """For rows of the ``recommendations`` table, each customer's top ``limit`` products with score and reason."""
    table, products = snapshot.table("recommendations"), snapshot.table("rec_products")
    if rows.size == 0:
        return []
    width = min(limit, int(table["rec_product"].shape[1]))
    items = np.asarray(table["rec_product"][rows, :width], dtype=np.int64)
    because = np.asarray(table["rec_because"][rows, :width], dtype=np.int64)
    scores = np.asarray(table["rec_score"][rows, :width], dtype=np.float64)
    needed = unique_ints(np.concatenate([items[items >= 0], because[because >= 0]]))
    info = _product_info(products, needed)
    out = []
    for r in range(rows.size):
        answer = []
        for j in range(width):
            item = int(items[r, j])
            if item < 0:
                break
            pid, category, buyers, rate = info[item]
            src = int(because[r, j])
            if src == item:
                reason = (f"bought again by {rate:.0%} of the customers who bought it; this customer has bought it "
                          "before")
            elif src >= 0:
                reason = f"often bought with {info[src][0]}, which this customer bought"
            else:
                reason = f"popular: bought by {buyers:,} customers"
            answer.append({"product_id": pid, "score": json_number(scores[r, j], 4), "reason": reason,
                           "because_product_id": info[src][0] if src >= 0 else None, "category": category})
        out.append(answer)
    return out


def _together(snapshot: Snapshot, product_id: str, limit: int) -> list[RecommendedProduct]:
    products = snapshot.table("rec_products")
    row = int(products.positions([product_id])[0])
    if row < 0:
        raise NotFound(f"product {product_id!r} is not in the current snapshot", product_id=product_id)
    width = min(limit, int(products["together_product"].shape[1]))
    items = np.asarray(products["together_product"][row, :width], dtype=np.int64)
    scores = np.asarray(products["together_score"][row, :width], dtype=np.float64)
    both = np.asarray(products["together_customers"][row, :width], dtype=np.int64)
    keep = items >= 0
    items, scores, both = items[keep], scores[keep], both[keep]
    info = _product_info(products, unique_ints(np.append(items, row)))
    buyers = info[row][2]
    return [{"product_id": info[int(i)][0], "score": json_number(s, 4),
             "reason": f"{int(n):,} of the {buyers:,} customers who bought {product_id} also bought it",
             "because_product_id": product_id, "category": info[int(i)][1]}
            for i, s, n in zip(items, scores, both, strict=True)]


def _product_info(products: ColumnTable, rows: np.ndarray) -> dict[int, tuple[str, str, int, float]]:
    """row -> (product_id, category, buyers, repeat rate), decoding only ``rows``."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size == 0:
        return {}
    ids = np.asarray(products["product_id"][rows]).astype(str)
    cats = np.asarray(products["category"][rows]).astype(str)
    buyers = np.asarray(products["buyers"][rows], dtype=np.int64)
    rate = np.asarray(products["repeat_rate"][rows], dtype=np.float64)
    return {int(r): (str(ids[i]), str(cats[i]), int(buyers[i]), float(rate[i])) for i, r in enumerate(rows)}


def backtest_summary(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The refresh's next-basket backtest in a few numbers; None when the snapshot has none."""
    bt = meta.get("backtest") or {}
    if not isinstance(bt, dict) or "model" not in bt:
        return None
    model, popular = bt.get("model") or {}, bt.get("popularity") or {}
    return {"split": bt.get("split"), "customers": int(model.get("n_customers") or 0), "k": int(bt.get("k") or 10),
            "recall_at_k": json_number(model.get("recall_at_k"), 4),
            "ndcg_at_k": json_number(model.get("ndcg_at_k"), 4),
            "popularity_recall_at_k": json_number(popular.get("recall_at_k"), 4),
            "popularity_ndcg_at_k": json_number(popular.get("ndcg_at_k"), 4)}
