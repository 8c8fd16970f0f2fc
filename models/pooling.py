"""Partial pooling of per-product estimates: empirical Bayes toward the category or the population (numpy only).

Each product's own estimate b_i has a standard error s_i. The products' true elasticities are modelled as
draws around their category's mean, theta_i ~ N(m_c, tau^2), and the category means as draws around the
population mean, m_c ~ N(mu, omega^2). The variances come from the estimates themselves by the method of
moments of DerSimonian and Laird (1986): tau^2 from the heterogeneity left inside the categories (the
meta-regression form with one mean per category), omega^2 from the spread of the category means beyond their
own sampling error. A product's prior is N(m_c, tau^2 + var(m_c)) (its category's shrunk mean) or, in a
category with fewer than ``min_group`` own estimates or without one, N(mu, tau_pop^2 + var(mu)). The posterior
is the precision-weighted mean of the product's own estimate and its prior: a precise estimate stays close to
its own value, a noisy one moves to the prior and keeps the prior's width, never less. With fewer than
``min_products`` own estimates there is nothing to learn a prior from, and the documented ``default_prior``
is used.

tau is floored at ``tau_floor``: a moment estimate of zero would pool every product onto the mean with an
interval as narrow as the mean's, which no set of real products deserves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Prior", "PooledEstimates", "pool_estimates", "posterior", "DEFAULT_PRIOR"]

# A weakly informative prior for price elasticities when there are too few products to learn one: centred
# between the meta-analytic means of Tellis (1988, -1.76) and Bijmolt, van Heerde and Pieters (2005, -2.62),
# wide enough (95%: -4.9 to +0.9) that a product's own evidence dominates as soon as it has any.
DEFAULT_PRIOR = (-2.0, 1.5)


@dataclass(frozen=True)
class Prior:
    """A normal prior: ``mean``, ``sd``, where it comes from (``source``) and how many own estimates built it."""

    mean: float
    sd: float
    source: str
    n_products: int = 0


@dataclass(frozen=True)
class PooledEstimates:
    """Posterior per product (arrays aligned with the input) and the priors they were pooled toward.

    Attributes
    ----------
    mean, sd : posterior mean and standard deviation (the prior's where the product has no own estimate)
    weight : weight of the product's own estimate in the posterior mean, in [0, 1] (0 without one)
    prior_mean, prior_sd : each product's prior
    prior_source : "category:<name>", "population" or "default"
    tau : the between-product standard deviation inside a category (population-wide when there are no groups)
    population : the population prior
    groups : category name -> its prior
    """

    mean: np.ndarray
    sd: np.ndarray
    weight: np.ndarray
    prior_mean: np.ndarray
    prior_sd: np.ndarray
    prior_source: np.ndarray
    tau: float
    population: Prior
    groups: dict[str, Prior] = field(default_factory=dict)


def pool_estimates(estimate: np.ndarray, standard_error: np.ndarray, *, group: np.ndarray | None = None,
                   default_prior: tuple[float, float] = DEFAULT_PRIOR, min_products: int = 5, min_group: int = 5,
                   tau_floor: float = 0.1) -> PooledEstimates:
    """Empirical-Bayes posteriors of per-product estimates.

    Parameters
    ----------
    estimate, standard_error : each product's own estimate and standard error; NaN where it has none (those
        products get their prior as the posterior)
    group : optional category label per product ("" or None: no category)
    default_prior : (mean, sd) used when fewer than ``min_products`` products have an own estimate
    min_products : own estimates needed to learn the population prior
    min_group : own estimates a category needs to have its own prior
    tau_floor : the smallest between-product standard deviation allowed

    Returns
    -------
    PooledEstimates
    """
    b = np.asarray(estimate, dtype=float)
    s = np.asarray(standard_error, dtype=float)
    if b.shape != s.shape or b.ndim != 1:
        raise ValueError(f"estimate and standard_error must be 1-D of one length, got {b.shape}, {s.shape}")
    g = np.full(b.size, "", dtype=object) if group is None else np.asarray(
        ["" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x) for x in group], dtype=object)
    if g.shape != b.shape:
        raise ValueError(f"group must have the shape of estimate {b.shape}, got {g.shape}")
    if not (np.isfinite(default_prior[0]) and default_prior[1] > 0):
        raise ValueError(f"default_prior must be (finite mean, sd > 0), got {default_prior}")
    if not tau_floor >= 0:
        raise ValueError(f"tau_floor must be >= 0, got {tau_floor}")
    own = np.isfinite(b) & np.isfinite(s) & (s > 0)
    n = b.size
    pm, psd = np.full(n, float(default_prior[0])), np.full(n, float(default_prior[1]))
    src = np.full(n, "default", dtype=object)
    if own.sum() < min_products:
        pop = Prior(float(default_prior[0]), float(default_prior[1]), "default", int(own.sum()))
        return _posterior(b, s, own, pm, psd, src, float("nan"), pop, {})
    mu, var_mu, tau2_pop = _dl(b[own], s[own], tau_floor)
    pop = Prior(mu, float(np.sqrt(tau2_pop + var_mu)), "population", int(own.sum()))
    pm[:], psd[:], src[:] = pop.mean, pop.sd, "population"
    names = [x for x in np.unique(g[own]) if x and (own & (g == x)).sum() >= min_group]
    if not names:
        return _posterior(b, s, own, pm, psd, src, float(np.sqrt(tau2_pop)), pop, {})
    tau2 = _dl_within([(b[own & (g == x)], s[own & (g == x)]) for x in names], tau_floor)
    means, vars_ = [], []
    for x in names:
        m = own & (g == x)
        w = 1 / (s[m] ** 2 + tau2)
        means.append(float(np.sum(w * b[m]) / w.sum()))
        vars_.append(float(1 / w.sum()))
    means_a, vars_a = np.array(means), np.array(vars_)
    if len(names) >= 3:
        _, _, omega2 = _dl(means_a, np.sqrt(vars_a), 0.0)
        shrunk_var = 1 / (1 / vars_a + 1 / omega2) if omega2 > 0 else np.full(len(names), var_mu)
        shrunk = shrunk_var * (means_a / vars_a + mu / omega2) if omega2 > 0 else np.full(len(names), mu)
    else:  # two categories say nothing about how categories differ: keep their own means
        shrunk, shrunk_var = means_a, vars_a
    groups = {}
    for x, m_c, v_c in zip(names, shrunk, shrunk_var, strict=True):
        groups[x] = Prior(float(m_c), float(np.sqrt(tau2 + v_c)), f"category:{x}", int((own & (g == x)).sum()))
        rows = g == x
        pm[rows], psd[rows], src[rows] = groups[x].mean, groups[x].sd, groups[x].source
    return _posterior(b, s, own, pm, psd, src, float(np.sqrt(tau2)), pop, groups)


def posterior(estimate: float, standard_error: float, prior: Prior) -> tuple[float, float, float]:
    """(mean, sd, weight on the own estimate) of one estimate combined with ``prior`` (NaN estimate: the prior)."""
    if not (np.isfinite(estimate) and np.isfinite(standard_error) and standard_error > 0):
        return prior.mean, prior.sd, 0.0
    w = prior.sd ** 2 / (prior.sd ** 2 + standard_error ** 2)
    sd = float(np.sqrt(1 / (1 / prior.sd ** 2 + 1 / standard_error ** 2)))
    return float(w * estimate + (1 - w) * prior.mean), sd, float(w)


# ---------------------------------------------------------------------- private kernels (valid input assumed)
def _dl(b: np.ndarray, s: np.ndarray, floor: float) -> tuple[float, float, float]:
    """DerSimonian-Laird: (random-effects mean, its variance, tau^2 floored at floor^2)."""
    w = 1 / s ** 2
    fe = np.sum(w * b) / w.sum()
    q = np.sum(w * (b - fe) ** 2)
    c = w.sum() - np.sum(w ** 2) / w.sum()
    tau2 = max((q - (b.size - 1)) / c if c > 0 else 0.0, floor ** 2)
    ws = 1 / (s ** 2 + tau2)
    return float(np.sum(ws * b) / ws.sum()), float(1 / ws.sum()), float(tau2)


def _dl_within(groups: list[tuple[np.ndarray, np.ndarray]], floor: float) -> float:
    """tau^2 of the meta-regression with one mean per group (the DL moment estimator on the residual Q)."""
    q = df = c = 0.0
    for b, s in groups:
        w = 1 / s ** 2
        fe = np.sum(w * b) / w.sum()
        q += np.sum(w * (b - fe) ** 2)
        df += b.size - 1
        c += w.sum() - np.sum(w ** 2) / w.sum()
    return float(max((q - df) / c if c > 0 else 0.0, floor ** 2))


def _posterior(b, s, own, pm, psd, src, tau, pop, groups) -> PooledEstimates:
    w = np.zeros(b.size)
    w[own] = psd[own] ** 2 / (psd[own] ** 2 + s[own] ** 2)
    mean = np.where(own, w * np.where(own, b, 0.0) + (1 - w) * pm, pm)
    with np.errstate(divide="ignore"):
        sd = np.where(own, np.sqrt(1 / (1 / psd ** 2 + 1 / np.where(own, s, np.inf) ** 2)), psd)
    return PooledEstimates(mean, sd, w, pm.copy(), psd.copy(), src.astype(str), tau, pop, groups)
