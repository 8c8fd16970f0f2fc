"""Price optimization and what-if demand on the request path: numpy only (no scipy, no pandas).

Demand is constant-elasticity around the current point, Q(P) = Q0 (P / P0)^b, and is only ever evaluated
inside the product's observed price support widened by ``range_margin``: a current price outside it is refused
(:class:`PriceOutOfSupport`, naming the range), never extrapolated. Profit (P - c) Q(P) is unimodal in P:
- b < -1 (elastic): one maximum at P* = c b / (1 + b) (the markup rule); with no cost revenue falls with price;
- -1 <= b < 0 (inelastic, or unit elastic with a cost): profit rises with price, the optimum is unbounded;
so the constrained optimum is the unconstrained one clipped to the feasible interval: inside the widened
support, at most ``max_change`` from the current price, never below cost while an allowed price covers it.
The same clipping at both ends of the elasticity's interval gives ``optimal_price_range``; the optimum is
monotone in b, and the range is widened to include it, so ``optimal_price`` lies inside it by construction.

The answer says "hold" (keep the current price) when the estimate cannot carry the decision: the elasticity is
not usable for pricing (positive, or flagged by the estimator), its interval reaches zero or above, the move
to the optimum would lose profit (revenue without a cost) at one end of the interval, or the optimal prices at
the two ends lie on opposite sides of the current price.

Errors are :class:`PricingError` (a ValueError) with a machine-readable ``code`` and ``details``:
"invalid_input" (a value out of its domain, ``details["field"]`` names it), "invalid_elasticity" (not finite,
or outside its own interval) and "price_out_of_support" (:class:`PriceOutOfSupport`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from models._pricing_kernels import (
    KEEP_BAND_PCT,
    curve,
    feasible,
    hold_reason,
    impact,
    note,
    num,
    objective,
    optimal_range,
    optimum,
    sensitivity_row,
)

__all__ = ["PriceOptimization", "PricingError", "PriceOutOfSupport", "optimize_price", "what_if_quantity",
           "whatif_forecast", "SENSITIVITY_STEPS", "CURVE_POINTS"]

SENSITIVITY_STEPS = tuple(round(float(x), 2) for x in np.arange(-0.30, 0.301, 0.05))
CURVE_POINTS = 21


class PricingError(ValueError):
    """A pricing request the model cannot answer; ``code`` is machine-readable, ``details`` JSON-ready."""

    code = "invalid_input"

    def __init__(self, message: str, *, code: str | None = None, **details: Any):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.details = {k: num(v) if isinstance(v, float) else v for k, v in details.items()}


class PriceOutOfSupport(PricingError):
    """A price outside the observed support widened by the margin: demand there would be extrapolated.

    ``details``: field, price, observed_min, observed_max, allowed_min, allowed_max.
    """

    code = "price_out_of_support"


@dataclass(frozen=True)
class PriceOptimization:
    """The guarded optimum and what it does; ``to_dict()`` is the API's JSON shape (every float rounded to 6
    significant digits; None where a value is undefined, with the reason in ``note`` or ``impact_reasons``).

    Attributes
    ----------
    current_price : the current price P0
    optimal_price : the constrained optimum at the point elasticity (None when the elasticity is not usable);
        always inside ``optimal_price_range``
    recommended_price : the price to set now: ``optimal_price``, or ``current_price`` on "hold" / "keep"
    price_change_pct : recommended_price vs current_price, in percent
    action : "increase", "decrease", "keep" (a move under 0.5%) or "hold" (the estimate cannot carry a move)
    recommendation : the action in words ("Increase price", "Decrease price", "Keep current price", "Hold")
    hold_reason : why "hold" (None otherwise)
    objective : "profit" (a cost was given) or "revenue"
    elasticity : the point elasticity used; elasticity_ci : {"lower", "upper"}
    usable_for_pricing : False when the elasticity was flagged or is not negative (then no optimum is computed)
    unconstrained_optimal_price : the markup-rule optimum before the guardrails (None when unbounded, or when with
        no cost revenue keeps rising as the price falls)
    unbounded : profit keeps rising with price (inelastic demand)
    binding_constraint : None, "max_step", "observed_range", "cost" or "cost_above_allowed_prices"
    guardrails : observed_min/max, range_min/max (widened by the margin), step_min/max, cost_floor, and the
        feasible interval lower/upper that every evaluated price lies in
    estimated_impact : at optimal_price: quantity/revenue/profit change in percent and absolute, estimated
        quantity/revenue/profit, baseline revenue/profit, and profit_change_low/high (revenue without a cost)
        at the two ends of the elasticity interval; a percentage against a baseline <= 0 is None
    impact_reasons : field -> why that impact figure is None
    sensitivity : -30% .. +30% in 5% steps: price, within_support, quantity/revenue/profit (None outside the
        support or without a usable elasticity)
    profit_curve : ``CURVE_POINTS`` prices across [lower, upper] plus the current and optimal prices: quantity,
        revenue and profit with their low/high band from the elasticity interval (its upper end capped at 0)
    optimal_price_range : the constrained optimum at each end of the interval (``at_elasticity_lower``,
        ``at_elasticity_upper``; None at an end that is >= 0) and min/max, which include optimal_price
    note : one paragraph on how the answer came about
    """

    current_price: float
    optimal_price: float | None
    recommended_price: float
    price_change_pct: float
    action: str
    recommendation: str
    hold_reason: str | None
    objective: str
    elasticity: float
    elasticity_ci: dict[str, float | None]
    usable_for_pricing: bool
    unconstrained_optimal_price: float | None
    unbounded: bool
    binding_constraint: str | None
    guardrails: dict[str, float | None]
    estimated_impact: dict[str, float | None]
    impact_reasons: dict[str, str]
    sensitivity: list[dict[str, Any]]
    profit_curve: list[dict[str, Any]]
    optimal_price_range: dict[str, Any]
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def optimize_price(*, current_price: float, current_quantity: float, cost_per_unit: float | None,
                   elasticity: float, elasticity_ci: tuple[float, float], price_min: float, price_max: float,
                   max_change: float = 0.2, range_margin: float = 0.1,
                   usable_for_pricing: bool = True) -> PriceOptimization:
    """The profit-maximizing price (revenue when ``cost_per_unit`` is None) under the guardrails, or "hold".

    Parameters
    ----------
    current_price, current_quantity : the current point (> 0) the constant-elasticity curve goes through;
        current_price must lie in [price_min x (1 - range_margin), price_max x (1 + range_margin)]
    cost_per_unit : unit cost (>= 0) or None to maximize revenue
    elasticity, elasticity_ci : the product's estimate and its interval (lower <= elasticity <= upper)
    price_min, price_max : the observed price range (> 0)
    max_change : largest relative move from the current price in one step, in (0, 1)
    range_margin : how far beyond the observed range a price may go, in [0, 1)
    usable_for_pricing : the estimator's flag; False answers "hold" without computing an optimum

    Returns
    -------
    PriceOptimization

    Raises
    ------
    PricingError
        code "invalid_input" or "invalid_elasticity"; PriceOutOfSupport when current_price is outside the
        widened observed range.
    """
    p0, q0 = _positive("current_price", current_price), _positive("current_quantity", current_quantity)
    cost = None if cost_per_unit is None else float(cost_per_unit)
    if cost is not None and not (np.isfinite(cost) and cost >= 0):
        raise PricingError(f"cost_per_unit must be >= 0 or None, got {cost_per_unit}", field="cost_per_unit")
    b, b_lo, b_hi = _elasticity(elasticity, elasticity_ci)
    pmin, pmax = _positive("price_min", price_min), _positive("price_max", price_max)
    if pmin > pmax:
        raise PricingError(f"price_min {pmin} is above price_max {pmax}", field="price_min")
    if not 0 < max_change < 1:
        raise PricingError(f"max_change must be in (0, 1), got {max_change}", field="max_change")
    if not 0 <= range_margin < 1:
        raise PricingError(f"range_margin must be in [0, 1), got {range_margin}", field="range_margin")
    _check_support("current_price", p0, pmin, pmax, range_margin)
    c = cost or 0.0
    g, conflict = feasible(p0, c, pmin, pmax, max_change, range_margin)
    usable = bool(usable_for_pricing) and b < 0
    base = dict(current_price=num(p0), objective="profit" if cost is not None else "revenue", elasticity=num(b),
                elasticity_ci={"lower": num(b_lo), "upper": num(b_hi)}, usable_for_pricing=usable,
                guardrails={k: num(v) for k, v in g.items()})
    sens_b = b if usable else None
    sens = [sensitivity_row(p0 * (1 + s), s, p0, q0, sens_b, cost, g) for s in SENSITIVITY_STEPS]
    if not usable:
        why = (f"the elasticity {b:+.3g} is not negative: demand rising with price is not a demand curve"
               if b >= 0 else "the estimator flagged this elasticity as not usable for pricing (sign suspect)")
        return PriceOptimization(**base, optimal_price=None, recommended_price=num(p0), price_change_pct=0.0,
                                 action="hold", recommendation="Hold", hold_reason=why,
                                 unconstrained_optimal_price=None, unbounded=False, binding_constraint=None,
                                 estimated_impact={}, impact_reasons={"all": why}, sensitivity=sens,
                                 profit_curve=[], optimal_price_range={"min": None, "max": None}, note=f"Hold: {why}.")
    best, star, unbounded, binding = optimum(b, c, p0, g, conflict)
    rng = optimal_range(b_lo, b_hi, c, p0, g, conflict, best)
    gain = [float(objective(best, p0, q0, e, c) - objective(p0, p0, q0, e, c)) for e in (b_lo, min(b_hi, 0.0))]
    change = (best / p0 - 1) * 100
    hold = hold_reason(b_hi, gain, rng, p0, change, cost)
    action = "hold" if hold else ("keep" if abs(change) < KEEP_BAND_PCT else ("increase" if change > 0 else "decrease"))
    rec_price = best if action in ("increase", "decrease") else p0
    effect, reasons = impact(best, p0, q0, b, cost, gain)
    prices = np.sort(np.concatenate([np.linspace(g["lower"], g["upper"], CURVE_POINTS), [p0, best]]))
    # unique without np.unique: on floats it imports a numpy submodule the api package drops
    prices = prices[np.r_[True, np.diff(prices) > 0]]
    return PriceOptimization(
        **base, optimal_price=num(best), recommended_price=num(rec_price),
        price_change_pct=num((rec_price / p0 - 1) * 100, 4) or 0.0, action=action,
        recommendation={"hold": "Hold", "keep": "Keep current price", "increase": "Increase price",
                        "decrease": "Decrease price"}[action], hold_reason=hold,
        unconstrained_optimal_price=num(star), unbounded=unbounded, binding_constraint=binding,
        estimated_impact=effect, impact_reasons=reasons, sensitivity=sens,
        profit_curve=curve(prices, p0, q0, b, b_lo, min(b_hi, 0.0), cost), optimal_price_range=rng,
        note=note(b, cost, unbounded, binding, best, g, hold))


def what_if_quantity(quantity, *, base_price: float, planned_price: float, elasticity: float,
                     price_range: tuple[float, float] | None = None, range_margin: float = 0.1):
    """Units under ``planned_price`` on the constant-elasticity curve through (base_price, quantity).

    With ``price_range`` (observed min, max), a planned price outside it widened by ``range_margin`` raises
    :class:`PriceOutOfSupport` instead of extrapolating.
    """
    base, planned = _positive("base_price", base_price), _positive("planned_price", planned_price)
    if not np.isfinite(elasticity):
        raise PricingError(f"elasticity must be finite, got {elasticity}", code="invalid_elasticity")
    if price_range is not None:
        _check_support("planned_price", planned, float(price_range[0]), float(price_range[1]), range_margin)
    return np.asarray(quantity, dtype=float) * (planned / base) ** float(elasticity)


def whatif_forecast(base: np.ndarray, grid: np.ndarray, multipliers, *, last_price: float,
                    planned_price: float) -> tuple[np.ndarray, float]:
    """The stored model forecast under ``planned_price``: interpolate the what-if grid in log price.

    ``base`` (H,) is the forecast at the last price, ``grid`` (m, H) the model's forecasts with the price set to
    ``last_price * multipliers[j]``. Returns (forecast (H,), clipped multiplier): a planned price outside the
    grid is clipped to its ends (the model was never asked beyond them).
    """
    last, planned = _positive("last_price", last_price), _positive("planned_price", planned_price)
    mult = np.asarray(multipliers, dtype=float)
    grid = np.asarray(grid, dtype=float)
    base = np.asarray(base, dtype=float)
    if mult.ndim != 1 or mult.size < 2 or np.any(np.diff(mult) <= 0) or np.any(mult <= 0):
        raise PricingError(f"multipliers must be increasing and > 0, got {multipliers}", field="multipliers")
    if grid.shape != (mult.size, base.shape[-1]):
        raise PricingError(f"grid must have shape ({mult.size}, {base.shape[-1]}), got {grid.shape}", field="grid")
    m = float(np.clip(planned / last, mult[0], mult[-1]))
    x = np.log(mult)
    j = int(np.clip(np.searchsorted(x, np.log(m)) - 1, 0, mult.size - 2))
    w = (np.log(m) - x[j]) / (x[j + 1] - x[j])
    return np.maximum((1 - w) * grid[j] + w * grid[j + 1], 0.0), m


# ---------------------------------------------------------------------- private helpers
def _positive(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise PricingError(f"{name} must be a number, got {value!r}", field=name) from exc
    if not (np.isfinite(v) and v > 0):
        raise PricingError(f"{name} must be a finite number > 0, got {value}", field=name)
    return v


def _elasticity(elasticity, ci) -> tuple[float, float, float]:
    b = float(elasticity)
    if not np.isfinite(b):
        raise PricingError(f"elasticity must be finite, got {elasticity}", code="invalid_elasticity")
    lo, hi = (float(x) for x in ci)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise PricingError(f"elasticity_ci must be a finite (lower, upper) pair, got {ci}", code="invalid_elasticity")
    tol = 1e-9 * max(1.0, abs(b))
    if not lo - tol <= b <= hi + tol:
        raise PricingError(f"elasticity {b} lies outside its own interval ({lo}, {hi})", code="invalid_elasticity")
    return b, min(lo, b), max(hi, b)


def _check_support(field: str, price: float, pmin: float, pmax: float, margin: float) -> None:
    lo, hi = pmin * (1 - margin), pmax * (1 + margin)
    if not lo <= price <= hi:
        raise PriceOutOfSupport(
            f"{field} {price:.6g} is outside the prices this product sold at ({pmin:.6g} to {pmax:.6g}; "
            f"{lo:.6g} to {hi:.6g} with the {margin:.0%} margin): demand there would be extrapolated",
            field=field, price=price, observed_min=pmin, observed_max=pmax, allowed_min=lo, allowed_max=hi)
