"""A small, hand-checkable insight snapshot in the docs/snapshot.md layout, in memory or written to a folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from insights.snapshot.reader import Snapshot
from insights.snapshot.writer import content_hash, file_digests, write_doc, write_table

AS_OF = "2026-11-01"
VERSION = "20261101T040000Z-2026-11-01-abc1234"
SEGMENT_NAMES = ["Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "At Risk",
                 "Can't Lose Them", "Hibernating", "Lost", "Need Attention", "About To Sleep"]
N_CUSTOMERS = 12


def customer_columns() -> dict[str, np.ndarray]:
    n = N_CUSTOMERS
    ids = np.array([f"C{i:03d}" for i in range(1, n + 1)])
    churn = np.array([0.95, 0.10, 0.70, 0.85, 0.30, 0.62, 0.05, 0.99, 0.50, 0.75, 0.20, 0.65])
    clv = np.array([100.0, 900.0, 400.0, 800.0, 50.0, 200.0, 1200.0, 10.0, 300.0, 800.0, 60.0, 0.0])
    risk = np.where(churn >= 0.8, "Critical", np.where(churn >= 0.6, "High", np.where(churn >= 0.3, "Medium", "Low")))
    cols: dict[str, np.ndarray] = {
        "customer_id": ids,
        "email": np.array([f"c{i}@example.com" if i % 4 else "" for i in range(1, n + 1)]),
        "recency_days": np.arange(10, 10 + 10 * n, 10, dtype=np.int32),
        "frequency": np.arange(1, n + 1, dtype=np.int32),
        "monetary_total": np.round(np.linspace(50.0, 1150.0, n), 2),
        "r_score": (np.arange(n) % 5 + 1).astype(np.int8),
        "f_score": ((np.arange(n) + 2) % 5 + 1).astype(np.int8),
        "m_score": ((np.arange(n) + 4) % 5 + 1).astype(np.int8),
        "segment": np.array([SEGMENT_NAMES[i % 4] for i in range(n)]),
        "churn_probability": churn,
        "risk_level": risk.astype("<U8"),
        "churn_factor_1": np.array(["recency_days"] * (n - 1) + [""]),
        "churn_factor_2": np.array(["frequency"] * (n - 2) + ["", ""]),
        "churn_factor_3": np.array([""] * n),
        "churn_contrib_1": np.linspace(0.9, -0.2, n),
        "churn_contrib_2": np.linspace(-0.3, 0.4, n),
        "churn_contrib_3": np.zeros(n),
        "churn_value_1": np.arange(10, 10 + 10 * n, 10, dtype=np.float64),  # recency_days
        "churn_value_2": np.arange(1, n + 1, dtype=np.float64),  # frequency
        "churn_value_3": np.full(n, np.nan),
        "predicted_clv": clv,
        "clv_segment": np.where(clv >= 800, "High", np.where(clv >= 200, "Medium", "Low")).astype("<U6"),
        "clv_method": np.array(["random_forest"] * (n - 1) + ["simple_formula"]),
        "simple_clv": clv * 0.9,
        "predicted_orders": np.linspace(0.5, 6.0, n),
        "next_order_date": np.array(["2026-11-20"] * (n - 1) + [""]),
        "spend_30d": clv / 12.0,
        "purchase_probability_30d": 1.0 - churn,
        "value_at_risk": churn * clv,
        "clv_lower": clv * 0.4,
        "clv_upper": clv * 1.9,
    }
    for k in range(2, 11):
        cols[f"segment_k{k}"] = (np.arange(n) % k).astype(np.int8)
    return cols


def at_risk_order(cols: dict[str, np.ndarray]) -> np.ndarray:
    """Rows by value_at_risk descending, ties by customer_id (docs/snapshot.md)."""
    return np.lexsort((cols["customer_id"], -cols["value_at_risk"])).astype(np.int32)


WHATIF_MULTIPLIERS = [0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3]


def product_tables(horizon: int = 90) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """P1 model forecast with a what-if grid, P2 fallback (elasticity refused), P3 no history, P4 fallback (ok),
    P5 a weekly fallback (Mondays; its elasticity pooled); P6 has only an elasticity (flagged positive)."""
    days = np.arange(horizon, dtype=np.float64)
    monday = (days + 6) % 7 == 0  # day 0 (2026-11-01) is a Sunday
    base = np.vstack([10.0 + days % 7, np.full(horizon, 2.0), np.zeros(horizon), np.full(horizon, 5.0),
                      np.where(monday, 14.0, 0.0)])
    mult = np.array(WHATIF_MULTIPLIERS)
    whatif = np.full((5, mult.size, horizon), np.nan)
    whatif[0] = base[0][None, :] * mult[:, None] ** -2.0  # the model's own price response for P1
    tsb = ("the forecast is its average selling rate and how often it sells (TSB method)")
    forecast = {
        "product_id": np.array(["P1", "P2", "P3", "P4", "P5"]),
        "method": np.array(["model", "tsb", "none", "tsb", "tsb"]),
        "status": np.array(["ok", "fallback", "insufficient_history", "fallback", "fallback"]),
        "reference_price": np.array([4.0, 2.5, np.nan, 10.0, 6.5]),
        "last_price": np.array([4.2, 2.5, np.nan, 12.0, 6.0]),
        "predicted_quantity": base,
        "confidence_lower": np.maximum(base - 3.0, 0.0),
        "confidence_upper": np.where(base > 0, base + 3.0, 0.0),
        "confidence_lower_wide": np.maximum(base - 6.0, 0.0),
        "confidence_upper_wide": np.where(base > 0, base + 6.0, 0.0),
        "whatif_quantity": whatif,
        "method_note": np.array(["", "sold on 8 days in the last year, fewer than the 10 the demand model needs, so "
                                     + tsb, "sold on fewer than 2 days: there is no selling rate to forecast from",
                                 "on sale for 40 days, fewer than the 56 the demand model needs, so " + tsb,
                                 "sold on 30 days in the last year, fewer than the 40 the model needs, so " + tsb]),
        "driver_1": np.array(["recent_sales", "", "", "", ""]),
        "driver_2": np.array(["day_of_week", "", "", "", ""]),
        "driver_3": np.array(["", "", "", "", ""]),
        "driver_effect_1": np.array([3.0, 0.0, 0.0, 0.0, 0.0]),
        "driver_effect_2": np.array([-1.25, 0.0, 0.0, 0.0, 0.0]),
        "driver_effect_3": np.zeros(5),
        "grain": np.array(["daily", "daily", "daily", "daily", "weekly"]),
        "trading_weekdays": np.array(["0,1,2,3,4,5,6"] * 4 + ["0"]),
        "grain_note": np.array(["", "", "", "", "sold weekly, on Mondays: each week's units are forecast on its "
                                                "Monday; other days are 0 with a zero-width interval"]),
    }
    # P1 own estimate, P2 refused (no price variation), P4 own estimate, P5 pooled (weak own data), P6 flagged
    elasticity = {
        "product_id": np.array(["P1", "P2", "P4", "P5", "P6"]),
        "status": np.array(["ok", "refused", "ok", "pooled", "ok"]),
        "answer_status": np.array(["answered", "refused", "answered", "answered", "flagged_positive"]),
        "reason": np.array(["", "no price variation: the price never changed on the days with sales", "",
                            "weak own evidence (own estimate -0.40 +- 1.60 from 30 weeks): 20% own data, the rest "
                            "category 'home'", "flagged: the data show demand rising with price, which is "
                            "confounding (season, promotions, order size), not a demand curve; the optimizer holds "
                            "the price"]),
        "elasticity_coefficient": np.array([-1.5, np.nan, -0.5, -1.68, 0.6]),
        "standard_error": np.array([0.2, np.nan, 0.1, 0.72, 0.2]),
        "ci_lower": np.array([-1.9, np.nan, -0.7, -3.09, 0.21]),
        "ci_upper": np.array([-1.1, np.nan, -0.3, -0.27, 0.99]),
        "p_value": np.array([0.0001, np.nan, 0.001, 0.8, 0.003]),
        "r_squared": np.array([0.85, np.nan, 0.4, 0.1, 0.3]),
        "n_observations": np.array([120, 3, 60, 30, 200], dtype=np.int32),
        "elasticity_type": np.array(["Elastic", "", "Inelastic", "Elastic", "Positive: suspect"]),
        "interpretation": np.array(["Demand is sensitive to price: a 1% price rise cuts units by about 1.5%", "",
                                    "Demand barely responds to price", "Mostly category 'home''s typical value",
                                    "Demand appears to rise with price; do not price on it"]),
        "price_min": np.array([3.0, 2.5, 8.0, 6.0, 1.0]),
        "price_max": np.array([5.0, 2.5, 12.0, 7.0, 1.5]),
        "price_mean": np.array([4.0, 2.5, 10.0, 6.5, 1.2]),
        "reference_quantity": np.array([10.0, 2.0, 5.0, 1.0, 30.0]),
        "category": np.array(["home", "home", "kitchen", "home", "home"]),
        "grain": np.array(["daily", "irregular", "daily", "weekly", "daily"]),
        "trading_weekdays": np.array(["0,1,2,3,4,5,6", "0,1,2,3,4,5,6", "0,1,2,3,4,5,6", "0", "0,1,2,3,4,5,6"]),
        "fit_status": np.array(["converged", "no_price_variation", "converged", "converged", "converged"]),
        "pooled_toward": np.array(["category:home", "", "category:kitchen", "category:home", "category:home"]),
        "period_days": np.array([1, 7, 1, 7, 1], dtype=np.int32),
        "n_iterations": np.array([6, 0, 5, 7, 6], dtype=np.int32),
        "n_capped": np.zeros(5, dtype=np.int32),
        "converged": np.array([1, 0, 1, 1, 1], dtype=np.int8),
        "pooled": np.array([0, 0, 0, 1, 0], dtype=np.int8),
        "sign_suspect": np.array([0, 0, 0, 0, 1], dtype=np.int8),
        "usable_for_pricing": np.array([1, 0, 1, 1, 0], dtype=np.int8),
        "own_elasticity": np.array([-1.52, np.nan, -0.5, -0.4, 0.7]),
        "own_standard_error": np.array([0.21, np.nan, 0.1, 1.6, 0.2]),
        "shrinkage_weight": np.array([0.95, 0.0, 0.97, 0.2, 0.9]),
        "prior_mean": np.array([-1.9, np.nan, -1.0, -2.0, -1.9]),
        "prior_sd": np.array([0.8, np.nan, 0.7, 0.8, 0.8]),
    }
    return forecast, elasticity


def recommendation_tables() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Three stored recommendations per customer over five products (rows of rec_products: P1..P5).

    C001 bought P2 (so P3 is "often bought with P2") and the replenishable P1 (a rebuy); C012 bought nothing the
    others did: popularity only (because -1). Categories: C001 spends 70% on home, 30% on toys.
    """
    n = N_CUSTOMERS
    items = np.tile(np.array([[2, 0, 4]], dtype=np.int16), (n, 1))  # P3, P1, P5
    because = np.tile(np.array([[1, 0, -1]], dtype=np.int16), (n, 1))
    items[11], because[11] = [0, 1, 2], [-1, -1, -1]
    scores = np.tile(np.array([[0.8, 0.5, 0.003]], dtype=np.float32), (n, 1))
    category = np.tile(np.array([[1, 2]], dtype=np.int16), (n, 1))
    share = np.tile(np.array([[0.7, 0.3]], dtype=np.float32), (n, 1))
    category[11], share[11] = [0, -1], [1.0, 0.0]
    recs = {"customer_id": np.array([f"C{i:03d}" for i in range(1, n + 1)]), "rec_product": items,
            "rec_because": because, "rec_score": scores, "category": category, "category_share": share}
    products = {
        "product_id": np.array(["P1", "P2", "P3", "P4", "P5"]),
        "category": np.array(["home", "home", "toys", "toys", "garden"]),
        "buyers": np.array([8, 6, 5, 4, 3], dtype=np.int32),
        "repeat_rate": np.array([0.5, 0.1, 0.0, 0.2, 0.0], dtype=np.float32),
        "replenishable": np.array([1, 0, 0, 0, 0], dtype=np.int8),
        "popularity_rank": np.arange(5, dtype=np.int32),
        "together_product": np.array([[1, 2, -1], [2, 0, -1], [1, 3, 0], [2, -1, -1], [0, -1, -1]], dtype=np.int16),
        "together_score": np.array([[0.5, 0.25, 0], [0.6, 0.3, 0], [0.7, 0.2, 0.1], [0.4, 0, 0], [0.3, 0, 0]],
                                   dtype=np.float32),
        "together_customers": np.array([[4, 2, 0], [4, 2, 0], [4, 1, 1], [2, 0, 0], [1, 0, 0]], dtype=np.int32),
    }
    meta = {"method": "item-item co-occurrence", "top_n": 3, "together_k": 3, "categories": ["garden", "home", "toys"],
            "replenishable_rule": {"min_repeat_rate": 0.3, "min_buyers": 10},
            "backtest": {"split": "2026-09-02", "k": 10, "model": {"recall_at_k": 0.2, "ndcg_at_k": 0.15,
                                                                    "n_customers": 40},
                         "popularity": {"recall_at_k": 0.1, "ndcg_at_k": 0.08, "n_customers": 40}}}
    return recs, products, meta


def segments_doc(cols: dict[str, np.ndarray]) -> dict[str, Any]:
    solutions = {}
    n = cols["customer_id"].shape[0]
    for k in range(2, 11):
        labels = cols[f"segment_k{k}"]
        segs = []
        for s in range(k):
            mask = labels == s
            segs.append({
                "segment_id": s, "segment": SEGMENT_NAMES[s], "description": f"{SEGMENT_NAMES[s]} at k={k}",
                "count": int(mask.sum()), "percentage": round(100.0 * mask.sum() / n, 2),
                "avg_recency": float(cols["recency_days"][mask].mean()),
                "avg_frequency": float(cols["frequency"][mask].mean()),
                "avg_monetary": float(cols["monetary_total"][mask].mean()),
            })
        solutions[str(k)] = {"k": k, "silhouette": round(0.3 + 0.01 * k, 3), "segments": segs}
    elbow = [{"k": k, "inertia": 100.0 / k, "silhouette": solutions[str(k)]["silhouette"]} for k in range(2, 11)]
    return {"auto_k": 4, "elbow": elbow, "solutions": solutions}


def traits_parts(cols: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The customer_traits table and traits document, computed by the refresh's own functions from made-up
    behaviour (insights/snapshot/traits.py)."""
    from insights.snapshot.traits import trait_columns, traits_document  # numpy only: no pandas in API tests

    n = cols["customer_id"].shape[0]
    i = np.arange(n)
    frame = {
        "customer_id": cols["customer_id"], "frequency": cols["frequency"],
        "mean_days_between_orders": 20.0 + 5.0 * i, "std_days_between_orders": 4.0 + 3.0 * (i % 5) ** 2,
        "customer_age_days": 30.0 + 60.0 * i, "return_rate": np.where(i % 3 == 0, 0.0, 0.04 * (i % 4)),
        "top_category": np.array(["toys", "books", "home"])[i % 3],
        "top_category_share": 0.3 + 0.06 * i, "promo_unit_share": np.where(i % 4 == 3, np.nan, 0.09 * i),
    }
    traits = trait_columns(frame, cols["predicted_clv"], cols["monetary_total"])
    return traits, traits_document(traits)


def snapshot_parts(version: str = VERSION, as_of: str = AS_OF) -> dict[str, Any]:
    cols = customer_columns()
    forecast, elasticity = product_tables()
    recs, rec_products, rec_meta = recommendation_tables()
    traits, traits_doc = traits_parts(cols)
    tables = {"customers": cols, "at_risk": {"order": at_risk_order(cols)}, "forecast": forecast,
              "elasticity": elasticity, "customer_traits": traits, "recommendations": recs,
              "rec_products": rec_products}
    docs = {
        "segments": segments_doc(cols),
        "forecast_meta": {"level": 0.8, "wide_level": 0.95, "method": "direct", "model": "lightgbm",
                          "whatif_price_multipliers": WHATIF_MULTIPLIERS,
                          "feature_importance": [{"feature": "lag_7", "importance": 0.4},
                                                 {"feature": "price_rel", "importance": 0.2}]},
        "customer_models": {"churn": {"horizon_days": 90, "label_window_days": 90}, "clv": {"horizon_days": 365},
                            "feature_medians": {"recency_days": 30.0, "frequency": 3.0},
                            "mean_churn_probability": 0.55},
        "traits": traits_doc,
        "recommendation_meta": rec_meta,
    }
    docs.update(derived_docs())
    keys = {"customers": "customer_id", "forecast": "product_id", "elasticity": "product_id",
            "customer_traits": "customer_id", "recommendations": "customer_id", "rec_products": "product_id"}
    manifest = {"version": version, "as_of": as_of, "created_at": "2026-11-01T04:00:00Z", "table_keys": keys,
                "row_counts": {t: int(next(iter(c.values())).shape[0]) for t, c in tables.items()}}
    return {"version": version, "manifest": manifest, "tables": tables, "docs": docs, "keys": keys}


# customer_cohorts' rows for a hand-checkable lake: (cohort, period, active customers, revenue). Months: 10 customers
# acquired in August (4 back in September, 3 in October), 4 in September (1 back), 5 in October.
COHORT_ROWS = {
    "month": [("2026-08-01", "2026-08-01", 10, 500.0), ("2026-08-01", "2026-09-01", 4, 160.0),
              ("2026-08-01", "2026-10-01", 3, 150.0), ("2026-09-01", "2026-09-01", 4, 100.0),
              ("2026-09-01", "2026-10-01", 1, 60.0), ("2026-10-01", "2026-10-01", 5, 250.0)],
    "week": [("2026-10-12", "2026-10-12", 3, 30.0), ("2026-10-12", "2026-10-19", 1, 20.0),
             ("2026-10-19", "2026-10-19", 2, 10.0)],
}


# customer_activity_monthly's rows: (month, active base at its end, customers acquired in it). The lake begins in
# May: rates from its fourth month on. Net churn: (100 + 10 - 100) / 100 = 0.1 in August, (100 + 20 - 105) / 100
# = 0.15 in September, (105 + 5 - 100) / 105 in October.
ACTIVITY_ROWS = [("2026-05-01", 80, 80), ("2026-06-01", 90, 20), ("2026-07-01", 100, 30), ("2026-08-01", 100, 10),
                 ("2026-09-01", 105, 20), ("2026-10-01", 100, 5)]


class TinyLake:
    """A query engine answering the derived documents' queries with the rows above (the refresh does the rest)."""

    def query(self, name: str, params: dict[str, Any] | None = None) -> Any:
        import pandas as pd

        assert params is not None
        if name == "customer_activity_monthly":
            frame = pd.DataFrame(ACTIVITY_ROWS, columns=["month_start", "active_customers", "new_customers"])
            frame["month_start"] = pd.to_datetime(frame["month_start"])
            return frame
        assert name == "customer_cohorts"
        rows = COHORT_ROWS[params["period"]]
        frame = pd.DataFrame(rows, columns=["cohort", "period_start", "active_customers", "revenue"])
        for col in ("cohort", "period_start"):
            frame[col] = pd.to_datetime(frame[col])
        return frame


def previous_version() -> Any:
    """The version before: C001..C010 and C000 (gone since); C011 and C012 are new. C001 and C005 were Loyal
    Customers (now Champions), C002 Potential Loyalists, C003 New Customers, C004 Champions; the rest stayed."""
    current = [SEGMENT_NAMES[i % 4] for i in range(10)]
    before = {0: "Loyal Customers", 1: "Potential Loyalists", 2: "New Customers", 3: "Champions",
              4: "Loyal Customers"}
    ids = ["C000"] + [f"C{i:03d}" for i in range(1, 11)]
    segs = ["At Risk"] + [before.get(i, current[i]) for i in range(10)]
    from insights.refresh.transitions import PreviousSegments

    return PreviousSegments("20261001T040000Z-2026-10-01-0000000", "2026-10-01", np.array(ids), np.array(segs))


DERIVED = Path(__file__).with_name("derived_docs.json")


def derived_docs() -> dict[str, Any]:
    """The derived documents of this snapshot, as recorded from the refresh's code (compute_derived_docs): read
    from JSON so that building a test snapshot imports no refresh code (pandas, lightgbm): the request-path tests
    check that answering loads none. tests/insights/test_derived.py fails when the recording is stale
    (GOLDEN_RECORD=1 rewrites it)."""
    return dict(json.loads(DERIVED.read_text()))


def compute_derived_docs() -> dict[str, Any]:
    """The documents the refresh derives from the scored customers (insights/refresh/derived.py), by its code."""
    cols = customer_columns()
    from datetime import date

    from insights.refresh.churn_outlook import churn_outlook_doc
    from insights.refresh.cohorts import cohorts_doc
    from insights.refresh.exports import exports_doc
    from insights.refresh.growth import growth_doc
    from insights.refresh.transitions import transitions_doc

    as_of = date.fromisoformat(AS_OF)
    return {"exports": exports_doc(AS_OF, N_CUSTOMERS),
            "segment_transitions": transitions_doc(cols, previous_version()),
            "churn_outlook": churn_outlook_doc(cols, model_horizon_days=90),
            "cohorts": cohorts_doc(TinyLake(), as_of),
            "growth": growth_doc(TinyLake(), as_of, cols, model_horizon_days=90)}


def build_snapshot(**kwargs: Any) -> Snapshot:
    p = snapshot_parts(**kwargs)
    return Snapshot.from_memory(p["version"], p["manifest"], p["tables"], p["docs"], keys=p["keys"])


def write_snapshot(root: str | Path, *, version: str = VERSION, as_of: str = AS_OF, publish: bool = True,
                   mutate: Any = None) -> Path:
    """Write a version folder under ``root/versions/<version>``; move ``root/latest`` to it when ``publish``."""
    p = snapshot_parts(version=version, as_of=as_of)
    if mutate is not None:
        mutate(p)
    folder = Path(root) / "versions" / version
    for table, columns in p["tables"].items():
        write_table(folder, table, columns)  # the refresh's writer: encoded text, float32 columns, schema.json
    for name, doc in p["docs"].items():
        write_doc(folder, name, doc)
    files = file_digests(folder)
    (folder / "manifest.json").write_text(json.dumps({**p["manifest"], "files": files,
                                                      "content_sha256": content_hash(files)}))
    if publish:
        tmp = Path(root) / "latest.tmp"
        tmp.write_text(version)
        tmp.replace(Path(root) / "latest")
    return folder


def complete(table: str, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``cols`` plus every other column of the declared ``table``, neutral-valued (for fake refresh sides)."""
    from insights.snapshot.schema import TABLES

    n = int(np.asarray(next(iter(cols.values()))).shape[0])
    wide = [np.asarray(v) for v in cols.values() if np.asarray(v).ndim == 2]
    horizon = wide[0].shape[1] if wide else 90
    out = dict(cols)
    for col in TABLES[table].columns:
        if col.name in out:
            continue
        shape = {1: (n,), 2: (n, horizon), 3: (n, len(WHATIF_MULTIPLIERS), horizon)}[col.dims]
        dtype = {"text": "<U1", "int": np.int32, "float64": np.float64, "float32": np.float32}[col.kind]
        out[col.name] = np.full(shape, "" if col.kind == "text" else 0, dtype=dtype)
    return out
