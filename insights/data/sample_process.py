"""The sample's generating process: its constants, calendar and seasonality, customers, products, prices and demand.

insights/data/sample.py draws orders from it; docs/sample-data.md describes it. Vectorized numpy.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from insights.data.truth import raw_seasonality

__all__ = ["CATEGORIES", "COUNTRIES", "COUNTRY_P", "PROCESS", "DESCRIPTION", "calendar", "draw_days",
           "customers_process", "products_process", "prices", "demand"]

CATEGORIES = ("home", "kitchen", "garden", "toys", "stationery", "party", "lighting", "gifts")
COUNTRIES = ("United Kingdom", "Germany", "France", "Ireland", "Netherlands", "Spain", "Belgium")
COUNTRY_P = (0.80, 0.05, 0.05, 0.03, 0.03, 0.02, 0.02)

# The generating constants (also written into _truth/meta.json).
PROCESS: dict[str, Any] = {
    "weekly": [1.05, 1.10, 1.08, 1.02, 0.95, 0.80, 0.85],  # Monday .. Sunday
    "yearly_amplitude": 0.35, "yearly_peak_day_of_year": 340, "trend_per_year": 0.10,
    "pre_period_share": 0.2, "pre_period_days": 365, "mean_lifetime_days": 540, "max_lifetime_days": 36500,
    "dropout_shape": 2.0,
    "rate_shape": 1.2, "spend_sigma": 0.6, "target_lines_per_customer": 10.0,
    "basket_mean_lines": 2.5, "quantity_extra_mean": 1.5, "guest_order_share": 0.03, "return_line_share": 0.03,
    "return_delay_p": 0.15, "new_product_share": 0.08, "new_product_window_days": 60,
    "intermittent_share": 0.10, "intermittent_lines_per_day": [0.05, 0.4], "elasticity_range": [-3.0, -0.5],
    "list_changes_per_year": 1.5, "list_step_sigma": 0.07, "high_season_surcharge": [0.04, 0.15],
    "promos_per_year": 5.0, "promo_days": [3, 21], "promo_cut": [0.10, 0.35],
    "promo_product_share": 0.7, "promo_lift": [1.2, 1.8],
}


def calendar(start: date, days: int) -> dict[str, np.ndarray]:
    dates, yearly, raw = raw_seasonality(PROCESS, start, days, np.arange(days))
    season = raw / raw.mean()
    return {"dates": dates, "yearly": yearly, "season": season, "cum": np.concatenate([[0.0], np.cumsum(season)])}


def draw_days(rng: np.random.Generator, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One day per row in [lo, hi) with probability proportional to the seasonality (inverse CDF)."""
    u = cum[lo] + rng.random(lo.shape[0]) * (cum[hi] - cum[lo])
    return np.clip(np.searchsorted(cum, u, side="right") - 1, lo, hi - 1)


def customers_process(rng: np.random.Generator, n: int, cal: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    days, cum, p = cal["season"].shape[0], cal["cum"], PROCESS
    pre = rng.random(n) < p["pre_period_share"]
    acq = np.where(pre, -rng.integers(1, p["pre_period_days"] + 1, n),
                   draw_days(rng, cum, np.zeros(n, np.int64), np.full(n, days, np.int64)))
    dropout = rng.gamma(p["dropout_shape"], 1 / (p["dropout_shape"] * p["mean_lifetime_days"]), n)
    lifetime = np.minimum(rng.exponential(1 / dropout), p["max_lifetime_days"])  # keeps dates representable
    churn = acq + 1 + np.floor(lifetime).astype(np.int64)
    lo, hi = np.clip(acq, 0, days), np.clip(churn, 0, days)
    exposure = cum[hi] - cum[lo]
    g = rng.gamma(p["rate_shape"], 1.0, n)
    target_orders = p["target_lines_per_customer"] / p["basket_mean_lines"]
    repeat_target = max(target_orders * n - int((~pre).sum()), 0.1 * n)
    rate = g * repeat_target / max(float((g * exposure).sum()), 1e-12)
    spend = rng.lognormal(-p["spend_sigma"] ** 2 / 2, p["spend_sigma"], n)
    return {"acq": acq, "churn": churn, "lo": lo, "hi": hi, "rate": rate, "spend": spend, "exposure": exposure,
            "country": rng.choice(len(COUNTRIES), n, p=COUNTRY_P)}


def products_process(rng: np.random.Generator, n: int, days: int) -> dict[str, np.ndarray]:
    p = PROCESS
    lo_e, hi_e = p["elasticity_range"]
    category = rng.integers(0, len(CATEGORIES), n)
    cat_mean = rng.uniform(lo_e + 0.6, hi_e - 0.5, len(CATEGORIES))
    elasticity = np.clip(cat_mean[category] + rng.normal(0, 0.4, n), lo_e, hi_e)
    ref = np.maximum(np.round(np.exp(rng.normal(np.log(8.0), 0.9, n)), 2), 0.5)
    n_new = int(round(p["new_product_share"] * n)) if n >= 5 and days > p["new_product_window_days"] else 0
    order = rng.permutation(n)
    new, intermittent = np.zeros(n, bool), np.zeros(n, bool)
    new[order[:n_new]] = True
    intermittent[order[n_new:n_new + int(round(p["intermittent_share"] * n))]] = True
    launch = np.where(new, days - rng.integers(5, p["new_product_window_days"] + 1, n),
                      -rng.integers(30, 1500, n))
    return {"category": category, "elasticity": elasticity, "ref": ref, "launch": launch,
            "new": new, "intermittent": intermittent, "base": rng.lognormal(0.0, 1.0, n),
            "gamma": rng.uniform(0.0, 1.5, n), "growth": rng.normal(0.0, 0.15, n),
            "lines_target": rng.uniform(*p["intermittent_lines_per_day"], n),
            # deals: which products run them, and the lift a deal adds beyond its price cut (display, mailing)
            "runs_promotions": rng.random(n) < p["promo_product_share"],
            "promo_lift": rng.uniform(*p["promo_lift"], n)}


def prices(rng: np.random.Generator, prod: dict[str, np.ndarray], cal: dict[str, np.ndarray]):
    """List prices with a few steps and a high-season surcharge, plus promotions timed in the low season (only for
    the products that run them): (price, on promotion, list price), each product x day."""
    p, days, n = PROCESS, cal["season"].shape[0], prod["ref"].shape[0]
    yearly = cal["yearly"]
    _, month = np.unique(cal["dates"].astype("datetime64[M]"), return_inverse=True)
    month_mean = np.bincount(month, yearly) / np.bincount(month)
    high = np.clip((month_mean[month] - 1) / p["yearly_amplitude"], 0, 1)  # 0 in low months, up to 1 at the peak
    promo_weight = yearly.max() - yearly + 0.1 * p["yearly_amplitude"]
    promo_cdf = np.concatenate([[0.0], np.cumsum(promo_weight)])
    price, cut, listed = np.empty((n, days)), np.zeros((n, days)), np.empty((n, days))
    k = np.arange(days)
    for i in range(n):
        changes = np.sort(rng.integers(1, max(days, 2), rng.poisson(p["list_changes_per_year"] * days / 365) + 1))
        steps = np.exp(np.cumsum(rng.normal(0, p["list_step_sigma"], changes.shape[0] + 1)))
        surcharge = rng.uniform(*p["high_season_surcharge"])
        list_price = prod["ref"][i] * steps[np.searchsorted(changes, k, side="right")] * (1 + surcharge * high)
        n_promos = rng.poisson(p["promos_per_year"] * days / 365) if prod["runs_promotions"][i] else 0
        starts = draw_days(rng, promo_cdf, np.zeros(n_promos, np.int64), np.full(n_promos, days, np.int64))
        for s, length, c in zip(starts, rng.integers(p["promo_days"][0], p["promo_days"][1] + 1, n_promos),
                                rng.uniform(*p["promo_cut"], n_promos), strict=True):
            cut[i, s:s + length] = np.maximum(cut[i, s:s + length], c)
        listed[i] = np.maximum(np.round(list_price, 2), 0.01)
        price[i] = np.maximum(np.round(list_price * (1 - cut[i]), 2), 0.01)
    return price, cut > 0, listed


def demand(lam_ref: np.ndarray, launched: np.ndarray, price: np.ndarray, ref: np.ndarray, elasticity: np.ndarray,
            m0: float, lift: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected lines an order (per day) and product choice probabilities (product x day).

    Lines pick a product with probability lam / sum(lam), and an order has 1 + Poisson(m0 * sum(lam) / norm - 1)
    lines (bigger baskets when prices are low overall), so E[units] = orders * m0 * lam / norm: the own-price
    elasticity is exactly the product's, with no cross-price effect. The normalizer counts every product as
    launched and has no price in it, so a launch adds demand and takes none from the others.
    """
    lam = lam_ref * launched * (price / ref[:, None]) ** elasticity[:, None]
    if lift is not None:  # a promotion's lift beyond its price (product x day; 1 off promotion)
        lam = lam * lift
    norm, total = lam_ref.sum(axis=0), lam.sum(axis=0)
    basket = m0 * total / norm
    return np.maximum(basket, 1.0), lam / np.where(total > 0, total, 1.0), basket < 1.0


DESCRIPTION = (
    "Global seasonality s(t) = weekly(dow) * (1 + A cos(2 pi (doy - peak) / 365.25)) * exp(trend * t), mean 1. "
    "Customers: acquisition day ~ s(t) inside the period (a share before it, uniform), lifetime ~ Exponential with "
    "a gamma-distributed dropout rate, churn_date = acquisition + 1 + floor(lifetime) (the first day with no "
    "purchase); an acquisition order on the acquisition day, then repeat orders on [acquisition, churn) as a "
    "Poisson process with intensity purchase_rate_per_day * s(t) (rates gamma, scaled to about 10 lines a "
    "customer); guest orders at a few percent without customer_id. Products: lam_ref(p,t) = base * "
    "exp(growth t) * yearly(t)^gamma * [t >= launch]; lam = lam_ref * (price / reference_price)^elasticity "
    "* promo_lift^[on promotion]. "
    "An order has 1 + Poisson(m0 * sum lam / sum lam_ref - 1) lines; each line picks product p with probability "
    "lam / sum lam and has quantity 1 + Poisson(q0 * spend_level). Hence expected_units(p,t) = U(t) * m0 * "
    "lam(p,t) / sum_q lam_ref(q,t) (the sum counts every product as launched, so launches take no demand from "
    "others), where U(t) is the expected units-weighted order count of the drawn population: the own-price "
    "elasticity is exactly true_elasticity (at a given promotion status), with no cross-price effect. Prices: "
    "list price = reference * random steps * (1 + surcharge in high-season months); 70% of the products run promotions "
    "that cut 10-35% for 3-21 days, timed mostly in the low season; a promotion multiplies lam by the "
    "product's promo_lift (1.2-1.8) beyond its price effect. Lines carry list_price and on_promotion. "
    "Returns: a few percent of "
    "customer purchase lines come back (part of the quantity, as a negative line in an R order) some days later, "
    "while the customer is still active. expected_units is conditional on the drawn customers and prices, "
    "before the Poisson noise, returns excluded."
)
