"""Private: one product's own elasticity fit on its grain (design, outlier cap, Poisson PML or OLS, checks).

Inputs are assumed valid (sorted or not, positive prices, non-negative quantities); models.elasticity validates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from models._glm import GlmFit, nb_alpha, ols_hac, poisson_pml
from models.cadence import Cadence, GrainSeries, _distinct, _to_grain, detect_cadence, weekday

__all__ = ["OwnFit", "fit_product", "GRAINS"]

GRAINS = ("auto", "daily", "weekly", "irregular")
OBS_PER_PARAMETER = 8  # controls are added while the fit keeps at least this many observations per coefficient
CAP_RATIO = np.log(10.0)  # a period above 10x its fitted mean (and 5 robust sd) is capped there


@dataclass(frozen=True)
class OwnFit:
    """A product's own estimate; ``estimate`` is NaN unless ``fit_status`` is "converged"."""

    estimate: float
    se: float  # standard error on the normal scale (a Student-t one is widened to match)
    p_value: float
    r_squared: float
    fit_status: str
    message: str
    n_iterations: int
    n_observations: int
    controls: tuple[str, ...]
    n_capped: int
    cadence: Cadence
    price_stats: tuple[float, float, float]


def fit_product(d: np.ndarray, q: np.ndarray, p: np.ndarray, promo: np.ndarray | None, *, method: str,
                grain: str, shop_weekdays: tuple[int, ...] | None, end: np.datetime64 | None,
                max_iter: int) -> OwnFit:
    """Detect the grain, put the series on it, fit b in log E[Q] = a + b log P + controls."""
    sold = q > 0
    stats_ = (float(p[sold].min()), float(p[sold].max()), float(p[sold].mean())) if sold.any() else (np.nan,) * 3
    cad = detect_cadence(d, q, shop_weekdays=shop_weekdays)
    if grain != "auto" and grain != cad.grain:
        first = cad.anchor_weekday if cad.anchor_weekday is not None else int(weekday(d[sold][:1])[0])
        days = cad.trading_weekdays if grain != "weekly" else (first,)
        anchor = days[0] if grain == "weekly" else None
        cad = Cadence(grain, days, 1 if grain == "daily" else 7, cad.n_periods, cad.n_sale_days, anchor,
                      f"grain set to {grain} by the caller")
    nan = float("nan")

    def none(status: str, message: str, n: int = 0, names: tuple[str, ...] = ()) -> OwnFit:
        return OwnFit(nan, nan, nan, nan, status, message, 0, n, names, 0, cad, stats_)

    lp_sold = np.round(np.log(p[sold]), 6)
    if lp_sold.size < 2 or np.all(lp_sold == lp_sold[0]):
        return none("no_price_variation", "the price never changed on the days with sales"
                    if sold.sum() > 1 else f"{int(sold.sum())} day(s) with sales: no price variation to learn from")
    stop = _span_end(d[sold], cad, d.max() + 1 if end is None else np.datetime64(end, "D"))
    span = (d >= d[sold].min()) & (d < stop)  # from the first sale: zeros before a launch are not demand
    g = _to_grain(d[span], q[span], p[span], cad, {} if promo is None else {"promo": promo[span]}, stop)
    if method == "ols":
        keep = g.quantity > 0
        g = GrainSeries(g.dates[keep], g.quantity[keep], g.price[keep], g.exposure[keep],
                        {k: v[keep] for k, v in g.covariates.items()}, g.grain)
    n = g.quantity.size
    if (g.quantity > 0).sum() < 3 or n < 6:
        return none("too_few_observations", f"{int((g.quantity > 0).sum())} {_unit(cad)} with sales: too few for "
                    "an own fit", n)
    X, names = _design(g, cad)
    if _partial_variance(X) < 1e-6 * max(X[:, 1].var(), 1e-12):
        why = (f"the price moved only with the controls ({', '.join(names[2:])})" if len(names) > 2 else
               f"the price did not vary between the {_unit(cad)} it was observed on")
        return none("collinear", why + ": its own effect cannot be separated", n, tuple(names[2:]))
    offset = np.log(g.exposure)
    if method == "ols":
        fit = ols_hac(X, np.log(g.quantity) - offset)
        capped = 0
    else:
        fit, capped, kept, n = _poisson_with_cap(X, g.quantity, offset, max_iter)
        names = [name for name, k in zip(names, kept, strict=True) if k]  # columns a separation left constant
    if not fit.converged:
        return OwnFit(nan, nan, nan, nan, fit.status, fit.message, fit.n_iterations, n, tuple(names[2:]), capped,
                      cad, stats_)
    b, se_t = float(fit.beta[1]), float(np.sqrt(max(float(fit.cov[1, 1]), 0.0)))
    df = max(fit.df, 1)
    tcrit = stats.t.ppf(0.975, df)
    se = float(se_t * tcrit / 1.959963984540054)  # on the normal scale, so pooling can treat it as Gaussian
    pval = float(2 * stats.t.sf(abs(b / se_t), df)) if se_t > 0 else 0.0
    if not (np.isfinite(b) and np.isfinite(se) and se > 0):
        return OwnFit(nan, nan, nan, nan, "not_converged", "the covariance of the fit is degenerate",
                      fit.n_iterations, n, tuple(names[2:]), capped, cad, stats_)
    return OwnFit(b, se, pval, fit.r_squared, "converged", "", fit.n_iterations, n, tuple(names[2:]), capped, cad,
                  stats_)


# ---------------------------------------------------------------------- helpers
def _unit(cad: Cadence) -> str:
    return "days" if cad.grain == "daily" else "weeks"


def _span_end(sale_days: np.ndarray, cad: Cadence, end: np.datetime64) -> np.datetime64:
    """Where the product's series stops (exclusive): ``end``, but not long after its last sale (a delisted
    product's months without sales are not demand at its last price): 14 days, four periods or three median
    gaps between sales after it, whichever is longest."""
    last = sale_days.max()
    gaps = np.diff(_distinct(sale_days).astype(np.int64))
    tail = int(max(4 * cad.period_days, 3 * (np.median(gaps) if gaps.size else 0), 14))
    return min(end, last + 1 + tail)


def _partial_variance(X: np.ndarray) -> float:
    """Variance of log price (column 1) left after the other columns (normal equations: a 20 x 20 solve)."""
    Z = np.delete(X, 1, axis=1)
    zz = Z.T @ Z
    coef = np.linalg.solve(zz + 1e-9 * np.trace(zz) / zz.shape[0] * np.eye(zz.shape[0]), Z.T @ X[:, 1])
    return float(np.var(X[:, 1] - Z @ coef))


def _design(g: GrainSeries, cad: Cadence) -> tuple[np.ndarray, list[str]]:
    n = g.quantity.size
    lp = np.log(g.price)
    days = (g.dates - g.dates[0]).astype(np.int64).astype(float)
    span = days[-1] + cad.period_days
    cols, names = [np.ones(n), lp - lp.mean()], ["const", "log_price"]
    blocks: list[tuple[list[np.ndarray], list[str]]] = []
    promo = g.covariates.get("promo")
    if promo is not None and promo.std() > 1e-6:
        blocks.append(([promo], ["promo"]))
    if span >= 28 and n >= 8:
        blocks.append(([days / 365.25], ["trend"]))
    if g.grain == "daily":
        wd = weekday(g.dates)
        present = [w for w in cad.trading_weekdays if np.any(wd == w)]
        blocks.append(([(wd == w).astype(float) for w in present[1:]], [f"dow_{w}" for w in present[1:]]))
    doy = (g.dates - g.dates.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1.0
    if g.grain == "daily":
        pairs = 4 if span >= 365 else (2 if span >= 180 else (1 if span >= 120 else 0))
    else:
        pairs = 2 if span >= 365 else (1 if span >= 180 else 0)
    fourier = [([np.sin(2 * np.pi * k * doy / 365.25), np.cos(2 * np.pi * k * doy / 365.25)],
                [f"season_sin_{k}", f"season_cos_{k}"]) for k in range(1, pairs + 1)]
    step = 365.0  # a yearly trend break: a knot every few months absorbs the price spells that identify b
    knots = [([np.maximum(days - kn, 0.0) / 365.25], [f"trend_knot_{j + 1}"])
             for j, kn in enumerate(np.arange(1, int(span // step)) * step)]
    blocks += fourier[:2] + knots + fourier[2:]
    budget = max(3, n // OBS_PER_PARAMETER)
    for c, nm in blocks:
        if len(cols) + len(c) > budget:
            break
        cols += c
        names += nm
    return np.column_stack(cols), names


def _poisson_with_cap(X, y, offset, max_iter) -> tuple[GlmFit, int, np.ndarray, int]:
    """Poisson fit; on separation, drop the separated rows and the columns left constant and refit once; then
    the negative binomial weights with alpha from the Poisson residuals (kept only if that fit converges);
    finally cap the periods far above their fitted mean (bulk orders judged against the product's own fit) and
    refit."""
    fit = poisson_pml(X, y, offset, max_iter=max_iter)
    if fit.status == "separated" and fit.separated is not None:
        keep = ~fit.separated
        X, y, offset = X[keep], y[keep], offset[keep]
        var = X.std(axis=0) > 1e-12
        var[0] = True
        if not var[1] or keep.sum() < X.shape[1] + 3:
            return fit, 0, var, int(keep.sum())
        X = X[:, var]
        fit = poisson_pml(X, y, offset, max_iter=max_iter)
    else:
        var = np.ones(X.shape[1], dtype=bool)
    if not fit.converged:
        return fit, 0, var, int(y.size)
    alpha = nb_alpha(y, np.exp(X @ fit.beta + offset))
    if alpha > 1e-3:
        nb = poisson_pml(X, y, offset, alpha=alpha, beta0=fit.beta, max_iter=max_iter)
        fit = nb if nb.converged else fit
        alpha = alpha if nb.converged else 0.0
    capped = 0
    mu = np.exp(np.clip(X @ fit.beta + offset, -50, 50))
    r = np.log((y + 0.5) / (mu + 0.5))
    med = np.median(r)
    cut = med + max(5 * 1.4826 * np.median(np.abs(r - med)), CAP_RATIO)
    over = r > cut
    if over.any():
        y = np.where(over, (mu + 0.5) * np.exp(cut) - 0.5, y)
        capped = int(over.sum())
        fit = poisson_pml(X, y, offset, alpha=alpha, beta0=fit.beta, max_iter=max_iter)
    return fit, capped, var, int(y.size)
