"""Features of the global demand model: a dense product x day panel and vectorized row features.

A row is (product i, origin o, horizon k): history features use days < o only; calendar and the planned price
belong to the target day t = o + k. Quantity features are divided by ``scale`` (mean units/day over the 56 days
before o, floored) so that products of any volume share one model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Panel", "build_panel", "make_rows", "FEATURES", "PRICE_FEATURES", "YEARLY_FEATURES", "SCALE_FLOOR"]

FEATURES = (
    "horizon", "lag_1", "lag_7", "lag_14", "lag_28", "same_dow_last", "same_dow_mean_4",
    "roll_mean_7", "roll_mean_28", "roll_mean_91", "roll_std_7", "roll_std_28", "roll_std_91",
    "nonzero_frac_28", "nonzero_frac_91", "days_since_sale", "age_days", "log_scale", "history_mean_ratio",
    "dow", "doy", "month", "day_of_month", "dow_sin", "dow_cos", "doy_sin", "doy_cos", "month_sin", "month_cos",
    "price", "price_ratio_ref", "planned_change", "price_change_recent", "log_ref_price",
)
# Demand may only fall when these rise (monotone constraint): they move with the planned price.
PRICE_FEATURES = ("price", "price_ratio_ref", "planned_change")
SCALE_FLOOR = 0.02
YEARLY_FEATURES = ("doy", "month", "doy_sin", "doy_cos", "month_sin", "month_cos")
_IDX = {f: j for j, f in enumerate(FEATURES)}


@dataclass(frozen=True)
class Panel:
    """Daily units and prices on the full calendar: day j is ``start + j``; NaN before a product's first sale.

    ``price`` is the day's average selling price, carried forward over days without sales.
    """

    product_ids: np.ndarray
    start: dt.date
    quantity: np.ndarray
    price: np.ndarray
    first_index: np.ndarray

    @property
    def n_products(self) -> int:
        return int(self.quantity.shape[0])

    @property
    def n_days(self) -> int:
        return int(self.quantity.shape[1])

    @property
    def end(self) -> dt.date:
        """The first day after the panel (the forecast origin)."""
        return self.start + dt.timedelta(days=self.n_days)

    def rows(self, product_ids) -> np.ndarray:
        """Row index of each product id (-1 when absent)."""
        pos = np.searchsorted(self.product_ids, np.asarray(product_ids, dtype=str))
        pos = np.minimum(pos, max(self.n_products - 1, 0))
        ok = self.product_ids[pos] == np.asarray(product_ids, dtype=str) if self.n_products else False
        return np.where(ok, pos, -1)

    def cumulative(self) -> dict[str, np.ndarray]:
        """Prefix sums used by :func:`make_rows`, computed once per panel."""
        cache = getattr(self, "_cum", None)
        if cache is None:
            q = self.quantity
            valid = ~np.isnan(q)
            q0 = np.where(valid, q, 0.0)
            lp = np.where(valid, np.log(np.where(valid, self.price, 1.0)), 0.0)
            t = np.arange(self.n_days)
            last_sale = np.maximum.accumulate(np.where(q0 > 0, t, -10_000), axis=1)

            def cs(a):
                return np.concatenate([np.zeros((a.shape[0], 1)), np.cumsum(a, axis=1)], axis=1)

            cache = {"q": cs(q0), "q2": cs(q0 * q0), "n": cs(valid.astype(float)), "nz": cs((q0 > 0).astype(float)),
                     "lp": cs(lp), "last_sale": last_sale}
            object.__setattr__(self, "_cum", cache)
        return cache


def build_panel(sales: pd.DataFrame, *, end: dt.date, start: dt.date | None = None) -> Panel:
    """The panel of ``sales`` (columns sale_date, product_id, quantity, price) over [start, end).

    Days without a row are zero-sales days; ``start`` defaults to the first sale date.
    """
    missing = {"sale_date", "product_id", "quantity", "price"} - set(sales.columns)
    if missing:
        raise ValueError(f"sales lacks columns: {sorted(missing)}")
    d = pd.to_datetime(sales["sale_date"]).dt.date
    keep = d < end
    if start is not None:
        keep &= d >= start
    s = sales.loc[keep].assign(sale_date=d[keep])
    if s.empty:
        raise ValueError(f"no sales before end={end}" + (f" from start={start}" if start else ""))
    start = start or min(s["sale_date"])
    n_days = (end - start).days
    ids = np.array(sorted(s["product_id"].astype(str).unique()))
    pi = np.searchsorted(ids, s["product_id"].astype(str).to_numpy())
    di = np.array([(x - start).days for x in s["sale_date"]], dtype=np.int64)
    qty = np.full((ids.size, n_days), np.nan)
    price = np.full((ids.size, n_days), np.nan)
    qv = s["quantity"].to_numpy(dtype=float)
    # revenue / quantity from a parallel SQL sum differs run to run in the last bits; rounding keeps the
    # trees' price splits, and so the whole model, reproducible
    pv = np.round(s["price"].to_numpy(dtype=float), 6)
    qty[pi, di] = 0.0
    np.add.at(qty, (pi, di), qv)
    price[pi, di] = pv
    first = np.where(~np.isnan(qty), np.arange(n_days), n_days).min(axis=1)
    cols = np.arange(n_days)
    after_first = cols[None, :] >= first[:, None]
    qty = np.where(after_first, np.nan_to_num(qty), np.nan)
    # carry the last observed price forward over zero-sales days
    idx = np.where(~np.isnan(price), cols, 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    price = np.take_along_axis(price, idx, axis=1)
    price = np.where(after_first, price, np.nan)
    return Panel(ids, start, qty, price, first.astype(np.int64))


def make_rows(panel: Panel, i: np.ndarray, o: np.ndarray, k: np.ndarray, *, with_target: bool = True,
              realized_price: bool = True, yearly: bool = True,
              price_multiplier: float = 1.0) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Feature matrix (float32, columns FEATURES), scaled target (or None) and scale for each row.

    The planned price is the price in effect on the target day (the last sale's price up to the day before)
    when ``realized_price`` and the day is inside the panel (training); otherwise the last price before the
    origin times ``price_multiplier`` (forecasting). ``yearly=False`` leaves the day-of-year and month
    features missing (NaN): with less than about a year of history they can only memorize one season.
    """
    c = panel.cumulative()
    T = panel.n_days
    t = o + k
    X = np.empty((i.size, len(FEATURES)), dtype=np.float64)

    def roll(key, w):
        lo = np.maximum(o - w, 0)
        return c[key][i, o] - c[key][i, lo]

    def mean(w):
        n = roll("n", w)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, roll("q", w) / n, np.nan), n

    m56, _ = mean(56)
    scale = np.maximum(np.nan_to_num(m56), SCALE_FLOOR)
    q = panel.quantity

    def take(a, idx):
        ok = (idx >= 0) & (idx < T)
        out = a[i, np.clip(idx, 0, T - 1)]
        return np.where(ok, out, np.nan)

    X[:, _IDX["horizon"]] = k
    for lag in (1, 7, 14, 28):
        X[:, _IDX[f"lag_{lag}"]] = take(q, o - lag) / scale
    d1 = t - 7 * (k // 7 + 1)
    same = np.stack([take(q, d1 - 7 * j) for j in range(4)])
    X[:, _IDX["same_dow_last"]] = same[0] / scale
    with np.errstate(invalid="ignore"):
        X[:, _IDX["same_dow_mean_4"]] = np.nanmean(np.where(np.isnan(same).all(0), 0.0, same), axis=0) / scale
        X[:, _IDX["same_dow_mean_4"]] = np.where(np.isnan(same).all(0), np.nan, X[:, _IDX["same_dow_mean_4"]])
        for w in (7, 28, 91):
            m, n = mean(w)
            X[:, _IDX[f"roll_mean_{w}"]] = m / scale
            var = np.where(n > 1, roll("q2", w) / np.maximum(n, 1) - np.nan_to_num(m) ** 2, np.nan)
            X[:, _IDX[f"roll_std_{w}"]] = np.sqrt(np.maximum(var, 0.0)) / scale
        for w in (28, 91):
            n = roll("n", w)
            X[:, _IDX[f"nonzero_frac_{w}"]] = np.where(n > 0, roll("nz", w) / np.maximum(n, 1), np.nan)
        hist_n = c["n"][i, o]
        X[:, _IDX["history_mean_ratio"]] = np.where(hist_n > 0, c["q"][i, o] / np.maximum(hist_n, 1), np.nan) / scale
    last = c["last_sale"][i, np.clip(o - 1, 0, T - 1)]
    X[:, _IDX["days_since_sale"]] = np.where(last >= 0, o - last, np.nan)
    X[:, _IDX["age_days"]] = o - panel.first_index[i]
    X[:, _IDX["log_scale"]] = np.log(scale)

    dates = np.datetime64(panel.start, "D") + t.astype("timedelta64[D]")
    dow = ((dates.astype(np.int64) + 3) % 7).astype(float)  # 1970-01-01 was a Thursday: Monday = 0
    years = dates.astype("datetime64[Y]")
    doy = (dates - years.astype("datetime64[D]")).astype(np.int64) + 1.0
    months = dates.astype("datetime64[M]")
    month = (months.astype(np.int64) % 12) + 1.0
    dom = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1.0
    X[:, _IDX["dow"]], X[:, _IDX["doy"]], X[:, _IDX["month"]], X[:, _IDX["day_of_month"]] = dow, doy, month, dom
    for name, v, period in (("dow", dow, 7.0), ("doy", doy, 365.25), ("month", month, 12.0)):
        X[:, _IDX[f"{name}_sin"]] = np.sin(2 * np.pi * v / period)
        X[:, _IDX[f"{name}_cos"]] = np.cos(2 * np.pi * v / period)
    if not yearly:
        X[:, [_IDX[f] for f in YEARLY_FEATURES]] = np.nan

    p = panel.price
    last_price = take(p, o - 1)
    n91 = roll("n", 91)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = np.where(n91 > 0, np.exp(roll("lp", 91) / np.maximum(n91, 1)), np.nan)
    # Training uses the price in effect on the target day as known the day before (the last sale's price
    # at t - 1): the day's own average price would leak whether and how much it sold (zero-sales days carry
    # the previous price forward; wholesale tiers lower the average on big days).
    planned = np.where(realized_price & (t < T), take(p, np.minimum(t, T) - 1), last_price * price_multiplier)
    X[:, _IDX["price"]] = planned
    X[:, _IDX["price_ratio_ref"]] = planned / ref
    X[:, _IDX["planned_change"]] = planned / last_price - 1.0
    X[:, _IDX["price_change_recent"]] = last_price / take(p, o - 8) - 1.0
    X[:, _IDX["log_ref_price"]] = np.log(ref)

    y = None
    if with_target:
        y = q[i, t] / scale
    return X.astype(np.float32), y, scale
