"""CLV: the simple formula by hand, segments by quantiles, model choice on a later slice, BG/NBD on CDNOW."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.clv import CLVRegressor, clv_segments, regression_metrics, simple_clv
from models.probabilistic import BetaGeoModel, bgnbd_inputs


def test_simple_clv_is_aov_times_rate_times_lifespan_times_margin():
    out = simple_clv([100.0, 100.0, 50.0], [4, 1, 2], [200, 10, 100], horizon_days=365)
    # 100 x 4/200 x 365 = 730; a 10-day-old customer counts as 90 days old: 100 x 1/90 x 365
    np.testing.assert_allclose(out.value, [730.0, 100 * 365 / 90, 50 * 2 / 100 * 365])
    with_margin = simple_clv([100.0], [4], [200], horizon_days=365, margin=0.3, expected_lifespan_days=100)
    assert with_margin.value[0] == pytest.approx(100 * 4 / 200 * 100 * 0.3)
    assert with_margin.lifespan_days == 100 and with_margin.margin == 0.3
    with pytest.raises(ValueError, match="margin"):
        simple_clv([1.0], [1], [1], horizon_days=30, margin=1.5)


def test_clv_segments_split_at_the_median_and_80th_percentile():
    labels, (medium, high) = clv_segments(np.arange(1, 11, dtype=float))
    assert medium == pytest.approx(5.5) and high == pytest.approx(8.2)
    assert labels.tolist() == ["Low"] * 5 + ["Medium"] * 3 + ["High"] * 2
    fixed, _ = clv_segments([1.0, 6.0, 9.0], thresholds=(5.0, 8.0))
    assert fixed.tolist() == ["Low", "Medium", "High"]


def _spend(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"rate": rng.gamma(2, 1, n), "aov": rng.lognormal(3, 0.5, n), "gap": rng.normal(size=n)})
    X.loc[X.index[::7], "gap"] = np.nan
    y = rng.poisson(X["rate"] * 3) * X["aov"]
    return X, y.to_numpy(dtype=float)


def test_regressor_keeps_the_candidate_with_the_lower_validation_rmse():
    X, y = _spend(600, 0)
    X_val, y_val = _spend(400, 1)
    model = CLVRegressor(random_state=0, n_estimators=50).fit(X, y, X_val=X_val, y_val=y_val)
    assert set(model.validation_) == {"random_forest", "lightgbm"}
    best = min(model.validation_, key=lambda k: model.validation_[k]["rmse"])
    assert model.winner_ == best
    pred = model.predict(X_val)
    assert (pred >= 0).all() and np.isfinite(pred).all()
    assert regression_metrics(y_val, pred)["rmse"] < np.std(y_val)  # learned something
    again = CLVRegressor(random_state=0, n_estimators=50).fit(X, y, X_val=X_val, y_val=y_val).predict(X_val)
    np.testing.assert_array_equal(pred, again)


def test_regressor_needs_a_validation_slice_to_choose():
    X, y = _spend(50, 0)
    with pytest.raises(ValueError, match="validation slice"):
        CLVRegressor().fit(X, y)
    fixed = CLVRegressor(estimator="lightgbm", n_estimators=20).fit(X, y)
    assert fixed.winner_ == "lightgbm" and fixed.validation_ == {}
    with pytest.raises(ValueError, match="shape"):
        CLVRegressor(estimator="lightgbm").fit(X, y[:10])


def test_regression_metrics_by_hand():
    m = regression_metrics([0, 10, 20], [1, 10, 17])
    assert m["mae"] == pytest.approx(4 / 3) and m["rmse"] == pytest.approx(np.sqrt(10 / 3))
    assert m["total_predicted"] == 28 and m["total_actual"] == 30


def test_bgnbd_reproduces_fader_hardie_lee_2005_on_cdnow():
    from lifetimes import datasets  # requirements-dev.txt: the CDNOW summary ships with lifetimes

    d = datasets.load_cdnow_summary_data_with_monetary_value()
    model = BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
    p = model.params_
    # published: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    assert (round(p["r"], 3), round(p["alpha"], 3), round(p["a"], 3), round(p["b"], 3)) == (0.243, 4.414, 0.793,
                                                                                              2.426)
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    # the paper's worked example: x = 2, t_x = 30.43, T = 38.86 -> 1.226 purchases in the next 39 weeks
    assert model.expected_purchases(39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=1e-3)


def test_bgnbd_inputs_and_probability_alive_on_a_small_case():
    x, t_x, T = bgnbd_inputs([1, 3], [10, 5], [10, 100])
    assert x.tolist() == [0, 2] and t_x.tolist() == [0, 95] and T.tolist() == [10, 100]
    rng = np.random.default_rng(0)
    n = 300
    T = rng.uniform(50, 300, n)
    x = rng.poisson(T / 40)
    t_x = np.where(x > 0, T * rng.uniform(0.3, 1, n), 0)
    model = BetaGeoModel().fit(x, t_x, T)
    alive = model.probability_alive([0, 5, 5], [0, 290, 20], [300, 300, 300])
    assert alive[0] == 1.0  # no repeat purchase: BG/NBD cannot have seen the customer drop out
    assert alive[1] > alive[2]  # same count, recent last purchase is likelier alive
    e = model.expected_purchases(30, [5, 5], [290, 20], [300, 300])
    assert e[0] > e[1] > 0


def test_bgnbd_probability_of_no_purchase_matches_a_simulation():
    model = BetaGeoModel()
    model.params_ = {"r": 2.0, "alpha": 20.0, "a": 1.0, "b": 3.0}
    rng = np.random.default_rng(0)
    # a customer with x = 0, T = 10: alive for sure; lambda ~ Gamma(r, alpha + T); no event in 15 days
    lam = rng.gamma(2.0, 1 / 30.0, 200_000)
    simulated = np.exp(-lam * 15).mean()
    assert model.probability_no_purchase(15, [0], [0], [10])[0] == pytest.approx(simulated, abs=2e-3)
    assert model.probability_no_purchase(15, [0], [0], [10])[0] == pytest.approx((30 / 45) ** 2)


def test_random_forest_is_skipped_above_rf_max_rows_and_the_skip_is_recorded():
    X, y = _spend(600, 0)
    X_val, y_val = _spend(400, 1)
    model = CLVRegressor(random_state=0, n_estimators=20, rf_max_rows=500).fit(X, y, X_val=X_val, y_val=y_val)
    assert model.winner_ == "lightgbm" and set(model.validation_) == {"lightgbm"}
    assert "600 training rows" in model.skipped_["random_forest"]
    both = CLVRegressor(random_state=0, n_estimators=20, rf_max_rows=600).fit(X, y, X_val=X_val, y_val=y_val)
    assert set(both.validation_) == {"random_forest", "lightgbm"} and both.skipped_ == {}


def test_blend_weight_is_chosen_on_the_validation_slice_and_used_by_predict():
    X, y = _spend(600, 0)
    X_val, y_val = _spend(400, 1)
    for frame, target in ((X, y), (X_val, y_val)):  # a strong external prediction and a useless one
        frame["good"] = target * 0.9 + 1.0
        frame["noise"] = np.random.default_rng(len(frame)).uniform(0, 1000, len(frame))
    X_val.loc[X_val.index[:5], "good"] = np.nan  # rows without the column get the trees alone
    good = CLVRegressor(estimator="lightgbm", n_estimators=30, refit=False, blend_column="good",
                        random_state=0).fit(X, y, X_val=X_val, y_val=y_val)
    assert good.blend_weight_ < 0.5 and good.blend_["weight"] == good.blend_weight_
    assert good.blend_["blend"]["rmse"] <= min(good.blend_["trees"]["rmse"], good.blend_["column_alone"]["rmse"])
    trees = good.estimator_.predict(X_val)
    w = good.blend_weight_
    expected = np.where(X_val["good"].isna(), np.clip(trees, 0, None),
                        w * np.clip(trees, 0, None) + (1 - w) * X_val["good"])
    np.testing.assert_allclose(good.predict(X_val), expected)
    assert regression_metrics(y_val, good.predict(X_val))["rmse"] == pytest.approx(good.blend_["blend"]["rmse"])
    noise = CLVRegressor(estimator="lightgbm", n_estimators=30, blend_column="noise", random_state=0).fit(
        X, y, X_val=X_val, y_val=y_val)
    assert noise.blend_weight_ == 1.0
    with pytest.raises(ValueError, match="blend column"):
        CLVRegressor(estimator="lightgbm", blend_column="missing").fit(X, y, X_val=X_val, y_val=y_val)


@pytest.mark.parametrize("estimator", ["lightgbm_tweedie", "hurdle_lognormal"])
def test_spend_shaped_candidates_fit_nonnegative_spend_and_predict_its_level(estimator):
    X, y = _spend(600, 0)
    X_val, y_val = _spend(400, 1)
    y = y.copy()
    y[::11] = -5.0  # net spend below zero (returns) counts as none for these losses
    model = CLVRegressor(estimator=estimator, n_estimators=60, random_state=0).fit(X, y, X_val=X_val, y_val=y_val)
    pred = model.predict(X_val)
    assert (pred >= 0).all() and np.isfinite(pred).all()
    assert 0.5 < pred.sum() / y_val.sum() < 2.0


def test_conformal_intervals_cover_the_level_on_exchangeable_data_and_hold_the_prediction():
    X, y = _spend(3000, 0)
    X_val, y_val = _spend(3000, 1)
    X_new, y_new = _spend(3000, 2)
    model = CLVRegressor(estimator="lightgbm", n_estimators=60, random_state=0).fit(X, y, X_val=X_val, y_val=y_val)
    pred = model.predict(X_new)
    lower, upper = model.predict_interval(X_new)
    assert (lower <= pred + 1e-9).all() and (pred <= upper + 1e-9).all() and (lower >= 0).all()
    coverage = np.mean((y_new >= lower) & (y_new <= upper))
    assert 0.74 <= coverage <= 0.88
    assert 0.7 <= model.interval_["cross_fitted_coverage"] <= 0.9
