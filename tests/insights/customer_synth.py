"""A small seeded order history for the customer-model tests: Poisson buyers who may churn."""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_orders(n_customers: int = 300, *, start: str = "2023-01-02", days: int = 400, seed: int = 7,
                     churn_days: float = 150.0, rate_scale: float = 1 / 20) -> pd.DataFrame:
    """Order lines: each customer arrives uniformly, buys as a Poisson process (gamma-distributed rate,
    mean ``rate_scale`` a day) until an exponential lifetime (mean ``churn_days``) ends, 1-3 lines an order."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start, tz="UTC")
    rows = []
    for c in range(n_customers):
        arrive = rng.uniform(0, days * 0.8)
        life = rng.exponential(churn_days) if churn_days else np.inf
        rate = rng.gamma(2.0, rate_scale / 2.0)
        spend = rng.lognormal(3.0, 0.6)
        t, k = arrive, 0
        while t < min(days, arrive + life):
            for line in range(int(rng.integers(1, 4))):
                rows.append((f"o{c}-{k}", f"c{c:04d}", t0 + pd.Timedelta(days=t, hours=10), f"p{line}",
                             int(rng.integers(1, 4)), round(spend * rng.uniform(0.5, 1.5), 2)))
            k += 1
            t += rng.exponential(1.0 / rate)
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_ts", "product_id", "quantity",
                                        "unit_price"])
    frame["order_ts"] = frame["order_ts"].dt.floor("min")
    return frame


def directory(orders: pd.DataFrame) -> pd.DataFrame:
    """One directory row per customer: an email, created at the first order."""
    first = orders.groupby("customer_id")["order_ts"].min().sort_index()
    return pd.DataFrame({"customer_id": first.index, "email": [f"{i}@example.com" for i in first.index],
                         "created_at": first.to_numpy()})
