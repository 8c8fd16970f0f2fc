"""Price optimization and what-if demand on the request path: numpy only (no scipy, no pandas).

Demand is constant-elasticity around the current point, Q(P) = Q0 (P / P0)^b. Profit (P - c) Q(P) has
derivative P^(b-1) Q0 P0^-b ((1 + b) P - b c), so:
- b < -1 (elastic): one maximum at P* = c b / (1 + b) (the markup rule); with no cost the revenue P^(1+b)
  falls with price and the optimum is the lowest allowed price;
- -1 <= b < 0 (inelastic, or unit elastic with a cost): profit rises with price without bound, so the
  unconstrained optimum is unbounded and the answer is the guardrail's highest price;
- b >= 0 is not a demand curve ("Positive: suspect"): refused.
Because profit is unimodal in P, the constrained optimum is the unconstrained one clipped to the guardrails:
never below cost, inside the observed price range widened by ``range_margin``, at most ``max_change`` from the
current price.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["PriceOptimization", "optimize_price", "what_if_quantity", "whatif_forecast", "SENSITIVITY_STEPS"]

SENSITIVITY_STEPS = tuple(round(x, 2) for x in np.arange(-0.30, 0.301, 0.05))


@dataclass(frozen=True)
class PriceOptimization:
    """The guarded profit-maximizing price and what it does; ``to_dict()`` is the API's JSON shape."""

    current_price: float
    optimal_price: float
    price_change_pct: float
    recommendation: str
    objective: str
    elasticity: float
    unconstrained_optimal_price: float | None
    unbounded: bool
    binding_constraint: str | None
    guardrails: dict[str, float]
    estimated_impact: dict[str, float | None]
    sensitivity: list[dict[str, float | None]]
    optimal_price_range: dict[str, Any]
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def optimize_price(*, current_price: float, current_quantity: float, cost_per_unit: float | None,
                   elasticity: float, elasticity_ci: tuple[float, float], price_min: float, price_max: float,
                   max_change: float = 0.2, range_margin: float = 0.1) -> PriceOptimization:
    """The profit-maximizing price (revenue when ``cost_per_unit`` is None) under the guardrails.

    Parameters
    ----------
    current_price, current_quantity : the current point (> 0) the constant-elasticity curve goes through
    cost_per_unit : unit cost (>= 0) or None to maximize revenue
    elasticity, elasticity_ci : the product's estimate and its confidence interval (lower, upper)
    price_min, price_max : the observed price range (> 0)
    max_change : largest relative move from the current price in one step (0.2 = 20%)
    range_margin : how far beyond the observed range a price may go (0.1 = 10%)
    """
    p0, q0 = _positive("current_price", current_price), _positive("current_quantity", current_quantity)
    cost = None if cost_per_unit is None else float(cost_per_unit)
    if cost is not None and not (np.isfinite(cost) and cost >= 0):
        raise ValueError(f"cost_per_unit must be >= 0 or None, got {cost_per_unit}")
    b = float(elasticity)
    if not np.isfinite(b):
        raise ValueError(f"elasticity must be finite, got {elasticity}")
    if b >= 0:
        raise ValueError(f"elasticity {b} is not negative: demand rising with price is not a usable demand curve")
    lo_ci, hi_ci = (float(x) for x in elasticity_ci)
    if not (np.isfinite(lo_ci) and np.isfinite(hi_ci) and lo_ci <= hi_ci):
        raise ValueError(f"elasticity_ci must be a finite (lower, upper) pair, got {elasticity_ci}")
    pmin, pmax = _positive("price_min", price_min), _positive("price_max", price_max)
    if pmin > pmax:
        raise ValueError(f"price_min {pmin} is above price_max {pmax}")
    if not 0 < max_change < 1:
        raise ValueError(f"max_change must be in (0, 1), got {max_change}")
    if not 0 <= range_margin < 1:
        raise ValueError(f"range_margin must be in [0, 1), got {range_margin}")

    c = cost or 0.0
    bounds = _guardrails(p0, c, pmin, pmax, max_change, range_margin)
    star, unbounded = _unconstrained(b, c, p0)
    best, binding = _clip(star, unbounded, bounds)
    if best is None:  # bounds conflict: cost above what one step allows
        best, binding = bounds["step_max"], "cost_above_max_step"

    q1 = _demand(best, p0, q0, b)
    r0, r1 = p0 * q0, best * q1
    pi0, pi1 = (p0 - c) * q0, (best - c) * q1
    change = (best / p0 - 1) * 100
    rec = "Keep current price" if abs(change) < 0.5 else ("Increase price" if change > 0 else "Decrease price")
    objective = "profit" if cost is not None else "revenue"
    impact = {"quantity_change_pct": round((q1 / q0 - 1) * 100, 4),
              "revenue_change_pct": None if r0 == 0 else round((r1 / r0 - 1) * 100, 4),  # 0 when p0*q0 underflows
              "profit_change_pct": None if pi0 == 0 else round((pi1 / pi0 - 1) * 100 * np.sign(pi0), 4),
              "estimated_revenue": round(r1, 4), "estimated_quantity": round(q1, 4),
              "estimated_profit": None if cost is None else round(pi1, 4)}
    sens = [_point(p0 * (1 + s), s, p0, q0, b, cost) for s in SENSITIVITY_STEPS]
    rng = _ci_range(lo_ci, hi_ci, c, p0, bounds)
    note = _note(b, cost, unbounded, binding, best, bounds)
    return PriceOptimization(
        current_price=round(p0, 4), optimal_price=round(best, 4), price_change_pct=round(change, 4),
        recommendation=rec, objective=objective, elasticity=b,
        unconstrained_optimal_price=None if unbounded or star is None else round(star, 4), unbounded=unbounded,
        binding_constraint=binding, guardrails={k: round(v, 4) for k, v in bounds.items()},
        estimated_impact=impact, sensitivity=sens, optimal_price_range=rng, note=note)


def what_if_quantity(quantity, *, base_price: float, planned_price: float, elasticity: float):
    """Units under ``planned_price`` on the constant-elasticity curve through (base_price, quantity)."""
    base, planned = _positive("base_price", base_price), _positive("planned_price", planned_price)
    if not np.isfinite(elasticity):
        raise ValueError(f"elasticity must be finite, got {elasticity}")
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
        raise ValueError(f"multipliers must be increasing and > 0, got {multipliers}")
    if grid.shape != (mult.size, base.shape[-1]):
        raise ValueError(f"grid must have shape ({mult.size}, {base.shape[-1]}), got {grid.shape}")
    m = float(np.clip(planned / last, mult[0], mult[-1]))
    x = np.log(mult)
    j = int(np.clip(np.searchsorted(x, np.log(m)) - 1, 0, mult.size - 2))
    w = (np.log(m) - x[j]) / (x[j + 1] - x[j])
    return np.maximum((1 - w) * grid[j] + w * grid[j + 1], 0.0), m


# ---------------------------------------------------------------------- private kernels (valid input assumed)
def _positive(name: str, value: float) -> float:
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return v


def _demand(p: float, p0: float, q0: float, b: float) -> float:
    return q0 * (p / p0) ** b


def _guardrails(p0, c, pmin, pmax, max_change, margin) -> dict[str, float]:
    return {"cost_floor": c, "range_min": pmin * (1 - margin), "range_max": pmax * (1 + margin),
            "step_min": p0 * (1 - max_change), "step_max": p0 * (1 + max_change)}


def _unconstrained(b: float, c: float, p0: float) -> tuple[float | None, bool]:
    """(P*, unbounded): P* = c b / (1 + b) for elastic demand with a cost."""
    if b < -1:
        return (c * b / (1 + b), False) if c > 0 else (0.0, False)  # no cost: revenue falls with price
    if b == -1 and c == 0:
        return p0, False  # revenue flat: any price; keep the current one
    return None, True


def _clip(star, unbounded, bounds) -> tuple[float | None, str | None]:
    """Clip to [lo, hi]; when the observed range conflicts with the step or cost, the range gives way first.

    Returns (None, None) when even cost and step conflict (cost above the largest allowed step).
    """
    lo_parts = {"max_step": bounds["step_min"], "cost": bounds["cost_floor"], "observed_range": bounds["range_min"]}
    hi_parts = {"max_step": bounds["step_max"], "observed_range": bounds["range_max"]}
    if max(lo_parts.values()) > min(hi_parts.values()):
        lo_parts.pop("observed_range")
        hi_parts.pop("observed_range")
        if max(lo_parts.values()) > min(hi_parts.values()):
            return None, None
    lo_name, lo = max(lo_parts.items(), key=lambda kv: kv[1])
    hi_name, hi = min(hi_parts.items(), key=lambda kv: kv[1])
    if unbounded:
        return hi, hi_name
    if star < lo:
        return lo, lo_name
    if star > hi:
        return hi, hi_name
    return star, None


def _point(p, step, p0, q0, b, cost) -> dict[str, float | None]:
    q = _demand(p, p0, q0, b)
    return {"price_change_pct": round(step * 100, 1), "price": round(p, 4), "quantity": round(q, 4),
            "revenue": round(p * q, 4), "profit": None if cost is None else round((p - cost) * q, 4)}


def _ci_range(lo_b, hi_b, c, p0, bounds) -> dict[str, Any]:
    """Constrained and unconstrained optima at both ends of the elasticity's interval."""
    out: dict[str, Any] = {"elasticity_lower": lo_b, "elasticity_upper": hi_b}
    prices = []
    for name, b in (("at_elasticity_lower", lo_b), ("at_elasticity_upper", hi_b)):
        if b >= 0:
            out[name] = {"optimal_price": None, "unconstrained_optimal_price": None, "unbounded": True,
                         "note": "the interval reaches non-negative elasticities: no demand curve there"}
            continue
        star, unb = _unconstrained(b, c, p0)
        best, _ = _clip(star, unb, bounds)
        best = bounds["step_max"] if best is None else best
        prices.append(best)
        out[name] = {"optimal_price": round(best, 4),
                     "unconstrained_optimal_price": None if unb else round(star, 4), "unbounded": unb}
    out["min"] = round(min(prices), 4) if prices else None
    out["max"] = round(max(prices), 4) if prices else None
    return out


def _note(b, cost, unbounded, binding, best, bounds) -> str:
    if binding == "cost_above_max_step":
        return (f"The cost {cost} is above the largest allowed step ({bounds['step_max']:.2f}): the price is raised "
                "by the maximum step and stays below cost; raise it further in the next steps.")
    if unbounded:
        return (f"Demand is inelastic (elasticity {b:.2f} >= -1): profit keeps rising with price, so the unconstrained "
                f"optimum is unbounded; {best:.2f} is the highest price the guardrails allow ({binding}).")
    if cost is None and b < -1:
        return (f"No cost given, so revenue is maximized; with elastic demand (elasticity {b:.2f}) revenue rises "
                f"as the price falls, down to the guardrail ({binding}).")
    if binding:
        return f"The markup-rule optimum is outside the guardrails; the {binding} limit gives {best:.2f}."
    return f"Markup rule P* = c b / (1 + b) with elasticity {b:.2f}, inside the guardrails."
