"""Synthetic sales with known elasticities for bench/bench_pricing.py (seeded, numpy + pandas + scipy.signal).

- :func:`confounded_daily`: a web shop's daily sales (rows only on days with sales, like daily_sales), closed
  on Sundays, some products never sold on Saturdays; overdispersed, with persistent demand swings the controls
  cannot see. Prices are confounded twice: the list price carries a busy-season surcharge (price high when
  demand is high), and promotions (10-35% off for 3-10 days) are timed in the quiet season and lift demand
  beyond their price cut (display, newsletter: x1.2-1.6). Between them the list price moves in spells around
  its reference (sd 7%), repriced at a pace that differs by product. A promotion flag and the list price are
  in the data. Elasticities: a mean per category, spread (sd 0.35) within it. Two designs (``DESIGNS``):
  "baseline" and "hard" (slower sellers, noisier demand, rarer price changes).
- :func:`grocery_weekly`: a grocery chain's weekly store-level feed (one line per store x brand x week, dated
  on the week's Thursday): store sizes, three price zones, shelf prices in spells around the brand's base
  price (two designs, GROCERY_DESIGNS), chain-wide deals cutting the price 20-40% in a quarter of the weeks
  (85% of stores take part) with an in-store display lift (x1.4) and, in 40% of the deal weeks, a feature ad
  (x1.3; not in the data: only the deal flag is); brand-week demand shocks (sd 0.08) common to all stores.
  Aggregated to brand x week as the lake's daily_sales would be after import: units summed, price = revenue /
  units, promotion share = units-weighted share of the lines on deal.
Both return (sales frame, truth frame with product_id, category, true_elasticity, ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

__all__ = ["confounded_daily", "grocery_weekly"]

CATEGORY_MEANS = {"pantry": -0.9, "snacks": -1.5, "home": -2.0, "toys": -2.5, "fashion": -3.0}


# day-level gamma shape, AR(1) phi, innovation sd, units a day (log-uniform), list-price spells (days), promotions
# a year
DESIGNS = {"baseline": (25.0, 0.7, 0.04, (2.0, 100.0), (7, 14, 30, 90), (4.0, 12.0)),
           "hard": (10.0, 0.8, 0.05, (0.4, 60.0), (14, 30, 60, 180), (2.0, 10.0))}


def confounded_daily(*, n_products: int = 200, days: int = 730, seed: int = 0, design: str = "baseline",
                     start: str = "2024-01-01") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily sales of ``n_products`` over ``days`` with season- and promotion-confounded prices.

    ``design``: "baseline": 2-100 units a day, day-level extra-Poisson CV 0.2, AR(1) demand swings (phi 0.7,
    stationary sd 0.06), list price repriced every 1 week to 3 months, 4-12 promotions a year; "hard": 0.4-60
    units a day, CV 0.32, swings phi 0.8 / sd 0.08, repriced every 2 weeks to 6 months, 2-10 promotions a year.
    """
    shape, phi, sd, (lo_level, hi_level), spells, (lo_promo, hi_promo) = DESIGNS[design]
    rng = np.random.default_rng(seed)
    dates = np.datetime64(start) + np.arange(days)
    doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    wd = (dates.astype(np.int64) + 3) % 7
    cats = np.array(list(CATEGORY_MEANS))
    cat = cats[rng.integers(0, cats.size, n_products)]
    b = np.clip(np.array([CATEGORY_MEANS[c] for c in cat]) + rng.normal(0, 0.35, n_products), -4.5, -0.3)
    level = np.exp(rng.uniform(np.log(lo_level), np.log(hi_level), n_products))
    weekly = np.array([1.0, 0.95, 0.95, 1.0, 1.15, 1.25, 0.0])  # closed on Sundays
    rows, truth = [], []
    for i in range(n_products):
        amp = rng.uniform(0.2, 0.5)
        season = np.exp(amp * np.cos(2 * np.pi * (doy - rng.integers(300, 380)) / 365.25))
        trend = np.exp(rng.normal(0.1, 0.15) * np.arange(days) / 365.25)
        w = weekly.copy()
        if rng.random() < 0.1:
            w[5] = 0.0  # never sold on Saturdays
        # slow demand swings the controls cannot see (AR(1)): autocorrelated errors
        shock = lfilter([1.0], [1.0, -phi], rng.normal(0, sd, days))
        ref = np.exp(rng.uniform(np.log(2), np.log(80)))
        # list price: spells around the reference (repricing every 2 weeks to 6 months, product by product)
        spell = rng.choice(spells)
        changes = np.sort(rng.integers(1, days, rng.poisson(days / spell)))
        steps = np.exp(rng.normal(0, 0.07, changes.size + 1))[np.searchsorted(changes, np.arange(days), "right")]
        surcharge = rng.uniform(0.0, 0.12) * (season > np.quantile(season, 0.7))  # busy-season surcharge
        list_price = ref * steps * (1 + surcharge)
        promo = np.zeros(days, bool)
        cut = np.zeros(days)
        quiet = (season.max() - season) + 0.05
        n_promos = rng.poisson(rng.uniform(lo_promo, hi_promo) * days / 365)
        for s in rng.choice(days, size=n_promos, p=quiet / quiet.sum()):
            length = rng.integers(3, 11)
            promo[s:s + length] = True
            cut[s:s + length] = rng.uniform(0.10, 0.35)
        price = np.round(list_price * (1 - cut), 2)
        lift = np.where(promo, rng.uniform(1.2, 1.6), 1.0)  # display, newsletter: beyond the price cut
        lam = level[i] * season * trend * w[wd] * np.exp(shock) * lift * (price / ref) ** b[i]
        q = rng.poisson(lam * rng.gamma(shape, 1 / shape, days))  # overdispersed
        sold = q > 0
        pid = f"P{i:04d}"
        rows.append(pd.DataFrame({"product_id": pid, "date": dates[sold], "quantity": q[sold],
                                  "price": price[sold], "promo": promo[sold].astype(float),
                                  "list_price": np.round(list_price[sold], 2), "category": cat[i]}))
        truth.append((pid, cat[i], b[i], level[i], float(np.std(np.log(price))), int(spell)))
    return pd.concat(rows, ignore_index=True), pd.DataFrame(
        truth, columns=["product_id", "category", "true_elasticity", "level", "log_price_sd", "price_spell_days"])


BRAND_ELASTICITIES = (-0.8, -1.0, -1.3, -1.5, -1.8, -2.0, -2.2, -2.5, -2.8, -3.1, -3.5)


GROCERY_DESIGNS = {"baseline": (4, 0.10), "hard": (8, 0.08)}  # shelf-price spell (weeks), sd of its level


def grocery_weekly(*, n_stores: int = 60, weeks: int = 104, seed: int = 0, design: str = "baseline",
                   start: str = "2024-01-04", elasticities: tuple[float, ...] = BRAND_ELASTICITIES,
                   store_lines: list[pd.DataFrame] | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Brand x week sales of a chain (and the deal lifts realized) from a store x brand x week simulation.

    ``design``: "baseline" (shelf prices re-set every ~4 weeks, sd 10%) or "hard" (every ~8 weeks, sd 8%).
    ``store_lines``: when a list, one frame per brand of the store-level lines (store, week, brand, units, price,
    shelf price, deal flag; lines with units > 0) is appended to it: the feed a chain would export
    (bench/bench_grocery_import.py imports it). The random draws are the same either way.
    """
    spell, shelf_sd = GROCERY_DESIGNS[design]
    rng = np.random.default_rng(seed)
    week_dates = np.datetime64(start) + 7 * np.arange(weeks)  # 2024-01-04 is a Thursday
    doy = (week_dates - week_dates.astype("datetime64[Y]")).astype(np.int64)
    size = np.exp(rng.normal(0, 0.5, n_stores))
    zone = rng.choice([0.95, 1.0, 1.06], n_stores)
    rows, truth, lifts = [], [], []
    for j, b in enumerate(elasticities):
        base_price = rng.uniform(1.5, 6.0)
        # shelf (regular) price: spells around the brand's base price (cost pass-through, competition)
        changes = np.sort(rng.integers(1, weeks, rng.poisson(weeks / spell)))
        regular = base_price * np.exp(rng.normal(0, shelf_sd, changes.size + 1))[
            np.searchsorted(changes, np.arange(weeks), "right")]
        deal = rng.random(weeks) < 0.25
        depth = np.where(deal, rng.uniform(0.2, 0.4, weeks), 0.0)
        feature = deal & (rng.random(weeks) < 0.4) | (~deal & (rng.random(weeks) < 0.02))
        season = np.exp(0.15 * np.cos(2 * np.pi * (doy - rng.integers(0, 365)) / 365.25))
        shock = rng.normal(0, 0.08, weeks)  # brand-week demand shocks common to all stores
        volume = rng.uniform(20, 150)
        takes = deal[None, :] & (rng.random((n_stores, weeks)) < 0.85)
        shelf = np.round(zone[:, None] * regular[None, :], 2)
        price = np.round(np.where(takes, shelf * (1 - depth[None, :]), shelf), 2)
        lift = np.where(takes, 1.4, 1.0) * np.where(feature[None, :], 1.3, 1.0)
        lam = (volume * size[:, None] * season[None, :] * np.exp(shock)[None, :] * lift
               * (price / (zone[:, None] * base_price)) ** b)
        q = rng.poisson(lam * rng.gamma(5.0, 0.2, lam.shape))
        units = q.sum(axis=0)
        revenue = (q * price).sum(axis=0)
        promo_units = (q * takes).sum(axis=0)
        ok = units > 0
        pid = f"B{j + 1:02d}"
        if store_lines is not None:
            s, w = np.nonzero(q > 0)
            store_lines.append(pd.DataFrame({"store": s + 1, "week": week_dates[w], "brand": pid, "units": q[s, w],
                                             "price": price[s, w], "shelf_price": shelf[s, w], "deal": takes[s, w]}))
        rows.append(pd.DataFrame({"product_id": pid, "date": week_dates[ok], "quantity": units[ok],
                                  "price": revenue[ok] / units[ok], "promo": promo_units[ok] / units[ok],
                                  "category": "juice"}))
        no_deal = np.median(units[~deal])
        lifts += list(units[deal] / no_deal)
        truth.append((pid, "juice", b, float(np.mean(deal))))
    info = {"lift_p10": float(np.quantile(lifts, 0.1)), "lift_median": float(np.median(lifts)),
            "lift_p90": float(np.quantile(lifts, 0.9)), "stores": n_stores, "weeks": weeks}
    return (pd.concat(rows, ignore_index=True),
            pd.DataFrame(truth, columns=["product_id", "category", "true_elasticity", "deal_share"]), info)
