"""The next best action for a customer: a fixed, documented policy (no model, no LLM) over the snapshot's scores.

The first rule that holds decides (docs/api.md, "Next best action"):

| # | when | action |
|---|---|---|
| 0 | one order so far, placed in the last 30 days | ``nurture_second_order``: nobody to win back yet |
| 1 | risk High or Critical, CLV segment High or Medium | ``win_back``: an offer featuring top recommendations |
| 2 | risk High or Critical (so CLV segment Low) | ``do_nothing``: an offer would cost more than it saves |
| 3 | CLV segment High (risk Low or Medium) | ``vip_care``: personal service and early access, no discount |
| 4 | one order so far | ``nurture_second_order``: a second-order incentive with recommended products |
| 5 | a recommendation explained by a product they bought | ``cross_sell``: the named products |
| 6 | otherwise | ``do_nothing``: buying as expected, nothing to add |

Inputs are the customer's row of the ``customers`` table (risk level, churn probability, CLV segment and value,
frequency, recency, segment name) and their top recommended products. numpy only: on the request path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from insights.api.recommendations import unique_ints
from insights.snapshot.reader import Snapshot

__all__ = ["CustomerState", "next_best_action", "actions_for_rows", "ACTIONS", "AT_RISK", "VALUABLE"]

ACTIONS = {
    "win_back": "Win-back offer",
    "vip_care": "VIP care",
    "nurture_second_order": "Nurture to a second order",
    "cross_sell": "Cross-sell",
    "do_nothing": "Do nothing",
}
AT_RISK = ("High", "Critical")
VALUABLE = ("High", "Medium")
MAX_PRODUCTS = 2  # products named in an action
NEW_DAYS = 30  # a one-order customer who ordered within this many days is new, not lapsed: nurture, not win back


@dataclass(frozen=True)
class CustomerState:
    """What the policy reads about one customer."""

    segment: str
    risk_level: str
    churn_probability: float | None
    clv_segment: str
    predicted_clv: float | None
    frequency: int
    recency_days: int
    products: tuple[str, ...] = ()  # top recommended product ids, best first
    cross_sell: tuple[str, ...] = ()  # those explained by a product the customer bought ("often bought with")


def next_best_action(state: CustomerState, currency: str = "USD") -> dict[str, Any]:
    """{action, label, reason, products}: the first rule of the policy table that holds."""
    risk = f"{state.risk_level} churn risk" + (f" ({state.churn_probability:.0%})"
                                               if state.churn_probability is not None else "")
    value = f"{state.clv_segment} predicted value" + (f" ({state.predicted_clv:,.2f} {currency})"
                                                      if state.predicted_clv is not None else "")
    last = f"last ordered {state.recency_days} day{'s' if state.recency_days != 1 else ''} ago"
    if state.frequency <= 1 and state.recency_days < NEW_DAYS:
        products = state.products[:MAX_PRODUCTS]
        feature = f"; suggest {_names(products)}" if products else ""
        odds = f", and a {risk}" if state.risk_level in AT_RISK else ""
        return _action("nurture_second_order", f"a new customer with one order so far, {last}{odds}: many "
                                               f"first-time buyers never order again, so encourage a second order "
                                               f"now{feature}", products)
    if state.risk_level in AT_RISK and state.clv_segment in VALUABLE:
        products = state.products[:MAX_PRODUCTS]
        feature = f", featuring {_names(products)}" if products else ""
        return _action("win_back", f"{risk} and {value}, {last}: send a win-back offer before they lapse{feature}",
                       products)
    if state.risk_level in AT_RISK:
        return _action("do_nothing", f"{risk} but {value}: a win-back offer would likely cost more than the value at "
                                     "risk; leave them to the regular newsletter", ())
    if state.clv_segment == "High":
        return _action("vip_care", f"{value} ({state.segment}) with {risk}: keep them close with personal service "
                                   "and early access, no discount needed", ())
    if state.frequency <= 1:
        products = state.products[:MAX_PRODUCTS]
        feature = f"; suggest {_names(products)}" if products else ""
        return _action("nurture_second_order", f"one order so far, {last}: encourage a second order{feature}",
                       products)
    if state.cross_sell:
        products = state.cross_sell[:MAX_PRODUCTS]
        return _action("cross_sell", f"{state.segment} with {risk}: offer {_names(products)}, often bought with "
                                     "products they already bought", products)
    return _action("do_nothing", f"{state.segment} with {risk}, {last}: buying as expected, nothing to add", ())


def actions_for_rows(snapshot: Snapshot, rows: np.ndarray) -> list[dict[str, Any]]:
    """The next best action of each row of the ``customers`` table (recommendations from the snapshot when it
    has them; without them no product is named and no cross-sell is proposed)."""
    table = snapshot.table("customers")
    rows = np.asarray(rows, dtype=np.int64)
    text = {n: np.asarray(table[n][rows]).astype(str).tolist() for n in ("customer_id", "segment", "risk_level",
                                                                         "clv_segment")}
    prob = np.asarray(table["churn_probability"][rows], dtype=np.float64)
    clv = np.asarray(table["predicted_clv"][rows], dtype=np.float64)
    probs = [p if np.isfinite(p) else None for p in prob.tolist()] if not np.isfinite(prob).all() else prob.tolist()
    clvs = [v if np.isfinite(v) else None for v in clv.tolist()] if not np.isfinite(clv).all() else clv.tolist()
    freq = np.asarray(table["frequency"][rows]).tolist()
    recency = np.asarray(table["recency_days"][rows]).tolist()
    top, explained = _top_products(snapshot, text["customer_id"])
    currency = snapshot.currency
    return [next_best_action(CustomerState(segment, risk, p, value_segment, v, f, r, products, cross), currency)
            for segment, risk, p, value_segment, v, f, r, products, cross in zip(
                text["segment"], text["risk_level"], probs, text["clv_segment"], clvs, freq, recency, top, explained,
                strict=True)]


def _top_products(snapshot: Snapshot, ids: list[str], width: int = 4
                  ) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Per customer id: the top recommended product ids, and those explained by another bought product."""
    empty: tuple[str, ...] = ()
    if "recommendations" not in snapshot.tables or "rec_products" not in snapshot.tables or not ids:
        return [empty] * len(ids), [empty] * len(ids)
    recs, products = snapshot.table("recommendations"), snapshot.table("rec_products")
    pos = recs.positions(ids)
    found = pos >= 0
    width = min(width, int(recs["rec_product"].shape[1]))
    items = np.full((len(ids), width), -1, dtype=np.int64)
    because = np.full((len(ids), width), -1, dtype=np.int64)
    if found.any():
        items[found] = np.asarray(recs["rec_product"][pos[found], :width])
        because[found] = np.asarray(recs["rec_because"][pos[found], :width])
    explains = (because >= 0) & (because != items) & (items >= 0)
    # decode only the ids an action can name: the top two, and the ones a bought product explains
    needed = unique_ints(np.concatenate([items[:, :MAX_PRODUCTS].ravel(), items[explains]]))
    needed = needed[needed >= 0]
    names = dict(zip(needed.tolist(), np.asarray(products["product_id"][needed]).astype(str).tolist(), strict=True)) \
        if needed.size else {}
    top = [tuple(names[j] for j in row[:MAX_PRODUCTS] if j >= 0) for row in items.tolist()]
    explained = [tuple(names[j] for j, e in zip(row, erow, strict=True) if e)[:MAX_PRODUCTS]
                 for row, erow in zip(items.tolist(), explains.tolist(), strict=True)]
    return top, explained


def _names(products: tuple[str, ...]) -> str:
    return " and ".join(products)


def _action(code: str, reason: str, products: tuple[str, ...]) -> dict[str, Any]:
    return {"action": code, "label": ACTIONS[code], "reason": reason, "products": list(products)}
