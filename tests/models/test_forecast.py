import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models.forecast import DemandForecaster
from models.forecast_features import FEATURES, build_panel, make_rows

START = dt.date(2024, 1, 1)
WEEKLY = np.array([1.3, 1.2, 1.1, 1.0, 1.2, 0.0, 0.2])  # Monday .. Sunday; no Saturday trade


def synthetic_sales(n_products=8, days=300, seed=0, elasticity=-1.5):
    """Daily Poisson sales with a weekly pattern, product levels and price steps; days with sales only."""
    rng = np.random.default_rng(seed)
    rows = []
    dates = pd.date_range(START, periods=days, freq="D")
    for p in range(n_products):
        level = rng.uniform(3, 30)
        ref = rng.uniform(2, 20)
        price = ref * np.where(rng.random(days) < 0.15, 0.8, 1.0)  # scattered price cuts
        lam = level * WEEKLY[dates.day_of_week] * (price / ref) ** elasticity
        q = rng.poisson(lam)
        for d, qq, pp in zip(dates, q, price, strict=True):
            if qq > 0:
                rows.append((d.date(), f"P{p:02d}", int(qq), qq * pp, pp, "c"))
    return pd.DataFrame(rows, columns=["sale_date", "product_id", "quantity", "revenue", "price", "category"])


def small_model(**kw):
    params = dict(horizon_days=28, n_estimators=80, learning_rate=0.15, max_depth=4, max_train_rows=8_000,
                  early_stopping_rounds=15, n_jobs=1, random_state=0)
    params.update(kw)
    return DemandForecaster(**params)


@pytest.fixture(scope="module")
def sales():
    return synthetic_sales()


@pytest.fixture(scope="module")
def panel(sales):
    return build_panel(sales, end=START + dt.timedelta(days=300))


@pytest.fixture(scope="module")
def fitted(panel):
    return small_model().fit(panel)


def test_panel_fills_the_calendar_with_zero_days_and_carries_prices_forward():
    s = pd.DataFrame({"sale_date": [dt.date(2024, 1, 2), dt.date(2024, 1, 5), dt.date(2024, 1, 1)],
                      "product_id": ["a", "a", "b"], "quantity": [3, 2, 7], "price": [2.0, 3.0, 5.0]})
    p = build_panel(s, end=dt.date(2024, 1, 7))
    assert list(p.product_ids) == ["a", "b"] and p.n_days == 6 and p.start == dt.date(2024, 1, 1)
    assert np.isnan(p.quantity[0, 0])  # before a's first sale
    np.testing.assert_array_equal(p.quantity[0, 1:], [3, 0, 0, 2, 0])
    np.testing.assert_array_equal(p.price[0, 1:], [2, 2, 2, 3, 3])
    np.testing.assert_array_equal(p.first_index, [1, 0])
    np.testing.assert_array_equal(p.rows(["b", "zz", "a"]), [1, -1, 0])


def test_build_panel_rejects_missing_columns_and_empty_history():
    with pytest.raises(ValueError, match="lacks columns"):
        build_panel(pd.DataFrame({"sale_date": [], "product_id": []}), end=START)
    s = synthetic_sales(n_products=1, days=10)
    with pytest.raises(ValueError, match="no sales before"):
        build_panel(s, end=START)


def test_training_features_never_see_the_target_day(panel):
    i, o, k = np.array([0, 0]), np.array([100, 100]), np.array([0, 5])
    X1, _, _ = make_rows(panel, i, o, k)
    changed = panel.quantity.copy()
    changed[0, 100:] = 10_000.0  # the future explodes
    p2 = type(panel)(panel.product_ids, panel.start, changed, panel.price, panel.first_index)
    X2, y2, _ = make_rows(p2, i, o, k)
    np.testing.assert_array_equal(X1, X2)
    assert np.all(y2 > 100)


def test_forecasts_are_never_negative_and_bounds_enclose_the_point(fitted, panel):
    r = fitted.predict(panel)
    assert r.predicted.shape == (panel.n_products, 28)
    assert np.all(r.predicted >= 0) and np.all(r.lower >= 0)
    assert np.all(r.lower <= r.predicted + 1e-9) and np.all(r.predicted <= r.upper + 1e-9)
    assert np.all(r.upper > r.lower)


def test_the_model_learns_the_weekly_pattern(fitted, panel):
    r = fitted.predict(panel)
    days = pd.date_range(panel.end, periods=28, freq="D")
    saturday = r.predicted[:, days.day_of_week == 5].mean()
    monday = r.predicted[:, days.day_of_week == 0].mean()
    assert saturday < 0.25 * monday


def test_holdout_accuracy_and_interval_coverage_on_known_process():
    sales = synthetic_sales(days=328, seed=1)
    train = build_panel(sales, end=START + dt.timedelta(days=300))
    full = build_panel(sales, end=START + dt.timedelta(days=328), start=train.start)
    m = small_model().fit(train)
    r = m.predict(train)
    y = full.quantity[:, -28:]
    wape = np.abs(y - r.predicted).sum() / y.sum()
    naive = np.abs(y - np.nanmean(train.quantity[:, -28:], axis=1, keepdims=True)).sum() / y.sum()
    assert wape < 0.8 * naive  # the weekly pattern alone beats a flat mean by far
    coverage = np.mean((y >= r.lower) & (y <= r.upper))
    assert 0.65 <= coverage <= 0.95
    assert 0.7 <= m.validation_metrics_["coverage"] <= 0.9


def test_price_response_is_monotone_in_the_what_if_grid(fitted, panel):
    mult = (0.7, 0.85, 1.0, 1.15, 1.3)
    r = fitted.predict(panel, price_multipliers=mult)
    totals = r.whatif.sum(axis=2)
    assert np.all(np.diff(totals, axis=1) <= 1e-6)  # dearer never sells more (monotone constraint)
    np.testing.assert_allclose(r.whatif[:, 2, :], r.predicted, rtol=1e-6)
    assert totals[:, 0].sum() > totals[:, -1].sum()


def test_feature_importance_covers_every_feature_and_sums_to_one(fitted):
    imp = fitted.feature_importance_
    assert {d["feature"] for d in imp} == set(FEATURES)
    assert abs(sum(d["importance"] for d in imp) - 1) < 1e-4
    assert imp[0]["importance"] >= imp[-1]["importance"]


def test_eligibility_excludes_new_and_sparse_products(panel):
    m = small_model()
    q = panel.quantity.copy()
    q[0, :-20] = np.nan  # launched 20 days ago
    q[1, :] = 0.0
    q[1, ::60] = 1.0  # five sales in 300 days
    first = panel.first_index.copy()
    first[0] = panel.n_days - 20
    p = type(panel)(panel.product_ids, panel.start, q, panel.price, first)
    ok = m.eligible(p)
    assert not ok[0] and not ok[1] and ok[2:].all()


def test_fitting_is_deterministic_for_a_seed(fitted, panel):
    again = small_model().fit(panel).predict(panel)
    np.testing.assert_allclose(fitted.predict(panel).predicted, again.predicted, rtol=1e-6)


@pytest.mark.parametrize("kw, match", [({"level": 1.2}, "level"), ({"backend": "prophet"}, "backend"),
                                        ({"horizon_days": 400}, "horizon_days"), ({"objective": "l3"}, "objective")])
def test_bad_parameters_are_named(panel, kw, match):
    with pytest.raises(ValueError, match=match):
        small_model(**kw).fit(panel)


def test_fit_without_any_eligible_product_says_so():
    s = synthetic_sales(n_products=2, days=40)
    with pytest.raises(ValueError, match="nothing to fit"):
        small_model().fit(build_panel(s, end=START + dt.timedelta(days=40)))


def test_yearly_features_are_left_out_with_less_than_a_year_of_history(fitted, panel):
    from models.forecast_features import YEARLY_FEATURES

    assert panel.n_days < 400 and fitted.yearly_ is False
    X, _, _ = make_rows(panel, np.array([0]), np.array([200]), np.array([3]), yearly=False)
    cols = [FEATURES.index(f) for f in YEARLY_FEATURES]
    assert np.isnan(X[0, cols]).all() and not np.isnan(X[0, FEATURES.index("dow_sin")])
    X, _, _ = make_rows(panel, np.array([0]), np.array([200]), np.array([3]), yearly=True)
    assert np.isfinite(X[0, cols]).all()


def test_volume_sampling_spends_the_row_budget_on_big_sellers_and_reweights():
    from models.forecast_rows import _poisson_sample

    rng = np.random.default_rng(0)
    n = 20_000
    prod = np.repeat([0, 1], n // 2)
    w = np.where(prod == 0, 100.0, 1.0)  # product 0 sells 100x more
    rows, weights = _poisson_sample((prod, np.arange(n), np.zeros(n, dtype=np.int64)), w, 2_000, rng)
    kept0 = np.sum(rows[0] == 0)
    assert 1_800 <= rows[0].size <= 2_200 and kept0 > 0.9 * rows[0].size
    assert abs(weights.mean() - 1) < 1e-9
    assert weights[rows[0] == 1].min() > 10 * weights[rows[0] == 0].max()  # rare rows stand for many
    same, ones = _poisson_sample((prod[:100], prod[:100], prod[:100]), w[:100], 2_000, rng)
    assert same[0].size == 100 and np.all(ones == 1)


def test_a_recent_surge_shows_as_the_recent_sales_driver_of_that_product_only(panel):
    from models.forecast_drivers import DRIVER_GROUPS, forecast_drivers

    q = panel.quantity.copy()
    q[0, -28:] *= 3.0  # product 0 sells three times its usual in the last four weeks
    surged = type(panel)(panel.product_ids, panel.start, q, panel.price, panel.first_index)
    model = small_model().fit(surged)
    names, effects = forecast_drivers(model, surged, np.arange(panel.n_products), n=len(DRIVER_GROUPS))
    assert set(names[0]) == set(DRIVER_GROUPS)
    assert np.all(np.diff(np.abs(effects), axis=1) <= 1e-9)  # largest effect first
    recent = {int(i): float(effects[i][list(names[i]).index("recent_sales")]) for i in range(panel.n_products)}
    assert recent[0] > 0 and recent[0] == max(recent.values())


def test_the_95_percent_band_contains_the_80_percent_band_and_the_quantiles_are_ordered(fitted, panel):
    r = fitted.predict(panel)
    assert r.lower_wide is not None and r.upper_wide is not None
    assert (r.lower_wide <= r.lower + 1e-9).all() and (r.upper <= r.upper_wide + 1e-9).all()
    assert (r.lower_wide >= 0).all() and (r.upper_wide > r.lower_wide).any()
    m = fitted.validation_metrics_
    assert m["coverage"] <= m["coverage_wide"] and m["mean_width"] <= m["mean_width_wide"]
    q = fitted.predict_quantiles(panel)
    assert q.shape == (r.predicted.shape[0], 9, fitted.horizon_days)
    assert (q >= 0).all() and (np.diff(q, axis=1) >= -1e-9).all()
    with pytest.raises(ValueError, match="not calibrated"):
        fitted.predict_quantiles(panel, probs=(0.3,))


def test_without_a_wide_level_there_is_no_wide_band(panel):
    r = small_model(wide_level=None, n_estimators=10).fit(panel).predict(panel)
    assert r.lower_wide is None and r.upper_wide is None
    with pytest.raises(ValueError, match="wide_level"):
        small_model(wide_level=0.5).fit(panel)
