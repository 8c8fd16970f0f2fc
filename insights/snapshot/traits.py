"""Behavioural traits beyond RFM, per customer, on a few documented axes; each a label with a strength in [0, 1].

- category_affinity: top_category_share, the share of purchase spend in the customer's main category (query
  customer_categories): explorer [0, 0.4), mixed [0.4, 0.7), specialist [0.7, 1] (with the category).
- cadence: gap_cv, std / mean of the days between purchase days (three orders at least): clockwork [0, 0.5),
  regular [0.5, 1), irregular >= 1; too_few_orders below three orders.
- tenure: customer_age_days, days since the first order (or sign-up): new [0, 90), developing [90, 365),
  established >= 365.
- returns: return_rate, units returned / units bought: never_returns = 0, occasional_returner (0, 0.1),
  frequent_returner >= 0.1.
- discount_sensitivity: promo_unit_share, the share of the units bought on promotion among those whose lines say
  (on_promotion, or a price below list_price; query customer_categories): full_price [0, 0.2), opportunist
  [0.2, 0.5), deal_seeker [0.5, 1]; unknown when no line of the customer carries the promotion fields.

Strength says how clearly the customer is inside the band of its label: 0 at a boundary with a neighbouring label;
1 at the middle of a middle band, at the floor of the first band, one band-width past the start of the last band
(and for never_returns). A label without a measure (too_few_orders, an axis the lake cannot feed) has no strength.
An axis no customer can be measured on (a lake without categories or promotion fields) is listed under
``unavailable`` with the reason, every customer labelled unknown on it.

The ``customer_traits`` table holds each customer's labels, strengths and measures; the ``traits`` document each
axis's distribution (customers, share, mean CLV per label) and the most common combinations of the five labels
(archetypes) with their size and value. numpy only (tests build snapshots with it in API-only processes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["AXES", "trait_columns", "trait_inputs", "traits_document", "TRAIT_COLUMNS", "TRAIT_INPUTS"]

# axis -> (measure, [(label, lower bound)], scale of the open last band); bands are [bound_i, bound_{i+1})
AXES: dict[str, tuple[str, list[tuple[str, float]]]] = {
    "category_affinity": ("top_category_share", [("explorer", 0.0), ("mixed", 0.4), ("specialist", 0.7)]),
    "cadence": ("gap_cv", [("clockwork", 0.0), ("regular", 0.5), ("irregular", 1.0)]),
    "tenure": ("customer_age_days", [("new", 0.0), ("developing", 90.0), ("established", 365.0)]),
    "returns": ("return_rate", [("never_returns", 0.0), ("occasional_returner", 1e-12), ("frequent_returner", 0.1)]),
    "discount_sensitivity": ("promo_unit_share", [("full_price", 0.0), ("opportunist", 0.2), ("deal_seeker", 0.5)]),
}
CLOSED_TOP = {"category_affinity": 1.0, "discount_sensitivity": 1.0}  # shares cannot pass 1: closed last bands
NO_MEASURE = {"category_affinity": "unknown", "cadence": "too_few_orders", "tenure": "unknown", "returns": "unknown",
              "discount_sensitivity": "unknown"}
WHY_NO_MEASURE = {"category_affinity": "the order lines carry no category",
                  "discount_sensitivity": "no order line carries promotion fields (on_promotion, list_price)"}
TRAIT_COLUMNS = ("customer_id", "affinity_category", *(f"{a}_label" for a in AXES), *(f"{a}_strength" for a in AXES),
                 *(m for m, _ in AXES.values()), "predicted_clv", "monetary_total")
TRAIT_INPUTS = ("mean_days_between_orders", "std_days_between_orders", "frequency", "top_category_share",
                "customer_age_days", "return_rate", "promo_unit_share")  # with customer_id and top_category
MAX_ARCHETYPES = 10


def _floats(frame: Any, name: str, n: int) -> np.ndarray:
    if name not in frame:
        return np.full(n, np.nan)
    col = frame[name]
    if hasattr(col, "to_numpy"):  # a pandas column (nullable dtypes: NA -> NaN)
        return np.asarray(col.to_numpy("float64", na_value=np.nan))
    return np.asarray(col, dtype="float64")


def _texts(frame: Any, name: str, n: int) -> np.ndarray:
    if name not in frame:
        return np.full(n, "", dtype="<U1")
    col = frame[name]
    if isinstance(col, np.ndarray) and col.dtype.kind == "U":  # trait_inputs' own: already text, no None
        return col
    if hasattr(col, "fillna"):
        return np.asarray(col.astype("object").fillna("").astype(str).to_numpy(), dtype=str)
    return np.array(["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in col], dtype=str)


def _measures(frame: Any) -> dict[str, np.ndarray]:
    n = len(frame["customer_id"])
    mean_gap, std_gap = _floats(frame, "mean_days_between_orders", n), _floats(frame, "std_days_between_orders", n)
    freq = _floats(frame, "frequency", n)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where((freq >= 3) & (mean_gap > 0), std_gap / mean_gap, np.nan)
    share = _floats(frame, "top_category_share", n)
    categories = _texts(frame, "top_category", n)
    if np.isin(categories, ["", "uncategorized"]).all():  # the lake has no categories: the axis cannot be measured
        share = np.full(n, np.nan)
    return {"top_category_share": share, "gap_cv": cv, "customer_age_days": _floats(frame, "customer_age_days", n),
            "return_rate": _floats(frame, "return_rate", n), "promo_unit_share": _floats(frame, "promo_unit_share", n),
            "_category": categories}


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


def trait_columns(frame: Any, clv: np.ndarray, monetary: np.ndarray) -> dict[str, np.ndarray]:
    """The ``customer_traits`` table of ``frame`` (customer_features + customer_categories, sorted by id; a
    DataFrame or a mapping of columns), with each customer's predicted CLV and spend (the document's values)."""
    m = _measures(frame)
    out: dict[str, np.ndarray] = {"customer_id": _texts(frame, "customer_id", len(frame["customer_id"]))}
    for axis, (measure, bands) in AXES.items():
        label, strength = _banded(m[measure], bands, CLOSED_TOP.get(axis))
        out[f"{axis}_label"] = np.where(label == "", NO_MEASURE[axis], label).astype(str)
        out[f"{axis}_strength"] = strength.astype("float64")
        out[measure] = m[measure].astype("float64")
    out["affinity_category"] = np.where(np.isfinite(m["top_category_share"]), m["_category"], "").astype(str)
    out["predicted_clv"], out["monetary_total"] = np.asarray(clv, "float64"), np.asarray(monetary, "float64")
    return {name: out[name] for name in TRAIT_COLUMNS}


def trait_inputs(frame: Any) -> dict[str, np.ndarray]:
    """What :func:`trait_columns` reads of each row of ``frame`` (as it would read them): per row, so the sharded
    refresh keeps them shard by shard and runs trait_columns once on every shard's rows (its category check is
    population-wide); trait_columns(trait_inputs(frame), ...) equals trait_columns(frame, ...)."""
    n = len(frame["customer_id"])
    out = {"customer_id": _texts(frame, "customer_id", n), "top_category": _texts(frame, "top_category", n)}
    out.update({name: _floats(frame, name, n) for name in TRAIT_INPUTS})
    return out


def _codes(keys: Any, few: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for a text column of few distinct values, without sorting every
    row's string: one comparison pass per value (at 10M customers the sort took seconds and gigabytes); the
    values past the first ``few`` are sorted as np.unique would."""
    keys = np.asarray(keys)
    inverse = np.zeros(keys.size, dtype=np.int64)
    assigned = np.zeros(keys.size, dtype=bool)
    labels: list[Any] = []
    while len(labels) < few and not assigned.all():
        label = keys[int(np.argmin(assigned))]  # the first row without a code yet
        hit = keys == label
        inverse[hit], labels = len(labels), [*labels, label]
        assigned |= hit
    if not assigned.all():
        rest, rest_inverse = np.unique(keys[~assigned], return_inverse=True)
        inverse[~assigned] = len(labels) + rest_inverse
        labels += list(rest)
    uniq = np.array(labels, dtype=keys.dtype if keys.dtype.kind == "U" else str)
    order = np.argsort(uniq, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return uniq[order], rank[inverse]


def _groups(codes: tuple[np.ndarray, np.ndarray], *values: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                              list[np.ndarray]]:
    """Distinct keys (sorted; from :func:`_codes`), their counts, and per value array the sum and count of its
    finite entries."""
    uniq, inverse = codes
    counts = np.bincount(inverse, minlength=uniq.size)
    stats = []
    for v in values:
        ok = np.isfinite(v)
        stats += [np.bincount(inverse[ok], weights=v[ok], minlength=uniq.size),
                  np.bincount(inverse[ok], minlength=uniq.size)]
    return uniq, counts, stats


def _mean(total: float, count: int, digits: int = 2) -> float | None:
    return round(float(total) / count, digits) if count else None


def traits_document(traits: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Each axis's distribution and the archetypes (label combinations) by size, with their value: from the
    ``customer_traits`` table alone, so an erasure recomputes it from the rewritten table (snapshot/erasure.py)."""
    n = int(np.asarray(traits["customer_id"]).shape[0])
    traits = {k: np.asarray(v) for k, v in traits.items()}
    clv, monetary = traits["predicted_clv"].astype("float64"), traits["monetary_total"].astype("float64")
    axes: dict[str, Any] = {}
    codes = {axis: _codes(traits[f"{axis}_label"]) for axis in AXES}
    for axis, (measure, bands) in AXES.items():
        labels, counts, (clv_sum, clv_n, s_sum, s_n) = _groups(codes[axis], clv,
                                                               np.asarray(traits[f"{axis}_strength"], "float64"))
        dist = [{"label": str(label), "customers": int(k), "percentage": round(100.0 * k / n, 2),
                 "avg_clv": _mean(clv_sum[i], clv_n[i]), "avg_strength": _mean(s_sum[i], s_n[i], 4)}
                for i, (label, k) in enumerate(zip(labels, counts, strict=True))]
        uppers = [b for _, b in bands[1:]] + [CLOSED_TOP.get(axis)]
        rules = [{"label": name, "lower": lo, "upper": up} for (name, lo), up in zip(bands, uppers, strict=True)]
        axes[axis] = {"measure": measure, "bands": rules, "no_measure_label": NO_MEASURE[axis],
                      "distribution": sorted(dist, key=lambda d: (-d["customers"], d["label"]))}
    cats, cat_inverse = _codes(traits["affinity_category"][traits["category_affinity_label"] == "specialist"])
    axes["category_affinity"]["specialist_categories"] = [
        {"category": str(c), "customers": int(k)}
        for c, k in zip(cats, np.bincount(cat_inverse, minlength=cats.size), strict=True)]
    # a combination of the five labels as one integer (mixed radix over the axes' codes), named once per value
    combo = np.zeros(n, dtype=np.int64)
    for axis in AXES:
        combo = combo * codes[axis][0].size + codes[axis][1]
    values, combo_inverse = np.unique(combo, return_inverse=True)
    parts: list[np.ndarray] = []
    rest = values
    for axis in reversed(AXES):  # the last axis is the lowest digit
        labels_of_axis = codes[axis][0]
        parts.insert(0, labels_of_axis[rest % labels_of_axis.size] if labels_of_axis.size else rest.astype(str))
        rest = rest // max(1, labels_of_axis.size)
    combos = np.array([" / ".join(str(part[i]) for part in parts) for i in range(values.size)], dtype=str)
    combos, counts, (clv_sum, clv_n, m_sum, m_n) = _groups((combos, combo_inverse), clv, monetary)
    order = sorted(range(combos.size), key=lambda i: (-int(counts[i]), str(combos[i])))
    archetypes = [{"name": str(combos[i]), "traits": dict(zip(AXES, str(combos[i]).split(" / "), strict=True)),
                   "customers": int(counts[i]), "percentage": round(100.0 * counts[i] / n, 2),
                   "avg_clv": _mean(clv_sum[i], clv_n[i]), "total_clv": round(float(clv_sum[i]), 2),
                   "avg_monetary": _mean(m_sum[i], m_n[i])}
                  for i in order[:MAX_ARCHETYPES]]
    unmeasured = {axis: WHY_NO_MEASURE[axis] for axis in WHY_NO_MEASURE
                  if n and not np.isfinite(np.asarray(traits[f"{axis}_strength"], "float64")).any()}
    return {"n_customers": n, "axes": axes, "archetypes": archetypes, "unavailable": unmeasured,
            "n_combinations": int(combos.size)}
