import numpy as np
import pytest

from models.pricing import (
    CURVE_POINTS,
    SENSITIVITY_STEPS,
    PriceOutOfSupport,
    PricingError,
    optimize_price,
    what_if_quantity,
    whatif_forecast,
)

BASE = dict(current_price=100.0, current_quantity=1000.0, price_min=50.0, price_max=200.0)


def opt(**kw):
    args = dict(BASE, cost_per_unit=60.0, elasticity=-2.5, elasticity_ci=(-2.6, -2.4))
    args.update(kw)
    return optimize_price(**args)


def test_markup_rule_inside_the_guardrails():
    r = opt(cost_per_unit=55.0)  # P* = 55 * 2.5 / 1.5 = 91.6667
    assert r.optimal_price == pytest.approx(91.6667, abs=1e-3) and r.recommended_price == r.optimal_price
    assert r.binding_constraint is None and not r.unbounded
    assert r.action == "decrease" and r.recommendation == "Decrease price" and r.hold_reason is None
    q1 = 1000 * (91.6667 / 100) ** -2.5
    assert r.estimated_impact["quantity_change_pct"] == pytest.approx((q1 / 1000 - 1) * 100, rel=1e-4)
    assert r.estimated_impact["estimated_revenue"] == pytest.approx(91.6667 * q1, rel=1e-4)
    assert r.estimated_impact["profit_change_pct"] > 0
    assert 0 < r.estimated_impact["profit_change_low"] <= r.estimated_impact["profit_change_high"]


def test_the_optimum_lies_inside_its_own_range_and_the_guardrails():
    cases = [dict(cost_per_unit=c, elasticity=b, elasticity_ci=(b - w, min(b + w, -0.01)))
             for c in (None, 0.0, 30.0, 60.0, 95.0, 150.0) for b in (-6.0, -2.5, -1.2, -1.0, -0.6)
             for w in (0.0, 0.1, 0.8)]
    for kw in cases:
        r = opt(**kw)
        rng = r.optimal_price_range
        assert rng["min"] <= r.optimal_price <= rng["max"], kw
        assert r.guardrails["lower"] <= r.optimal_price <= r.guardrails["upper"], kw
        assert all(r.guardrails["lower"] <= row["price"] <= r.guardrails["upper"] for row in r.profit_curve)


def test_the_optimum_beats_every_curve_point():
    r = opt(cost_per_unit=70.0)
    best = max(row["profit"] for row in r.profit_curve)
    assert (r.optimal_price - 70) * r.estimated_impact["estimated_quantity"] == pytest.approx(best, rel=1e-5)


def test_max_step_caps_the_move():
    r = opt(cost_per_unit=90.0)  # P* = 150: 50% up, capped at +20%
    assert r.optimal_price == pytest.approx(120.0) and r.binding_constraint == "max_step"
    assert r.price_change_pct == pytest.approx(20.0)
    assert opt(cost_per_unit=90.0, max_change=0.3).optimal_price == pytest.approx(130.0)


def test_never_below_cost():
    r = opt(cost_per_unit=95.0, elasticity=-30.0, elasticity_ci=(-31, -29))
    assert r.optimal_price >= 95.0 and r.binding_constraint in (None, "cost")


def test_cost_above_every_allowed_price_says_so_and_stays_in_support():
    r = opt(cost_per_unit=150.0)
    assert r.optimal_price == pytest.approx(120.0) and r.binding_constraint == "cost_above_allowed_prices"
    assert "loss" in r.note and r.optimal_price <= r.guardrails["range_max"]


def test_observed_range_widened_by_the_margin_limits_the_price():
    r = opt(cost_per_unit=90.0, price_max=105.0, range_margin=0.1)
    assert r.optimal_price == pytest.approx(115.5) and r.binding_constraint == "observed_range"


def test_an_absurd_current_price_is_refused_naming_the_observed_range():
    with pytest.raises(PriceOutOfSupport, match="1.54 to 3.01") as err:
        optimize_price(current_price=1e9, current_quantity=10, cost_per_unit=None, elasticity=-2.0,
                       elasticity_ci=(-2.5, -1.5), price_min=1.54, price_max=3.01)
    assert err.value.code == "price_out_of_support" and isinstance(err.value, ValueError)
    assert err.value.details == {"field": "current_price", "price": 1e9, "observed_min": 1.54, "observed_max": 3.01,
                                 "allowed_min": 1.386, "allowed_max": 3.311}
    with pytest.raises(PriceOutOfSupport):
        opt(current_price=1e-300)


def test_positive_elasticity_holds_without_an_optimum():
    r = opt(elasticity=0.4, elasticity_ci=(0.1, 0.7))
    assert r.action == "hold" and r.recommended_price == 100.0 and r.price_change_pct == 0.0
    assert r.optimal_price is None and not r.usable_for_pricing and "not negative" in r.hold_reason
    assert r.profit_curve == [] and all(row["quantity"] is None for row in r.sensitivity)


def test_a_flagged_elasticity_holds_even_when_negative():
    r = opt(usable_for_pricing=False)
    assert r.action == "hold" and "flagged" in r.hold_reason and r.optimal_price is None


def test_an_interval_that_spans_the_decision_holds():
    r = opt(cost_per_unit=55.0, elasticity_ci=(-3.0, -2.0))  # optimum 82.5 at -3 but 110 at -2
    assert r.action == "hold" and r.recommended_price == 100.0
    assert r.optimal_price == pytest.approx(91.6667, abs=1e-3)  # still reported, inside its range
    assert r.optimal_price_range["min"] <= r.optimal_price <= r.optimal_price_range["max"]
    assert r.estimated_impact["profit_change_low"] < 0 < r.estimated_impact["profit_change_high"]
    assert "could lose money" in r.hold_reason
    r = opt(elasticity=-0.5, elasticity_ci=(-1.0, 0.2))
    assert r.action == "hold" and "reaches" in r.hold_reason


def test_profit_curve_band_comes_from_the_interval():
    r = opt(cost_per_unit=55.0, elasticity_ci=(-3.0, -2.0))
    assert len(r.profit_curve) >= CURVE_POINTS
    for row in r.profit_curve:
        assert row["profit_low"] <= row["profit"] + 1e-6 and row["profit"] <= row["profit_high"] + 1e-6
    at_p0 = next(row for row in r.profit_curve if row["price"] == 100.0)
    assert at_p0["profit_low"] == at_p0["profit_high"] == pytest.approx(45_000)  # every curve passes through P0


def test_zero_or_negative_baseline_profit_gives_null_percentages_with_a_reason():
    r = opt(cost_per_unit=100.0, elasticity=-0.5, elasticity_ci=(-0.6, -0.4))  # profit now exactly 0
    assert r.estimated_impact["profit_change_pct"] is None and "<= 0" in r.impact_reasons["profit_change_pct"]
    assert r.estimated_impact["profit_change"] > 0 and r.estimated_impact["baseline_profit"] == 0
    r = opt(cost_per_unit=101.0, elasticity=-0.5, elasticity_ci=(-0.6, -0.4))  # -1000 now
    assert r.estimated_impact["profit_change_pct"] is None and r.estimated_impact["baseline_profit"] == -1000


def test_inelastic_demand_is_unbounded_and_reports_the_guardrail_price():
    r = opt(elasticity=-0.6, elasticity_ci=(-0.7, -0.5))
    assert r.unbounded and r.unconstrained_optimal_price is None
    assert r.optimal_price == pytest.approx(120.0) and "unbounded" in r.note and r.action == "increase"


def test_without_cost_revenue_is_maximized():
    r = opt(cost_per_unit=None, elasticity=-2.0, elasticity_ci=(-2.2, -1.8))
    assert r.objective == "revenue" and r.optimal_price == pytest.approx(80.0)  # elastic: as low as allowed
    assert r.estimated_impact["estimated_profit"] is None and "no cost" in r.impact_reasons["profit_change"]
    assert all(row["profit"] is None for row in r.sensitivity)
    r = opt(cost_per_unit=None, elasticity=-1.0, elasticity_ci=(-1.0, -1.0))
    assert r.optimal_price == pytest.approx(100.0) and r.action == "keep"


def test_sensitivity_only_quotes_demand_inside_the_support():
    r = opt(price_min=90.0, price_max=110.0)  # widened: 81 .. 121
    assert [row["price_change_pct"] for row in r.sensitivity] == [round(s * 100, 4) for s in SENSITIVITY_STEPS]
    for row in r.sensitivity:
        assert row["within_support"] == (81 <= row["price"] <= 121)
        assert (row["quantity"] is None) == (not row["within_support"])
    row = next(x for x in r.sensitivity if x["price_change_pct"] == 20.0)
    assert row["quantity"] == pytest.approx(1000 * 1.2 ** -2.5, rel=1e-5)


def test_every_float_in_the_answer_is_rounded():
    d = optimize_price(current_price=2.0 / 3, current_quantity=10 / 3, cost_per_unit=0.1 / 3, elasticity=-2.123456789,
                       elasticity_ci=(-2.2, -2.0), price_min=0.5, price_max=0.9).to_dict()

    def walk(x):
        if isinstance(x, float):
            assert x == float(f"{x:.6g}"), x
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(d)


@pytest.mark.parametrize("kw, match, code", [
    ({"current_price": 0}, "current_price", "invalid_input"), ({"cost_per_unit": -1}, "cost", "invalid_input"),
    ({"max_change": 1.5}, "max_change", "invalid_input"), ({"price_min": 300.0}, "price_min", "invalid_input"),
    ({"elasticity_ci": (-1, -3)}, "ci", "invalid_elasticity"),
    ({"elasticity": -5.0}, "outside its own interval", "invalid_elasticity"),
    ({"elasticity": float("nan")}, "finite", "invalid_elasticity"),
    ({"current_quantity": float("nan")}, "current_quantity", "invalid_input")])
def test_bad_inputs_raise_a_coded_error_naming_the_value(kw, match, code):
    with pytest.raises(PricingError, match=match) as err:
        opt(**kw)
    assert err.value.code == code and isinstance(err.value, ValueError)


def test_what_if_quantity_follows_the_curve_and_refuses_outside_the_support():
    assert what_if_quantity(100.0, base_price=10, planned_price=11, elasticity=-2) == pytest.approx(100 * 1.1 ** -2)
    with pytest.raises(PricingError, match="planned_price"):
        what_if_quantity(1.0, base_price=10, planned_price=-1, elasticity=-2)
    with pytest.raises(PriceOutOfSupport, match="9 to 11"):
        what_if_quantity(1.0, base_price=10, planned_price=20, elasticity=-2, price_range=(9.0, 11.0))


def test_whatif_forecast_interpolates_the_grid_in_log_price():
    mult = np.array([0.8, 1.0, 1.25])
    grid = np.array([[12.0, 6.0], [10.0, 5.0], [8.0, 4.0]])
    out, m = whatif_forecast(grid[1], grid, mult, last_price=10.0, planned_price=10.0)
    np.testing.assert_allclose(out, [10, 5])
    assert m == 1.0
    out, m = whatif_forecast(grid[1], grid, mult, last_price=10.0, planned_price=10.0 * np.sqrt(1.25))
    np.testing.assert_allclose(out, [9.0, 4.5])
    out, m = whatif_forecast(grid[1], grid, mult, last_price=10.0, planned_price=100.0)
    np.testing.assert_allclose(out, [8, 4])
    assert m == 1.25
    with pytest.raises(ValueError, match="grid"):
        whatif_forecast(grid[1], grid[:2], mult, last_price=10.0, planned_price=10.0)


def test_request_path_module_imports_numpy_only():
    import subprocess
    import sys

    code = ("import sys, models.pricing; bad = [m for m in ('scipy', 'pandas', 'sklearn', 'xgboost', 'lightgbm', "
            "'pyarrow') if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=__file__.rsplit("/tests/", 1)[0])
    assert out.stdout.strip() == ""


def test_the_answer_is_plain_json():
    import json

    for kw in ({}, {"elasticity": 0.3, "elasticity_ci": (0.1, 0.5)}, {"cost_per_unit": None}):
        d = opt(**kw).to_dict()
        assert json.loads(json.dumps(d, allow_nan=False)) == d


def test_no_cost_and_elastic_demand_reports_no_unconstrained_optimum():
    """Revenue keeps rising as the price falls: the markup rule's limit (a price of 0) is no advice, so null."""
    r = opt(cost_per_unit=None)
    assert r.unconstrained_optimal_price is None and r.optimal_price > 0
