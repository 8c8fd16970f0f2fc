"""Cohort matrices on a hand-computed example: three monthly cohorts observed for 3, 2 and 1 periods."""

import numpy as np
import pytest

from models.cohorts import cohort_matrix, payback_period

# cohort index, period index, active customers, revenue; the last complete period is 2
ROWS = [(0, 0, 10, 500.0), (0, 1, 4, 160.0), (0, 2, 3, 150.0), (1, 1, 4, 100.0), (1, 2, 1, 60.0), (2, 2, 5, 250.0)]


def _matrix():
    c, p, a, r = (np.array(x) for x in zip(*ROWS, strict=True))
    return cohort_matrix(c, p, a, r, last_period=2)


def test_retention_and_ltv_per_cohort_by_age():
    m = _matrix()
    assert m.sizes.tolist() == [10, 4, 5]
    np.testing.assert_allclose(m.retention[0], [1.0, 0.4, 0.3])
    np.testing.assert_allclose(m.retention[1], [1.0, 0.25, np.nan])  # age 2 not reached yet: unknown, not 0
    np.testing.assert_allclose(m.ltv[0], [50.0, 66.0, 81.0])  # (500, 660, 810) / 10
    np.testing.assert_allclose(m.ltv[1], [25.0, 40.0, np.nan])


def test_curves_weight_each_age_by_the_cohorts_that_reached_it():
    m = _matrix()
    np.testing.assert_allclose(m.curve_retention, [1.0, 5 / 14, 0.3])
    np.testing.assert_allclose(m.curve_ltv, [850 / 19, 820 / 14, 81.0])
    np.testing.assert_allclose(m.curve_revenue, [850 / 19, 220 / 14, 15.0])
    assert m.curve_cohorts.tolist() == [3, 2, 1]


def test_an_observed_period_without_activity_is_zero_not_missing():
    m = cohort_matrix(np.array([0, 0]), np.array([0, 2]), np.array([2, 1]), np.array([10.0, 4.0]), last_period=3)
    np.testing.assert_allclose(m.retention[0], [1.0, 0.0, 0.5, 0.0])
    np.testing.assert_allclose(m.ltv[0], [5.0, 5.0, 7.0, 7.0])


def test_payback_is_the_first_age_the_value_reaches_the_cost():
    assert payback_period([50.0, 66.0, 81.0], 60.0) == 1
    assert payback_period([25.0, 40.0], 60.0) is None
    assert payback_period([None, 70.0], 60.0) == 1
    assert payback_period([50.0], 50.0) == 0


def test_rows_outside_the_observed_window_are_refused():
    with pytest.raises(ValueError):
        cohort_matrix(np.array([1]), np.array([0]), np.array([1]), np.array([1.0]), last_period=2)
