"""The refresh's pricing side: pooled elasticities for the whole product panel and each product's selling grain.

:func:`elasticity_table` runs :func:`models.elasticity.estimate_elasticities` once over every product of
``daily_sales`` (category from the data when it has one, the promotion share as a control when the query
returns ``promo_share``, else ``list_price``), pooled by empirical Bayes, and returns the ``elasticity`` table
of the snapshot (insights/snapshot/schema.py). :func:`forecast_grain` reads each forecast product's cadence
(models/cadence.py) and removes forecast mass from the weekdays it never trades on. Methods:
docs/pricing-models.md; columns: docs/snapshot.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from models.cadence import WEEK, detect_cadence, trading_weekdays, weekday
from models.elasticity import estimate_elasticities

__all__ = ["elasticity_table", "elasticity_input", "forecast_grain", "ANSWER_STATUSES", "ELASTICITY_METHOD"]

ANSWER_STATUSES = ("answered", "flagged_positive", "refused")
ELASTICITY_METHOD = ("Poisson pseudo-ML of units on log price on each product's own selling grain (daily trading "
                     "days, weeks), with promotion-share, trend, day-of-week and yearly controls, checked "
                     "convergence and Newey-West errors; pooled by empirical Bayes toward the product's category "
                     "(or all products)")
_TEXT = ("product_id", "status", "reason", "elasticity_type", "interpretation", "category", "grain", "fit_status",
         "pooled_toward")
_FLOAT = ("elasticity_coefficient", "standard_error", "ci_lower", "ci_upper", "p_value", "r_squared", "price_min",
          "price_max", "price_mean", "own_elasticity", "own_standard_error", "shrinkage_weight", "prior_mean",
          "prior_sd")
_INT = ("n_observations", "period_days", "n_iterations", "n_capped")
_FLAGS = ("sign_suspect", "usable_for_pricing", "converged", "pooled")


def elasticity_input(sales: pd.DataFrame) -> dict[str, np.ndarray]:
    """daily_sales as the estimator's long table: ``promo_share`` becomes the ``promo`` control (missing = 0);
    without it, ``list_price`` (missing = the price paid: not on promotion); without either, no control."""
    out: dict[str, np.ndarray] = {
        "product_id": sales["product_id"].astype(str).to_numpy(),
        "sale_date": pd.to_datetime(sales["sale_date"]).to_numpy().astype("datetime64[D]"),
        "quantity": sales["quantity"].to_numpy("float64", na_value=np.nan),
        "price": sales["price"].to_numpy("float64", na_value=np.nan),
    }
    if "category" in sales and sales["category"].notna().any():
        out["category"] = sales["category"].to_numpy(dtype=object)
    if "promo_share" in sales:
        promo = sales["promo_share"].to_numpy("float64", na_value=np.nan)
        out["promo"] = np.clip(np.nan_to_num(promo, nan=0.0), 0.0, 1.0)
    elif "list_price" in sales:
        listed = sales["list_price"].to_numpy("float64", na_value=np.nan)
        out["list_price"] = np.where(np.isfinite(listed) & (listed > 0), listed, out["price"])
    return out


def elasticity_table(sales: pd.DataFrame, as_of: dt.date, reference_quantity: dict[str, float] | None = None, *,
                     max_iter: int = 50) -> dict[str, np.ndarray]:
    """The snapshot's ``elasticity`` table: one row per product of ``sales`` (sorted by product_id).

    ``max_iter``: the GLM's iteration budget (a fit that has not converged within it is never an estimate).
    """
    reference_quantity = reference_quantity or {}
    if len(sales) == 0:
        return _empty()
    panel = estimate_elasticities(elasticity_input(sales), end=np.datetime64(as_of.isoformat(), "D"),
                                  max_iter=max_iter)
    cols = panel.to_columns()
    est = panel.estimates
    out: dict[str, np.ndarray] = {c: cols[c].astype(str) for c in _TEXT}
    out.update({c: cols[c].astype(np.float64) for c in _FLOAT})
    out.update({c: cols[c].astype(np.int32) for c in _INT})
    out["sign_suspect"] = cols["sign_suspect"].astype(np.int8)
    out["usable_for_pricing"] = cols["usable_for_pricing"].astype(np.int8)
    out["converged"] = np.array([e.fit_status == "converged" for e in est], dtype=np.int8)
    out["pooled"] = np.array([e.status == "pooled" for e in est], dtype=np.int8)
    out["trading_weekdays"] = np.array([_weekdays_text(e.trading_weekdays) for e in est], dtype=str)
    out["answer_status"] = np.array([_answer_status(e.status, e.sign_suspect) for e in est], dtype=str)
    out["reason"] = np.array([_reason(e) for e in est], dtype=str)
    out["reference_quantity"] = np.array([reference_quantity.get(str(e.product_id), np.nan) for e in est],
                                         dtype=np.float64)
    return out


def forecast_grain(sales: pd.DataFrame, product_ids: np.ndarray, as_of: dt.date, horizon: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per forecast product: (grain, trading weekdays as text, trading-day mask (n, horizon), mass factor (n,)).

    The mask is False on the horizon's days whose weekday the product (or the shop) never trades on; the
    factor (>= 1, at most 7 / trading weekdays) moves the mass a calendar-day forecast put on those days onto
    the trading days, so the horizon's total units are kept.
    """
    n = len(product_ids)
    grain = np.full(n, "daily", dtype=object)
    days_text = np.full(n, _weekdays_text(tuple(range(WEEK))), dtype=object)
    mask = np.ones((n, horizon), dtype=bool)
    if n == 0 or len(sales) == 0:
        return grain.astype(str), days_text.astype(str), mask, np.ones(n)
    d = pd.to_datetime(sales["sale_date"]).to_numpy().astype("datetime64[D]")
    q = sales["quantity"].to_numpy("float64", na_value=0.0)
    ids = sales["product_id"].astype(str).to_numpy()
    sold = q > 0
    shop = trading_weekdays(d[sold]) if sold.any() else None
    start = np.datetime64(as_of.isoformat(), "D")
    horizon_wd = weekday(start + np.arange(horizon))
    order = np.argsort(ids[sold], kind="stable")
    sid, sd = ids[sold][order], d[sold][order]
    uniq, first = np.unique(sid, return_index=True)
    bounds = dict(zip(uniq, zip(first, np.append(first[1:], sid.size), strict=True), strict=True))
    factor = np.ones(n)
    for i, pid in enumerate(np.asarray(product_ids).astype(str)):
        if pid not in bounds:
            continue
        a, b = bounds[pid]
        cad = detect_cadence(sd[a:b], shop_weekdays=shop)
        grain[i], days_text[i] = cad.grain, _weekdays_text(cad.trading_weekdays)
        mask[i] = np.isin(horizon_wd, cad.trading_weekdays)
        factor[i] = WEEK / max(len(cad.trading_weekdays), 1)
    return grain.astype(str), days_text.astype(str), mask, factor


def _weekdays_text(days: tuple[int, ...]) -> str:
    return ",".join(str(int(w)) for w in days)


def _answer_status(status: str, suspect: bool) -> str:
    if status == "refused":
        return "refused"
    return "flagged_positive" if suspect else "answered"


def _reason(e: Any) -> str:
    """The model's reason, plus in plain words why a flagged estimate is not priced on."""
    if e.status != "refused" and e.sign_suspect:
        flag = ("flagged: the data show demand rising with price, which is confounding (season, promotions, order "
                "size), not a demand curve; the optimizer holds the price")
        return f"{e.reason}; {flag}" if e.reason else flag
    return str(e.reason)


def _empty() -> dict[str, np.ndarray]:
    e, f, i = np.array([], dtype="<U1"), np.array([], dtype=np.float64), np.array([], dtype=np.int32)
    out: dict[str, np.ndarray] = {c: e for c in (*_TEXT, "trading_weekdays", "answer_status")}
    out.update({c: f for c in (*_FLOAT, "reference_quantity")})
    out.update({c: i for c in _INT})
    out.update({c: np.array([], dtype=np.int8) for c in _FLAGS})
    return out
