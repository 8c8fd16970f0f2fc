"""CLV and churn metrics by hand: normalized Gini, Spearman, decile calibration, reliability, coverage; Gamma-Gamma."""

from __future__ import annotations

import numpy as np
import pytest

from models.customer_metrics import (
    clv_metrics,
    decile_table,
    interval_coverage,
    normalized_gini,
    reliability_table,
    spearman,
)
from models.probabilistic import GammaGammaModel


def test_normalized_gini_is_one_for_a_perfect_ranking_and_minus_one_reversed():
    y = np.array([0.0, 0.0, 1.0, 5.0, 10.0])
    assert normalized_gini(y, y * 3 + 1) == pytest.approx(1.0)
    assert normalized_gini(y, -y) == pytest.approx(-1.0)
    # a constant prediction ties everyone: no ranking at all
    assert normalized_gini(y, np.zeros(5)) == pytest.approx(0.0)


def test_normalized_gini_by_hand():
    # sorted by prediction: actual 1, 3, 0, 0 -> cumulative shares 0.25, 1, 1, 1 over n=4: sum/4 - 5/8 = 0.1875
    # perfect order 3, 1, 0, 0 -> 0.75, 1, 1, 1: 0.9375 - 0.625 = 0.3125; ratio 0.6
    y = np.array([0.0, 1.0, 3.0, 0.0])
    p = np.array([0.1, 4.0, 2.0, 0.0])
    assert normalized_gini(y, p) == pytest.approx(0.1875 / 0.3125)


def test_spearman_uses_average_ranks():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [1, 1, 2, 2]) == pytest.approx(np.corrcoef([1, 2, 3, 4], [1.5, 1.5, 3.5, 3.5])[0, 1])
    assert np.isnan(spearman([1, 2, 3], [5, 5, 5]))


def test_decile_table_groups_by_prediction_and_averages_the_percentage_errors():
    p = np.arange(1, 21, dtype=float)
    y = p * 1.1
    table = decile_table(y, p)
    assert [g["n"] for g in table["groups"]] == [2] * 10
    assert table["groups"][0]["mean_predicted"] == pytest.approx(1.5)
    assert table["groups"][0]["mean_actual"] == pytest.approx(1.65)
    assert table["mape"] == pytest.approx(0.1 / 1.1)
    # groups whose actual mean is zero do not enter the MAPE
    y0 = y.copy()
    y0[:2] = 0.0
    assert decile_table(y0, p)["mape"] == pytest.approx(0.1 / 1.1)


def test_reliability_table_reports_observed_rates_per_decile():
    p = np.linspace(0.05, 0.95, 100)
    y = (np.arange(100) % 2).astype(float)
    rows = reliability_table(y, p)
    assert len(rows) == 10 and sum(r["n"] for r in rows) == 100
    assert all(r["observed_rate"] == pytest.approx(0.5) for r in rows)
    assert rows[0]["mean_predicted"] < rows[-1]["mean_predicted"]


def test_clv_metrics_and_interval_coverage():
    y = np.array([0.0, 10.0, 20.0, 30.0])
    m = clv_metrics(y, y + 1)
    assert m["mae"] == pytest.approx(1.0) and m["rmse"] == pytest.approx(1.0)
    assert m["normalized_gini"] == pytest.approx(1.0) and m["spearman"] == pytest.approx(1.0)
    cov = interval_coverage(y, y - 1, np.array([1.0, 11.0, 19.5, 31.0]))
    assert cov["coverage"] == 0.75 and cov["above"] == 0.25 and cov["below"] == 0.0
    with pytest.raises(ValueError, match="equal length"):
        clv_metrics(y, y[:2])


def test_gamma_gamma_reproduces_the_published_cdnow_parameters():
    lifetimes = pytest.importorskip("lifetimes")
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    del lifetimes
    d = load_cdnow_summary_data_with_monetary_value()
    r = d[d["frequency"] > 0]
    gg = GammaGammaModel().fit(r["frequency"], r["monetary_value"])
    # Fader, Hardie and Lee (2005), "RFM and CLV", and lifetimes' documentation: p 6.25, q 3.74, gamma 15.44
    assert gg.params_["p"] == pytest.approx(6.25, abs=0.01)
    assert gg.params_["q"] == pytest.approx(3.74, abs=0.01)
    assert gg.params_["gamma"] == pytest.approx(15.44, abs=0.02)
    value = gg.expected_order_value([0, 2], [0.0, 30.0])
    p, q, g = gg.params_["p"], gg.params_["q"], gg.params_["gamma"]
    np.testing.assert_allclose(value, [p * g / (q - 1), p * (g + 60) / (2 * p + q - 1)])
