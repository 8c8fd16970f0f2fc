"""Own-price elasticity per product: a Poisson GLM with controls on the product's own grain, pooled across products.

Model: log E[Q_t] = a + b log P_t + controls + log exposure_t, estimated by Poisson pseudo-maximum likelihood
(consistent for b whatever the count distribution, zero periods included: Santos Silva and Tenreyro 2006).
- Grain: :mod:`models.cadence` reads each product's selling cadence. A daily product is estimated on its
  trading weekdays (a shop closed on Sundays has no Sunday zeros), a weekly feed on its weeks, an irregular
  seller on calendar weeks with its trading days as exposure. ``n_observations`` counts those periods.
- Controls (added while at least 8 observations per coefficient remain): the promotion share when the data
  has one (a flag, a discount or a list price), a linear trend, day-of-week dummies (daily grain only), yearly
  Fourier terms and a piecewise-linear trend. The promotion share takes the non-price lift of a deal (display,
  feature) out of b; the discount depth is not a separate control, because it is the price variation that
  identifies b.
- Fit: damped IRLS whose convergence and separation are checked; a fit that did not converge, or separated,
  is reported (``fit_status``) and never used as an estimate. Periods more than 10x (and 5 robust sd) above
  their fitted mean are capped there (bulk orders judged against the product's own fit). Standard errors:
  Newey-West sandwich.
- Pooling (:mod:`models.pooling`): the own estimates are shrunk toward their category's (or the population's)
  mean by empirical Bayes. A product with weak own evidence gets a value close to the prior and the prior's
  wider interval instead of a refusal. Only a product whose price never changed is refused.

Statuses: "ok" (own evidence carries at least half the weight), "pooled" (mostly the prior: little or no
usable own evidence, said in ``reason``), "refused" (the price never varied). A positive posterior, or an own
estimate significantly above zero, is ``sign_suspect`` and not ``usable_for_pricing``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from models._elasticity_fit import OwnFit, fit_product
from models._elasticity_input import category_label, columns, validate, validate_options
from models.cadence import trading_weekdays
from models.pooling import DEFAULT_PRIOR, Prior, pool_estimates, posterior

__all__ = ["ElasticityEstimate", "ElasticityPanel", "estimate_elasticity", "estimate_elasticities",
           "naive_elasticity", "classify_elasticity", "STATUSES", "DEFAULT_PRIOR"]

UNIT_BAND = 0.1  # |b + 1| <= this is "Unit elastic"
STATUSES = ("ok", "pooled", "refused")
POOLED_BELOW = 0.5  # own-evidence weight below which the answer is "pooled"


@dataclass(frozen=True)
class ElasticityEstimate:
    """One product's elasticity. The first fields are the original table's; ``to_dict()`` is JSON-ready.

    ``elasticity_coefficient``, ``standard_error`` and the interval are the posterior's (own fit pooled with the
    prior); ``own_*`` are the product's own fit alone (NaN when it has none). ``p_value`` is the answered
    (posterior) estimate's two-sided normal p-value, so it agrees with the interval;
    ``r_squared`` is the own fit's. ``n_observations``: periods on the product's grain used by the own fit.
    """

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
    product_id: str = ""
    category: str = ""
    grain: str = ""
    period_days: int = 0
    trading_weekdays: tuple[int, ...] = ()
    fit_status: str = ""
    n_iterations: int = 0
    own_elasticity: float = float("nan")
    own_standard_error: float = float("nan")
    shrinkage_weight: float = 0.0
    prior_mean: float = float("nan")
    prior_sd: float = float("nan")
    pooled_toward: str = ""
    sign_suspect: bool = False
    usable_for_pricing: bool = False
    n_capped: int = 0
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["controls"], d["trading_weekdays"] = list(self.controls), list(self.trading_weekdays)
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}


@dataclass(frozen=True)
class ElasticityPanel:
    """Every product's estimate (sorted by product_id) and the priors they were pooled toward."""

    estimates: tuple[ElasticityEstimate, ...]
    population: Prior
    categories: dict[str, Prior] = field(default_factory=dict)
    tau: float = float("nan")

    def to_columns(self) -> dict[str, np.ndarray]:
        """Column arrays (one row per product) for a snapshot table."""
        e = self.estimates
        out: dict[str, np.ndarray] = {}
        for name in ("product_id", "status", "reason", "elasticity_type", "interpretation", "category", "grain",
                     "fit_status", "pooled_toward"):
            out[name] = np.array([getattr(x, name) for x in e], dtype=str)
        for name in ("elasticity_coefficient", "standard_error", "ci_lower", "ci_upper", "p_value", "r_squared",
                     "price_min", "price_max", "price_mean", "own_elasticity", "own_standard_error",
                     "shrinkage_weight", "prior_mean", "prior_sd"):
            out[name] = np.array([getattr(x, name) for x in e], dtype=np.float64)
        for name in ("n_observations", "period_days", "n_iterations", "n_capped"):
            out[name] = np.array([getattr(x, name) for x in e], dtype=np.int32)
        for name in ("sign_suspect", "usable_for_pricing"):
            out[name] = np.array([getattr(x, name) for x in e], dtype=bool)
        return out


def estimate_elasticity(dates: np.ndarray, quantity: np.ndarray, price: np.ndarray, *,
                        promo: np.ndarray | None = None, discount: np.ndarray | None = None,
                        list_price: np.ndarray | None = None, method: str = "poisson", grain: str = "auto",
                        shop_weekdays: tuple[int, ...] | None = None, prior: tuple[float, float] = DEFAULT_PRIOR,
                        end: np.datetime64 | None = None, confidence: float = 0.95,
                        max_iter: int = 50) -> ElasticityEstimate:
    """One product's elasticity, pooled toward ``prior`` (the panel function pools toward its category instead).

    Parameters
    ----------
    dates : datetime64[D] (or ISO strings), one per row: the days with sales, zero-filled days allowed
    quantity : units (>= 0); price : price of the row (> 0; on zero-sales rows, the price in effect)
    promo : optional promotion flag or share (0-1) per row; discount : optional discount off the list price
        (0.25 = 25% off; a row is on promotion when > 0.5%); list_price : optional (on promotion when the price
        is more than 0.5% below it). The first given defines the promotion share control.
    method : "poisson" (PPML, zero periods included) or "ols" (log Q on periods with sales, the controls-only
        regression kept for comparison)
    grain : "auto" (detected) or "daily" / "weekly" / "irregular" to force one
    shop_weekdays : the shop's trading weekdays (Monday = 0) when known
    prior : (mean, sd) of the normal prior the own estimate is pooled toward
    end : exclusive end of the calendar (default: the day after the last row; zeros after the last sale are
        kept for at most four periods or three typical gaps)
    confidence : level of ``ci_lower``, ``ci_upper``
    max_iter : IRLS iterations allowed before the fit counts as not converged

    Returns
    -------
    ElasticityEstimate
    """
    d, q, p, pr = validate(dates, quantity, price, promo, discount, list_price, method, grain, confidence)
    own = fit_product(d, q, p, pr, method=method, grain=grain, shop_weekdays=shop_weekdays, end=end,
                      max_iter=max_iter)
    pri = Prior(float(prior[0]), float(prior[1]), "default")
    if not (np.isfinite(pri.mean) and pri.sd > 0):
        raise ValueError(f"prior must be (finite mean, sd > 0), got {prior}")
    mean, sd, w = posterior(own.estimate, own.se, pri)
    return _assemble(own, mean, sd, w, pri, confidence, "", "")


def estimate_elasticities(table: Mapping[str, Any], *, end: np.datetime64 | str | None = None,
                          method: str = "poisson", pool: bool = True,
                          default_prior: tuple[float, float] = DEFAULT_PRIOR, min_group: int = 5,
                          confidence: float = 0.95, max_iter: int = 50) -> ElasticityPanel:
    """Every product's elasticity from one long table, pooled across products: the refresh's entry point.

    Parameters
    ----------
    table : mapping of equal-length columns (a pandas DataFrame works): ``product_id``, ``date`` (or
        ``sale_date``), ``quantity``, ``price``; optional ``promo``, ``discount``, ``list_price`` (as in
        :func:`estimate_elasticity`) and ``category``. Rows are days with sales (zero-quantity rows allowed);
        rows with a non-positive or missing price or quantity are ignored.
    end : exclusive end of the calendar (e.g. the refresh's as_of)
    method : "poisson" or "ols"
    pool : False gives each product only the ``default_prior`` (no learning across products)
    default_prior : (mean, sd) used when fewer than five products have an own estimate
    min_group : own estimates a category needs for its own prior (else the population's)
    confidence, max_iter : as in :func:`estimate_elasticity`

    Returns
    -------
    ElasticityPanel
    """
    cols = columns(table)
    validate_options(method, "auto", confidence)
    ids, d, q, p, pr, cat = cols
    shop = trading_weekdays(d[q > 0]) if (q > 0).any() else None
    end_d = None if end is None else np.datetime64(end, "D")
    order = np.lexsort((d, ids))
    ids, d, q, p = ids[order], d[order], q[order], p[order]
    pr = None if pr is None else pr[order]
    cat = None if cat is None else cat[order]
    uniq, starts = np.unique(ids, return_index=True)
    bounds = np.append(starts, ids.size)
    fits: list[OwnFit] = []
    cats = np.full(uniq.size, "", dtype=object)
    for j in range(uniq.size):
        s = slice(bounds[j], bounds[j + 1])
        fits.append(fit_product(d[s], q[s], p[s], None if pr is None else pr[s], method=method, grain="auto",
                                shop_weekdays=shop, end=end_d, max_iter=max_iter))
        if cat is not None:
            cats[j] = category_label(cat[s])
    b = np.array([f.estimate for f in fits])
    se = np.array([f.se for f in fits])
    varies = np.array([f.fit_status != "no_price_variation" for f in fits])
    if pool:
        pooled = pool_estimates(np.where(varies, b, np.nan), np.where(varies, se, np.nan), group=cats,
                                default_prior=default_prior, min_group=min_group)
    else:
        pooled = pool_estimates(b, se, default_prior=default_prior, min_products=b.size + 1)
    out = []
    for j, f in enumerate(fits):
        pri = Prior(float(pooled.prior_mean[j]), float(pooled.prior_sd[j]), str(pooled.prior_source[j]))
        out.append(_assemble(f, float(pooled.mean[j]), float(pooled.sd[j]), float(pooled.weight[j]), pri,
                             confidence, str(uniq[j]), str(cats[j])))
    return ElasticityPanel(tuple(out), pooled.population, pooled.groups, pooled.tau)


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
    if b >= 0:
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


# ---------------------------------------------------------------------- private helpers
def _assemble(f: OwnFit, mean: float, sd: float, w: float, pri: Prior, confidence: float, pid: str,
              cat: str) -> ElasticityEstimate:
    cad = f.cadence
    common = dict(controls=f.controls, product_id=pid, category=cat, grain=cad.grain, period_days=cad.period_days,
                  trading_weekdays=cad.trading_weekdays, fit_status=f.fit_status, n_iterations=f.n_iterations,
                  own_elasticity=f.estimate, own_standard_error=f.se, n_capped=f.n_capped, confidence=confidence)
    nan = float("nan")
    if f.fit_status == "no_price_variation":
        return ElasticityEstimate("refused", f"no price variation: {f.message}", nan, nan, nan, nan, nan, nan,
                                  f.n_observations, "", "", *f.price_stats, **common)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    own_ok = f.fit_status == "converged"
    status = "ok" if own_ok and w >= POOLED_BELOW else "pooled"
    toward = "the default prior" if pri.source == "default" else (
        "the population" if pri.source == "population" else f"category {pri.source.split(':', 1)[1]!r}")
    if not own_ok:
        reason = (f"no own estimate ({f.fit_status.replace('_', ' ')}: {f.message}); the answer is the typical value "
                  f"of {toward}")
    elif status == "pooled":
        reason = (f"weak own evidence (own estimate {f.estimate:.2f} +- {f.se:.2f} from {f.n_observations} "
                  f"{'days' if cad.grain == 'daily' else 'weeks'}): {100 * w:.0f}% own data, the rest {toward}")
    else:
        reason = ""
    significant_positive = own_ok and f.estimate - z * f.se > 0
    suspect = bool(mean >= 0 or significant_positive)
    if suspect:
        kind = "Positive: suspect"
        text = (f"The sales data show demand rising with price (own estimate {f.estimate:+.2f}); that is rarely "
                "causal: price probably moved with something the data does not show (season, promotions, "
                f"order size). Shrunk to {mean:+.2f}, it is still not a demand curve: do not price on it."
                if own_ok else classify_elasticity(mean)[1])
    else:
        kind, text = classify_elasticity(mean)
        if status == "pooled":
            text = f"Mostly the typical value of {toward} ({100 * w:.0f}% own data): " + text[0].lower() + text[1:]
    # the p-value of the estimate answered (the posterior's), so that it agrees with the interval beside it
    p_value = math.erfc(abs(mean) / (sd * math.sqrt(2.0))) if sd > 0 and math.isfinite(mean) else f.p_value
    return ElasticityEstimate(status, reason, mean, sd, mean - z * sd, mean + z * sd, p_value, f.r_squared,
                              f.n_observations, kind, text, *f.price_stats, shrinkage_weight=w, prior_mean=pri.mean,
                              prior_sd=pri.sd, pooled_toward=pri.source, sign_suspect=suspect,
                              usable_for_pricing=not suspect, **common)
