"""``python -m insights sample``: a seeded synthetic lake whose generating process is known exactly.

The process, its constants and the ground-truth files under ``<lake>/_truth/`` are described in
docs/sample-data.md. Everything is vectorized numpy (loops run per product, never per customer or line).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from insights.data.sample_engagement import ENGAGEMENT, customer_rates, engagement_events, reviews
from insights.data.sample_process import (
    CATEGORIES,
    COUNTRIES,
    COUNTRY_P,
    DESCRIPTION,
    PROCESS,
    calendar,
    customers_process,
    demand,
    draw_days,
    prices,
    products_process,
)
from insights.data.truth import Truth, expected_orders, load_truth, seasonality

__all__ = ["SampleSpec", "Sample", "Truth", "generate", "write_sample", "load_truth", "seasonality", "expected_orders",
           "PROCESS"]

@dataclass(frozen=True)
class SampleSpec:
    """What to generate; ``end`` is the last day of data (default: yesterday, UTC)."""

    customers: int = 5000
    products: int = 100
    days: int = 730
    seed: int = 42
    end: date | None = None
    engagement: bool = True  # also the optional reviews and engagement tables (insights/data/sample_engagement.py)

    def resolved(self) -> SampleSpec:
        for name in ("customers", "products", "days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative, got {self.seed}")
        end = self.end or (datetime.now(UTC).date() - timedelta(days=1))
        return SampleSpec(self.customers, self.products, self.days, self.seed, end, self.engagement)


@dataclass
class Sample:
    """A generated lake (contract-shaped ``orders``, ``customers``, optional ``reviews`` and ``engagement``) and its
    ground truth."""

    orders: pd.DataFrame
    customers: pd.DataFrame
    truth: Truth
    reviews: pd.DataFrame | None = None
    engagement: pd.DataFrame | None = None


def _ids(prefix, numbers: np.ndarray, width: int):
    """Zero-padded ids as an Arrow string array; ``prefix`` is a string or an Arrow array of them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pa.array(numbers, type=pa.int64()).cast(pa.string()), width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _strings(arrow_array) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(arrow_array))


def generate(spec: SampleSpec) -> Sample:
    """Generate the lake and its ground truth for ``spec`` (deterministic for a seed)."""
    spec = spec.resolved()
    p, days = PROCESS, spec.days
    start = spec.end - timedelta(days=days - 1)
    rng_c, rng_p, rng_o = (np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(3))
    cal = calendar(start, days)
    season, k = cal["season"], np.arange(days)
    cust = customers_process(rng_c, spec.customers, cal)
    prod = products_process(rng_p, spec.products, days)
    price, promo, list_price = prices(rng_p, prod, cal)
    lift = np.where(promo, prod["promo_lift"][:, None], 1.0)
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
    basket, share, clipped = demand(prod["base"][:, None] * shape, launched, price, prod["ref"], prod["elasticity"],
                                     m0, lift)
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

    lines, directory, counts = _lines(rng_o, spec, start, cal, cust, prod, guest_rate, basket, share,
                                      (price, list_price, promo))
    counts["basket_clipped_days"] = int(clipped.sum())  # the elasticity is inexact on those days (none so far)
    truth = _truth(spec, start, cal, cust, prod, (price, list_price, promo, lift), expected_units, counts)
    if not spec.engagement:
        return Sample(orders=lines, customers=directory, truth=truth)
    # a fourth stream of the seed: the orders above are the same with or without the engagement tables
    rng_e = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(3,)))
    rate = customer_rates(rng_e, spec.customers)
    events = engagement_events(rng_e, cust, rate, days, start, _ids("C", np.arange(1, spec.customers + 1),
                                                                    max(7, len(str(spec.customers)))))
    rated = reviews(rng_e, cust, lines, days, start)
    truth.customers["engagement_rate_per_day"] = rate
    truth.meta["engagement"] = {**ENGAGEMENT, "counts": {"events": len(events), "reviews": len(rated)}}
    return Sample(orders=lines, customers=directory, truth=truth, reviews=rated, engagement=events)


def _lines(rng, spec, start, cal, cust, prod, guest_rate, basket, share, pricing):
    """Orders (repeat, acquisition, guest), their lines, returns; then the contract-shaped tables."""
    import pyarrow as pa
    import pyarrow.compute as pc

    p, days, n = PROCESS, spec.days, spec.customers
    q0, sigma = p["quantity_extra_mean"], p["spend_sigma"]
    rep_c = np.repeat(np.arange(n), cust["n_repeat"])
    rep_day = draw_days(rng, cal["cum"], cust["lo"][rep_c], cust["hi"][rep_c])
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
    price, list_price, promo = pricing
    line_days = np.concatenate([l_day, l_day[r_line]])  # a return carries its purchase's prices
    line_price, line_list, line_promo = (m[line_prod, line_days] for m in (price, list_price, promo))
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
        "list_price": line_list[order],
        "on_promotion": line_promo[order],
    })
    emails = pc.binary_join_element_wise(pc.utf8_lower(customer_ids), "@example.com", "")
    has_email = rng.random(n) >= 0.05
    directory = pd.DataFrame({
        "customer_id": _strings(customer_ids),
        "email": _strings(pc.if_else(pa.array(has_email), emails, pa.scalar(None, pa.string()))),
        "created_at": (np.datetime64(start, "s") + cust["acq"] * 86400 + created_sec).astype("datetime64[us]"),
    })
    return lines, directory, counts


def _truth(spec, start, cal, cust, prod, pricing, expected_units, counts) -> Truth:
    import pyarrow as pa

    price, list_price, promo, lift = pricing
    n_products, days = price.shape
    product_ids = [f"P{i:04d}" for i in range(1, n_products + 1)]
    at_ref = expected_units / (price / prod["ref"][:, None]) ** prod["elasticity"][:, None] / lift
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
        "promo_lift": prod["promo_lift"],  # units x this on a promotion day, beyond the price's own effect
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
        "list_price": list_price.T.ravel(),
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

    return write_lake(lake, sample.orders, sample.customers, extra=add_truth,
                      events={"reviews": sample.reviews, "engagement": sample.engagement})
