"""Private kernels of models.pricing (numpy only; inputs already validated there).

Demand is the constant-elasticity curve through the current point, Q(P) = Q0 (P / P0)^b; only prices inside the
feasible interval [lower, upper] (observed support widened by the margin, one step, never below cost while
some allowed price covers it) are ever evaluated.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["num", "feasible", "unconstrained", "clip", "optimum", "objective", "curve", "sensitivity_row",
           "optimal_range", "hold_reason", "impact", "note", "KEEP_BAND_PCT"]

SIG = 6  # significant digits of every float in an answer
KEEP_BAND_PCT = 0.5  # a move smaller than this is "keep"


def num(x: float | None, sig: int = SIG) -> float | None:
    """A float rounded to ``sig`` significant digits (never to 0.0 for a tiny value), None for None or non-finite."""
    if x is None or not np.isfinite(x):
        return None
    return float(f"{float(x):.{sig}g}")


def feasible(p0: float, c: float, pmin: float, pmax: float, max_change: float,
             margin: float) -> tuple[dict[str, float], str | None]:
    """Guardrails and the feasible interval [lower, upper]; the second value names a cost conflict, if any.

    The observed support widened by the margin and the one-step limits always overlap (the current price is in
    both); the cost floor applies while it is below the upper end, otherwise every allowed price loses money
    on each unit and the floor cannot bind ("cost_above_allowed_prices").
    """
    g = {"observed_min": pmin, "observed_max": pmax, "range_min": pmin * (1 - margin),
         "range_max": pmax * (1 + margin), "step_min": p0 * (1 - max_change), "step_max": p0 * (1 + max_change),
         "cost_floor": c}
    upper = min(g["range_max"], g["step_max"])
    lower = max(g["range_min"], g["step_min"])
    conflict = None
    if c > upper:
        conflict = "cost_above_allowed_prices"
    else:
        lower = max(lower, c)
    g["lower"], g["upper"] = lower, upper
    return g, conflict


def unconstrained(b: float, c: float, p0: float) -> tuple[float | None, bool]:
    """(P*, unbounded) of profit (revenue when c = 0): P* = c b / (1 + b) for elastic demand with a cost."""
    if b < -1:
        return (c * b / (1 + b), False) if c > 0 else (0.0, False)  # no cost: revenue falls with price
    if b == -1 and c == 0:
        return p0, False  # revenue flat in price: keep the current one
    return None, True


def clip(star: float | None, unbounded: bool, g: dict[str, float], conflict: str | None) -> tuple[float, str | None]:
    """The constrained optimum (profit is unimodal in P, so clipping is exact) and the bound that binds."""
    lower, upper = g["lower"], g["upper"]
    if unbounded or star is None or star > upper:
        price = upper
    elif star < lower:
        price = lower
    else:
        return float(star), conflict
    if conflict:
        return price, conflict
    if price == upper:
        name = "max_step" if g["step_max"] <= g["range_max"] else "observed_range"
    else:
        name = max((("max_step", g["step_min"]), ("observed_range", g["range_min"]), ("cost", g["cost_floor"])),
                   key=lambda kv: kv[1])[0]
    return price, name


def optimum(b: float, c: float, p0: float, g: dict[str, float], conflict: str | None) -> tuple[float, float | None,
                                                                                                 bool, str | None]:
    """(constrained optimum, unconstrained optimum or None, unbounded, binding constraint) for elasticity b < 0."""
    star, unbounded = unconstrained(b, c, p0)
    best, binding = clip(star, unbounded, g, conflict)
    # no unconstrained optimum to report when there is none (unbounded) or, without a cost, revenue keeps rising as
    # the price falls (the markup rule's limit, a price of 0, is no advice)
    return best, (None if unbounded or not star else star), unbounded, binding


def objective(p: np.ndarray | float, p0: float, q0: float, b: float, c: float) -> np.ndarray | float:
    """(P - c) Q(P) on the curve through (p0, q0) with elasticity b (revenue when c = 0)."""
    return (p - c) * q0 * (np.asarray(p) / p0) ** b


def curve(prices: np.ndarray, p0: float, q0: float, b: float, b_lo: float, b_hi: float,
          cost: float | None) -> list[dict[str, Any]]:
    """Quantity, revenue and profit at each price: mid from b, low/high across the interval [b_lo, b_hi]."""
    c = cost or 0.0
    out = []
    for p in prices:
        qs = [q0 * (p / p0) ** e for e in (b, b_lo, b_hi)]
        q_lo, q_hi = min(qs[1:]), max(qs[1:])
        row = {"price": num(p), "price_change_pct": num((p / p0 - 1) * 100, 4), "quantity": num(qs[0]),
               "quantity_low": num(q_lo), "quantity_high": num(q_hi), "revenue": num(p * qs[0]),
               "revenue_low": num(p * q_lo), "revenue_high": num(p * q_hi)}
        if cost is None:
            row.update(profit=None, profit_low=None, profit_high=None)
        else:
            ends = sorted(((p - c) * q_lo, (p - c) * q_hi))
            row.update(profit=num((p - c) * qs[0]), profit_low=num(ends[0]), profit_high=num(ends[1]))
        out.append(row)
    return out


def sensitivity_row(p: float, step: float, p0: float, q0: float, b: float | None, cost: float | None,
                    g: dict[str, float]) -> dict[str, Any]:
    """One what-if point; quantities only inside the widened observed support and with a usable elasticity."""
    inside = bool(g["range_min"] <= p <= g["range_max"])
    row: dict[str, Any] = {"price_change_pct": num(step * 100, 4), "price": num(p), "within_support": inside,
                           "quantity": None, "revenue": None, "profit": None}
    if inside and b is not None:
        q = q0 * (p / p0) ** b
        row.update(quantity=num(q), revenue=num(p * q), profit=None if cost is None else num((p - cost) * q))
    return row


def optimal_range(b_lo, b_hi, c, p0, g, conflict, best) -> dict[str, Any]:
    """The constrained optimum at each end of the elasticity interval; min/max include ``best`` by construction."""
    out: dict[str, Any] = {"elasticity_lower": num(b_lo), "elasticity_upper": num(b_hi)}
    prices = [best]
    for name, e in (("at_elasticity_lower", b_lo), ("at_elasticity_upper", b_hi)):
        if e >= 0:
            out[name] = None
            continue
        p, star, unb, _ = optimum(e, c, p0, g, conflict)
        prices.append(p)
        out[name] = {"optimal_price": num(p), "unconstrained_optimal_price": num(star), "unbounded": bool(unb)}
    lo, hi = min(prices), max(prices)
    out["min"], out["max"] = num(lo), num(hi)
    if out["min"] > num(best) or out["max"] < num(best):  # rounding never puts the optimum outside its range
        out["min"], out["max"] = min(out["min"], num(best)), max(out["max"], num(best))
    return out


def hold_reason(b_hi, gain, rng, p0, change, cost) -> str | None:
    """Why the estimate cannot carry the move (None when it can); ``gain``: objective change at the interval ends."""
    what = "profit" if cost is not None else "revenue"
    if b_hi >= 0:
        return (f"the elasticity's interval reaches {b_hi:+.3g}: at its upper end demand does not fall with "
                "price, so no move can be recommended with confidence")
    if abs(change) >= KEEP_BAND_PCT and min(gain) < 0:
        lo, hi = sorted(gain)
        return (f"across the elasticity's interval the move would change {what} by {lo:+,.2f} to {hi:+,.2f} "
                "(currency units at the current quantity): it could lose money, so hold until the estimate is sharper")
    ends = [rng[k]["optimal_price"] for k in ("at_elasticity_lower", "at_elasticity_upper") if rng.get(k)]
    if len(ends) == 2 and min(ends) < p0 * (1 - KEEP_BAND_PCT / 100) and max(ends) > p0 * (1 + KEEP_BAND_PCT / 100):
        return (f"the optimal price is {ends[0]:.4g} at one end of the elasticity's interval and {ends[1]:.4g} at "
                "the other: the interval spans the decision to raise or cut")
    return None


def impact(best, p0, q0, b, cost, gain) -> tuple[dict[str, float | None], dict[str, str]]:
    """Impact figures at ``best`` and, for each figure left None, the reason."""
    c = cost or 0.0
    q1 = q0 * (best / p0) ** b
    r0, r1 = p0 * q0, best * q1
    out = {"quantity_change_pct": num((q1 / q0 - 1) * 100), "revenue_change_pct": num((r1 / r0 - 1) * 100),
           "revenue_change": num(r1 - r0), "estimated_quantity": num(q1), "estimated_revenue": num(r1),
           "baseline_revenue": num(r0), "profit_change_pct": None, "profit_change": None, "estimated_profit": None,
           "baseline_profit": None, "profit_change_low": None, "profit_change_high": None,
           "revenue_change_low": None, "revenue_change_high": None}
    reasons: dict[str, str] = {}
    band = sorted(gain)
    if cost is None:
        out.update(revenue_change_low=num(band[0]), revenue_change_high=num(band[1]))
        for k in ("profit_change_pct", "profit_change", "estimated_profit", "baseline_profit"):
            reasons[k] = "no cost_per_unit given: revenue is the objective"
        return out, reasons
    pi0, pi1 = (p0 - c) * q0, (best - c) * q1
    out.update(profit_change=num(pi1 - pi0), estimated_profit=num(pi1), baseline_profit=num(pi0),
               profit_change_low=num(band[0]), profit_change_high=num(band[1]))
    if pi0 > 0:
        out["profit_change_pct"] = num((pi1 / pi0 - 1) * 100)
    else:
        reasons["profit_change_pct"] = (f"the current profit is {pi0:.6g} (<= 0): a percentage change of it is "
                                        "not defined; profit_change gives the absolute change")
    return out, reasons


def note(b, cost, unbounded, binding, best, g, hold) -> str:
    """One paragraph on how the answer came about."""
    head = f"Hold: {hold}. " if hold else ""
    if binding == "cost_above_allowed_prices":
        return head + (f"The cost {cost:.6g} is above every allowed price (up to {g['upper']:.6g}): each unit sells "
                       "at a loss; the highest allowed price loses least. Review the cost or the product.")
    if unbounded:
        return head + (f"Demand is inelastic (elasticity {b:.3g} >= -1): profit keeps rising with price, so the "
                       f"unconstrained optimum is unbounded; {best:.6g} is the highest allowed price ({binding}).")
    if cost is None and b < -1:
        return head + (f"No cost given, so revenue is maximized; with elastic demand (elasticity {b:.3g}) revenue "
                       f"rises as the price falls, down to the guardrail ({binding}).")
    if binding:
        return head + f"The markup-rule optimum is outside the guardrails; the {binding} limit gives {best:.6g}."
    if cost is None:
        return head + "Unit-elastic demand: revenue does not change with price; keep the current one."
    return head + f"Markup rule P* = c b / (1 + b) with elasticity {b:.3g}, inside the guardrails."
