"""BG/NBD (Fader, Hardie and Lee 2005): a probabilistic repeat-purchase model that needs no label window.

Used for the short-history path and as an input feature of the learned models (expected purchases over
a horizon and P(alive) summarise a customer's history in the way the tree models cannot form alone).
scipy only. Time is in whatever unit ``t_x`` and ``T`` are given in (days here).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

__all__ = ["BetaGeoModel", "GammaGammaModel", "bgnbd_inputs"]


def bgnbd_inputs(frequency, recency_days, customer_age_days) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) from customer_features: repeat purchases, day of the last purchase since the first, age.

    ``frequency`` counts purchase orders (x = frequency - 1 repeats); ``T`` is at least t_x and at least 1.
    """
    freq = np.asarray(frequency, dtype="float64")
    rec = np.asarray(recency_days, dtype="float64")
    age = np.asarray(customer_age_days, dtype="float64")
    x = np.clip(freq - 1.0, 0.0, None)
    T = np.maximum(age, 1.0)
    t_x = np.where(x > 0, np.clip(T - rec, 0.0, T), 0.0)
    return x, t_x, T


class BetaGeoModel(BaseEstimator):
    """BG/NBD fitted by maximum likelihood.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the four parameters (0 = plain maximum likelihood, as in the paper).

    Attributes
    ----------
    params_ : dict
        r, alpha, a, b.
    log_likelihood_ : float
    """

    def __init__(self, *, penalizer: float = 0.0):
        self.penalizer = penalizer

    def fit(self, x, t_x, T, sample_weight=None) -> BetaGeoModel:
        """Fit on repeat purchases ``x``, time of last purchase ``t_x`` and age ``T`` (arrays of shape (n,)).

        ``sample_weight`` (shape (n,), positive) counts each row that many times: fitting the distinct
        (x, t_x, T) triples weighted by their counts is the same likelihood as fitting every customer.
        """
        x, t_x, T = _check(x, t_x, T)
        w = np.ones_like(x) if sample_weight is None else np.asarray(sample_weight, dtype="float64")
        if w.shape != x.shape or not np.isfinite(w).all() or (w <= 0).any():
            raise ValueError("sample_weight must be positive and finite, one per customer")
        n = float(w.sum())
        if n < 5:
            raise ValueError(f"BG/NBD needs at least 5 customers, got {n:g}")
        scale = float(np.average(T, weights=w)) or 1.0  # fit on unit-free times: alpha scales with the time unit

        def nll(logp: np.ndarray) -> float:
            p = np.exp(logp)
            value = -(w * _log_likelihood(p, x, t_x / scale, T / scale)).sum() / n
            return float(value + self.penalizer * np.sum(p ** 2))

        # Bounded log-parameters: beyond e^9 the beta functions of a, b lose all precision to cancellation
        # (a, b -> infinity is the no-dropout limit, which e^9 already approximates).
        best = None
        for start in (np.zeros(4), np.log([0.5, 1.0, 0.5, 2.0])):
            res = minimize(nll, start, method="L-BFGS-B", bounds=[(-9.0, 9.0)] * 4)
            if best is None or res.fun < best.fun:
                best = res
        r, alpha, a, b = np.exp(best.x)
        self.params_ = {"r": float(r), "alpha": float(alpha * scale), "a": float(a), "b": float(b)}
        self.log_likelihood_ = float((w * _log_likelihood(np.array([r, alpha * scale, a, b]), x, t_x, T)).sum())
        return self

    def expected_purchases(self, t: float, x, t_x, T) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (equation 10 of the paper)."""
        check_is_fitted(self)
        x, t_x, T = _check(x, t_x, T)
        r, alpha, a, b = (self.params_[k] for k in ("r", "alpha", "a", "b"))
        z = t / (alpha + T + t)
        c = a + b + x - 1.0
        hyp = hyp2f1(r + x, b + x, c, z)
        bad = ~np.isfinite(hyp)
        if bad.any():  # Euler's transformation where the direct series overflows (large x)
            cb, xb, zb = c[bad], x[bad], z[bad]
            hyp = hyp.copy()
            hyp[bad] = hyp2f1(cb - r - xb, cb - b - xb, cb, zb) * (1.0 - zb) ** (cb - r - b - 2.0 * xb)
        # Written without logarithms: hyp2f1 and (a + b + x - 1) can both be negative when a + b < 1.
        numerator = c / (a - 1.0) * (1.0 - hyp * ((alpha + T) / (alpha + T + t)) ** (r + x))
        denominator = 1.0 + (x > 0) * (a / np.maximum(b + x - 1.0, 1e-12)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
        return np.clip(numerator / denominator, 0.0, None)

    def probability_no_purchase(self, t: float, x, t_x, T) -> np.ndarray:
        """P(no purchase in (T, T + t] | x, t_x, T): dead, or alive with no Poisson event in t.

        In BG/NBD dropout only happens right after a purchase, so an alive customer without a purchase
        stays alive; integrating exp(-lambda t) over the posterior Gamma(r + x, alpha + T) gives
        ((alpha + T) / (alpha + T + t)) ^ (r + x).
        """
        alive = self.probability_alive(x, t_x, T)
        x, t_x, T = _check(x, t_x, T)
        r, alpha = self.params_["r"], self.params_["alpha"]
        return (1.0 - alive) + alive * ((alpha + T) / (alpha + T + t)) ** (r + x)

    def probability_alive(self, x, t_x, T) -> np.ndarray:
        """P(the customer is still active at T | x, t_x, T)."""
        check_is_fitted(self)
        x, t_x, T = _check(x, t_x, T)
        r, alpha, a, b = (self.params_[k] for k in ("r", "alpha", "a", "b"))
        odds = (x > 0) * (a / np.maximum(b + x - 1.0, 1e-12)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
        return 1.0 / (1.0 + odds)


class GammaGammaModel(BaseEstimator):
    """Gamma-Gamma spend model (Fader, Hardie and Lee 2005, "RFM and CLV"), fitted by maximum likelihood.

    A customer's order values are Gamma(p, nu) around a customer-level mean, with nu ~ Gamma(q, gamma) across
    customers; independent of the purchase process, so E[value] x BG/NBD's expected purchases is the classical
    CLV anchor. Fitted on customers with at least one repeat purchase and a positive mean order value.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the three parameters (0 = plain maximum likelihood).

    Attributes
    ----------
    params_ : dict
        p, q, gamma.
    """

    def __init__(self, *, penalizer: float = 0.0):
        self.penalizer = penalizer

    def fit(self, frequency, monetary_value, sample_weight=None) -> GammaGammaModel:
        """Fit on ``frequency`` (repeat purchases, > 0) and ``monetary_value`` (mean order value, > 0), shape (n,)."""
        x = np.asarray(frequency, dtype="float64")
        m = np.asarray(monetary_value, dtype="float64")
        w = np.ones_like(x) if sample_weight is None else np.asarray(sample_weight, dtype="float64")
        if not x.shape == m.shape == w.shape or x.ndim != 1:
            raise ValueError("frequency, monetary_value and sample_weight must be 1-D arrays of equal length")
        if (x <= 0).any() or (m <= 0).any() or not (np.isfinite(m).all() and np.isfinite(x).all()):
            raise ValueError("Gamma-Gamma needs repeat customers: frequency > 0 and a positive, finite monetary_value")
        if x.size < 5:
            raise ValueError(f"Gamma-Gamma needs at least 5 repeat customers, got {x.size}")
        scale = float(np.average(m, weights=w))  # unit-free spend: gamma scales with the currency
        ms, n = m / scale, float(w.sum())

        def nll(logp: np.ndarray) -> float:
            p, q, g = np.exp(logp)
            px = p * x
            ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1.0) * np.log(ms)
                  + px * np.log(x) - (px + q) * np.log(x * ms + g))
            return float(-(w * ll).sum() / n + self.penalizer * np.sum(np.exp(logp) ** 2))

        best = None
        for start in (np.zeros(3), np.log([2.0, 3.0, 1.0])):
            res = minimize(nll, start, method="L-BFGS-B", bounds=[(-9.0, 9.0)] * 3)
            if best is None or res.fun < best.fun:
                best = res
        p, q, g = np.exp(best.x)
        self.params_ = {"p": float(p), "q": float(q), "gamma": float(g * scale)}
        return self

    def expected_order_value(self, frequency, monetary_value) -> np.ndarray:
        """E[mean order value | x, m_x]: a weighted mean of the population mean and the customer's own mean.

        Customers without a repeat purchase (x = 0) or without a positive mean get the population mean
        p x gamma / (q - 1) (infinite when q <= 1: then the customer's own mean, or 0).
        """
        check_is_fitted(self)
        x = np.asarray(frequency, dtype="float64")
        m = np.nan_to_num(np.asarray(monetary_value, dtype="float64"), nan=0.0)
        p, q, g = (self.params_[k] for k in ("p", "q", "gamma"))
        population = p * g / (q - 1.0) if q > 1.0 else np.nan
        own = (x > 0) & (m > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = p * (g + x * m) / (p * x + q - 1.0)
        fallback = population if np.isfinite(population) else 0.0
        return np.where(own, value, np.where(np.isfinite(population), fallback, np.clip(m, 0.0, None)))


def _check(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    if not x.shape == t_x.shape == T.shape or x.ndim != 1:
        raise ValueError("x, t_x and T must be 1-D arrays of equal length")
    if (x < 0).any() or (t_x < 0).any() or (t_x > T + 1e-9).any():
        raise ValueError("need x >= 0 and 0 <= t_x <= T")
    return x, t_x, T


def _log_likelihood(p: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood (equation 6 of the paper); kernel: assumes valid inputs."""
    r, alpha, a, b = p
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    first = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    repeat = x > 0
    second = np.where(repeat, betaln(a + 1.0, np.maximum(b + x - 1.0, 1e-12)) - betaln(a, b)
                      - (r + x) * np.log(alpha + t_x), -np.inf)
    return common + np.logaddexp(first, second)
