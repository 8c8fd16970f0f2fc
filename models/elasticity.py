"""Own-price elasticity per product: log E[Q] = a + b log P + controls, with HAC standard errors.

A naive regression of log units on log price lies when prices move with the season (higher in the busy
months, promotions in the quiet ones) or with the trend. The controls take that variation out: day-of-week
dummies, yearly Fourier terms (four pairs with a year of data, two with six months, one with four, none
below) and a piecewise-linear trend with a knot every ~5 months, plus a promotion dummy when the data has
one. b is then identified by price changes *within* the season and trend. Standard errors are Newey-West
(HAC), because what the controls miss (demand shocks that last days or weeks) makes daily residuals
autocorrelated and plain OLS intervals too narrow.

Two estimators of the same constant-elasticity model:
- ``method="poisson"`` (default): Poisson pseudo-maximum likelihood on every calendar day, zero-sales days
  included (their price is the last one carried forward). It estimates b in log E[Q] consistently whatever the
  count distribution (Santos Silva and Tenreyro 2006), where OLS on log Q of the days with sales is biased
  towards zero for slow sellers (log of small counts; zero days dropped). r_squared is then the deviance R2.
- ``method="ols"``: log Q on the days with sales, the original design's regression.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

__all__ = ["ElasticityEstimate", "estimate_elasticity", "naive_elasticity", "classify_elasticity"]

UNIT_BAND = 0.1  # |b + 1| <= this is "Unit elastic"


@dataclass(frozen=True)
class ElasticityEstimate:
    """One product's estimate; ``status`` is "ok" or "refused" (then ``reason`` says why, numbers are NaN)."""

    status: str
    reason: str
    elasticity_coefficient: float
    standard_error: float
    ci_lower: float
    ci_upper: float
    p_value: float
    r_squared: float
    n_observations: int
    elasticity_type: str
    interpretation: str
    price_min: float
    price_max: float
    price_mean: float
    controls: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["controls"] = list(self.controls)
        return d


def estimate_elasticity(dates: np.ndarray, quantity: np.ndarray, price: np.ndarray, *,
                        promo: np.ndarray | None = None, method: str = "poisson", min_observations: int = 30,
                        min_log_price_std: float = 0.01, min_distinct_prices: int = 2,
                        max_standard_error: float = 0.5, confidence: float = 0.95) -> ElasticityEstimate:
    """Estimate b in log E[Q] = a + b log P + day-of-week + season + trend (+ promo).

    Parameters
    ----------
    dates : array of datetime64[D] (or ISO strings), one per day (for "poisson", every calendar day)
    quantity : units sold that day (>= 0; "ols" leaves out days without sales: log Q is undefined)
    price : price in effect that day (> 0; on zero-sales days, the last price)
    method : "poisson" (PPML, zero days included) or "ols" (log Q on days with sales)
    promo : optional 0/1 promotion flag per day, added as a control
    min_observations, min_log_price_std, min_distinct_prices, max_standard_error :
        refusal thresholds: too few days with sales, too little price variation, an estimate too imprecise
        to price on (its 95% interval would span about 4 x max_standard_error).

    Returns
    -------
    ElasticityEstimate with status "ok", or "refused" and a reason.
    """
    if method not in ("poisson", "ols"):
        raise ValueError(f"method must be 'poisson' or 'ols', got {method!r}")
    d, q, p, pr = _validate(dates, quantity, price, promo, confidence)
    if np.any(q < 0):
        raise ValueError(f"quantity must be >= 0, got min {q.min()}")
    sold = q > 0
    price_stats = (float(p[sold].min()), float(p[sold].max()), float(p[sold].mean())) if sold.any() else (np.nan,) * 3
    if method == "ols":
        d, q, p = d[sold], q[sold], p[sold]
        pr = None if pr is None else pr[sold]
    if sold.sum() < min_observations:
        return _refused(f"{int(sold.sum())} days with sales; at least {min_observations} are needed", q.size,
                        price_stats)
    lp = np.log(p)
    distinct = np.unique(np.round(p, 4)).size
    if distinct < min_distinct_prices or lp.std() < min_log_price_std:
        return _refused(f"too little price variation: {distinct} distinct prices, std of log price "
                        f"{lp.std():.4f} (needs >= {min_distinct_prices} prices and >= {min_log_price_std})",
                        q.size, price_stats)
    X, names = _design(d, lp, pr)
    fit = _ols_hac(X, np.log(q)) if method == "ols" else _poisson_hac(X, q)
    if fit is None:
        return _refused("price is collinear with the season, trend and day-of-week controls", q.size, price_stats)
    b, se, r2, df = fit["beta"][1], fit["se"][1], fit["r2"], fit["df"]
    if not se <= max_standard_error:
        return _refused(f"estimate too imprecise: elasticity {b:.2f} with standard error {se:.2f} "
                        f"(> {max_standard_error}); prices did not vary enough against the noise", q.size,
                        price_stats)
    tcrit = stats.t.ppf(0.5 + confidence / 2, df)
    pval = float(2 * stats.t.sf(abs(b / se), df)) if se > 0 else 0.0
    kind, text = classify_elasticity(b)
    return ElasticityEstimate("ok", "", float(b), float(se), float(b - tcrit * se), float(b + tcrit * se), pval,
                              float(r2), int(q.size), kind, text, *price_stats, controls=tuple(names[2:]))


def naive_elasticity(quantity: np.ndarray, price: np.ndarray) -> float:
    """The slope of log Q on log P with no controls (the benchmark's foil); NaN without price variation."""
    q, p = np.asarray(quantity, float), np.asarray(price, float)
    keep = (q > 0) & (p > 0)
    if keep.sum() < 3:
        return float("nan")
    lp, lq = np.log(p[keep]), np.log(q[keep])
    v = lp.var()
    if np.unique(np.round(p[keep], 6)).size < 2 or v < 1e-10:  # rounding noise is not price variation
        return float("nan")
    return float(np.cov(lp, lq, bias=True)[0, 1] / v)


def classify_elasticity(b: float) -> tuple[str, str]:
    """(elasticity_type, plain-language interpretation) of an elasticity coefficient."""
    if not np.isfinite(b):
        raise ValueError(f"elasticity must be finite, got {b}")
    pct = abs(b) * 10
    if b > 0:
        return ("Positive: suspect",
                f"Demand appears to rise with price (+{pct:.1f}% units for +10% price). That is rarely causal: "
                "price probably moves with something else (season, promotions, order size); do not price on it.")
    if abs(b + 1) <= UNIT_BAND:
        return ("Unit elastic", f"A 10% price rise cuts units by about {pct:.1f}%: revenue barely changes with price.")
    if b < -1:
        return ("Elastic", f"Demand is price sensitive: a 10% price rise cuts units by about {pct:.1f}%, "
                           "so revenue falls when the price rises.")
    return ("Inelastic", f"Demand is not very price sensitive: a 10% price rise cuts units by only about {pct:.1f}%, "
                         "so revenue rises with the price.")


# ---------------------------------------------------------------------- private kernels (valid input assumed)
def _validate(dates, quantity, price, promo, confidence):
    d = np.asarray(dates).astype("datetime64[D]")
    q = np.asarray(quantity, dtype=float)
    p = np.asarray(price, dtype=float)
    if not (d.shape == q.shape == p.shape) or d.ndim != 1:
        raise ValueError(f"dates, quantity and price must be 1-D of one length, got {d.shape}, {q.shape}, {p.shape}")
    if not np.all(np.isfinite(q)):
        raise ValueError("quantity has non-finite values")
    if np.any(~np.isfinite(p) | (p <= 0)):
        raise ValueError(f"price must be finite and > 0, got min {np.nanmin(p) if p.size else 'n/a'}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    pr = None
    if promo is not None:
        pr = np.asarray(promo, dtype=float)
        if pr.shape != q.shape:
            raise ValueError(f"promo must have the shape of quantity {q.shape}, got {pr.shape}")
    order = np.argsort(d, kind="stable")
    return d[order], q[order], p[order], (None if pr is None else pr[order])


def _design(d: np.ndarray, lp: np.ndarray, promo: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    days = (d - d.min()).astype(np.int64).astype(float)
    span = days.max() + 1
    cols, names = [np.ones_like(lp), lp], ["const", "log_price"]
    dow = (d.astype(np.int64) + 3) % 7
    for k in range(1, 7):
        if np.any(dow == k) and np.any(dow != k):
            cols.append((dow == k).astype(float))
            names.append(f"dow_{k}")
    doy = (d - d.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1.0
    pairs = 4 if span >= 365 else (2 if span >= 180 else (1 if span >= 120 else 0))
    for k in range(1, pairs + 1):
        cols += [np.sin(2 * np.pi * k * doy / 365.25), np.cos(2 * np.pi * k * doy / 365.25)]
        names += [f"season_sin_{k}", f"season_cos_{k}"]
    if span >= 28:
        cols.append(days / 365.25)
        names.append("trend")
    # a piecewise-linear trend (a knot every ~5 months): the customer base grows and churns unevenly, and a
    # straight line leaves slow swings in the residuals that bias b and make its interval too narrow
    for j, knot in enumerate(np.arange(1, int(span // 146)) * 146.0):
        cols.append(np.maximum(days - knot, 0.0) / 365.25)
        names.append(f"trend_knot_{j + 1}")
    if promo is not None and 0 < promo.mean() < 1:
        cols.append(promo)
        names.append("promo")
    return np.column_stack(cols), names


def _ols_hac(X: np.ndarray, y: np.ndarray) -> dict | None:
    """OLS with Newey-West standard errors (Bartlett kernel, bandwidth floor(4 (n/100)^(2/9)))."""
    n, k = X.shape
    if n <= k + 2 or np.linalg.matrix_rank(X) < k:
        return None
    xtx_inv = np.linalg.pinv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    resid = y - X @ beta
    meat = _hac_meat(X * resid[:, None])
    cov = xtx_inv @ meat @ xtx_inv * n / (n - k)
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float(resid @ resid) / tss if tss > 0 else 0.0
    return {"beta": beta, "se": np.sqrt(np.maximum(np.diag(cov), 0.0)), "r2": r2, "df": n - k}


def _poisson_hac(X: np.ndarray, y: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10) -> dict | None:
    """Poisson pseudo-ML by IRLS; sandwich covariance with Newey-West lags; deviance R2."""
    n, k = X.shape
    if n <= k + 2 or np.linalg.matrix_rank(X) < k or y.sum() <= 0:
        return None
    beta = np.zeros(k)
    beta[0] = np.log(y.mean())
    for _ in range(max_iter):
        eta = np.clip(X @ beta, -30, 30)
        mu = np.exp(eta)
        z = eta + (y - mu) / mu
        xw = X * mu[:, None]
        new = np.linalg.solve(X.T @ xw + 1e-10 * np.eye(k), xw.T @ z)
        done = np.max(np.abs(new - beta)) < tol * (1 + np.max(np.abs(beta)))
        beta = new
        if done:
            break
    mu = np.exp(np.clip(X @ beta, -30, 30))
    bread = np.linalg.pinv(X.T @ (X * mu[:, None]))
    meat = _hac_meat(X * (y - mu)[:, None])
    cov = bread @ meat @ bread * n / (n - k)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = 2 * np.sum(np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu))
        null = 2 * np.sum(np.where(y > 0, y * np.log(y / y.mean()), 0.0))
    r2 = 1 - dev / null if null > 0 else 0.0
    return {"beta": beta, "se": np.sqrt(np.maximum(np.diag(cov), 0.0)), "r2": float(r2), "df": n - k}


def _hac_meat(u: np.ndarray) -> np.ndarray:
    n = u.shape[0]
    meat = u.T @ u
    lags = int(np.floor(4 * (n / 100) ** (2 / 9)))
    for lag in range(1, min(lags, n - 1) + 1):
        g = u[lag:].T @ u[:-lag]
        meat += (1 - lag / (lags + 1)) * (g + g.T)
    return meat


def _refused(reason: str, n: int, price_stats: tuple[float, float, float]) -> ElasticityEstimate:
    nan = float("nan")
    return ElasticityEstimate("refused", reason, nan, nan, nan, nan, nan, nan, int(n), "", "", *price_stats)
