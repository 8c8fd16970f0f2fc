import numpy as np
import pytest

from models.elasticity import classify_elasticity, estimate_elasticity, naive_elasticity

DAYS = np.datetime64("2023-01-01") + np.arange(730)


def confounded(true_b=-1.5, level=40.0, seed=0):
    """Prices high in the busy season and cut by promotions in the quiet one: naive OLS is fooled."""
    rng = np.random.default_rng(seed)
    doy = (DAYS - DAYS.astype("datetime64[Y]")).astype(int)
    season = np.exp(0.6 * np.cos(2 * np.pi * (doy - 340) / 365.25))
    dow = np.array([1.1, 1.1, 1.0, 1.0, 1.1, 0.8, 0.9])[(DAYS.astype(int) + 3) % 7]
    trend = np.exp(0.2 * np.arange(730) / 365.25)
    price = 10 * (1 + 0.15 * (season - 1))  # busy season surcharge
    promo = (rng.random(730) < 0.12) & (season < 1)
    price = np.round(price * np.where(promo, 0.8, 1.0) * np.exp(rng.normal(0, 0.02, 730)), 2)
    lam = level * season * dow * trend * (price / 10) ** true_b
    return rng.poisson(lam).astype(float), price


def test_recovers_a_known_elasticity_where_naive_ols_fails():
    q, p = confounded(-1.5)
    est = estimate_elasticity(DAYS, q, p)
    naive = naive_elasticity(q, p)
    assert est.status == "ok"
    assert abs(est.elasticity_coefficient + 1.5) < 0.15
    assert est.ci_lower <= -1.5 <= est.ci_upper
    assert abs(naive + 1.5) > 1.0  # the season drags the naive slope far off
    assert est.elasticity_type == "Elastic" and est.p_value < 1e-6
    assert est.n_observations == 730 and 0 < est.r_squared <= 1
    assert est.price_min == p.min() and est.price_max == p.max()
    assert "trend" in est.controls and "season_sin_1" in est.controls


def test_ols_method_is_the_log_log_regression_on_days_with_sales():
    q, p = confounded(-1.0, level=200.0)
    est = estimate_elasticity(DAYS, q, p, method="ols")
    assert est.status == "ok" and abs(est.elasticity_coefficient + 1.0) < 0.15
    assert est.n_observations == int((q > 0).sum())


def test_interval_covers_the_truth_most_of_the_time():
    hits = 0
    for seed in range(20):
        q, p = confounded(-2.0, level=15.0, seed=seed)
        e = estimate_elasticity(DAYS, q, p)
        hits += e.ci_lower <= -2.0 <= e.ci_upper
    assert hits >= 16


def test_promotion_flag_is_used_as_a_control_when_given():
    q, p = confounded(-1.5)
    promo = (p < np.median(p) * 0.9).astype(float)
    est = estimate_elasticity(DAYS, q, p, promo=promo)
    assert "promo" in est.controls


def test_naive_slope_is_nan_without_price_variation():
    q, _ = confounded()
    assert np.isnan(naive_elasticity(q, np.full(730, 3.3) * (1 + 1e-13 * np.arange(730))))
    assert np.isfinite(naive_elasticity(*confounded()))


def test_a_short_history_with_price_variation_is_pooled_not_refused():
    q, p = confounded(level=0.5)
    est = estimate_elasticity(DAYS[:20], q[:20], p[:20])
    assert est.status == "pooled" and est.shrinkage_weight < 0.5
    assert est.ci_upper - est.ci_lower > 2.0  # the prior's width, honestly wide


def test_constant_price_is_refused_for_lack_of_variation():
    q, _ = confounded()
    est = estimate_elasticity(DAYS, q, np.full(730, 9.99))
    assert est.status == "refused" and "price variation" in est.reason


def test_imprecise_estimate_is_pooled_toward_the_prior():
    rng = np.random.default_rng(3)
    p = np.round(10 * np.exp(rng.normal(0, 0.03, 730)), 2)  # small price wiggles against very noisy slow sales
    q = rng.poisson(0.2, 730).astype(float)
    est = estimate_elasticity(DAYS, q, p)
    assert est.status == "pooled" and "weak own evidence" in est.reason


@pytest.mark.parametrize("b, kind", [(0.4, "Positive: suspect"), (-1.05, "Unit elastic"), (-2.0, "Elastic"),
                                     (-0.4, "Inelastic")])
def test_classification(b, kind):
    t, text = classify_elasticity(b)
    assert t == kind and text


def test_bad_inputs_raise_naming_the_value():
    q, p = confounded()
    with pytest.raises(ValueError, match="price"):
        estimate_elasticity(DAYS, q, np.where(np.arange(730) == 5, 0.0, p))
    with pytest.raises(ValueError, match="one length"):
        estimate_elasticity(DAYS[:-1], q, p)
    with pytest.raises(ValueError, match="method"):
        estimate_elasticity(DAYS, q, p, method="2sls")
    with pytest.raises(ValueError, match="quantity"):
        estimate_elasticity(DAYS, -q, p)
    with pytest.raises(ValueError, match="finite"):
        classify_elasticity(float("nan"))
