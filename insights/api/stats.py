"""The distributions the experiment calculator needs, on the standard library and numpy (no scipy on the request path).

- Normal: ``statistics.NormalDist`` (cdf from ``math.erf``; inv_cdf is Wichura's AS241 algorithm, accurate to about
  1e-16 relative).
- Student t: the tail from the regularized incomplete beta function, P(T > t) = I_x(df/2, 1/2) / 2 with
  x = df / (df + t^2), evaluated by its continued fraction with the modified Lentz method (Numerical Recipes,
  3rd ed., section 6.4); the quantile by Newton's method on that cdf from the normal quantile, kept inside a
  bracketing interval (bisection when a Newton step leaves it).
- Beta posteriors of two conversion rates: P(p_B > p_A) in closed form (Evan Miller, "Formulas for Bayesian A/B
  testing", 2015): sum over i < alpha_B of B(alpha_A + i, beta_A + beta_B) / ((beta_B + i) B(1 + i, beta_B)
  B(alpha_A, beta_A)), summed in log space with numpy over the arm with fewer successes (1 - P(p_A > p_B) when
  that is A). Past MAX_TERMS (20,000 conversions in both arms) the posteriors are normal enough that
  Phi((mean_B - mean_A) / sqrt(var_A + var_B)) differs from the closed form by under 2e-6 (measured at 20,000),
  and that approximation is used.

tests/insights/test_stats.py checks every function against scipy and published values.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["norm_cdf", "norm_ppf", "t_sf", "t_cdf", "t_ppf", "prob_beta_greater", "MAX_TERMS"]

_NORMAL = NormalDist()
MAX_TERMS = 20_000  # terms of the closed form (a few ms); past it the normal approximation (error < 2e-6 there)
_EPS, _TINY = 1e-15, 1e-300


def norm_cdf(x: float) -> float:
    return _NORMAL.cdf(x)


def norm_ppf(p: float) -> float:
    """The standard normal quantile of ``p`` in (0, 1)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be within (0, 1), got {p}")
    return _NORMAL.inv_cdf(p)


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (modified Lentz); valid for x < (a + 1) / (a + b + 2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) for a, b > 0 and x in [0, 1]."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` > 0 degrees of freedom (df may be fractional: Welch)."""
    if df <= 0:
        raise ValueError(f"df must be > 0, got {df}")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_cdf(t: float, df: float) -> float:
    return t_sf(-t, df)


def _t_pdf(t: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(t * t / df))


def t_ppf(p: float, df: float) -> float:
    """The quantile of Student's t: the t with P(T <= t) = p, for p in (0, 1) and df > 0."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be within (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"df must be > 0, got {df}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_ppf(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:  # a bracket [lo, hi] of the answer (hi doubles: at most ~60 steps for any p)
        lo, hi = hi, hi * 2.0
    x = min(max(norm_ppf(p), lo), hi)
    for _ in range(100):
        f = t_cdf(x, df) - p
        if f > 0:
            hi = x
        else:
            lo = x
        step = f / max(_t_pdf(x, df), _TINY)
        nxt = x - step
        if not lo < nxt < hi:  # Newton left the bracket: bisect instead
            nxt = 0.5 * (lo + hi)
        if abs(nxt - x) <= 1e-13 * max(1.0, abs(nxt)):
            return nxt
        x = nxt
    return x


def prob_beta_greater(alpha_b: int, beta_b: int, alpha_a: int, beta_a: int) -> float:
    """P(p_B > p_A) for p_A ~ Beta(alpha_a, beta_a), p_B ~ Beta(alpha_b, beta_b), integer parameters >= 1."""
    if min(alpha_a, beta_a, alpha_b, beta_b) < 1:
        raise ValueError("Beta parameters must be integers >= 1")
    if alpha_b > alpha_a:  # sum over the smaller alpha: P(B > A) = 1 - P(A > B) (ties have probability 0)
        return 1.0 - prob_beta_greater(alpha_a, beta_a, alpha_b, beta_b)
    if alpha_b > MAX_TERMS:
        return _normal_beta_greater(alpha_b, beta_b, alpha_a, beta_a)
    i = np.arange(alpha_b - 1, dtype=np.float64)  # the ratio term(i + 1) / term(i), in logs
    log_ratio = (np.log(alpha_a + i) - np.log(alpha_a + beta_a + beta_b + i) + np.log(beta_b + i)
                 - np.log(beta_b + i + 1.0) + np.log(1.0 + i + beta_b) - np.log(1.0 + i))
    log_first = (_log_beta(alpha_a, beta_a + beta_b) - math.log(beta_b) - _log_beta(1, beta_b)
                 - _log_beta(alpha_a, beta_a))
    logs = np.concatenate(([log_first], log_first + np.cumsum(log_ratio)))
    return float(min(max(np.exp(logs).sum(), 0.0), 1.0))


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _normal_beta_greater(alpha_b: int, beta_b: int, alpha_a: int, beta_a: int) -> float:
    def moments(a: int, b: int) -> tuple[float, float]:
        n = a + b
        return a / n, a * b / (n * n * (n + 1))

    mean_b, var_b = moments(alpha_b, beta_b)
    mean_a, var_a = moments(alpha_a, beta_a)
    return norm_cdf((mean_b - mean_a) / math.sqrt(var_a + var_b))
