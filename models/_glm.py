"""Private kernels of the elasticity estimator: Poisson / negative binomial pseudo-ML by damped IRLS, OLS, HAC.

Inputs are assumed valid (finite, time-ordered rows, a constant in column 0). The Poisson fit checks its own
convergence and separation and says so in ``status``; a caller must never use ``beta`` of a fit whose status
is not "converged".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GlmFit", "poisson_pml", "nb_alpha", "ols_hac", "hac_meat"]

ETA_MAX = 50.0  # exp(50) ~ 5e21 units: beyond it a step is an overflow, not an estimate


@dataclass(frozen=True)
class GlmFit:
    """A fit and how it ended; ``status`` is "converged", "not_converged" or "separated"."""

    beta: np.ndarray
    cov: np.ndarray
    status: str
    n_iterations: int
    r_squared: float
    df: int
    separated: np.ndarray | None = None  # rows whose fitted mean went to zero (y = 0 there)
    message: str = ""

    @property
    def converged(self) -> bool:
        return self.status == "converged"


def poisson_pml(X: np.ndarray, y: np.ndarray, offset: np.ndarray | None = None, *, alpha: float = 0.0,
                beta0: np.ndarray | None = None, max_iter: int = 50, tol: float = 1e-9) -> GlmFit:
    """Pseudo-ML of y on X with a log link by IRLS with step-halving: Poisson (``alpha`` = 0) or negative
    binomial with a fixed ``alpha`` (variance mu + alpha mu^2). Both belong to the linear exponential family,
    so b is consistent whenever the mean is right, whatever the true distribution; the negative binomial
    weights are the efficient ones when the noise is multiplicative (busy products).

    Converged when the relative change of the objective is below ``tol`` and the largest coefficient step is
    below 1e-6 (a coefficient drifting off to -inf keeps stepping, so the objective alone is not enough).
    Separation (Santos Silva and Tenreyro 2010): rows with y = 0 whose fitted mean collapsed to zero; they are
    returned in ``separated`` and the fit is not an estimate.

    Covariance: the larger (for column 1, the price) of the Newey-West sandwich and the model-based one scaled by
    the Pearson dispersion: the sandwich alone is too narrow when the price varied in only a few episodes.
    """
    n, k = X.shape
    off = np.zeros(n) if offset is None else offset
    if beta0 is None:  # start from the log-linear least squares of log(y + 0.5): a few IRLS steps fewer
        xtx = X.T @ X
        try:
            beta = np.linalg.solve(xtx + 1e-9 * np.trace(xtx) / k * np.eye(k), X.T @ (np.log(y + 0.5) - off))
        except np.linalg.LinAlgError:
            beta = np.zeros(k)
        if not np.all(np.isfinite(beta)) or (X @ beta + off).max() > ETA_MAX:
            beta = np.zeros(k)
            beta[0] = np.log(max(y.sum(), 1e-12) / np.exp(off).sum())
    else:
        beta = beta0.copy()
    eta = X @ beta + off
    mu = np.exp(np.minimum(eta, ETA_MAX))
    obj = _objective(y, mu, alpha)
    status, it, msg = "not_converged", 0, f"no convergence in {max_iter} iterations"
    ridge = 1e-10 * np.eye(k)
    for it in range(1, max_iter + 1):  # noqa: B007 (the last value is reported)
        w = mu / (1 + alpha * mu)
        z = (eta - off) + (y - mu) / mu
        xw = X * w[:, None]
        try:
            step = np.linalg.solve(X.T @ xw + ridge * max(1.0, float(w.mean())), xw.T @ z) - beta
        except np.linalg.LinAlgError:
            status, msg = "not_converged", f"singular weighted design at iteration {it}"
            break
        t, accepted = 1.0, False
        for _ in range(40):  # step-halving: the objective must not rise
            cand = beta + t * step
            eta_c = X @ cand + off
            if eta_c.max() <= ETA_MAX:
                mu_c = np.exp(eta_c)
                obj_c = _objective(y, mu_c, alpha)
                if obj_c <= obj + 1e-12 * (abs(obj) + 1):
                    accepted = True
                    break
            t /= 2
        if not accepted:
            status, msg = "not_converged", f"step-halving found no descent at iteration {it}"
            break
        moved = float(np.max(np.abs(t * step)))
        small = abs(obj - obj_c) <= tol * (abs(obj_c) + 0.1)
        beta, eta, mu, obj = cand, eta_c, mu_c, obj_c
        if small and moved < 1e-6 * (1 + float(np.max(np.abs(beta)))):
            status, msg = "converged", ""
            break
    sep = (y == 0) & (mu < 1e-8 * max(float(y.mean()), 1e-8))
    if sep.any():  # converged or not, a mean collapsing to zero is separation, not an estimate
        status, msg = "separated", f"{int(sep.sum())} zero-sales rows fitted with a zero mean (separation)"
    w = mu / (1 + alpha * mu)
    info = X.T @ (X * w[:, None])
    try:
        bread = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        bread = np.linalg.pinv(info)
    resid = (y - mu) / (1 + alpha * mu)
    dof = max(n - k, 1)
    sandwich = bread @ hac_meat(X * resid[:, None]) @ bread * n / dof
    dispersion = float(np.sum((y - mu) ** 2 / (mu * (1 + alpha * mu)))) / dof
    model = dispersion * bread
    cov = sandwich if sandwich[1, 1] >= model[1, 1] else model
    mu0 = np.exp(off) * y.sum() / np.exp(off).sum()
    null = _deviance(y, mu0)
    r2 = 1 - _deviance(y, mu) / null if null > 0 else 0.0
    return GlmFit(beta, cov, status, it, float(r2), dof, sep if sep.any() else None, msg)


def nb_alpha(y: np.ndarray, mu: np.ndarray) -> float:
    """Moment estimate of the negative binomial alpha from a Poisson fit: sum((y - mu)^2 - y) / sum(mu^2), >= 0."""
    return float(max(np.sum((y - mu) ** 2 - y) / max(np.sum(mu ** 2), 1e-12), 0.0))


def ols_hac(X: np.ndarray, y: np.ndarray) -> GlmFit:
    """OLS; covariance the larger (for column 1) of the Newey-West sandwich and the classical one."""
    n, k = X.shape
    xtx_inv = np.linalg.pinv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    resid = y - X @ beta
    dof = max(n - k, 1)
    sandwich = xtx_inv @ hac_meat(X * resid[:, None]) @ xtx_inv * n / dof
    model = xtx_inv * float(resid @ resid) / dof
    cov = sandwich if sandwich[1, 1] >= model[1, 1] else model
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float(resid @ resid) / tss if tss > 0 else 0.0
    return GlmFit(beta, cov, "converged", 1, r2, dof)


def hac_meat(u: np.ndarray) -> np.ndarray:
    """Newey-West meat: Bartlett kernel, bandwidth floor(4 (n/100)^(2/9))."""
    n = u.shape[0]
    meat = u.T @ u
    lags = int(np.floor(4 * (n / 100) ** (2 / 9)))
    for lag in range(1, min(lags, n - 1) + 1):
        g = u[lag:].T @ u[:-lag]
        meat += (1 - lag / (lags + 1)) * (g + g.T)
    return meat


def _objective(y: np.ndarray, mu: np.ndarray, alpha: float) -> float:
    """What IRLS minimizes: the Poisson deviance, or the negative binomial (fixed alpha) negative log-likelihood."""
    if alpha <= 0:
        return _deviance(y, mu)
    with np.errstate(divide="ignore"):
        ylogmu = np.where(y > 0, y * np.log(mu), 0.0)
    return float(-np.sum(ylogmu - (y + 1 / alpha) * np.log1p(alpha * mu)))


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(2 * np.sum(term - (y - mu)))
