"""``python -m insights sample``: a seeded synthetic lake whose generating process is known exactly.

The process, its constants and the ground-truth files under ``<lake>/_truth/`` are described in
docs/sample-data.md. Everything is vectorized numpy (loops run per product, never per customer or line).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insights.data.truth import Truth, expected_orders, load_truth, raw_seasonality, seasonality

__all__ = ["SampleSpec", "Sample", "Truth", "generate", "write_sample", "load_truth", "seasonality", "expected_orders",
           "PROCESS"]

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
    "promos_per_year": 5.0, "promo_days": [3, 10], "promo_cut": [0.10, 0.30],
}


@dataclass(frozen=True)
class SampleSpec:
    """What to generate; ``end`` is the last day of data (default: yesterday, UTC)."""

    customers: int = 5000
    products: int = 100
    days: int = 730
    seed: int = 42
    end: date | None = None

    def resolved(self) -> SampleSpec:
        for name in ("customers", "products", "days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative, got {self.seed}")
        end = self.end or (datetime.now(UTC).date() - timedelta(days=1))
        return SampleSpec(self.customers, self.products, self.days, self.seed, end)


@dataclass
class Sample:
    """A generated lake (contract-shaped ``orders`` and ``customers``) and its ground truth."""

    orders: pd.DataFrame
    customers: pd.DataFrame
    truth: Truth


def _ids(prefix, numbers: np.ndarray, width: int):
    """Zero-padded ids as an Arrow string array; ``prefix`` is a string or an Arrow array of them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pa.array(numbers, type=pa.int64()).cast(pa.string()), width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _strings(arrow_array) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(arrow_array))


def _calendar(start: date, days: int) -> dict[str, np.ndarray]:
    dates, yearly, raw = raw_seasonality(PROCESS, start, days, np.arange(days))
    season = raw / raw.mean()
    return {"dates": dates, "yearly": yearly, "season": season, "cum": np.concatenate([[0.0], np.cumsum(season)])}


def _draw_days(rng: np.random.Generator, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One day per row in [lo, hi) with probability proportional to the seasonality (inverse CDF)."""
    u = cum[lo] + rng.random(lo.shape[0]) * (cum[hi] - cum[lo])
    return np.clip(np.searchsorted(cum, u, side="right") - 1, lo, hi - 1)


def _customers(rng: np.random.Generator, n: int, cal: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    days, cum, p = cal["season"].shape[0], cal["cum"], PROCESS
    pre = rng.random(n) < p["pre_period_share"]
    acq = np.where(pre, -rng.integers(1, p["pre_period_days"] + 1, n),
                   _draw_days(rng, cum, np.zeros(n, np.int64), np.full(n, days, np.int64)))
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


def _products(rng: np.random.Generator, n: int, days: int) -> dict[str, np.ndarray]:
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
            "lines_target": rng.uniform(*p["intermittent_lines_per_day"], n)}


def _prices(rng: np.random.Generator, prod: dict[str, np.ndarray], cal: dict[str, np.ndarray]):
    """List prices with a few steps and a high-season surcharge, plus promotions timed in the low season."""
    p, days, n = PROCESS, cal["season"].shape[0], prod["ref"].shape[0]
    yearly = cal["yearly"]
    _, month = np.unique(cal["dates"].astype("datetime64[M]"), return_inverse=True)
    month_mean = np.bincount(month, yearly) / np.bincount(month)
    high = np.clip((month_mean[month] - 1) / p["yearly_amplitude"], 0, 1)  # 0 in low months, up to 1 at the peak
    promo_weight = yearly.max() - yearly + 0.1 * p["yearly_amplitude"]
    promo_cdf = np.concatenate([[0.0], np.cumsum(promo_weight)])
    price, cut = np.empty((n, days)), np.zeros((n, days))
    k = np.arange(days)
    for i in range(n):
        changes = np.sort(rng.integers(1, max(days, 2), rng.poisson(p["list_changes_per_year"] * days / 365) + 1))
        steps = np.exp(np.cumsum(rng.normal(0, p["list_step_sigma"], changes.shape[0] + 1)))
        surcharge = rng.uniform(*p["high_season_surcharge"])
        list_price = prod["ref"][i] * steps[np.searchsorted(changes, k, side="right")] * (1 + surcharge * high)
        n_promos = rng.poisson(p["promos_per_year"] * days / 365)
        starts = _draw_days(rng, promo_cdf, np.zeros(n_promos, np.int64), np.full(n_promos, days, np.int64))
        for s, length, c in zip(starts, rng.integers(p["promo_days"][0], p["promo_days"][1] + 1, n_promos),
                                rng.uniform(*p["promo_cut"], n_promos), strict=True):
            cut[i, s:s + length] = np.maximum(cut[i, s:s + length], c)
        price[i] = np.maximum(np.round(list_price * (1 - cut[i]), 2), 0.01)
    return price, cut > 0


def _demand(lam_ref: np.ndarray, launched: np.ndarray, price: np.ndarray, ref: np.ndarray, elasticity: np.ndarray,
            m0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected lines an order (per day) and product choice probabilities (product x day).

    Lines pick a product with probability lam / sum(lam), and an order has 1 + Poisson(m0 * sum(lam) / norm - 1)
    lines (bigger baskets when prices are low overall), so E[units] = orders * m0 * lam / norm: the own-price
    elasticity is exactly the product's, with no cross-price effect. The normalizer counts every product as
    launched and has no price in it, so a launch adds demand and takes none from the others.
    """
    lam = lam_ref * launched * (price / ref[:, None]) ** elasticity[:, None]
    norm, total = lam_ref.sum(axis=0), lam.sum(axis=0)
    basket = m0 * total / norm
    return np.maximum(basket, 1.0), lam / np.where(total > 0, total, 1.0), basket < 1.0


def generate(spec: SampleSpec) -> Sample:
    """Generate the lake and its ground truth for ``spec`` (deterministic for a seed)."""
    spec = spec.resolved()
    p, days = PROCESS, spec.days
    start = spec.end - timedelta(days=days - 1)
    rng_c, rng_p, rng_o = (np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(3))
    cal = _calendar(start, days)
    season, k = cal["season"], np.arange(days)
    cust = _customers(rng_c, spec.customers, cal)
    prod = _products(rng_p, spec.products, days)
    price, promo = _prices(rng_p, prod, cal)
    q0, m0 = p["quantity_extra_mean"], p["basket_mean_lines"]

    def active_sum(values: np.ndarray) -> np.ndarray:
        return np.cumsum(np.bincount(cust["lo"], values, days + 1) - np.bincount(cust["hi"], values, days + 1))[:days]

    in_period = (cust["acq"] >= 0) & (cust["acq"] < days)
    acquisitions = np.bincount(cust["acq"][in_period], minlength=days)
    guest_share = p["guest_order_share"] / (1 - p["guest_order_share"])

    # Product weights at the reference price as if launched; intermittent ones sized to the lake.
    shape = (np.exp(prod["growth"][:, None] * (k[None, :] - days / 2) / 365.25)
             * cal["yearly"][None, :] ** prod["gamma"][:, None])
    regular_total = (prod["base"][~prod["intermittent"], None] * shape[~prod["intermittent"]]).sum(axis=0)
    lines_a_day = max(float(m0 * (season * active_sum(cust["rate"]) + acquisitions).mean() * (1 + guest_share)), 1e-9)
    for i in np.flatnonzero(prod["intermittent"]):  # a few lines a week whatever the lake's size
        target = min(prod["lines_target"][i] / lines_a_day, 0.5)
        prod["base"][i] = target / (1 - target) * float(np.median(regular_total / shape[i]))
    launched = k[None, :] >= prod["launch"][:, None]
    basket, share, clipped = _demand(prod["base"][:, None] * shape, launched, price, prod["ref"], prod["elasticity"],
                                     m0)
    # Scale the purchase rates so that a customer has about target_lines_per_customer lines (the baskets are
    # known now), then draw the repeat orders; guests add guest_order_share of the orders.
    repeat_lines = float((season * active_sum(cust["rate"])) @ basket)
    wanted = p["target_lines_per_customer"] * spec.customers - float(acquisitions @ basket)
    cust["rate"] = cust["rate"] * max(wanted, 0.1 * repeat_lines) / max(repeat_lines, 1e-12)
    cust["n_repeat"] = rng_c.poisson(cust["rate"] * cust["exposure"])
    customer_orders = season * active_sum(cust["rate"]) + acquisitions
    guest_rate = guest_share * customer_orders.sum() / season.sum()

    # Expected orders a day weighted by the expected units of one of their lines (1 + q0 * spend level).
    unit_weight = 1 + q0 * cust["spend"]
    unit_orders = (season * (active_sum(cust["rate"] * unit_weight) + guest_rate * (1 + q0))
                   + np.bincount(cust["acq"][in_period], unit_weight[in_period], days))
    expected_units = unit_orders[None, :] * basket[None, :] * share

    lines, directory, counts = _lines(rng_o, spec, start, cal, cust, prod, guest_rate, basket, share, price)
    counts["basket_clipped_days"] = int(clipped.sum())  # the elasticity is inexact on those days (none so far)
    truth = _truth(spec, start, cal, cust, prod, price, promo, expected_units, counts)
    return Sample(orders=lines, customers=directory, truth=truth)


def _lines(rng, spec, start, cal, cust, prod, guest_rate, basket, share, price):
    """Orders (repeat, acquisition, guest), their lines, returns; then the contract-shaped tables."""
    import pyarrow as pa
    import pyarrow.compute as pc

    p, days, n = PROCESS, spec.days, spec.customers
    q0, sigma = p["quantity_extra_mean"], p["spend_sigma"]
    rep_c = np.repeat(np.arange(n), cust["n_repeat"])
    rep_day = _draw_days(rng, cal["cum"], cust["lo"][rep_c], cust["hi"][rep_c])
    acq_c = np.flatnonzero((cust["acq"] >= 0) & (cust["acq"] < days))
    guest_day = np.repeat(np.arange(days), rng.poisson(guest_rate * cal["season"]))
    o_cust = np.concatenate([rep_c, acq_c, np.full(guest_day.shape[0], -1)])
    o_day = np.concatenate([rep_day, cust["acq"][acq_c], guest_day])
    o_sec = rng.integers(7 * 3600, 23 * 3600, o_day.shape[0])
    created_sec = rng.integers(7 * 3600, 22 * 3600, n)
    o_sec[rep_c.shape[0]:rep_c.shape[0] + acq_c.shape[0]] = created_sec[acq_c] + rng.integers(60, 1800, acq_c.shape[0])
    by_time = np.argsort(o_day * 86400 + o_sec, kind="stable")
    o_cust, o_day, o_sec = o_cust[by_time], o_day[by_time], o_sec[by_time]
    del rep_c, rep_day, guest_day, by_time
    o_spend = np.where(o_cust >= 0, cust["spend"][np.maximum(o_cust, 0)],
                       rng.lognormal(-sigma**2 / 2, sigma, o_day.shape[0]))
    n_orders = o_day.shape[0]
    o_country = np.where(o_cust >= 0, cust["country"][np.maximum(o_cust, 0)],
                         rng.choice(len(COUNTRIES), n_orders, p=COUNTRY_P))

    l_order = np.repeat(np.arange(n_orders), 1 + rng.poisson(basket[o_day] - 1))
    l_day = o_day[l_order]
    n_products = share.shape[0]
    cum = np.cumsum(share.T, axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(days)[:, None]).ravel()  # day t's products occupy [t, t + 1)
    l_prod = np.searchsorted(flat, l_day + rng.random(l_day.shape[0]), side="right") - l_day * n_products
    l_prod = np.clip(l_prod, 0, n_products - 1)
    l_qty = 1 + rng.poisson(q0 * o_spend[l_order])
    del o_spend

    # Returns: part of a purchase line, some days later, only while the customer is still active.
    o_delay = rng.geometric(p["return_delay_p"], n_orders)
    l_cust = o_cust[l_order]
    r_line = np.flatnonzero((l_cust >= 0) & (rng.random(l_day.shape[0]) < p["return_line_share"]))
    r_line = r_line[l_day[r_line] + o_delay[l_order[r_line]]
                    < np.minimum(cust["churn"][l_cust[r_line]], days)]
    r_orders, r_of_line = np.unique(l_order[r_line], return_inverse=True)
    r_day = o_day[r_orders] + o_delay[r_orders]
    r_sec = rng.integers(7 * 3600, 23 * 3600, r_orders.shape[0])
    r_rank = np.empty(r_orders.shape[0], np.int64)
    r_rank[np.argsort(r_day * 86400 + r_sec, kind="stable")] = np.arange(r_orders.shape[0])
    r_qty = -(1 + rng.binomial(l_qty[r_line] - 1, 0.5))

    is_return = np.concatenate([np.zeros(l_order.shape[0], bool), np.ones(r_line.shape[0], bool)])
    number = np.concatenate([l_order, r_rank[r_of_line]]) + 1
    seconds = np.concatenate([o_day[l_order] * 86400 + o_sec[l_order], (r_day * 86400 + r_sec)[r_of_line]])
    line_cust = np.concatenate([l_cust, l_cust[r_line]])
    line_country = o_country[np.concatenate([l_order, l_order[r_line]])]
    line_prod = np.concatenate([l_prod, l_prod[r_line]])
    line_qty = np.concatenate([l_qty, r_qty])
    line_price = price[line_prod, np.concatenate([l_day, l_day[r_line]])]
    order = np.argsort(seconds, kind="stable")
    counts = {"lines": int(order.shape[0]), "purchase_orders": int(n_orders), "return_orders": int(r_orders.shape[0]),
              "return_lines": int(r_line.shape[0]), "guest_lines": int((l_cust < 0).sum())}
    del l_order, l_day, l_prod, l_qty, l_cust

    width = max(8, len(str(max(n_orders, 1))))
    customer_ids = _ids("C", np.arange(1, n + 1), max(7, len(str(n))))
    product_ids = _ids("P", np.arange(1, share.shape[0] + 1), 4)
    line_cust, is_return, number = line_cust[order], is_return[order], number[order]
    lines = pd.DataFrame({
        "order_id": _strings(_ids(pc.if_else(pa.array(is_return), "R", "O"), number, width)),
        "customer_id": _strings(customer_ids.take(pa.array(np.maximum(line_cust, 0), mask=line_cust < 0))),
        "order_ts": (np.datetime64(start, "s") + seconds[order]).astype("datetime64[us]"),
        "product_id": _strings(product_ids.take(pa.array(line_prod[order]))),
        "quantity": line_qty[order].astype(np.int64),
        "unit_price": line_price[order],
        "category": _strings(pa.array(np.asarray(CATEGORIES)[prod["category"]]).take(pa.array(line_prod[order]))),
        "country": _strings(pa.array(np.asarray(COUNTRIES)).take(pa.array(line_country[order]))),
    })
    emails = pc.binary_join_element_wise(pc.utf8_lower(customer_ids), "@example.com", "")
    has_email = rng.random(n) >= 0.05
    directory = pd.DataFrame({
        "customer_id": _strings(customer_ids),
        "email": _strings(pc.if_else(pa.array(has_email), emails, pa.scalar(None, pa.string()))),
        "created_at": (np.datetime64(start, "s") + cust["acq"] * 86400 + created_sec).astype("datetime64[us]"),
    })
    return lines, directory, counts


def _truth(spec, start, cal, cust, prod, price, promo, expected_units, counts) -> Truth:
    import pyarrow as pa

    n_products, days = price.shape
    product_ids = [f"P{i:04d}" for i in range(1, n_products + 1)]
    at_ref = expected_units / (price / prod["ref"][:, None]) ** prod["elasticity"][:, None]
    launched = np.arange(days)[None, :] >= prod["launch"][:, None]
    base_units = (at_ref * launched).sum(axis=1) / np.maximum(launched.sum(axis=1), 1)
    start64 = np.datetime64(start, "D")
    products = pd.DataFrame({
        "product_id": pd.array(product_ids, dtype="string"),
        "category": pd.array(np.asarray(CATEGORIES)[prod["category"]], dtype="string"),
        "true_elasticity": prod["elasticity"],
        "reference_price": prod["ref"],
        "base_daily_units": base_units,
        "launch_date": pd.array(pa.array(start64 + prod["launch"]), dtype=pd.ArrowDtype(pa.date32())),
        "intermittent": prod["intermittent"],
        "promo_days": promo.sum(axis=1).astype(np.int64),
    })
    customers = pd.DataFrame({
        "customer_id": pd.array([f"C{i:0{max(7, len(str(spec.customers)))}d}" for i in range(1, spec.customers + 1)],
                                dtype="string"),
        "acquisition_date": pd.array(pa.array(start64 + cust["acq"]), dtype=pd.ArrowDtype(pa.date32())),
        "churn_date": pd.array(pa.array(start64 + cust["churn"]), dtype=pd.ArrowDtype(pa.date32())),
        "purchase_rate_per_day": cust["rate"],
        "spend_level": cust["spend"],
    })
    daily = pd.DataFrame({
        "date": pd.array(pa.array(np.repeat(cal["dates"], n_products)), dtype=pd.ArrowDtype(pa.date32())),
        "product_id": pd.array(np.tile(np.asarray(product_ids), days), dtype="string"),
        "price": price.T.ravel(),
        "promo": promo.T.ravel(),
        "expected_units": expected_units.T.ravel(),
    })
    meta = {
        "seed": spec.seed,
        "arguments": {"customers": spec.customers, "products": spec.products, "days": spec.days,
                      "seed": spec.seed, "end": spec.end.isoformat()},
        "start": start.isoformat(), "end": spec.end.isoformat(),
        "counts": counts, "process": PROCESS, "description": DESCRIPTION,
    }
    return Truth(products=products, customers=customers, daily_prices=daily, meta=meta)


DESCRIPTION = (
    "Global seasonality s(t) = weekly(dow) * (1 + A cos(2 pi (doy - peak) / 365.25)) * exp(trend * t), mean 1. "
    "Customers: acquisition day ~ s(t) inside the period (a share before it, uniform), lifetime ~ Exponential with "
    "a gamma-distributed dropout rate, churn_date = acquisition + 1 + floor(lifetime) (the first day with no "
    "purchase); an acquisition order on the acquisition day, then repeat orders on [acquisition, churn) as a "
    "Poisson process with intensity purchase_rate_per_day * s(t) (rates gamma, scaled to about 10 lines a "
    "customer); guest orders at a few percent without customer_id. Products: lam_ref(p,t) = base * "
    "exp(growth t) * yearly(t)^gamma * [t >= launch]; lam = lam_ref * (price / reference_price)^elasticity. "
    "An order has 1 + Poisson(m0 * sum lam / sum lam_ref - 1) lines; each line picks product p with probability "
    "lam / sum lam and has quantity 1 + Poisson(q0 * spend_level). Hence expected_units(p,t) = U(t) * m0 * "
    "lam(p,t) / sum_q lam_ref(q,t) (the sum counts every product as launched, so launches take no demand from "
    "others), where U(t) is the expected units-weighted order count of the drawn population: the own-price "
    "elasticity is exactly true_elasticity, with no cross-price effect. Prices: list price = "
    "reference * random steps * (1 + surcharge in high-season months); promotions cut 10-30% for 3-10 days, "
    "timed mostly in the low season; promotions act on demand only through the price. Returns: a few percent of "
    "customer purchase lines come back (part of the quantity, as a negative line in an R order) some days later, "
    "while the customer is still active. expected_units is conditional on the drawn customers and prices, "
    "before the Poisson noise, returns excluded."
)


def write_sample(lake: str | Path, sample: Sample) -> Path:
    """Write the sample's lake atomically, with its ground truth in ``<lake>/_truth/``."""
    from insights.data.lake import write_lake

    def add_truth(folder: Path) -> None:
        out = folder / "_truth"
        out.mkdir()
        sample.truth.products.to_parquet(out / "products.parquet", index=False)
        sample.truth.customers.to_parquet(out / "customers.parquet", index=False)
        sample.truth.daily_prices.to_parquet(out / "daily_prices.parquet", index=False)
        (out / "meta.json").write_text(json.dumps(sample.truth.meta, indent=2) + "\n")

    return write_lake(lake, sample.orders, sample.customers, extra=add_truth)
