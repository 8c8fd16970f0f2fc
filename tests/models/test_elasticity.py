import numpy as np
import pandas as pd
import pytest

from models._glm import poisson_pml
from models.cadence import weekday
from models.elasticity import (
    DEFAULT_PRIOR,
    classify_elasticity,
    estimate_elasticities,
    estimate_elasticity,
    naive_elasticity,
)
from models.pooling import Prior, pool_estimates, posterior

DAYS = np.datetime64("2023-01-01") + np.arange(730)


def confounded(true_b=-1.5, level=40.0, seed=0, days=DAYS):
    """Prices high in the busy season and cut by promotions in the quiet one: naive OLS is fooled."""
    rng = np.random.default_rng(seed)
    n = days.size
    doy = (days - days.astype("datetime64[Y]")).astype(int)
    season = np.exp(0.6 * np.cos(2 * np.pi * (doy - 340) / 365.25))
    dow = np.array([1.1, 1.1, 1.0, 1.0, 1.1, 0.8, 0.9])[weekday(days)]
    trend = np.exp(0.2 * np.arange(n) / 365.25)
    price = 10 * (1 + 0.15 * (season - 1))  # busy season surcharge
    promo = (rng.random(n) < 0.12) & (season < 1)
    price = np.round(price * np.where(promo, 0.8, 1.0) * np.exp(rng.normal(0, 0.02, n)), 2)
    lam = level * season * dow * trend * (price / 10) ** true_b
    return rng.poisson(lam).astype(float), price


def test_recovers_a_known_elasticity_where_naive_ols_fails():
    q, p = confounded(-1.5)
    est = estimate_elasticity(DAYS, q, p)
    naive = naive_elasticity(q, p)
    assert est.status == "ok" and est.fit_status == "converged" and est.grain == "daily"
    assert abs(est.elasticity_coefficient + 1.5) < 0.15 and est.ci_lower <= -1.5 <= est.ci_upper
    assert abs(naive + 1.5) > 1.0  # the season drags the naive slope far off
    assert est.elasticity_type == "Elastic" and est.p_value < 1e-6 and est.usable_for_pricing
    assert est.n_observations == 730 and 0 < est.r_squared <= 1 and est.shrinkage_weight > 0.95
    assert est.price_min == p.min() and est.price_max == p.max()
    assert "trend" in est.controls and "season_sin_1" in est.controls and "dow_1" in est.controls


def test_a_weekly_product_is_estimated_on_weeks():
    q, p = confounded(-1.5, level=300.0)
    thursday = weekday(DAYS) == 3
    rows = estimate_elasticity(DAYS[thursday], q[thursday], p[thursday])  # the feed's rows only
    filled = estimate_elasticity(DAYS, np.where(thursday, q, 0.0), p)  # the same feed on a zero-filled calendar
    for est in (rows, filled):
        assert est.grain == "weekly" and est.period_days == 7 and est.trading_weekdays == (3,)
        assert est.n_observations == int(thursday.sum()) == 104
        assert not any(c.startswith("dow_") for c in est.controls)  # no day-of-week on a weekly grain
        assert est.status == "ok" and abs(est.elasticity_coefficient + 1.5) < 0.3
    assert rows.elasticity_coefficient == pytest.approx(filled.elasticity_coefficient)


def test_a_shop_closed_on_sundays_counts_only_its_trading_days():
    q, p = confounded(-1.5)
    q[weekday(DAYS) == 6] = 0
    est = estimate_elasticity(DAYS, q, p)
    assert est.trading_weekdays == (0, 1, 2, 3, 4, 5) and est.n_observations == int((weekday(DAYS) != 6).sum())
    assert abs(est.elasticity_coefficient + 1.5) < 0.2


def test_a_non_converged_fit_is_never_returned_as_the_estimate():
    q, p = confounded(-1.5)
    est = estimate_elasticity(DAYS, q, p, max_iter=1)
    assert est.fit_status == "not_converged" and est.status == "pooled" and "not converged" in est.reason
    assert np.isnan(est.own_elasticity) and est.shrinkage_weight == 0
    assert est.elasticity_coefficient == DEFAULT_PRIOR[0] and est.standard_error == DEFAULT_PRIOR[1]


def test_separation_is_detected_and_its_rows_dropped_before_any_estimate():
    rng = np.random.default_rng(4)
    p = 5.0 * np.exp(rng.normal(0, 0.1, 300))
    promo = np.zeros(300)
    promo[::15] = 1  # promotion days out of stock: they never sell, so the promo coefficient runs off to -inf
    q = np.where(promo > 0, 0.0, rng.poisson(20 * (p / 5) ** -2.0)).astype(float)
    raw = poisson_pml(np.column_stack([np.ones(300), np.log(p), promo]), q)
    assert raw.status == "separated" and not raw.converged and raw.separated.sum() == 20
    est = estimate_elasticity(DAYS[:300], q, p, promo=promo)
    assert est.fit_status == "converged" and est.n_observations == 280 and "promo" not in est.controls
    assert abs(est.own_elasticity + 2.0) < 0.3


def test_a_price_that_moves_only_with_promotions_of_one_depth_is_pooled_as_collinear():
    rng = np.random.default_rng(6)
    promo = (np.arange(300) % 10 < 2).astype(float)
    p = np.where(promo > 0, 8.0, 10.0)  # every promotion exactly 20% off: price and promotion are one variable
    q = rng.poisson(20 * 1.5 ** promo * (p / 10) ** -2.0).astype(float)
    est = estimate_elasticity(DAYS[:300], q, p, promo=promo)
    assert est.fit_status == "collinear" and est.status == "pooled" and "promo" in est.reason
    assert est.elasticity_coefficient == DEFAULT_PRIOR[0]


def test_only_a_price_that_never_varied_is_refused():
    q, _ = confounded()
    est = estimate_elasticity(DAYS, q, np.full(730, 9.99))
    assert est.status == "refused" and "no price variation" in est.reason
    assert np.isnan(est.elasticity_coefficient) and not est.usable_for_pricing
    two = estimate_elasticity(DAYS[:2], np.array([1.0, 2.0]), np.array([3.0, 2.5]))  # two sales, two prices
    assert two.status == "pooled" and two.fit_status == "too_few_observations"
    assert two.ci_lower < two.elasticity_coefficient < two.ci_upper


def test_imprecise_evidence_is_pooled_toward_the_prior_with_an_honest_interval():
    rng = np.random.default_rng(3)
    p = np.round(10 * np.exp(rng.normal(0, 0.03, 730)), 2)  # small price wiggles against very noisy slow sales
    q = rng.poisson(0.2, 730).astype(float)
    est = estimate_elasticity(DAYS, q, p)
    assert est.status == "pooled" and "weak own evidence" in est.reason and est.shrinkage_weight < 0.5
    assert est.standard_error <= min(est.own_standard_error, est.prior_sd)  # pooling never widens
    assert abs(est.elasticity_coefficient - est.prior_mean) < abs(est.own_elasticity - est.prior_mean)


def test_a_positive_estimate_is_flagged_and_not_usable_for_pricing():
    rng = np.random.default_rng(5)
    p = 10 * np.exp(rng.normal(0, 0.1, 400))
    q = rng.poisson(50 * (p / 10) ** 1.0).astype(float)  # demand rising with price: confounded, not causal
    est = estimate_elasticity(DAYS[:400], q, p)
    assert est.own_elasticity > 0.5 and est.sign_suspect and not est.usable_for_pricing
    assert est.elasticity_type == "Positive: suspect" and "do not price on it" in est.interpretation


def test_ols_method_is_the_controls_only_regression_on_periods_with_sales():
    q, p = confounded(-1.0, level=200.0)
    est = estimate_elasticity(DAYS, q, p, method="ols")
    assert est.status == "ok" and abs(est.elasticity_coefficient + 1.0) < 0.15
    assert est.n_observations == int((q > 0).sum())


def test_promotion_columns_become_the_promotion_share_control():
    q, p = confounded(-1.5)
    flag = (p < np.median(p) * 0.9).astype(float)
    assert "promo" in estimate_elasticity(DAYS, q, p, promo=flag).controls
    assert "promo" in estimate_elasticity(DAYS, q, p, discount=0.2 * flag).controls
    assert "promo" in estimate_elasticity(DAYS, q, p, list_price=np.where(flag > 0, p / 0.8, p)).controls


def test_pooling_by_hand():
    # DerSimonian-Laird: Q = 8, C = 8, tau^2 = (8 - 2) / 8 = 0.75; mu = -2, var(mu) = 1 / 3
    out = pool_estimates(np.array([-1.0, -2.0, -3.0, np.nan]), np.array([0.5, 0.5, 0.5, np.nan]), min_products=3)
    assert out.tau == pytest.approx(np.sqrt(0.75)) and out.population.mean == pytest.approx(-2.0)
    assert out.population.sd == pytest.approx(np.sqrt(0.75 + 1 / 3))
    w = (0.75 + 1 / 3) / (0.75 + 1 / 3 + 0.25)
    assert out.weight[0] == pytest.approx(w) and out.mean[0] == pytest.approx(w * -1 + (1 - w) * -2)
    assert out.sd[0] == pytest.approx(np.sqrt(1 / (1 / (0.75 + 1 / 3) + 4)))
    assert out.mean[3] == pytest.approx(-2.0) and out.weight[3] == 0 and out.sd[3] == out.population.sd
    assert posterior(float("nan"), float("nan"), Prior(-1.0, 0.5, "x")) == (-1.0, 0.5, 0.0)


def test_pooling_with_too_few_products_uses_the_default_prior_and_categories_get_their_own():
    few = pool_estimates(np.array([-1.0, -1.2]), np.array([0.3, 0.3]))
    assert few.population.source == "default" and few.prior_mean.tolist() == [DEFAULT_PRIOR[0]] * 2
    rng = np.random.default_rng(0)
    b = np.r_[rng.normal(-1, 0.1, 8), rng.normal(-3, 0.1, 8)]
    out = pool_estimates(b, np.full(16, 0.2), group=np.array(["a"] * 8 + ["b"] * 8))
    assert set(out.groups) == {"a", "b"} and out.prior_source[0] == "category:a"
    assert out.groups["a"].mean == pytest.approx(-1, abs=0.2) and out.groups["b"].mean == pytest.approx(-3, abs=0.2)


def test_panel_estimates_every_product_once_on_its_own_grain():
    frames = []
    for i, b in enumerate((-1.2, -1.6, -2.0, -2.4, -2.8, -1.4)):
        q, p = confounded(b, level=60.0, seed=i)
        keep = q > 0
        frames.append(pd.DataFrame({"product_id": f"D{i}", "sale_date": DAYS[keep], "quantity": q[keep],
                                    "price": p[keep], "category": "c"}))
    q, p = confounded(-1.5, level=300.0, seed=9)
    thu = weekday(DAYS) == 3
    frames.append(pd.DataFrame({"product_id": "W", "sale_date": DAYS[thu], "quantity": q[thu], "price": p[thu],
                                "category": "c"}))
    frames.append(pd.DataFrame({"product_id": "FLAT", "sale_date": DAYS[:50], "quantity": 1.0, "price": 3.0,
                                "category": "c"}))
    panel = estimate_elasticities(pd.concat(frames), end=DAYS[-1] + 1)
    e = {x.product_id: x for x in panel.estimates}
    assert list(e) == sorted(e) and e["W"].grain == "weekly" and e["W"].n_observations == 104
    assert e["FLAT"].status == "refused" and all(e[f"D{i}"].status == "ok" for i in range(6))
    assert all(x.pooled_toward == "category:c" for x in panel.estimates if x.status != "refused")
    cols = panel.to_columns()
    assert cols["n_observations"].dtype == np.int32 and cols["usable_for_pricing"].dtype == bool
    assert cols["product_id"].tolist() == list(e) and np.isnan(cols["elasticity_coefficient"][list(e).index("FLAT")])


@pytest.mark.parametrize("b, kind", [(0.4, "Positive: suspect"), (-1.05, "Unit elastic"), (-2.0, "Elastic"),
                                     (-0.4, "Inelastic")])
def test_classification(b, kind):
    t, text = classify_elasticity(b)
    assert t == kind and text


def test_naive_slope_is_nan_without_price_variation():
    q, _ = confounded()
    assert np.isnan(naive_elasticity(q, np.full(730, 3.3) * (1 + 1e-13 * np.arange(730))))
    assert np.isfinite(naive_elasticity(*confounded()))


def test_bad_inputs_raise_naming_the_value():
    q, p = confounded()
    with pytest.raises(ValueError, match="price"):
        estimate_elasticity(DAYS, q, np.where(np.arange(730) == 5, 0.0, p))
    with pytest.raises(ValueError, match="one length"):
        estimate_elasticity(DAYS[:-1], q, p)
    with pytest.raises(ValueError, match="method"):
        estimate_elasticity(DAYS, q, p, method="2sls")
    with pytest.raises(ValueError, match="grain"):
        estimate_elasticity(DAYS, q, p, grain="monthly")
    with pytest.raises(ValueError, match="quantity"):
        estimate_elasticity(DAYS, -q, p)
    with pytest.raises(ValueError, match="columns"):
        estimate_elasticities({"product_id": ["a"], "quantity": [1.0]})
    with pytest.raises(ValueError, match="finite"):
        classify_elasticity(float("nan"))
