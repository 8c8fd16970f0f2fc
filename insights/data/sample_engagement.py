"""The sample's optional engagement events and product reviews, with a known effect on churn.

Every customer visits and reads emails as a Poisson process while active; in the ``decline_days`` before their
dropout (churn_date, known to the generator) the rate falls to ``decline_factor`` of it, and after dropout to
``after_churn_factor``. A share of purchase lines gets a review a few days later; lines bought in the
``decline_days`` before dropout are rated lower (``rating_p_before_churn``) with more negative text. The
parameters are written into ``_truth/meta.json`` (``engagement``); docs/sample-data.md describes them.
Vectorized numpy: no loop runs per customer, event or review.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ENGAGEMENT", "REVIEW_TEXTS", "engagement_events", "reviews"]

ENGAGEMENT: dict[str, Any] = {
    "rate_mean_per_day": 0.04,      # events a day while active (gamma across customers, this mean)
    "rate_shape": 1.5,
    "kinds": ["session", "email_open", "email_click"],
    "kind_p": [0.6, 0.3, 0.1],
    "decline_days": 60,             # the weeks before dropout in which a leaving customer engages less ...
    "decline_factor": 0.25,         # ... at this share of their rate
    "after_churn_factor": 0.1,      # after dropout: a trickle (newsletter opens)
    "review_line_share": 0.08,      # purchase lines that get a review
    "review_delay_mean_days": 5,    # days from the purchase to the review (1 + geometric)
    "rating_p": [0.03, 0.05, 0.12, 0.35, 0.45],               # 1..5 stars
    "rating_p_before_churn": [0.25, 0.25, 0.25, 0.15, 0.10],  # lines bought in the decline_days before dropout
    "text_share": 0.8,              # reviews with a text (the others: a rating only)
}

# Review texts by stars (words the sentiment lexicon knows): what a rating's text says, drawn uniformly.
REVIEW_TEXTS: dict[int, tuple[str, ...]] = {
    1: ("Terrible quality, very disappointed", "Broke after a week, awful", "Worst purchase, a waste of money",
        "Poor quality and it arrived damaged"),
    2: ("Disappointing, not as described", "Cheap and flimsy, a bad buy", "Not great, rather poor"),
    3: ("It is okay", "Average product, nothing special", "Fine for the price"),
    4: ("Good product, happy with it", "Nice quality", "Works well, recommended"),
    5: ("Excellent, love it", "Perfect, great quality", "Amazing, highly recommend", "Fantastic value, very happy"),
}


def customer_rates(rng: np.random.Generator, n: int) -> np.ndarray:
    p = ENGAGEMENT
    return rng.gamma(p["rate_shape"], p["rate_mean_per_day"] / p["rate_shape"], n)


def engagement_events(rng: np.random.Generator, cust: dict[str, np.ndarray], rate: np.ndarray, days: int,
                      start, customer_ids) -> pd.DataFrame:
    """Engagement rows (customer_id, event_kind, event_ts) for the customers of ``cust`` (sample_process)."""
    import pyarrow as pa

    p = ENGAGEMENT
    lo, hi, churn = cust["lo"], cust["hi"], cust["churn"]
    decline = np.clip(churn - p["decline_days"], lo, hi)
    after = np.where(churn < days, hi, days)
    seg_lo = np.concatenate([lo, decline, after])
    seg_len = np.concatenate([decline - lo, hi - decline, days - after]).astype(np.int64)
    seg_rate = np.concatenate([rate, rate * p["decline_factor"], rate * p["after_churn_factor"]])
    seg_cust = np.tile(np.arange(lo.shape[0]), 3)
    counts = rng.poisson(seg_rate * seg_len)
    idx = np.repeat(np.arange(seg_lo.shape[0]), counts)
    day = seg_lo[idx] + np.floor(rng.random(idx.shape[0]) * seg_len[idx]).astype(np.int64)
    seconds = day * 86400 + rng.integers(6 * 3600, 24 * 3600, idx.shape[0])
    kind = rng.choice(len(p["kinds"]), idx.shape[0], p=p["kind_p"])
    who = seg_cust[idx]
    order = np.lexsort((kind, seconds, who))
    return pd.DataFrame({
        "customer_id": pd.Series(pd.arrays.ArrowStringArray(customer_ids.take(pa.array(who[order])))),
        "event_kind": pd.Series(np.asarray(p["kinds"])[kind[order]], dtype="string"),
        "event_ts": (np.datetime64(start, "s") + seconds[order]).astype("datetime64[us]"),
    })


def reviews(rng: np.random.Generator, cust: dict[str, np.ndarray], lines: pd.DataFrame, days: int,
            start) -> pd.DataFrame:
    """Review rows (customer_id, product_id, rating, review_text, review_ts) for some customer purchase lines."""
    import pyarrow as pa
    import pyarrow.compute as pc

    p = ENGAGEMENT
    bought = (lines["quantity"].to_numpy() > 0) & lines["customer_id"].notna().to_numpy()
    picked = np.flatnonzero(bought & (rng.random(len(lines)) < p["review_line_share"]))
    ids = pa.array(lines["customer_id"].iloc[picked].astype("string"))
    who = pc.cast(pc.utf8_slice_codeunits(ids, 1), pa.int64()).to_numpy() - 1  # C0000001 -> 0
    ts = lines["order_ts"].to_numpy()[picked].astype("datetime64[s]")
    day = (ts.astype("datetime64[D]") - np.datetime64(start, "D")).astype(np.int64)
    delay = rng.geometric(1.0 / p["review_delay_mean_days"], picked.shape[0])
    keep = day + delay < days
    picked, who, ts, day, delay = picked[keep], who[keep], ts[keep], day[keep], delay[keep]
    unhappy = day >= cust["churn"][who] - p["decline_days"]
    u = rng.random(picked.shape[0])
    stars = 1 + np.where(unhappy, np.searchsorted(np.cumsum(p["rating_p_before_churn"]), u, side="right"),
                         np.searchsorted(np.cumsum(p["rating_p"]), u, side="right"))
    stars = np.clip(stars, 1, 5)
    bank = [t for r in range(1, 6) for t in REVIEW_TEXTS[r]]
    first = np.cumsum([0] + [len(REVIEW_TEXTS[r]) for r in range(1, 6)])
    pick = first[stars - 1] + np.floor(rng.random(stars.shape[0]) * (first[stars] - first[stars - 1])).astype(int)
    texts = np.asarray(bank, dtype=object)[pick]
    texts[rng.random(stars.shape[0]) >= p["text_share"]] = None
    review_ts = ts + delay.astype("timedelta64[D]") + rng.integers(0, 6 * 3600, picked.shape[0]).astype(
        "timedelta64[s]")
    frame = pd.DataFrame({
        "customer_id": lines["customer_id"].iloc[picked].astype("string").to_numpy(),
        "product_id": lines["product_id"].iloc[picked].astype("string").to_numpy(),
        "rating": stars.astype(np.int32),
        "review_text": pd.array(texts, dtype="string"),
        "review_ts": review_ts.astype("datetime64[us]"),
    })
    return frame.sort_values(["review_ts", "customer_id"], kind="stable").reset_index(drop=True)
