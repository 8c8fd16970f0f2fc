"""A product's selling grain, detected from its observation dates, and its series on that grain (numpy only).

Sales data arrive on different grains: a web shop sells every day (or every day but Sunday), a grocery feed
imported from a weekly store report has one row per product and week, always on the same weekday, and a slow
seller or a wholesale line sells on scattered days. Filled onto a daily calendar, a weekly product has six
structural zeros for every real observation; a model that reads those zeros as "nobody bought" estimates on
seven times the real number of observations, with a demand pattern that is an artefact of the feed.

:func:`detect_cadence` reads the grain from the dates with a sale:
- ``"weekly"``: at least 90% of the sale days fall on one weekday and at least 90% of the gaps between them
  are whole weeks (the period is the week; the observation weekday is the ``anchor_weekday``);
- ``"daily"``: sales on at least ``min_daily_share`` of the trading days; a weekday with (almost) no sales while
  the others have plenty is not a trading day (a shop closed on Sundays, a product never sold on Saturdays);
- ``"irregular"``: anything else (intermittent or scattered sales); estimated on calendar weeks (Monday start)
  with the number of trading days in each week as its exposure.

:func:`to_grain` turns a daily series (zero-filled days welcome, duplicate days summed) into observations on
that grain: daily restricted to the trading weekdays; weekly sums with the mean price weighted by units (on a
period without sales, the mean of the carried-forward daily prices).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Cadence", "GrainSeries", "detect_cadence", "to_grain", "trading_weekdays", "weekday"]

WEEK = 7


@dataclass(frozen=True)
class Cadence:
    """A product's selling grain.

    Attributes
    ----------
    grain : "daily", "weekly" or "irregular"
    trading_weekdays : the weekdays the product can sell on (Monday = 0); one weekday for "weekly"
    period_days : length of one observation period on the grain: 1 (daily) or 7 (weekly, irregular)
    n_periods : periods of the grain from the first to the last sale, both included (trading days for daily)
    n_sale_days : distinct days with a sale
    anchor_weekday : "weekly" only: the weekday the observations fall on (None otherwise)
    reason : one sentence on why this grain
    """

    grain: str
    trading_weekdays: tuple[int, ...]
    period_days: int
    n_periods: int
    n_sale_days: int
    anchor_weekday: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class GrainSeries:
    """Observations on a grain: one entry per period, oldest first.

    Attributes
    ----------
    dates : datetime64[D], the first day of each period (for "weekly", the anchor weekday)
    quantity : units sold in the period
    price : units-weighted mean price (periods without sales: mean carried-forward price)
    exposure : trading days in the period (1 for daily; 7 for weekly feeds; 0-7 for irregular)
    covariates : name -> per-period value, units-weighted like the price (e.g. the promotion share)
    grain : the grain the series is on
    """

    dates: np.ndarray
    quantity: np.ndarray
    price: np.ndarray
    exposure: np.ndarray
    covariates: dict[str, np.ndarray] = field(default_factory=dict)
    grain: str = "daily"


def weekday(dates: np.ndarray) -> np.ndarray:
    """Weekday of datetime64[D] dates, Monday = 0 (1970-01-01 was a Thursday)."""
    return (np.asarray(dates).astype("datetime64[D]").astype(np.int64) + 3) % WEEK


def trading_weekdays(dates: np.ndarray, *, closed_share: float = 0.05, min_evidence: float = 8.0) -> tuple[int, ...]:
    """The weekdays with sales among ``dates`` (sale days, one product or a whole shop).

    A weekday is closed when it has at most ``closed_share`` of the sale days of a typical open weekday (the
    mean of the three busiest) and that typical count is at least ``min_evidence``: with fewer sale days a
    missing weekday is chance, and every weekday counts as trading.
    """
    days = _distinct(np.asarray(dates).astype("datetime64[D]"))
    counts = np.bincount(weekday(days), minlength=WEEK).astype(float)
    typical = np.sort(counts)[-3:].mean()
    if typical < min_evidence:
        return tuple(range(WEEK))
    return tuple(int(w) for w in np.flatnonzero(counts > closed_share * typical))


def detect_cadence(dates: np.ndarray, quantity: np.ndarray | None = None, *,
                   shop_weekdays: tuple[int, ...] | None = None, min_daily_share: float = 0.2) -> Cadence:
    """The selling grain of one product from its observation dates.

    Parameters
    ----------
    dates : datetime64[D] (or ISO strings): the product's rows, zero-filled days allowed
    quantity : units per row; rows with quantity <= 0 are not sales (None: every row is a sale)
    shop_weekdays : the shop's trading weekdays when known (e.g. from :func:`trading_weekdays` over every
        product): a product never trades on a day the shop is closed
    min_daily_share : below this share of trading days with a sale, a product that is not weekly is "irregular"

    Returns
    -------
    Cadence
    """
    d = np.asarray(dates).astype("datetime64[D]")
    if quantity is not None:
        q = np.asarray(quantity, dtype=float)
        if q.shape != d.shape:
            raise ValueError(f"quantity must have the shape of dates {d.shape}, got {q.shape}")
        d = d[q > 0]
    if not 0 < min_daily_share < 1:
        raise ValueError(f"min_daily_share must be in (0, 1), got {min_daily_share}")
    sale = _distinct(d)
    shop = tuple(range(WEEK)) if shop_weekdays is None else tuple(sorted(int(w) for w in shop_weekdays))
    if not shop or any(not 0 <= w < WEEK for w in shop):
        raise ValueError(f"shop_weekdays must be weekdays 0-6, got {shop_weekdays}")
    n = sale.size
    if n < 3:
        return Cadence("irregular", shop, WEEK, max(_weeks(sale), 1 if n else 0), n, None,
                       f"{n} sale day(s): too few to read a cadence")
    wd = weekday(sale)
    counts = np.bincount(wd, minlength=WEEK)
    top = int(np.argmax(counts))
    gaps = np.diff(sale.astype(np.int64))
    if counts[top] >= 0.9 * n and np.mean(gaps % WEEK == 0) >= 0.9:
        return Cadence("weekly", (top,), WEEK, _weeks(sale), n, top,
                       f"{counts[top]} of {n} sale days fall on weekday {top}, {np.median(gaps):.0f} days apart")
    own = trading_weekdays(sale)
    days = tuple(w for w in shop if w in own) or shop
    span = np.arange(sale[0], sale[-1] + 1)
    n_trading = int(np.isin(weekday(span), days).sum())
    share = n / max(n_trading, 1)
    closed = sorted(set(range(WEEK)) - set(days))
    note = f"; never trades on weekday(s) {closed}" if closed else ""
    if share >= min_daily_share:
        return Cadence("daily", days, 1, n_trading, n, None,
                       f"sales on {share:.0%} of {n_trading} trading days{note}")
    return Cadence("irregular", days, WEEK, _weeks(sale), n,
                   None, f"sales on only {share:.0%} of {n_trading} trading days: estimated on weeks{note}")


def to_grain(dates: np.ndarray, quantity: np.ndarray, price: np.ndarray, cadence: Cadence, *,
             covariates: Mapping[str, np.ndarray] | None = None, end: np.datetime64 | None = None) -> GrainSeries:
    """Observations of one product on ``cadence``'s grain.

    Parameters
    ----------
    dates, quantity, price : the daily series (days without a row are days without sales; zero-filled days and
        repeated days are fine: units are summed and the price is units-weighted); price > 0
    cadence : from :func:`detect_cadence`
    covariates : per-row values aggregated like the price (units-weighted), e.g. a 0/1 promotion flag
    end : exclusive end of the calendar (default: the day after the last row)

    Returns
    -------
    GrainSeries
    """
    d = np.asarray(dates).astype("datetime64[D]")
    q = np.asarray(quantity, dtype=float)
    p = np.asarray(price, dtype=float)
    if not (d.shape == q.shape == p.shape) or d.ndim != 1 or d.size == 0:
        raise ValueError(f"dates, quantity and price must be non-empty 1-D of one length, got {d.shape}, "
                         f"{q.shape}, {p.shape}")
    if np.any(~np.isfinite(p) | (p <= 0)) or np.any(~np.isfinite(q)):
        raise ValueError("price must be finite and > 0 and quantity finite")
    cov = {k: np.asarray(v, dtype=float) for k, v in (covariates or {}).items()}
    for k, v in cov.items():
        if v.shape != d.shape:
            raise ValueError(f"covariate {k!r} must have the shape of dates {d.shape}, got {v.shape}")
    return _to_grain(d, np.maximum(q, 0.0), p, cadence, cov, end)


# ---------------------------------------------------------------------- private kernels (valid input assumed)
def _distinct(d: np.ndarray) -> np.ndarray:
    """Sorted distinct dates; daily rows usually arrive sorted and distinct already (no sort then)."""
    if d.size < 2 or np.all(d[1:] > d[:-1]):
        return d
    return np.unique(d)


def _weeks(sale: np.ndarray) -> int:
    if sale.size == 0:
        return 0
    first = sale[0] - weekday(sale[:1])[0]
    return int((sale[-1] - first).astype(np.int64) // WEEK + 1)


def _to_grain(d, q, p, cadence, cov, end) -> GrainSeries:
    start = d.min()
    stop = (d.max() + 1) if end is None else max(np.datetime64(end, "D"), d.max() + 1)
    n_days = int((stop - start).astype(np.int64))
    idx = (d - start).astype(np.int64)
    units = np.bincount(idx, weights=q, minlength=n_days)
    revenue = np.bincount(idx, weights=q * p, minlength=n_days)
    seen = np.bincount(idx, minlength=n_days) > 0
    # the price of a day: units-weighted over its rows; a row without units still carries a price
    plain = np.bincount(idx, weights=p, minlength=n_days) / np.maximum(np.bincount(idx, minlength=n_days), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        day_price = np.where(units > 0, revenue / units, np.where(seen, plain, np.nan))
    day_cov = {}
    for k, v in cov.items():
        wsum = np.bincount(idx, weights=q * v, minlength=n_days)
        vplain = np.bincount(idx, weights=v, minlength=n_days) / np.maximum(np.bincount(idx, minlength=n_days), 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            day_cov[k] = _carry(np.where(units > 0, wsum / units, np.where(seen, vplain, np.nan)))
    day_price = _carry(day_price)
    days = start + np.arange(n_days)
    trading = np.isin(weekday(days), cadence.trading_weekdays)
    if cadence.grain == "daily":
        keep = trading
        cov_out = {k: v[keep] for k, v in day_cov.items()}
        return GrainSeries(days[keep], units[keep], day_price[keep], np.ones(int(keep.sum())), cov_out, "daily")
    anchor = cadence.anchor_weekday if cadence.grain == "weekly" else 0
    origin = start - int((weekday(np.array([start]))[0] - anchor) % WEEK)
    bins = (days - origin).astype(np.int64) // WEEK
    nb = int(bins[-1]) + 1
    w_units = np.bincount(bins, weights=units, minlength=nb)
    w_rev = np.bincount(bins, weights=units * day_price, minlength=nb)
    exposure = np.bincount(bins, weights=trading.astype(float), minlength=nb)
    mean_price = np.bincount(bins, weights=day_price * trading, minlength=nb) / np.maximum(exposure, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        price = np.where(w_units > 0, w_rev / w_units, mean_price)
        cov_out = {k: np.where(w_units > 0, np.bincount(bins, weights=units * v, minlength=nb) / w_units,
                               np.bincount(bins, weights=v * trading, minlength=nb) / np.maximum(exposure, 1))
                   for k, v in day_cov.items()}
    keep = exposure > 0  # a partial edge week without a trading day is no observation
    if cadence.grain == "weekly":
        exposure = np.full(nb, float(WEEK))
    dates_out = origin + WEEK * np.arange(nb)
    return GrainSeries(dates_out[keep], w_units[keep], price[keep], exposure[keep],
                       {k: v[keep] for k, v in cov_out.items()}, cadence.grain)


def _carry(x: np.ndarray) -> np.ndarray:
    """Carry the last finite value forward (the first value is finite by construction: the first row's day)."""
    ok = np.isfinite(x)
    idx = np.where(ok, np.arange(x.size), 0)
    np.maximum.accumulate(idx, out=idx)
    return x[idx]
