"""The experiment calculator's statistics: published worked examples, then scipy on many inputs.

Published examples (their printed values, to the digits printed):
- R, ?power.prop.test, Examples: power.prop.test(p1 = .50, p2 = .75, power = .90)  =>  n = 76.7 per group.
- R, ?power.t.test, Examples: power.t.test(power = .90, delta = 1)  =>  n = 22.02110 per group (noncentral t;
  our t-iterated normal formula is documented to be within 0.1 of it).
- R, ?t.test on the `sleep` data (Student 1908): t.test(extra ~ group, data = sleep), Welch:
  t = -1.8608, df = 17.776, p-value = 0.07939, 95% CI -3.3654832 0.2054832.
- Agresti, Categorical Data Analysis (Physicians' Health Study: myocardial infarction in 189 of 11,034 on placebo,
  104 of 11,037 on aspirin): difference 0.0077, 95% Wald interval (0.005, 0.011); Pearson X^2 = 25.01 (= z^2).
- Standard normal and t tables: z_0.975 = 1.959964, z_0.8 = 0.841621, t_0.975,10 = 2.228139.
"""

from __future__ import annotations

import math
import statistics

import pytest

from insights.api import stats
from insights.api.experiment_schemas import ConversionArm, MeanArm
from insights.api.experiments import analyze, sample_size
from insights.errors import InvalidRequest

SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def _mean_arm(name: str, xs: list[float]) -> MeanArm:
    return MeanArm(name=name, n=len(xs), mean=statistics.mean(xs), sd=statistics.stdev(xs))


def test_quantiles_match_the_tables():
    assert stats.norm_ppf(0.975) == pytest.approx(1.959964, abs=1e-6)
    assert stats.norm_ppf(0.8) == pytest.approx(0.841621, abs=1e-6)
    assert stats.t_ppf(0.975, 10) == pytest.approx(2.228139, abs=1e-6)


def test_sample_size_of_r_power_prop_test_example():
    answer = sample_size(baseline_rate=0.5, minimum_detectable_effect=0.25, mde_type="absolute", power=0.9)
    assert answer["unrounded_control"] == pytest.approx(76.7, abs=0.05)
    assert answer["sample_size_per_arm"] == {"control": 77, "treatment": 77} and answer["total_sample_size"] == 154
    relative = sample_size(baseline_rate=0.5, minimum_detectable_effect=0.5, power=0.9)  # +50% of 0.5 = +0.25
    assert relative["sample_size_per_arm"] == answer["sample_size_per_arm"] and relative["target"] == 0.75


def test_sample_size_of_r_power_t_test_example():
    answer = sample_size(baseline_mean=10.0, baseline_sd=1.0, minimum_detectable_effect=1.0, mde_type="absolute",
                         power=0.9)
    assert answer["unrounded_control"] == pytest.approx(22.02110, abs=0.1)
    assert answer["sample_size_per_arm"]["control"] == 23 and answer["metric"] == "mean"


def test_unequal_arms_need_more_units_in_total_and_keep_the_ratio():
    equal = sample_size(baseline_rate=0.1, minimum_detectable_effect=0.2)
    skewed = sample_size(baseline_rate=0.1, minimum_detectable_effect=0.2, ratio=3.0)
    assert skewed["total_sample_size"] > equal["total_sample_size"]
    sizes = skewed["sample_size_per_arm"]
    assert sizes["treatment"] == math.ceil(3.0 * skewed["unrounded_control"] - 1e-9)
    assert sizes["control"] < equal["sample_size_per_arm"]["control"] < sizes["treatment"]


def test_a_target_rate_outside_0_1_is_refused():
    with pytest.raises(InvalidRequest):
        sample_size(baseline_rate=0.8, minimum_detectable_effect=0.5)


def test_welch_matches_r_on_the_sleep_data():
    answer = analyze([_mean_arm("1", SLEEP_1), _mean_arm("2", SLEEP_2)], control="2")
    (row,) = answer["comparisons"]
    assert row["statistic"] == pytest.approx(-1.8608, abs=1e-4) and row["df"] == pytest.approx(17.776, abs=1e-3)
    assert row["p_value"] == pytest.approx(0.07939, abs=1e-5)
    assert row["difference_interval"]["lower"] == pytest.approx(-3.3654832, abs=1e-6)
    assert row["difference_interval"]["upper"] == pytest.approx(0.2054832, abs=1e-6)
    assert not row["significant"] and answer["test"] == "welch_t"


def test_two_proportions_match_agresti_aspirin_study():
    answer = analyze([ConversionArm(name="aspirin", visitors=11037, conversions=104),
                      ConversionArm(name="placebo", visitors=11034, conversions=189)])
    (row,) = answer["comparisons"]
    assert row["difference"] == pytest.approx(0.0077, abs=5e-5)
    assert round(row["difference_interval"]["lower"], 3) == 0.005
    assert round(row["difference_interval"]["upper"], 3) == 0.011
    assert row["statistic"] ** 2 == pytest.approx(25.01, abs=0.01)
    assert row["significant"] and row["probability_beats_control"] > 0.9999


def test_against_scipy_on_many_inputs():
    from scipy import integrate
    from scipy import stats as ss

    for df in (1.0, 2.5, 10.0, 17.776, 1000.0):
        for t in (-3.0, -0.5, 0.0, 1.2, 2.5, 40.0):
            assert stats.t_sf(t, df) == pytest.approx(ss.t.sf(t, df), rel=1e-9, abs=1e-13)
        for p in (0.001, 0.025, 0.5, 0.8, 0.975, 0.9999):
            assert stats.t_ppf(p, df) == pytest.approx(ss.t.ppf(p, df), rel=1e-9)
    for p in (1e-6, 0.025, 0.3, 0.999):
        assert stats.norm_ppf(p) == pytest.approx(ss.norm.ppf(p), rel=1e-12)
    for a_b, b_b, a_a, b_a in ((11, 91, 9, 93), (2, 1, 1, 2), (101, 901, 121, 881), (500, 9502, 450, 9552)):
        def density(x: float, a_b: int = a_b, b_b: int = b_b, a_a: int = a_a, b_a: int = b_a) -> float:
            return ss.beta.pdf(x, a_b, b_b) * ss.beta.cdf(x, a_a, b_a)

        exact = integrate.quad(density, 0, 1, limit=500, points=[a_b / (a_b + b_b)])[0]
        assert stats.prob_beta_greater(a_b, b_b, a_a, b_a) == pytest.approx(exact, abs=1e-9)
    # the z test is Pearson's chi-square without continuity correction; Welch is scipy's ttest_ind_from_stats
    table = [[120, 1880], [150, 1850]]
    answer = analyze([ConversionArm(name="A", visitors=2000, conversions=120),
                      ConversionArm(name="B", visitors=2000, conversions=150)])["comparisons"][0]
    chi2, p, _, _ = ss.chi2_contingency(table, correction=False)
    assert answer["statistic"] ** 2 == pytest.approx(chi2, rel=1e-5) and answer["p_value"] == pytest.approx(p, rel=1e-5)
    welch = ss.ttest_ind_from_stats(12.0, 4.0, 40, 10.5, 6.0, 25, equal_var=False)
    row = analyze([MeanArm(name="c", n=25, mean=10.5, sd=6.0), MeanArm(name="t", n=40, mean=12.0, sd=4.0)]
                  )["comparisons"][0]
    assert row["statistic"] == pytest.approx(welch.statistic, rel=1e-5) and row["p_value"] == pytest.approx(
        welch.pvalue, rel=1e-5)


def test_the_normal_approximation_takes_over_smoothly_past_the_closed_forms_terms():
    n = stats.MAX_TERMS
    args = (n + 1, 9 * n + 1, int(n * 0.99) + 1, 9 * n + 1 + int(n * 0.01))
    assert stats.prob_beta_greater(*args) == pytest.approx(stats._normal_beta_greater(*args), abs=2e-6)
    big = (10 * n + 1, 90 * n + 1, 10 * n + 1, 90 * n + 1)
    assert stats.prob_beta_greater(*big) == pytest.approx(0.5, abs=1e-9)


def test_holm_adjusts_several_arms_and_equal_arms_are_a_coin_flip():
    arms = [ConversionArm(name="A", visitors=5000, conversions=250),
            ConversionArm(name="B", visitors=5000, conversions=250),
            ConversionArm(name="C", visitors=5000, conversions=300)]
    b, c = analyze(arms)["comparisons"]
    assert b["probability_beats_control"] == pytest.approx(0.5, abs=1e-6) and b["p_value"] == pytest.approx(1.0)
    assert c["p_value_holm"] == pytest.approx(min(1.0, 2 * c["p_value"]), rel=1e-4)
    assert b["p_value_holm"] >= c["p_value_holm"]


def test_arms_without_variance_are_answered_or_refused_plainly():
    zero = analyze([ConversionArm(name="A", visitors=100, conversions=0),
                    ConversionArm(name="B", visitors=100, conversions=0)])["comparisons"][0]
    assert zero["statistic"] is None and zero["p_value"] == 1.0 and zero["difference"] == 0.0
    with pytest.raises(InvalidRequest):
        analyze([MeanArm(name="A", n=10, mean=1.0, sd=0.0), MeanArm(name="B", n=10, mean=2.0, sd=0.0)])
