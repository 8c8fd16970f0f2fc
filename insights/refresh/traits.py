"""Behavioural traits beyond RFM, per customer, on a few documented axes; each a label with a strength in [0, 1].

- category_affinity: top_category_share, the share of purchase spend in the customer's main category (query
  customer_categories): explorer [0, 0.4), mixed [0.4, 0.7), specialist [0.7, 1] (with the category).
- cadence: gap_cv, std / mean of the days between purchase days (three orders at least): clockwork [0, 0.5),
  regular [0.5, 1), irregular >= 1; too_few_orders below three orders.
- tenure: customer_age_days, days since the first order (or sign-up): new [0, 90), developing [90, 365),
  established >= 365.
- returns: return_rate, units returned / units bought: never_returns = 0, occasional_returner (0, 0.1),
  frequent_returner >= 0.1.

Strength says how clearly the customer is inside the band of its label: 0 at a boundary with a neighbouring label;
1 at the middle of a middle band, at the floor of the first band, one band-width past the start of the last band
(and for never_returns). A label without a measure (too_few_orders, an axis the lake cannot feed) has no strength.
Discount sensitivity needs promotion fields on the order lines, which the lake contract does not have yet: the
``traits`` document says so (``unavailable``) instead of inventing the axis.

The ``customer_traits`` table holds each customer's labels, strengths and measures; the ``traits`` document each
axis's distribution (customers, share, mean CLV per label) and the most common combinations of the four labels
(archetypes) with their size and value. pandas/numpy, in the refresh only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["AXES", "UNAVAILABLE", "trait_columns", "traits_document", "TRAIT_COLUMNS"]

# axis -> (measure, [(label, lower bound)], scale of the open last band); bands are [bound_i, bound_{i+1})
AXES: dict[str, tuple[str, list[tuple[str, float]]]] = {
    "category_affinity": ("top_category_share", [("explorer", 0.0), ("mixed", 0.4), ("specialist", 0.7)]),
    "cadence": ("gap_cv", [("clockwork", 0.0), ("regular", 0.5), ("irregular", 1.0)]),
    "tenure": ("customer_age_days", [("new", 0.0), ("developing", 90.0), ("established", 365.0)]),
    "returns": ("return_rate", [("never_returns", 0.0), ("occasional_returner", 1e-12), ("frequent_returner", 0.1)]),
}
CLOSED_TOP = {"category_affinity": 1.0}  # a share cannot pass 1: its last band is closed
NO_MEASURE = {"category_affinity": "unknown", "cadence": "too_few_orders", "tenure": "unknown", "returns": "unknown"}
UNAVAILABLE = {"discount_sensitivity": "the order lines carry no promotion fields (a flag, a discount or a list "
                                       "price) in the lake contract, so discount sensitivity cannot be measured"}
TRAIT_COLUMNS = ("customer_id", "affinity_category", *(f"{a}_label" for a in AXES), *(f"{a}_strength" for a in AXES),
                 *(m for m, _ in AXES.values()))
MAX_ARCHETYPES = 10


def _measures(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    def col(name: str) -> np.ndarray:
        return frame[name].to_numpy("float64", na_value=np.nan) if name in frame else np.full(len(frame), np.nan)

    mean_gap, std_gap = col("mean_days_between_orders"), col("std_days_between_orders")
    freq = col("frequency")
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where((freq >= 3) & (mean_gap > 0), std_gap / mean_gap, np.nan)
    share = col("top_category_share")
    categories = frame["top_category"].astype("object").where(frame["top_category"].notna(), "").astype(str) \
        if "top_category" in frame else pd.Series([""] * len(frame))
    if (categories.isin(["", "uncategorized"])).all():  # the lake has no categories: the axis cannot be measured
        share = np.full(len(frame), np.nan)
    return {"top_category_share": share, "gap_cv": cv, "customer_age_days": col("customer_age_days"),
            "return_rate": col("return_rate"), "_category": categories.to_numpy(dtype=str)}


def _banded(x: np.ndarray, bands: list[tuple[str, float]], closed_top: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Each value's label and strength (NaN where the measure is missing: label "")."""
    bounds = np.array([b for _, b in bands])
    labels = np.array([name for name, _ in bands])
    ok = np.isfinite(x)
    idx = np.clip(np.searchsorted(bounds, np.where(ok, x, 0.0), side="right") - 1, 0, len(bands) - 1)
    lo = bounds[idx]
    hi = np.append(bounds[1:], closed_top if closed_top is not None else np.inf)[idx]
    width = np.diff(bounds)
    last_scale = width[-1] if width.size else 1.0
    first, last = idx == 0, idx == len(bands) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        middle = np.minimum(x - lo, hi - x) / ((hi - lo) / 2.0)
        strength = np.where(first, (hi - x) / (hi - lo), middle)
        top = (x - lo) / (hi - lo) if closed_top is not None else (x - lo) / last_scale
        strength = np.where(last, top, strength)
    if bands[0][1] == 0.0 and bands[1][1] < 1e-9:  # a point band at 0 (never_returns): fully that label
        strength = np.where(idx == 0, 1.0, strength)
    strength = np.where(ok, np.clip(strength, 0.0, 1.0), np.nan)
    return np.where(ok, labels[idx], ""), strength


def trait_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The ``customer_traits`` table of ``frame`` (customer_features + customer_categories, sorted by id)."""
    m = _measures(frame)
    out: dict[str, np.ndarray] = {"customer_id": frame["customer_id"].astype(str).to_numpy(dtype=str)}
    for axis, (measure, bands) in AXES.items():
        label, strength = _banded(m[measure], bands, CLOSED_TOP.get(axis))
        out[f"{axis}_label"] = np.where(label == "", NO_MEASURE[axis], label).astype(str)
        out[f"{axis}_strength"] = strength.astype("float64")
        out[measure] = m[measure].astype("float64")
    out["affinity_category"] = np.where(np.isfinite(m["top_category_share"]), m["_category"], "").astype(str)
    return {name: out[name] for name in TRAIT_COLUMNS}


def traits_document(traits: dict[str, np.ndarray], clv: np.ndarray, monetary: np.ndarray) -> dict[str, Any]:
    """Each axis's distribution and the archetypes (label combinations) by size, with their value."""
    n = int(traits["customer_id"].shape[0])
    frame = pd.DataFrame({f"{a}_label": traits[f"{a}_label"] for a in AXES})
    frame["clv"], frame["monetary"] = np.asarray(clv, "float64"), np.asarray(monetary, "float64")
    axes: dict[str, Any] = {}
    for axis, (measure, bands) in AXES.items():
        strengths = pd.Series(traits[f"{axis}_strength"])
        groups = frame.assign(strength=strengths).groupby(f"{axis}_label", sort=True)
        dist = [{"label": str(label), "customers": int(len(g)), "percentage": round(100.0 * len(g) / n, 2),
                 "avg_clv": _round(g["clv"].mean()), "avg_strength": _round(g["strength"].mean(), 4)}
                for label, g in groups]
        uppers = [b for _, b in bands[1:]] + [CLOSED_TOP.get(axis)]
        rules = [{"label": name, "lower": lo, "upper": up} for (name, lo), up in zip(bands, uppers, strict=True)]
        axes[axis] = {"measure": measure, "bands": rules, "no_measure_label": NO_MEASURE[axis],
                      "distribution": sorted(dist, key=lambda d: (-d["customers"], d["label"]))}
    cats = pd.Series(traits["affinity_category"][traits["category_affinity_label"] == "specialist"])
    axes["category_affinity"]["specialist_categories"] = [
        {"category": str(c), "customers": int(k)} for c, k in cats.value_counts().sort_index().items()]
    keys = [f"{a}_label" for a in AXES]
    combos = frame.groupby(keys, sort=True).agg(customers=("clv", "size"), avg_clv=("clv", "mean"),
                                                total_clv=("clv", "sum"), avg_monetary=("monetary", "mean"))
    combos = combos.reset_index().sort_values(["customers", *keys], ascending=[False, *[True] * len(keys)])
    archetypes = [{"traits": {a: str(row[f"{a}_label"]) for a in AXES},
                   "name": " / ".join(str(row[k]) for k in keys),
                   "customers": int(row["customers"]), "percentage": round(100.0 * row["customers"] / n, 2),
                   "avg_clv": _round(row["avg_clv"]), "total_clv": _round(row["total_clv"]),
                   "avg_monetary": _round(row["avg_monetary"])}
                  for _, row in combos.head(MAX_ARCHETYPES).iterrows()]
    return {"n_customers": n, "axes": axes, "archetypes": archetypes, "unavailable": dict(UNAVAILABLE),
            "n_combinations": int(len(combos))}


def _round(value: Any, digits: int = 2) -> float | None:
    value = float(value)
    return round(value, digits) if np.isfinite(value) else None
