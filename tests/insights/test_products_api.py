"""insights.api.products: forecast slices, elasticity, optimization and the planned-price what-if over a snapshot."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))
from snapshot_factory import build_snapshot  # noqa: E402

from insights.api import products  # noqa: E402
from insights.errors import InsufficientData, InvalidRequest, NotFound  # noqa: E402


@pytest.fixture(scope="module")
def snap():
    return build_snapshot()


def test_forecast_slices_the_stored_90_days_from_as_of(snap):
    out = products.forecast(snap, product_id="P1", forecast_days=7)
    assert [p["date"] for p in out["forecast"]] == [f"2026-11-0{d}" for d in range(1, 8)]
    assert [p["predicted_quantity"] for p in out["forecast"]] == [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]
    assert out["forecast"][0]["confidence_lower"] == 7.0 and out["forecast"][0]["confidence_upper"] == 13.0
    assert out["total_predicted_quantity"] == 91.0
    assert out["method"] == "model" and out["status"] == "ok" and out["interval_level"] == 0.8


def test_forecast_of_90_days_is_the_whole_stored_horizon(snap):
    out = products.forecast(snap, product_id="P1", forecast_days=90)
    assert len(out["forecast"]) == 90 and out["forecast"][-1]["date"] == "2027-01-29"


def test_fallback_products_are_flagged(snap):
    out = products.forecast(snap, product_id="P2", forecast_days=3)
    assert out["status"] == "fallback" and out["method"] == "tsb"
    assert [p["predicted_quantity"] for p in out["forecast"]] == [2.0, 2.0, 2.0]


def test_forecast_of_an_unknown_product_is_not_found(snap):
    with pytest.raises(NotFound):
        products.forecast(snap, product_id="NOPE", forecast_days=3)


def test_forecast_with_no_history_is_insufficient_data(snap):
    with pytest.raises(InsufficientData) as info:
        products.forecast(snap, product_id="P3", forecast_days=3)
    assert info.value.missing == "sales_history"


@pytest.mark.parametrize("days", [0, 91])
def test_forecast_days_outside_1_to_90_is_an_invalid_request(snap, days):
    with pytest.raises(InvalidRequest, match="forecast_days"):
        products.forecast(snap, product_id="P1", forecast_days=days)


def test_elasticity_answer_has_the_design_fields(snap):
    out = products.price_elasticity(snap, product_id="P1")
    assert out["elasticity_coefficient"] == -1.5 and out["r_squared"] == 0.85
    assert out["elasticity_type"] == "Elastic" and out["interpretation"].startswith("Demand")
    assert out["price_range"] == {"min": 3.0, "max": 5.0, "mean": 4.0}
    assert out["standard_error"] == 0.2 and out["n_observations"] == 120 and out["p_value"] == 0.0001


def test_a_refused_elasticity_says_why(snap):
    with pytest.raises(InsufficientData, match="price never changed"):
        products.price_elasticity(snap, product_id="P2")


def _q(out):
    return np.array([p["predicted_quantity"] for p in out["forecast"]])


def test_planned_price_on_a_grid_point_is_the_models_own_what_if(snap):
    pytest.importorskip("models.pricing")
    base = products.forecast(snap, product_id="P1", forecast_days=5)
    up = products.forecast(snap, product_id="P1", forecast_days=5, planned_price=4.2 * 1.1)
    np.testing.assert_allclose(_q(up), _q(base) * 1.1 ** -2.0, rtol=1e-4)  # grid row for multiplier 1.1
    assert up["what_if"]["method"] == "model_price_grid" and up["what_if"]["base_price"] == 4.2
    assert up["what_if"]["clipped_to_grid"] is False


def test_planned_price_between_grid_points_is_interpolated_in_log_price(snap):
    pytest.importorskip("models.pricing")
    base = _q(products.forecast(snap, product_id="P1", forecast_days=3))
    out = products.forecast(snap, product_id="P1", forecast_days=3, planned_price=4.2 * 1.05)
    w = np.log(1.05) / np.log(1.1)
    np.testing.assert_allclose(_q(out), (1 - w) * base + w * base * 1.1 ** -2.0, rtol=1e-4)


def test_planned_price_beyond_the_grid_is_clipped_and_says_so(snap):
    pytest.importorskip("models.pricing")
    base = _q(products.forecast(snap, product_id="P1", forecast_days=3))
    out = products.forecast(snap, product_id="P1", forecast_days=3, planned_price=4.2 * 2)
    np.testing.assert_allclose(_q(out), base * 1.3 ** -2.0, rtol=1e-4)
    assert out["what_if"]["clipped_to_grid"] is True and out["what_if"]["price_multiplier"] == 1.3


def test_planned_price_keeps_the_interval_width_around_the_new_point(snap):
    pytest.importorskip("models.pricing")
    out = products.forecast(snap, product_id="P1", forecast_days=4, planned_price=4.2 * 0.9)
    for p in out["forecast"]:
        assert p["confidence_upper"] - p["predicted_quantity"] == pytest.approx(3.0, abs=1e-3)
        assert p["confidence_lower"] <= p["predicted_quantity"] <= p["confidence_upper"]
        assert p["confidence_upper_wide"] - p["predicted_quantity"] == pytest.approx(6.0, abs=1e-3)


def test_the_95_percent_band_is_answered_around_the_80_percent_band(snap):
    out = products.forecast(snap, product_id="P1", forecast_days=7)
    assert out["interval_level"] == 0.8 and out["wide_interval_level"] == 0.95
    for p in out["forecast"]:
        assert p["confidence_lower_wide"] <= p["confidence_lower"] <= p["confidence_upper"]
        assert p["confidence_upper"] <= p["confidence_upper_wide"]


def test_a_snapshot_written_before_the_95_percent_band_answers_it_as_null():
    from snapshot_factory import snapshot_parts

    from insights.snapshot.reader import Snapshot

    parts = snapshot_parts()
    for col in ("confidence_lower_wide", "confidence_upper_wide"):
        del parts["tables"]["forecast"][col]
    old = Snapshot.from_memory(parts["version"], parts["manifest"], parts["tables"], parts["docs"], keys=parts["keys"])
    out = products.forecast(old, product_id="P1", forecast_days=3)
    assert out["wide_interval_level"] is None
    assert all(p["confidence_lower_wide"] is None and p["confidence_upper_wide"] is None for p in out["forecast"])
    assert out["forecast"][0]["confidence_lower"] == 7.0


def test_fallback_products_use_the_constant_elasticity_from_the_reference_price(snap):
    pytest.importorskip("models.pricing")
    out = products.forecast(snap, product_id="P4", forecast_days=3, planned_price=11.0)
    np.testing.assert_allclose(_q(out), 5.0 * 1.1 ** -0.5, rtol=1e-4)
    assert out["what_if"] == {"planned_price": 11.0, "base_price": 10.0, "method": "constant_elasticity",
                              "elasticity": -0.5}


def test_planned_price_without_a_usable_elasticity_is_insufficient_data(snap):
    pytest.importorskip("models.pricing")
    with pytest.raises(InsufficientData, match="planned price"):
        products.forecast(snap, product_id="P2", forecast_days=5, planned_price=3.0)


def test_price_optimization_respects_the_step_guardrail(snap):
    pytest.importorskip("models.pricing")
    out = products.price_optimization(snap, product_id="P1", current_price=4.0, current_quantity=100,
                                      cost_per_unit=2.0, max_change=0.2, range_margin=0.1)
    assert out["product_id"] == "P1" and out["optimal_price"] == pytest.approx(4.8)
    assert out["recommendation"]


def test_price_optimization_starts_from_the_stored_price_and_quantity_when_they_are_omitted(snap):
    out = products.price_optimization(snap, product_id="P1", current_price=None, current_quantity=None,
                                      cost_per_unit=2.0, max_change=0.2, range_margin=0.1)
    assert out["inputs"]["current_price"] == 4.2 and out["current_price"] == 4.2  # P1's last observed price
    assert out["inputs"]["current_quantity"] == 10.0  # its mean daily units over 28 days
    assert out["inputs"]["current_price_source"] == "the last observed unit price"
    assert out["inputs"]["current_quantity_source"].startswith("mean daily units")
    assert out["estimated_impact"]["baseline_revenue"] == pytest.approx(42.0)  # 4.2 x 10 a day
    given = products.price_optimization(snap, product_id="P1", current_price=4.0, current_quantity=100,
                                        cost_per_unit=2.0, max_change=0.2, range_margin=0.1)
    assert given["inputs"] == {"current_price": 4.0, "current_price_source": "given", "current_quantity": 100,
                               "current_quantity_source": "given"}


def test_an_omitted_price_with_nothing_stored_to_stand_in_asks_for_it(snap):
    with pytest.raises(InvalidRequest, match="send current_price") as err:  # P6: no forecast row, no last price
        products.price_optimization(snap, product_id="P6", current_price=None, current_quantity=5.0,
                                    cost_per_unit=None, max_change=0.2, range_margin=0.1)
    assert err.value.details["reason"] == "current_price_required"


def test_price_optimization_of_a_refused_elasticity_is_insufficient_data(snap):
    with pytest.raises(InsufficientData):
        products.price_optimization(snap, product_id="P2", current_price=2.5, current_quantity=10,
                                    cost_per_unit=None, max_change=0.2, range_margin=0.1)


def test_price_optimization_of_an_unknown_product_is_not_found(snap):
    with pytest.raises(NotFound):
        products.price_optimization(snap, product_id="NOPE", current_price=2.5, current_quantity=10,
                                    cost_per_unit=None, max_change=0.2, range_margin=0.1)


def test_a_snapshot_written_before_the_pooled_columns_keeps_its_meaning():
    from snapshot_factory import product_tables  # noqa: E402

    from insights.snapshot.reader import Snapshot

    _, el = product_tables()
    old = {k: el[k] for k in ("product_id", "status", "reason", "elasticity_coefficient", "standard_error", "ci_lower",
                              "ci_upper", "p_value", "r_squared", "n_observations", "elasticity_type",
                              "interpretation", "price_min", "price_max", "price_mean", "reference_quantity")}
    snap = Snapshot.from_memory("old", {"as_of": "2026-11-01"}, {"elasticity": old}, {},
                                keys={"elasticity": "product_id"})
    out = products.price_elasticity(snap, product_id="P1")
    assert out["status"] == "answered" and out["usable_for_pricing"] is True and out["grain"] == "daily"
    held = products.price_optimization(snap, product_id="P6", current_price=1.2, current_quantity=5,
                                       cost_per_unit=None, max_change=0.2, range_margin=0.1)
    assert held["action"] == "hold" and held["elasticity_status"] == "flagged_positive"  # positive: never priced
