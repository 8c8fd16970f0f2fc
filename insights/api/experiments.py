"""The A/B test calculator: sample sizes and the analysis of finished tests. Stateless: no snapshot is read.

Formulas (docs/api.md, "Experiments"; tests/insights/test_experiments.py checks them against published worked
examples and scipy). Every test is two-sided; ``alpha`` also sets the intervals' level (1 - alpha).

- Sample size, conversion rate: n_control = (z_{1-a/2} sqrt(pbar qbar (1 + 1/k)) + z_{power} sqrt(p1 q1 +
  p2 q2 / k))^2 / (p2 - p1)^2 with pbar = (p1 + k p2) / (1 + k) and k treatment units per control unit (for k = 1,
  R's power.prop.test); n_treatment = k n_control.
- Sample size, mean: n_control = (1 + 1/k) sd^2 (t_{1-a/2, df} + t_{power, df})^2 / delta^2, iterated from the
  normal quantiles with df = n_control + n_treatment - 2 until it settles (within 0.1 of the exact noncentral-t
  answer of R's power.t.test on its documented example).
- Conversion rates: the pooled two-proportion z test; the difference's Wald interval (unpooled); each arm's Wilson
  interval; the probability that an arm's rate beats the control's under uniform Beta(1, 1) priors, in closed
  form (insights/api/stats.py).
- Means: Welch's t test with the Welch-Satterthwaite df and its interval; the probability that an arm's mean beats
  the control's is P(T_df <= difference / se) (flat prior, Welch's approximation of the posterior).
- With more than one treatment arm, Holm's step-down adjustment of the p-values decides ``significant``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from insights.api.experiment_schemas import ConversionArm, MeanArm
from insights.api.stats import norm_cdf, norm_ppf, prob_beta_greater, t_cdf, t_ppf, t_sf
from insights.errors import InvalidRequest

__all__ = ["sample_size", "analyze"]

_MAX_ITER = 100


def _sig(x: float | None, digits: int = 6) -> float | None:
    """``x`` to ``digits`` significant digits (p-values can be 1e-12: decimals would round them to 0)."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def sample_size(*, baseline_rate: float | None = None, baseline_mean: float | None = None,
                baseline_sd: float | None = None, minimum_detectable_effect: float, mde_type: str = "relative",
                alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0) -> dict[str, Any]:
    """Units per arm to detect ``minimum_detectable_effect`` with a two-sided test at ``alpha`` and ``power``."""
    relative = mde_type == "relative"
    z_a, z_b = norm_ppf(1 - alpha / 2), norm_ppf(power)
    k = ratio
    if baseline_rate is not None:
        p1 = baseline_rate
        delta = minimum_detectable_effect * p1 if relative else minimum_detectable_effect
        p2 = p1 + delta
        if not 0 < p2 < 1:
            raise InvalidRequest(f"the rate to detect, {p2:.6g}, is not within (0, 1): lower the effect",
                                 baseline_rate=p1, target_rate=_sig(p2))
        pbar = (p1 + k * p2) / (1 + k)
        n1 = (z_a * math.sqrt(pbar * (1 - pbar) * (1 + 1 / k))
              + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / k)) ** 2 / delta ** 2
        metric, baseline, target, sd = "conversion_rate", p1, p2, None
        method = ("two-sided two-proportion z test, pooled variance under the null (as R's power.prop.test for "
                  "equal arms)")
    else:
        assert baseline_mean is not None and baseline_sd is not None  # the request model guarantees both
        if relative and baseline_mean == 0:
            raise InvalidRequest("a relative effect needs a non-zero baseline_mean; give mde_type absolute")
        delta = minimum_detectable_effect * abs(baseline_mean) if relative else minimum_detectable_effect
        n1 = _mean_sample_size(baseline_sd, delta, alpha, power, k)
        metric, baseline, target, sd = "mean", baseline_mean, baseline_mean + delta, baseline_sd
        method = ("two-sided t test: the normal formula iterated with t quantiles at df = n_control + "
                  "n_treatment - 2")
    control, treatment = math.ceil(n1 - 1e-9), math.ceil(k * n1 - 1e-9)
    return {
        "metric": metric,
        "baseline": _sig(baseline, 8),
        "baseline_sd": sd,
        "target": _sig(target, 8),
        "absolute_effect": _sig(delta, 8),
        "relative_effect": _sig(delta / abs(baseline), 8) if baseline else None,
        "mde_type": mde_type,
        "alpha": alpha,
        "power": power,
        "ratio": ratio,
        "two_sided": True,
        "sample_size_per_arm": {"control": control, "treatment": treatment},
        "total_sample_size": control + treatment,
        "unrounded_control": _sig(n1, 8),
        "method": method,
    }


def _mean_sample_size(sd: float, delta: float, alpha: float, power: float, k: float) -> float:
    factor = (1 + 1 / k) * sd * sd / (delta * delta)
    n1 = factor * (norm_ppf(1 - alpha / 2) + norm_ppf(power)) ** 2
    for _ in range(_MAX_ITER):
        df = max(n1 * (1 + k) - 2, 1.0)
        nxt = factor * (t_ppf(1 - alpha / 2, df) + t_ppf(power, df)) ** 2
        if abs(nxt - n1) < 1e-7:
            return nxt
        n1 = nxt
    return n1


def analyze(arms: Sequence[ConversionArm | MeanArm], *, control: str | None = None,
            alpha: float = 0.05) -> dict[str, Any]:
    """Each treatment arm against the control: test, interval of the difference, P(beats control)."""
    if len(arms) < 2:
        raise InvalidRequest("an experiment needs at least two arms")
    if len({type(a) for a in arms}) != 1:
        raise InvalidRequest("all arms must be of one kind: conversions or means")
    name = control if control is not None else arms[0].name
    base = next((a for a in arms if a.name == name), None)
    if base is None:
        raise InvalidRequest(f"control {name!r} is not one of the arms")
    z = norm_ppf(1 - alpha / 2)
    conversions = isinstance(base, ConversionArm)
    summaries = [_rate_summary(a, z) if isinstance(a, ConversionArm) else _mean_summary(a, alpha) for a in arms]
    comparisons = []
    for arm in arms:
        if arm.name == name:
            continue
        if isinstance(arm, ConversionArm) and isinstance(base, ConversionArm):
            comparisons.append(_compare_rates(arm, base, z))
        elif isinstance(arm, MeanArm) and isinstance(base, MeanArm):
            comparisons.append(_compare_means(arm, base, alpha))
    for row, adjusted in zip(comparisons, _holm([c["p_value"] for c in comparisons]), strict=True):
        row["p_value_holm"] = _sig(adjusted)
        row["significant"] = adjusted < alpha
        row["p_value"] = _sig(row["p_value"])
    return {
        "metric": "conversion_rate" if conversions else "mean",
        "control": name,
        "alpha": alpha,
        "confidence_level": _sig(1 - alpha),
        "arms": summaries,
        "comparisons": comparisons,
        "test": "two_proportion_z" if conversions else "welch_t",
        "bayesian_method": ("Beta(1, 1) priors, exact P(rate > control's) (Evan Miller's closed form)"
                            if conversions else "flat prior: P(T_df <= difference / se), Welch's df"),
    }


def _interval(lower: float, upper: float, level: float) -> dict[str, Any]:
    return {"lower": _sig(lower, 8), "upper": _sig(upper, 8), "level": _sig(level)}


def _rate_summary(arm: ConversionArm, z: float) -> dict[str, Any]:
    n, p = arm.visitors, arm.conversions / arm.visitors
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"name": arm.name, "n": n, "conversions": arm.conversions, "value": _sig(p, 8),
            "sd": None, "interval": _interval(max(center - half, 0.0), min(center + half, 1.0), _level(z))}


def _mean_summary(arm: MeanArm, alpha: float) -> dict[str, Any]:
    half = t_ppf(1 - alpha / 2, arm.n - 1) * arm.sd / math.sqrt(arm.n)
    return {"name": arm.name, "n": arm.n, "conversions": None, "value": _sig(arm.mean, 8), "sd": arm.sd,
            "interval": _interval(arm.mean - half, arm.mean + half, 1 - alpha)}


def _level(z: float) -> float:
    return 1 - 2 * norm_cdf(-z)


def _compare_rates(arm: ConversionArm, base: ConversionArm, z: float) -> dict[str, Any]:
    n_a, n_b = base.visitors, arm.visitors
    p_a, p_b = base.conversions / n_a, arm.conversions / n_b
    diff = p_b - p_a
    pooled = (base.conversions + arm.conversions) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    stat = diff / se0 if se0 > 0 else None
    p_value = 2 * norm_cdf(-abs(stat)) if stat is not None else 1.0  # no variance: both rates are 0 (or 1)
    se1 = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    beats = prob_beta_greater(arm.conversions + 1, n_b - arm.conversions + 1,
                              base.conversions + 1, n_a - base.conversions + 1)
    return _comparison(arm.name, base.name, diff, p_a, diff - z * se1, diff + z * se1, _level(z), stat, None,
                       p_value, beats)


def _compare_means(arm: MeanArm, base: MeanArm, alpha: float) -> dict[str, Any]:
    v_a, v_b = base.sd ** 2 / base.n, arm.sd ** 2 / arm.n
    se = math.sqrt(v_a + v_b)
    if se == 0:
        raise InvalidRequest(f"arms {base.name!r} and {arm.name!r} both have sd 0: nothing to test",
                             arm=arm.name, control=base.name)
    diff = arm.mean - base.mean
    df = (v_a + v_b) ** 2 / (v_a ** 2 / (base.n - 1) + v_b ** 2 / (arm.n - 1))
    stat = diff / se
    half = t_ppf(1 - alpha / 2, df) * se
    return _comparison(arm.name, base.name, diff, base.mean, diff - half, diff + half, 1 - alpha, stat, df,
                       2 * t_sf(abs(stat), df), t_cdf(stat, df))


def _comparison(arm: str, control: str, diff: float, base_value: float, lower: float, upper: float, level: float,
                stat: float | None, df: float | None, p_value: float, beats: float) -> dict[str, Any]:
    return {"arm": arm, "control": control, "difference": _sig(diff, 8),
            "relative_lift": _sig(diff / abs(base_value), 8) if base_value else None,
            "difference_interval": _interval(lower, upper, level), "statistic": _sig(stat), "df": _sig(df),
            "p_value": p_value, "probability_beats_control": _sig(beats)}


def _holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out
