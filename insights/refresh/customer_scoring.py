"""Scoring customers in three steps, so one population can be scored whole or shard by shard with equal results.

1. :func:`customer_context`: what scoring needs from the population beyond one row (the BG/NBD and
   Gamma-Gamma fits, the typical order value, the feature medians and drift): computed once, from the frame
   the models train on (every customer, or a bounded sample at scale: insights/refresh/sharded.py).
2. :func:`score_customer_rows`: every per-customer column that depends on that customer's row only.
3. :func:`finish_customers`: the population-level columns (RFM quintiles, segment names, CLV segments),
   the at-risk order and the documents, from the rows of every customer.
:func:`score_customers` runs the three on one frame; the sharded refresh runs 2 once per shard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from insights.refresh.customer_quality import with_drift
from insights.refresh.customer_training import CustomerModels
from insights.refresh.engagement import with_engagement
from insights.refresh.side import jsonable
from models.churn import RISK_LEVELS, RISK_THRESHOLDS, risk_levels
from models.clv import CLV_SEGMENT_QUANTILES, clv_segments, simple_clv
from models.features import feature_matrix, fit_bgnbd, fit_gamma_gamma, with_bgnbd_features, with_season
from models.segmentation import rfm_scores

__all__ = ["CustomerScores", "CUSTOMER_COLUMNS", "SEGMENT_KS", "score_customers", "customer_context",
           "score_customer_rows", "finish_customers", "consistent_spend"]

SEGMENT_KS = tuple(range(2, 11))
MAX_ORDERS_30D = 4.0  # a buyer's 30-day spend is at most this many of their average orders (consistent_spend)
CUSTOMER_COLUMNS = (
    "customer_id", "email", "recency_days", "frequency", "monetary_total", "r_score", "f_score", "m_score",
    "segment", *(f"segment_k{k}" for k in SEGMENT_KS), "churn_probability", "risk_level",
    "churn_factor_1", "churn_factor_2", "churn_factor_3", "churn_contrib_1", "churn_contrib_2", "churn_contrib_3",
    "churn_value_1", "churn_value_2", "churn_value_3",
    "predicted_clv", "clv_segment", "clv_method", "simple_clv", "predicted_orders", "next_order_date",
    "spend_30d", "purchase_probability_30d", "value_at_risk", "clv_lower", "clv_upper",
)


@dataclass
class CustomerScores:
    """The ``customers`` columns (sorted by customer_id), the at-risk order and the two documents."""

    columns: dict[str, np.ndarray]
    at_risk_order: np.ndarray
    docs: dict[str, Any] = field(default_factory=dict)

    @property
    def n_customers(self) -> int:
        return int(self.columns["customer_id"].shape[0])


def score_customers(models: CustomerModels, features: pd.DataFrame, as_of: date) -> CustomerScores:
    """Score every customer of ``features`` (``customer_features`` as of ``as_of``) with ``models``."""
    context = customer_context(models, features, as_of)
    return finish_customers(models, context, score_customer_rows(models, context, features, as_of), as_of)


def _prepared(features: pd.DataFrame) -> pd.DataFrame:
    frame = with_engagement(features.sort_values("customer_id", kind="stable").reset_index(drop=True))
    # Money sums arrive in file order from the engine: round away last-bit noise so scores reproduce exactly.
    floats = frame.select_dtypes("float").columns
    frame[floats] = frame[floats].round(9)
    return frame


def _model_inputs(models: CustomerModels, context: dict[str, Any], frame: pd.DataFrame, as_of: date):
    meta = models.metadata
    base = feature_matrix(frame, engagement="engagement" in meta)  # the columns the models were trained with
    return (with_season(with_bgnbd_features(frame, base, meta[m]["label_window_days"], context["bgnbd"],
                                            context["gg"]), as_of, meta[m]["label_window_days"])
            for m in ("churn", "purchase_30d", "clv"))


def customer_context(models: CustomerModels, features: pd.DataFrame, as_of: date) -> dict[str, Any]:
    """The population-level inputs of scoring, from ``features`` (the whole population or a sample of it)."""
    frame = _prepared(features)
    n, meta = len(frame), models.metadata
    seed = int(meta.get("random_state") or 0)
    context: dict[str, Any] = {"bgnbd": fit_bgnbd(frame, random_state=seed),
                               "gg": fit_gamma_gamma(frame, random_state=seed)}
    aov = frame["avg_order_value"].to_numpy("float64", na_value=np.nan)
    usable = np.isfinite(aov) & (aov > 0)
    context["typical_aov"] = float(np.median(aov[usable])) if usable.any() else 1.0
    X_churn = next(iter(_model_inputs(models, context, frame, as_of)))
    # what the reasons compare a customer with: the scored population's typical (median) values
    context["feature_medians"] = {c: float(np.nanmedian(X_churn[c])) if n and X_churn[c].notna().any() else None
                                  for c in X_churn.columns}
    quality = meta.get("quality")
    context["quality"] = (with_drift(quality, meta.get("feature_stats", {}), frame, as_of.isoformat())
                          if quality else None)
    return context


def score_customer_rows(models: CustomerModels, context: dict[str, Any], features: pd.DataFrame,
                        as_of: date) -> dict[str, np.ndarray]:
    """Every column of ``customers`` that depends on the customer's own row (sorted by customer_id)."""
    frame = _prepared(features)
    n, meta = len(frame), models.metadata
    X_churn, X_30d, X_clv = _model_inputs(models, context, frame, as_of)
    cols: dict[str, np.ndarray] = {
        "customer_id": _strings(frame["customer_id"]),
        "email": _strings(frame["email"]) if "email" in frame else np.full(n, "", dtype="<U1"),
        "recency_days": frame["recency_days"].to_numpy(dtype="int32"),
        "frequency": frame["frequency"].to_numpy(dtype="int32"),
        "monetary_total": frame["monetary_total"].to_numpy(dtype="float64"),
    }
    seg = models.segmenter
    for k in SEGMENT_KS:
        if k in seg.solutions_:
            cols[f"segment_k{k}"] = seg.predict(frame, k) if n else np.zeros(0, dtype=np.int8)
        else:  # fewer distinct customers than k + 1: not fitted
            cols[f"segment_k{k}"] = np.full(n, -1, dtype=np.int8)

    churn = _shift(models.churn.predict_proba(X_churn), meta["churn"]["seasonal"]) if n else np.zeros(0)
    if meta["churn"]["scale"] != 1.0:  # short history: P(no purchase in h)^(H/h), a constant-hazard extrapolation
        churn = churn ** meta["churn"]["scale"]
    cols["churn_probability"] = churn.astype("float64")
    cols["risk_level"] = risk_levels(churn)
    # the reasons explain the customer's level: what raises the risk from Medium up, what lowers it below
    direction = np.where(churn >= RISK_THRESHOLDS[0], 1, -1)
    names, contrib = models.churn.top_factors(X_churn, 3, direction) if n else \
        (np.zeros((0, 3), dtype="<U1"), np.zeros((0, 3)))
    feature_values = X_churn.to_numpy(dtype="float64") if n else np.zeros((0, 0))
    column_of = {name: j for j, name in enumerate(X_churn.columns)}
    for i in range(3):
        cols[f"churn_factor_{i + 1}"] = names[:, i].astype(str)
        cols[f"churn_contrib_{i + 1}"] = contrib[:, i].astype("float64")
        picks = np.array([column_of.get(str(f), -1) for f in names[:, i]], dtype=np.int64)
        own = feature_values[np.arange(n), np.maximum(picks, 0)] if n and feature_values.size else np.zeros(n)
        cols[f"churn_value_{i + 1}"] = np.where(picks >= 0, own, np.nan).astype("float64")

    clv_meta = meta["clv"]
    margin = 1.0 if meta.get("margin") is None else float(meta["margin"])
    simple = simple_clv(frame["avg_order_value"], frame["frequency"], frame["customer_age_days"],
                        horizon_days=clv_meta["horizon_days"], margin=meta.get("margin"))
    raw = models.clv.predict(X_clv) if n else np.zeros(0)
    learned = raw * clv_meta["scale"] * margin
    ok = np.isfinite(learned)
    if n and getattr(models.clv, "interval_", None):
        lower, upper = (v * clv_meta["scale"] * margin for v in models.clv.predict_interval(X_clv, raw))
    else:
        lower, upper = np.full(n, np.nan), np.full(n, np.nan)
    cols["clv_lower"] = np.where(ok, lower, np.nan).astype("float64")
    cols["clv_upper"] = np.where(ok, upper, np.nan).astype("float64")
    cols["predicted_clv"] = np.where(ok, learned, simple.value).astype("float64")
    cols["clv_method"] = np.where(ok, clv_meta["model"], "simple_formula").astype("<U14")
    cols["simple_clv"] = simple.value.astype("float64")
    orders = models.orders.predict(X_clv) * clv_meta["scale"] if n else np.zeros(0)
    cols["predicted_orders"] = orders.astype("float64")
    cols["next_order_date"] = _next_order_dates(orders, clv_meta["horizon_days"], as_of)
    p30 = meta["purchase_30d"]
    p_none = _shift(models.purchase_30d.predict_proba(X_30d), p30["seasonal"]) if n else np.zeros(0)
    cols["purchase_probability_30d"] = (1.0 - p_none ** p30["scale"]).astype("float64")
    spend_raw = models.spend_30d.predict(X_30d) * p30["scale"] if n else np.zeros(0)
    cols["spend_30d"] = consistent_spend(spend_raw, cols["purchase_probability_30d"], frame["avg_order_value"],
                                         typical=context["typical_aov"])
    cols["value_at_risk"] = (cols["churn_probability"] * cols["predicted_clv"]).astype("float64")
    if "spend_90d" in frame:  # the totals document's revenue (finish_customers sums it)
        cols["spend_90d"] = frame["spend_90d"].to_numpy("float64", na_value=np.nan)
    return cols


def finish_customers(models: CustomerModels, context: dict[str, Any], rows: dict[str, np.ndarray],
                     as_of: date) -> CustomerScores:
    """The population-level columns, the at-risk order and the documents from every customer's ``rows``."""
    cols = dict(rows)
    n = int(cols["customer_id"].shape[0])
    cols["r_score"], cols["f_score"], cols["m_score"] = rfm_scores(
        cols["recency_days"], cols["frequency"], cols["monetary_total"])
    rfm = pd.DataFrame({c: cols[c] for c in ("recency_days", "frequency", "monetary_total")})
    seg = models.segmenter.align_names(rfm)  # names agree with today's population's mean recency
    names_auto = np.asarray(seg.segment_names(), dtype=str)
    cols["segment"] = names_auto[cols[f"segment_k{seg.k_}"]] if n else np.zeros(0, dtype="<U1")
    solutions = {str(k): {"k": k, "silhouette": round(seg.solutions_[k].silhouette, 6),
                          "segments": seg.profiles(rfm, k) if n else []}
                 for k in SEGMENT_KS if k in seg.solutions_}
    cols["clv_segment"], clv_thresholds = clv_segments(cols["predicted_clv"])
    cols = {name: cols[name] for name in CUSTOMER_COLUMNS}
    # value at risk descending, ties by customer_id (rows are sorted by it, so by row index)
    order = np.lexsort((np.arange(n), -cols["value_at_risk"])).astype(np.int32)
    churn, meta = cols["churn_probability"], models.metadata
    docs = {
        **({"quality": context["quality"]} if context.get("quality") else {}),
        "segments": {"auto_k": int(seg.k_), "silhouette": round(seg.silhouette_, 6), "elbow": seg.elbow_,
                     "solutions": solutions},
        "customer_models": {
            **meta, "scored_as_of": as_of.isoformat(), "n_customers": n,
            "risk_thresholds": {lvl: lo for lvl, lo in zip(RISK_LEVELS, (0.0, *RISK_THRESHOLDS), strict=True)},
            "feature_medians": context["feature_medians"],
            "mean_churn_probability": float(churn.mean()) if n else None,
            # the dashboard's overview: what customers spent in the 90 days before as_of (the API has no lake)
            "totals": {"revenue_90d": float(pd.Series(rows["spend_90d"]).sum()) if n and "spend_90d" in rows
                       else None},
            "clv_segment_thresholds": {"quantiles": {"Medium": CLV_SEGMENT_QUANTILES[0],
                                                     "High": CLV_SEGMENT_QUANTILES[1]},
                                       "Medium": clv_thresholds[0], "High": clv_thresholds[1]},
        },
    }
    return CustomerScores(columns=cols, at_risk_order=order, docs=jsonable(docs))


def consistent_spend(spend: np.ndarray, p_buy: np.ndarray, avg_order_value: Any,
                     typical: float | None = None) -> np.ndarray:
    """Expected 30-day spend that agrees with the purchase probability: ``p_buy`` x the spend given a purchase.

    The spend model and the purchase model are fitted apart, so alone they can say "no purchase (p = 0)" and
    "106.68 of spend". The spend given a purchase, spend / p, is held between one and four average orders of
    the customer (``typical``, by default the population's median order, where the customer's is not
    positive), so p = 0 means 0 and the two answers never contradict each other.
    """
    spend, p_buy = np.asarray(spend, dtype="float64"), np.asarray(p_buy, dtype="float64")
    aov = np.asarray(avg_order_value, dtype="float64")
    usable = np.isfinite(aov) & (aov > 0)
    if typical is None:
        typical = float(np.median(aov[usable])) if usable.any() else 1.0
    aov = np.where(usable, aov, typical)
    given = np.divide(spend, p_buy, out=np.full(spend.shape, np.inf), where=p_buy > 0)
    return np.where(p_buy > 0, p_buy * np.clip(given, aov, MAX_ORDERS_30D * aov), 0.0)


def _shift(p: np.ndarray, seasonal: dict[str, Any]) -> np.ndarray:
    """Move calibrated probabilities by the seasonal log-odds shift (0 when no adjustment applies)."""
    delta = float(seasonal.get("churn_logit_shift") or 0.0)
    if delta == 0.0:
        return p
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return 1.0 / (1.0 + np.exp(-(np.log(q / (1 - q)) + delta)))


def _strings(series: pd.Series) -> np.ndarray:
    values = series.astype("object").where(series.notna(), "").astype(str).to_numpy()
    width = max(1, max((len(v) for v in values), default=1))
    return values.astype(f"<U{width}")


def _next_order_dates(orders: np.ndarray, horizon_days: int, as_of: date) -> np.ndarray:
    """as_of + the expected wait 1 / rate (rate = predicted orders / horizon), "" beyond the horizon."""
    orders = np.asarray(orders, dtype="float64")
    out = np.full(orders.shape[0], "", dtype="<U10")
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = horizon_days / orders
    ok = (orders > 0) & (wait <= horizon_days)
    if ok.any():
        wait = np.ceil(wait[ok]).astype("int64")
        days = np.datetime64(as_of.isoformat(), "D") + wait.astype("timedelta64[D]")
        out[ok] = np.datetime_as_string(days, unit="D")
    return out
