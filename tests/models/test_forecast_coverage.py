import numpy as np
import pytest

from models.forecast_coverage import coverage_by_grain


def test_coverage_is_measured_per_grain_on_trading_days_only():
    # product 0 daily (trades Mon-Sat), product 1 weekly (Mondays only)
    trading = np.array([[True] * 6 + [False], [True] + [False] * 6])
    y = np.array([5.0, 9.0, 0.0, 40.0, 0.0, 70.0])
    lo = np.array([3.0, 3.0, 0.0, 30.0, 1.0, 30.0])
    hi = np.array([7.0, 7.0, 0.0, 50.0, 2.0, 50.0])
    product = np.array([0, 0, 0, 1, 1, 1])
    weekday = np.array([0, 1, 6, 0, 3, 0])  # a Sunday row of product 0 and a Thursday row of product 1 are off-days
    out = coverage_by_grain(y, lo, hi, product, weekday, np.array(["daily", "weekly"]), trading)
    assert out["daily"] == {"coverage": 0.5, "n": 2, "mean_width": 4.0, "products": 1}
    assert out["weekly"] == {"coverage": 0.5, "n": 2, "mean_width": 20.0, "products": 1}


def test_a_malformed_trading_mask_is_refused():
    with pytest.raises(ValueError, match="trading"):
        coverage_by_grain(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), np.array(["daily"]),
                          np.ones((1, 5), bool))
