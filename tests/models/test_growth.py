"""The growth projection on hand-computed series."""

import numpy as np
import pytest

from models.growth import MeasuredRates, measured_rates, project, segment_split


def test_net_churn_is_what_closes_the_monthly_balance():
    # 100 active; +20 new and 90 active next month: 30 net lapsed = 30%; then +10 new, 95 active: 5 / 90
    rates = measured_rates(np.array([100, 90, 95]), np.array([7, 20, 10]))
    np.testing.assert_allclose(rates.acquisitions, [20, 10])
    np.testing.assert_allclose(rates.churn_rates, [0.3, 5 / 90])


def test_months_after_an_empty_base_give_no_rate():
    rates = measured_rates(np.array([0, 10, 12]), np.array([0, 10, 4]))
    np.testing.assert_allclose(rates.churn_rates, [0.2])


def test_constant_rates_project_exactly_with_a_zero_width_interval():
    rates = MeasuredRates(acquisitions=np.array([10.0, 10.0]), churn_rates=np.array([0.1, 0.1]))
    p = project(100.0, rates, months=3)
    np.testing.assert_allclose(p.point, [100.0, 100.0, 100.0])  # 100 x 0.9 + 10: the steady state
    np.testing.assert_allclose(p.lower, p.point)
    np.testing.assert_allclose(p.upper, p.point)
    p2 = project(50.0, rates, months=2)
    np.testing.assert_allclose(p2.point, [55.0, 59.5])


def test_the_interval_widens_with_the_months_and_covers_the_extremes_it_should():
    rates = MeasuredRates(acquisitions=np.array([5.0, 15.0]), churn_rates=np.array([0.15, 0.05]))  # 90 or 110
    p = project(100.0, rates, months=12, level=0.8, seed=1)
    widths = p.upper - p.lower
    assert np.all(widths > 0) and widths[-1] > widths[0]
    assert np.all(p.lower >= 0) and np.all(p.lower <= p.point) and np.all(p.point <= p.upper)
    assert project(100.0, rates, months=12, seed=1).upper == pytest.approx(p.upper)  # seeded: reproducible


def test_segment_shares_follow_each_segments_retention_and_entry():
    shares = segment_split(np.array([50.0, 50.0]), np.array([0.0, 0.5]), np.array([1.0, 0.0]), 10.0, months=2)
    # month 1: (50 + 10, 25) -> 60/85, 25/85; month 2: (70, 12.5)
    np.testing.assert_allclose(shares[0], [60 / 85, 25 / 85])
    np.testing.assert_allclose(shares[1], [70 / 82.5, 12.5 / 82.5])
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
