import numpy as np
import pytest

from models.pricing import SENSITIVITY_STEPS, optimize_price, what_if_quantity, whatif_forecast

BASE = dict(current_price=100.0, current_quantity=1000.0, price_min=50.0, price_max=200.0)


def opt(**kw):
    args = dict(BASE, cost_per_unit=60.0, elasticity=-2.5, elasticity_ci=(-3.0, -2.0))
    args.update(kw)
    return optimize_price(**args)


def test_markup_rule_inside_the_guardrails():
    r = opt(cost_per_unit=55.0)  # P* = 55 * 2.5 / 1.5 = 91.67
    assert r.optimal_price == pytest.approx(91.6667, abs=1e-3)
    assert r.binding_constraint is None and not r.unbounded
    assert r.recommendation == "Decrease price"
    q1 = 1000 * (91.6667 / 100) ** -2.5
    assert r.estimated_impact["quantity_change_pct"] == pytest.approx((q1 / 1000 - 1) * 100, rel=1e-4)
    assert r.estimated_impact["estimated_revenue"] == pytest.approx(91.6667 * q1, rel=1e-4)
    assert r.estimated_impact["profit_change_pct"] > 0


def test_the_optimum_beats_every_sensitivity_point_within_the_guardrails():
    r = opt(cost_per_unit=70.0)
    lo, hi = r.guardrails["step_min"], r.guardrails["step_max"]
    best_profit = (r.optimal_price - 70) * r.estimated_impact["estimated_quantity"]
    for row in r.sensitivity:
        if lo <= row["price"] <= hi:
            assert row["profit"] <= best_profit + 1e-6


def test_max_step_caps_the_move():
    r = opt(cost_per_unit=90.0)  # P* = 150: 50% up, capped at +20%
    assert r.optimal_price == pytest.approx(120.0)
    assert r.binding_constraint == "max_step" and r.price_change_pct == pytest.approx(20.0)
    r = opt(cost_per_unit=90.0, max_change=0.3)
    assert r.optimal_price == pytest.approx(130.0)


def test_never_below_cost():
    r = opt(cost_per_unit=95.0, elasticity=-30.0, elasticity_ci=(-31, -29))  # P* = 98.3 ... but cost floor first
    assert r.optimal_price >= 95.0
    r = opt(cost_per_unit=99.0, elasticity=-200.0, elasticity_ci=(-210, -190), max_change=0.5)
    assert r.optimal_price >= 99.0


def test_cost_above_the_largest_step_raises_by_the_step_and_says_so():
    r = opt(cost_per_unit=150.0)
    assert r.optimal_price == pytest.approx(120.0) and r.binding_constraint == "cost_above_max_step"
    assert "below cost" in r.note


def test_observed_range_widened_by_the_margin_limits_the_price():
    r = opt(cost_per_unit=90.0, price_max=105.0, range_margin=0.1)
    assert r.optimal_price == pytest.approx(115.5) and r.binding_constraint == "observed_range"


def test_inelastic_demand_is_unbounded_and_reports_the_guardrail_price():
    r = opt(elasticity=-0.6, elasticity_ci=(-0.9, -0.3))
    assert r.unbounded and r.unconstrained_optimal_price is None
    assert r.optimal_price == pytest.approx(120.0) and "unbounded" in r.note
    assert r.recommendation == "Increase price"


def test_without_cost_revenue_is_maximized():
    r = opt(cost_per_unit=None, elasticity=-2.0, elasticity_ci=(-2.5, -1.5))
    assert r.objective == "revenue" and r.optimal_price == pytest.approx(80.0)  # elastic: as low as allowed
    assert r.estimated_impact["estimated_profit"] is None
    assert all(row["profit"] is None for row in r.sensitivity)
    r = opt(cost_per_unit=None, elasticity=-1.0, elasticity_ci=(-1.2, -0.8))
    assert r.optimal_price == pytest.approx(100.0) and r.recommendation == "Keep current price"


def test_sensitivity_table_spans_minus_to_plus_30_percent():
    r = opt()
    assert [row["price_change_pct"] for row in r.sensitivity] == [round(s * 100, 1) for s in SENSITIVITY_STEPS]
    assert r.sensitivity[0]["price"] == pytest.approx(70.0) and r.sensitivity[-1]["price"] == pytest.approx(130.0)
    row = r.sensitivity[-1]
    assert row["quantity"] == pytest.approx(1000 * 1.3 ** -2.5, rel=1e-4)
    assert row["revenue"] == pytest.approx(130 * row["quantity"], rel=1e-4)
    assert row["profit"] == pytest.approx(70 * row["quantity"], rel=1e-4)


def test_ci_implied_range_of_optimal_prices():
    r = opt(cost_per_unit=60.0, elasticity_ci=(-3.0, -2.0), max_change=0.5)
    rng = r.optimal_price_range
    assert rng["at_elasticity_lower"]["optimal_price"] == pytest.approx(90.0)  # 60 * 3 / 2
    assert rng["at_elasticity_upper"]["optimal_price"] == pytest.approx(120.0)  # 60 * 2 / 1
    assert rng["min"] <= r.optimal_price <= rng["max"]
    r = opt(elasticity_ci=(-3.0, -0.5))
    assert r.optimal_price_range["at_elasticity_upper"]["unbounded"]


def test_to_dict_has_the_api_fields():
    d = opt().to_dict()
    for key in ("current_price", "optimal_price", "price_change_pct", "recommendation", "estimated_impact",
                "sensitivity", "optimal_price_range"):
        assert key in d
    assert set(d["estimated_impact"]) >= {"quantity_change_pct", "revenue_change_pct", "profit_change_pct",
                                          "estimated_revenue"}


@pytest.mark.parametrize("kw, match", [({"current_price": 0}, "current_price"), ({"cost_per_unit": -1}, "cost"),
                                        ({"elasticity": 0.3}, "not negative"), ({"max_change": 1.5}, "max_change"),
                                        ({"price_min": 300.0}, "price_min"), ({"elasticity_ci": (-1, -3)}, "ci"),
                                        ({"current_quantity": float("nan")}, "current_quantity")])
def test_bad_inputs_raise_naming_the_value(kw, match):
    with pytest.raises(ValueError, match=match):
        opt(**kw)


def test_what_if_quantity_follows_the_constant_elasticity_curve():
    assert what_if_quantity(100.0, base_price=10, planned_price=11, elasticity=-2) == pytest.approx(100 * 1.1 ** -2)
    with pytest.raises(ValueError, match="planned_price"):
        what_if_quantity(1.0, base_price=10, planned_price=-1, elasticity=-2)


def test_whatif_forecast_interpolates_the_grid_in_log_price():
    mult = np.array([0.8, 1.0, 1.25])
    grid = np.array([[12.0, 6.0], [10.0, 5.0], [8.0, 4.0]])
    out, m = whatif_forecast(grid[1], grid, mult, last_price=10.0, planned_price=10.0)
    np.testing.assert_allclose(out, [10, 5]) and m == 1.0
    out, m = whatif_forecast(grid[1], grid, mult, last_price=10.0, planned_price=10.0 * np.sqrt(1.25))
    np.testing.assert_allclose(out, [9.0, 4.5])
    out, m = whatif_forecast(grid[1], grid, mult, last_price=10.0, planned_price=100.0)
    np.testing.assert_allclose(out, [8, 4]) and m == 1.25
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
