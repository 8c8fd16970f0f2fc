"""schemathesis hooks for the positive round of bench/fuzz_api.py: bodies that name ids the served snapshot knows.

Random ids almost never exist, so without this the product routes would only ever answer 404 and their 200 paths
(forecast slicing, what-if prices, price optimization) would go unfuzzed. Loaded through SCHEMATHESIS_HOOKS only
for a ``--mode positive`` round, so swapping an id in can never turn a negative case into a valid one. FUZZ_IDS
names a JSON file {"products": [...], "customers": [...]} (bench/load_test.py's known_ids).
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

_IDS = json.loads(open(os.environ["FUZZ_IDS"]).read())
_PRODUCTS = [p.split("|")[0] for p in _IDS.get("products", [])][:500]
_CUSTOMERS = list(_IDS.get("customers", []))[:2000]


def _with_product(drawn: tuple[Any, str, bool]) -> Any:
    body, product, swap = drawn
    if swap and isinstance(body, dict) and "product_id" in body:
        return {**body, "product_id": product}
    return body


def _with_customers(drawn: tuple[Any, list[str], bool]) -> Any:
    body, known, swap = drawn
    if swap and isinstance(body, dict) and isinstance(body.get("customer_ids"), list):
        return {**body, "customer_ids": (known + body["customer_ids"])[:1000]}
    return body


@schemathesis.hook
def before_generate_body(context, strategy):
    path = context.operation.path if context.operation is not None else ""
    if path.endswith(("/forecast", "/price-elasticity", "/price-optimization")) and _PRODUCTS:
        return st.tuples(strategy, st.sampled_from(_PRODUCTS), st.booleans()).map(_with_product)
    if path.endswith(("/clv", "/churn")) and _CUSTOMERS:
        known = st.lists(st.sampled_from(_CUSTOMERS), min_size=1, max_size=50, unique=True)
        return st.tuples(strategy, known, st.booleans()).map(_with_customers)
    return strategy
