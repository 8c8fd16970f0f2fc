"""Feature preparation shared by the customer models: the ``customer_features`` query -> a numeric matrix.

Pure functions over pandas; no I/O. The input is one row per customer as returned by
``athena/queries/customer_features.sql`` (columns below); the output adds a few ratios that trees
cannot form on their own and drops identifiers, dates and PII.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.probabilistic import BetaGeoModel, GammaGammaModel, bgnbd_inputs

__all__ = ["BASE_COLUMNS", "FEATURE_NAMES", "BGNBD_COLUMNS", "RFM_COLUMNS", "feature_matrix", "check_columns",
           "with_bgnbd_features", "fit_bgnbd", "fit_gamma_gamma", "BGNBD_MAX_CUSTOMERS", "SEASON_COLUMNS",
           "with_season", "ENGAGEMENT_COLUMNS", "ENGAGEMENT_COUNTS"]

#: numeric columns of the ``customer_features`` query used as model inputs.
BASE_COLUMNS: tuple[str, ...] = (
    "recency_days", "frequency", "monetary_total", "customer_age_days", "avg_order_value",
    "mean_days_between_orders", "std_days_between_orders",
    "orders_30d", "orders_90d", "orders_180d", "orders_365d",
    "spend_30d", "spend_90d", "spend_180d", "spend_365d",
    "distinct_products", "return_rate", "spend_trend",
    "first_order_value", "first_order_lines", "last_order_value", "max_order_value",
)

#: derived columns (see :func:`feature_matrix`).
DERIVED_COLUMNS: tuple[str, ...] = (
    "active_span_days", "orders_per_30d", "spend_per_30d", "recency_over_gap", "last_90d_share",
    "gap_cv", "order_trend", "first_basket_share", "last_basket_ratio",
)

FEATURE_NAMES: tuple[str, ...] = BASE_COLUMNS + DERIVED_COLUMNS

RFM_COLUMNS: tuple[str, ...] = ("recency_days", "frequency", "monetary_total")

#: engagement and review inputs (``customer_engagement`` plus the refresh's review sentiment), used only when the
#: lake has the optional reviews/engagement tables: :func:`feature_matrix` with ``engagement=True``.
ENGAGEMENT_COLUMNS: tuple[str, ...] = (
    "days_since_engagement", "engagement_30d", "engagement_90d", "engagement_trend", "email_click_rate",
    "review_count", "mean_rating", "last_rating", "rating_trend", "review_sentiment",
)
#: of those, the ones a customer without any event or review has as 0 (the others stay NaN: unknown)
ENGAGEMENT_COUNTS: tuple[str, ...] = ("engagement_30d", "engagement_90d", "engagement_trend", "review_count")

#: BG/NBD summaries over a model's label window (see :func:`with_bgnbd_features`).
BGNBD_COLUMNS: tuple[str, ...] = ("bg_expected_purchases", "bg_expected_spend", "bg_p_alive", "bg_p_no_purchase",
                                   "gg_expected_value", "bg_gg_expected_spend")


#: the season of a label window (see :func:`with_season`).
SEASON_COLUMNS: tuple[str, ...] = ("window_season_sin", "window_season_cos")


def with_season(X: pd.DataFrame, cutoff, window_days: int) -> pd.DataFrame:
    """``X`` (modified in place and returned) plus the season of the window ``[cutoff, cutoff + window_days)``:
    sine and cosine of its middle's day of the year. Constant within a slice: with training cutoffs spread over
    a year, the trees learn how the season moves churn and spend, and the scoring window gets its own season
    (a holdout at the yearly peak is then not predicted at the level of off-season training windows)."""
    middle = pd.Timestamp(cutoff) + pd.Timedelta(days=window_days / 2.0)
    angle = 2.0 * np.pi * (middle.day_of_year - 1) / 365.25
    # in place (X is each caller's own fresh matrix): a copy would double a million-row matrix for two columns
    X["window_season_sin"] = round(float(np.sin(angle)), 9)
    X["window_season_cos"] = round(float(np.cos(angle)), 9)
    return X


def check_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Raise ``ValueError`` naming the columns of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"customer features lack columns: {', '.join(missing)}")


def feature_matrix(frame: pd.DataFrame, *, engagement: bool = False) -> pd.DataFrame:
    """Model inputs, float64, in :data:`FEATURE_NAMES` order (then :data:`ENGAGEMENT_COLUMNS` with
    ``engagement``), same index as ``frame``.

    Derived columns:
    - ``active_span_days``: days between first and last purchase (BG/NBD's t_x).
    - ``orders_per_30d`` / ``spend_per_30d``: lifetime rates; ages under 30 days count as 30 so a
      first-week customer is not extrapolated from a single order.
    - ``recency_over_gap``: recency divided by the customer's mean gap between orders (NaN with one order):
      how overdue the next order is.
    - ``last_90d_share``: share of lifetime orders placed in the last 90 days.
    - ``gap_cv``: coefficient of variation of the gaps between orders (regular buyers have a low one; NaN
      below three orders).
    - ``order_trend``: orders in the last 90 days minus orders in the 90 days before.
    - ``first_basket_share``: the first order's value over the average order (one-order customers: 1).
    - ``last_basket_ratio``: the last order's value over the average order (a shrinking basket).
    Missing values stay NaN (LightGBM routes them; the random forest path fills them). With ``engagement``, a
    customer without events or reviews (no row in ``customer_engagement``, or a column ``frame`` lacks) has 0 in
    :data:`ENGAGEMENT_COUNTS` and NaN in the others, the same at training and at scoring.
    """
    check_columns(frame, BASE_COLUMNS)
    out = frame.loc[:, list(BASE_COLUMNS)].astype("float64").copy()
    age = out["customer_age_days"].clip(lower=30.0)
    out["active_span_days"] = (out["customer_age_days"] - out["recency_days"]).clip(lower=0.0)
    out["orders_per_30d"] = out["frequency"] * 30.0 / age
    out["spend_per_30d"] = out["monetary_total"] * 30.0 / age
    gap = out["mean_days_between_orders"].where(out["mean_days_between_orders"] > 0)
    out["recency_over_gap"] = out["recency_days"] / gap
    out["last_90d_share"] = out["orders_90d"] / out["frequency"].clip(lower=1.0)
    out["gap_cv"] = out["std_days_between_orders"] / gap
    out["order_trend"] = 2.0 * out["orders_90d"] - out["orders_180d"]
    aov = out["avg_order_value"].where(out["avg_order_value"] > 0)
    out["first_basket_share"] = out["first_order_value"] / aov
    out["last_basket_ratio"] = out["last_order_value"] / aov
    out = out.replace([np.inf, -np.inf], np.nan)
    # Sums of money come back from the engine in file order, so the last bits can differ between two
    # reads of the same orders; 9 decimals keep every real difference and make the inputs reproducible.
    out = out.loc[:, list(FEATURE_NAMES)].round(9)
    if engagement:
        for c in ENGAGEMENT_COLUMNS:
            values = pd.Series(frame[c].to_numpy("float64", na_value=np.nan) if c in frame.columns else np.nan,
                               index=frame.index, dtype="float64")
            out[c] = (values.fillna(0.0) if c in ENGAGEMENT_COUNTS else values).round(9)
    return out


#: customers a BG/NBD is fitted on at most (a seeded sample above it; see :func:`fit_bgnbd`).
BGNBD_MAX_CUSTOMERS = 50_000


def fit_bgnbd(frame: pd.DataFrame, *, max_customers: int | None = BGNBD_MAX_CUSTOMERS,
              random_state: int = 0) -> BetaGeoModel | None:
    """A BG/NBD fitted on this population's history (``customer_features`` rows); None below 5 customers.

    Its four parameters describe the population, so above ``max_customers`` rows they are estimated on a
    seeded uniform sample of that many customers (at 1M customers: 31 s -> under 3 s, parameters within
    the sampling error of ~0.5%). The likelihood is then evaluated once per distinct (x, t_x, T) triple
    weighted by its count, which is exact.
    """
    x, t_x, T = bgnbd_inputs(frame["frequency"], frame["recency_days"], frame["customer_age_days"])
    if x.size < 5:
        return None
    if max_customers is not None and x.size > max_customers:
        keep = np.sort(np.random.default_rng(random_state).choice(x.size, max_customers, replace=False))
        x, t_x, T = x[keep], t_x[keep], T[keep]
    triples, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    return BetaGeoModel().fit(triples[:, 0], triples[:, 1], triples[:, 2], sample_weight=counts)


def fit_gamma_gamma(frame: pd.DataFrame, *, max_customers: int | None = BGNBD_MAX_CUSTOMERS,
                    random_state: int = 0) -> GammaGammaModel | None:
    """A Gamma-Gamma fitted on this population's repeat customers (positive average order value); None below 5."""
    x, _, _ = bgnbd_inputs(frame["frequency"], frame["recency_days"], frame["customer_age_days"])
    m = frame["avg_order_value"].to_numpy(dtype="float64")
    keep = np.flatnonzero((x > 0) & np.isfinite(m) & (m > 0))
    if keep.size < 5:
        return None
    if max_customers is not None and keep.size > max_customers:
        keep = np.sort(np.random.default_rng(random_state).choice(keep, max_customers, replace=False))
    try:
        return GammaGammaModel().fit(x[keep], m[keep])
    except ValueError:
        return None


def with_bgnbd_features(frame: pd.DataFrame, X: pd.DataFrame, window_days: int,
                        model: BetaGeoModel | None, spend_model: GammaGammaModel | None = None) -> pd.DataFrame:
    """``X`` plus :data:`BGNBD_COLUMNS` over ``window_days`` from ``model`` (NaN when it is None).

    The BG/NBD is fitted on the population it describes (each training slice as of its cutoff, the scoring
    population as of as_of: :func:`fit_bgnbd`), so it is a feature transform that sees nothing after the
    cutoff; the trees then learn what the probabilistic model misses (spend trends, returns, basket breadth).
    """
    out = X.copy()
    if model is None:
        for c in BGNBD_COLUMNS:
            out[c] = np.nan
        return out
    x, t_x, T = bgnbd_inputs(frame["frequency"], frame["recency_days"], frame["customer_age_days"])
    expected = model.expected_purchases(window_days, x, t_x, T)
    out["bg_expected_purchases"] = expected
    out["bg_expected_spend"] = expected * frame["avg_order_value"].astype("float64").clip(lower=0.0).to_numpy()
    out["bg_p_alive"] = model.probability_alive(x, t_x, T)
    out["bg_p_no_purchase"] = model.probability_no_purchase(window_days, x, t_x, T)
    if spend_model is None:
        out["gg_expected_value"] = np.nan
        out["bg_gg_expected_spend"] = np.nan
    else:
        value = spend_model.expected_order_value(x, frame["avg_order_value"].to_numpy(dtype="float64"))
        out["gg_expected_value"] = value
        out["bg_gg_expected_spend"] = expected * value
    return out.round(9)
