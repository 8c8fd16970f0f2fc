"""The recommendation side in the sharded refresh: the model from engine aggregates, customers scored by shard.

The single run fits models.recommend.ItemCooccurrence on every customer's purchase rows at once; that frame is
the largest of the refresh (about one row per customer and product: ~80M rows at 10M customers). Every
statistic the model learns adds up over customers, so the sharded refresh has the engine aggregate them
(``product_buyers``: buyers, buyers on two or more days, customers; ``product_cooccurrence``: customers who
bought both of a pair) and fits the same model from them (``ItemCooccurrence.fit_stats``) in the plan step;
each shard then scores its customers' rows of ``customer_products`` with it. The published tables equal the
single run's (tests/insights/test_sharded_refresh.py compares content hashes).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from athena.engine import QueryEngine
from insights.refresh.rec_backtest import coded_frame
from models.recommend import ItemCooccurrence

__all__ = ["population_stats", "fit_context", "part_frame"]


def population_stats(engine: QueryEngine, as_of: date, cats: pd.DataFrame, category_of: Any) -> dict[str, Any]:
    """The products (sorted ids, as the single run's codes), their categories (``cats``: the product_categories
    query's rows; ``category_of``: a product's category from its value) and the model's statistics, from two
    engine aggregates."""
    cutoff = {"cutoff": as_of.isoformat()}
    buyers = engine.query("product_buyers", cutoff)
    ids = buyers["product_id"].astype(str).to_numpy()
    order = np.argsort(ids, kind="stable")
    ids = ids[order].astype(str)
    pairs = engine.query("product_cooccurrence", cutoff)
    a = np.searchsorted(ids, pairs["product_a"].astype(str).to_numpy())
    b = np.searchsorted(ids, pairs["product_b"].astype(str).to_numpy())
    count = pairs["customers"].to_numpy(np.float64)
    n = ids.size
    co = sp.csr_matrix((np.concatenate([count, count]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                       shape=(n, n))  # each unordered pair comes once: both halves of the symmetric matrix
    cat_of = dict(zip(cats["product_id"].astype(str), cats["category"], strict=True))
    customers = buyers["customers"].to_numpy(np.int64)
    return {"product_ids": ids, "product_category": np.array([category_of(cat_of.get(p)) for p in ids], dtype=str),
            "n_customers": int(customers[0]) if customers.size else 0,
            "buyers": buyers["buyers"].to_numpy(np.int64)[order],
            "repeaters": buyers["repeat_buyers"].to_numpy(np.int64)[order], "co": co}


def fit_context(params: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    """What every shard scores with: the fitted model and the products with their categories."""
    model = ItemCooccurrence(**params).fit_stats(stats["n_customers"], stats["buyers"], stats["repeaters"],
                                                 stats["co"])
    return {"model": model, "product_ids": stats["product_ids"], "product_category": stats["product_category"],
            "n_customers": stats["n_customers"]}


def part_frame(part: pd.DataFrame, context: dict[str, Any]) -> pd.DataFrame:
    """A shard's ``customer_products`` rows as the compact frame (recommendations.compact_pairs) with the
    products coded into the whole population's sorted ids, so a shard's codes are the single run's."""
    ids = context["product_ids"]
    customer_ids, cust = np.unique(part["customer_id"].astype(str).to_numpy(), return_inverse=True)
    prod = np.searchsorted(ids, part["product_id"].astype(str).to_numpy())
    if prod.size and (prod.max() >= ids.size or not np.array_equal(ids[prod], part["product_id"].astype(str))):
        raise ValueError("a shard bought a product the population's statistics do not have")
    return coded_frame(part, cust, prod, customer_ids, ids, context["product_category"])
