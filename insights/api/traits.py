"""Behavioural traits from the snapshot: their distribution and archetypes (GET segments/traits) and one customer's.

The refresh computes them (insights/snapshot/traits.py: axes, bands, strength) into the ``customer_traits`` table
and the ``traits`` document. numpy only: this module is on the API's request path.
"""

from __future__ import annotations

import math
from typing import Any

from insights.errors import NotFound
from insights.snapshot.reader import Snapshot

__all__ = ["segment_traits", "customer_traits", "AXES"]

AXES = ("category_affinity", "cadence", "tenure", "returns", "discount_sensitivity")
_MEASURES = {"category_affinity": "top_category_share", "cadence": "gap_cv", "tenure": "customer_age_days",
             "returns": "return_rate", "discount_sensitivity": "promo_unit_share"}


def segment_traits(snapshot: Snapshot) -> dict[str, Any]:
    """Each trait axis's bands and distribution, and the most common trait combinations with their size and value."""
    doc = snapshot.doc("traits")
    return {
        "axes": doc["axes"],
        "archetypes": doc["archetypes"],
        "n_combinations": doc.get("n_combinations"),
        "unavailable": doc.get("unavailable", {}),
        "total_customers": doc.get("n_customers"),
        "currency": snapshot.currency,
        "as_of": snapshot.as_of,
    }


def customer_traits(snapshot: Snapshot, customer_id: str) -> dict[str, Any]:
    """One customer's traits: per axis its label, strength (0..1, null without a measure) and measure; 404 if unknown.

    The customer profile (GET customers/{customer_id}) includes this dict under ``traits``.
    """
    table = snapshot.table("customer_traits")
    row = int(table.positions([customer_id])[0])
    if row < 0:
        raise NotFound(f"customer {customer_id!r} is not in the current snapshot", customer_id=customer_id)
    out: dict[str, Any] = {}
    for axis in AXES:
        strength = float(table[f"{axis}_strength"][row])
        measure = float(table[_MEASURES[axis]][row])
        out[axis] = {"label": str(table[f"{axis}_label"][row]),
                     "strength": round(strength, 4) if math.isfinite(strength) else None,
                     "measure": _MEASURES[axis], "value": round(measure, 4) if math.isfinite(measure) else None}
    category = str(table["affinity_category"][row])
    out["category_affinity"]["category"] = category or None
    archetype = " / ".join(out[a]["label"] for a in AXES)
    return {"customer_id": customer_id, "traits": out, "archetype": archetype, "as_of": snapshot.as_of}
