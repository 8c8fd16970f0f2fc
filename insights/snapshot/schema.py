"""The contract between the two processes: every table, column and document the refresh writes and the API reads.

The writer refuses a table that does not match its declaration (a column missing, undeclared or of another
kind), so a change of the refresh's output cannot reach the API unnoticed; the codec stores the ``float32``
columns narrow. Meanings and units of each column: docs/snapshot.md. numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Column", "Table", "Document", "TABLES", "DOCUMENTS", "float32_columns", "check_table",
           "customer_tables"]

# kinds: "text" (stored dictionary- or UTF-8-encoded), "int" (any integer width), "float64", "float32"
KINDS = ("text", "int", "float64", "float32")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    dims: int = 1  # 1 = one value per row; 2 = a row of the horizon; 3 = a row x price grid x horizon
    rows_of: str | None = None  # an int column whose values are row positions in that table (erasure remaps them)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: str | None = None  # the sorted id column of row lookups
    side: str = ""  # the model family that writes it (a skipped family leaves it out of the version)
    # the column naming the customer a row is about: erasure (insights/snapshot/erasure.py) drops those rows.
    # Every table holding customer ids declares it, so forgetting a customer reaches it with no code change.
    customer_column: str | None = None

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Document:
    name: str
    side: str
    keys: tuple[str, ...] = field(default=())  # top-level keys the API reads
    # an aggregate over a customer table (counts, means): erasure recomputes it from the rewritten table, with
    # the function insights/snapshot/erasure.py registers under this document's name (none: the version is purged)
    aggregates: str | None = None


def _cols(kind: str, *names: str, dims: int = 1) -> tuple[Column, ...]:
    return tuple(Column(n, kind, dims) for n in names)


_CUSTOMERS = Table("customers", key="customer_id", side="customers", customer_column="customer_id", columns=(
    *_cols("text", "customer_id", "email", "segment", "risk_level", "churn_factor_1", "churn_factor_2",
           "churn_factor_3", "clv_segment", "clv_method", "next_order_date"),
    *_cols("int", "recency_days", "frequency", "r_score", "f_score", "m_score",
           *(f"segment_k{k}" for k in range(2, 11))),
    *_cols("float64", "monetary_total", "predicted_clv", "simple_clv", "spend_30d", "value_at_risk", "clv_lower",
           "clv_upper"),
    # probabilities, log-odds contributions and small counts: 7 significant digits are ample
    *_cols("float32", "churn_probability", "purchase_probability_30d", "churn_contrib_1", "churn_contrib_2",
           "churn_contrib_3", "churn_value_1", "churn_value_2", "churn_value_3", "predicted_orders"),
))
_AT_RISK = Table("at_risk", side="customers", columns=(Column("order", "int", rows_of="customers"),))
_FORECAST = Table("forecast", key="product_id", side="products", columns=(
    *_cols("text", "product_id", "method", "status", "method_note", "driver_1", "driver_2", "driver_3"),
    # the product's selling grain (daily, weekly, irregular), its trading weekdays ("0,1,2,3,4", Monday = 0) and
    # in words what that did to the forecast (non-trading days are 0 with a zero-width interval)
    *_cols("text", "grain", "trading_weekdays", "grain_note"),
    *_cols("float64", "reference_price", "last_price"),
    *_cols("float32", "driver_effect_1", "driver_effect_2", "driver_effect_3"),
    *_cols("float32", "predicted_quantity", "confidence_lower", "confidence_upper", dims=2),
    # the wider (forecast_meta wide_level, 0.95) interval, containing the level one; absent from older snapshots
    *_cols("float32", "confidence_lower_wide", "confidence_upper_wide", dims=2),
    Column("whatif_quantity", "float32", 3),
))
_ELASTICITY = Table("elasticity", key="product_id", side="products", columns=(
    *_cols("text", "product_id", "status", "reason", "elasticity_type", "interpretation"),
    *_cols("int", "n_observations"),
    *_cols("float64", "elasticity_coefficient", "standard_error", "ci_lower", "ci_upper", "p_value", "r_squared",
           "price_min", "price_max", "price_mean", "reference_quantity"),
    # pooled estimation (models/elasticity.py): the grain the own fit ran on, its solver status, the prior it
    # was pooled toward and the weight of the product's own data; answer_status: answered, flagged_positive,
    # refused (no price variation at all)
    *_cols("text", "answer_status", "category", "grain", "trading_weekdays", "fit_status", "pooled_toward"),
    *_cols("int", "period_days", "n_iterations", "n_capped", "converged", "pooled", "sign_suspect",
           "usable_for_pricing"),
    *_cols("float64", "own_elasticity", "own_standard_error", "shrinkage_weight", "prior_mean", "prior_sd"),
))

# behavioural traits (insights/snapshot/traits.py): a label and a strength per axis, the axis's measure, and the
# customer's CLV and spend (so the traits document can be recomputed from this table alone after an erasure)
_TRAIT_AXES = ("category_affinity", "cadence", "tenure", "returns", "discount_sensitivity")
_CUSTOMER_TRAITS = Table("customer_traits", key="customer_id", side="customers", customer_column="customer_id",
                         columns=(
    *_cols("text", "customer_id", "affinity_category", *(f"{a}_label" for a in _TRAIT_AXES)),
    *_cols("float32", *(f"{a}_strength" for a in _TRAIT_AXES), "top_category_share", "gap_cv", "customer_age_days",
           "return_rate", "promo_unit_share"),
    *_cols("float64", "predicted_clv", "monetary_total"),
))

# recommendations (insights/refresh/recommendations.py): product indices are rows of rec_products (-1 pads)
_RECOMMENDATIONS = Table("recommendations", key="customer_id", side="recommendations", customer_column="customer_id",
                         columns=(
    *_cols("text", "customer_id"),
    *_cols("int", "rec_product", "rec_because", "category", dims=2),  # category: index into the doc's categories
    *_cols("float32", "rec_score", "category_share", dims=2),
))
_REC_PRODUCTS = Table("rec_products", key="product_id", side="recommendations", columns=(
    *_cols("text", "product_id", "category"),
    *_cols("int", "buyers", "replenishable", "popularity_rank"),
    *_cols("float32", "repeat_rate"),
    *_cols("int", "together_product", "together_customers", dims=2),
    *_cols("float32", "together_score", dims=2),
))

TABLES: Mapping[str, Table] = {t.name: t for t in (_CUSTOMERS, _AT_RISK, _FORECAST, _ELASTICITY, _CUSTOMER_TRAITS,
                                                   _RECOMMENDATIONS, _REC_PRODUCTS)}

DOCUMENTS: Mapping[str, Document] = {d.name: d for d in (
    Document("segments", "customers", ("auto_k", "elbow", "solutions"), aggregates="customers"),
    Document("customer_models", "customers", ("churn", "clv"), aggregates="customers"),
    # the model cards: holdout metrics of ours and the BG/NBD + Gamma-Gamma anchor, gates, drift
    Document("quality", "customers", ("families", "gates", "drift")),
    # each trait axis's distribution and the most common trait combinations (archetypes)
    Document("traits", "customers", ("axes", "archetypes", "unavailable"), aggregates="customer_traits"),
    # aggregates derived once customers are scored (insights/refresh/derived.py), one route each
    Document("churn_outlook", "customers", ("overall", "by_segment", "horizons_days", "interval")),
    Document("cohorts", "customers", ("month", "week")),
    # where the bulk export copies of the scores are, relative to the store's root (insights/refresh/exports.py)
    Document("exports", "customers", ("customer_scores",)),
    Document("segment_transitions", "customers", ("available", "transitions", "stayed", "new_customers")),
    Document("growth", "customers", ("available", "measured", "rates", "start", "projection", "by_segment")),
    Document("forecast_meta", "products", ("level", "model", "feature_importance", "whatif_price_multipliers")),
    # the recommender's parameters, category names, replenishable rule and next-basket backtest
    Document("recommendation_meta", "recommendations", ("categories", "top_n", "backtest", "replenishable_rule")),
)}


def float32_columns(table: str) -> frozenset[str]:
    """The columns of ``table`` stored as float32."""
    spec = TABLES.get(table)
    return frozenset(c.name for c in spec.columns if c.kind == "float32") if spec else frozenset()


def customer_tables() -> dict[str, str]:
    """{table: its customer-id column} for every declared table that holds customer ids."""
    return {t.name: t.customer_column for t in TABLES.values() if t.customer_column}


def check_table(name: str, columns: Mapping[str, np.ndarray]) -> None:
    """Raise ValueError unless ``columns`` is exactly the declared table ``name`` (names, kinds, dimensions)."""
    spec = TABLES.get(name)
    if spec is None:
        raise ValueError(f"table {name!r} is not declared in insights/snapshot/schema.py")
    declared = {c.name for c in spec.columns}
    missing, extra = sorted(declared - set(columns)), sorted(set(columns) - declared)
    if missing or extra:
        raise ValueError(f"table {name!r} does not match its declaration: missing {missing}, undeclared {extra}")
    for col in spec.columns:
        arr = np.asarray(columns[col.name])
        if arr.ndim != col.dims:
            raise ValueError(f"table {name!r} column {col.name!r}: {arr.ndim} dimension(s), declared {col.dims}")
        if not _kind_ok(arr.dtype, col.kind):
            raise ValueError(f"table {name!r} column {col.name!r}: dtype {arr.dtype} is not {col.kind}")


def _kind_ok(dtype: np.dtype, kind: str) -> bool:
    if kind == "text":
        return dtype.kind in "UST"
    if kind == "int":
        return dtype.kind in "iu"
    return dtype.kind == "f"  # float32 columns may arrive as float64: the codec narrows them
