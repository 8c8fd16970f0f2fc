"""Feature preparation for the customer models: derived ratios by hand, BG/NBD columns, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.features import BGNBD_COLUMNS, FEATURE_NAMES, feature_matrix, fit_bgnbd, with_bgnbd_features


def _rows(n: int = 2) -> pd.DataFrame:
    base = {"recency_days": [10, 40], "frequency": [3, 1], "monetary_total": [300.0, 50.0],
            "customer_age_days": [100, 40], "avg_order_value": [100.0, 50.0],
            "mean_days_between_orders": [45.0, np.nan], "std_days_between_orders": [5.0, np.nan],
            "orders_30d": [1, 0], "orders_90d": [2, 1], "orders_180d": [3, 1], "orders_365d": [3, 1],
            "spend_30d": [100.0, 0.0], "spend_90d": [200.0, 50.0], "spend_180d": [300.0, 50.0],
            "spend_365d": [300.0, 50.0], "distinct_products": [5, 1], "return_rate": [0.0, 0.0],
            "spend_trend": [1.0, 1.0], "first_order_value": [80.0, 50.0], "first_order_lines": [2, 1],
            "last_order_value": [120.0, 50.0], "max_order_value": [120.0, 50.0]}
    return pd.DataFrame({k: v[:n] for k, v in base.items()})


def test_derived_columns_are_hand_computed():
    X = feature_matrix(_rows())
    assert list(X.columns) == list(FEATURE_NAMES)
    assert X.loc[0, "active_span_days"] == 90 and X.loc[1, "active_span_days"] == 0
    assert X.loc[0, "orders_per_30d"] == pytest.approx(0.9)  # 3 orders x 30 / 100 days
    assert X.loc[1, "spend_per_30d"] == pytest.approx(37.5)  # 50 x 30 / 40 days
    assert X.loc[0, "recency_over_gap"] == pytest.approx(10 / 45)
    assert np.isnan(X.loc[1, "recency_over_gap"])  # one order: no gap
    assert X.loc[0, "last_90d_share"] == pytest.approx(2 / 3)
    assert X.loc[0, "gap_cv"] == pytest.approx(5 / 45) and np.isnan(X.loc[1, "gap_cv"])
    assert X.loc[0, "order_trend"] == 1 and X.loc[1, "order_trend"] == 1  # 2 - (3 - 2); 1 - 0
    assert X.loc[0, "first_basket_share"] == pytest.approx(0.8) and X.loc[1, "first_basket_share"] == 1.0
    assert X.loc[0, "last_basket_ratio"] == pytest.approx(1.2)


def test_missing_query_columns_are_named():
    with pytest.raises(ValueError, match="spend_trend"):
        feature_matrix(_rows().drop(columns="spend_trend"))


def test_bgnbd_columns_come_from_the_population_and_are_nan_without_a_fit():
    rng = np.random.default_rng(0)
    n = 200
    freq = rng.integers(1, 8, n)
    age = rng.integers(60, 300, n)
    frame = pd.DataFrame({"frequency": freq, "recency_days": (age * rng.uniform(0, 0.9, n)).astype(int),
                          "customer_age_days": age, "avg_order_value": rng.uniform(10, 100, n)})
    model = fit_bgnbd(frame)
    out = with_bgnbd_features(frame, pd.DataFrame(index=frame.index), 90, model)
    assert list(out.columns) == list(BGNBD_COLUMNS)
    assert ((out["bg_p_alive"] > 0) & (out["bg_p_alive"] <= 1)).all()
    np.testing.assert_allclose(out["bg_expected_spend"], (out["bg_expected_purchases"] * frame["avg_order_value"])
                               .round(9), rtol=1e-6, atol=1e-6)
    assert fit_bgnbd(frame.head(3)) is None
    assert with_bgnbd_features(frame.head(3), pd.DataFrame(index=range(3)), 90, None).isna().all().all()


def _bg_population(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(30, 700, n)
    freq = 1 + rng.poisson(rng.gamma(0.7, 1.0, n) * age / 60.0)
    rec = np.where(freq > 1, (age * rng.uniform(0, 1, n)).astype(int), age)
    return pd.DataFrame({"frequency": freq, "recency_days": rec, "customer_age_days": age,
                         "avg_order_value": rng.lognormal(3, 0.5, n)})


def test_bgnbd_on_distinct_triples_weighted_by_counts_is_the_same_fit_as_on_every_customer():
    from models.probabilistic import BetaGeoModel, bgnbd_inputs

    frame = _bg_population(3000, 1)
    x, t_x, T = bgnbd_inputs(frame["frequency"], frame["recency_days"], frame["customer_age_days"])
    full = BetaGeoModel().fit(x, t_x, T)
    compact = fit_bgnbd(frame, max_customers=None)
    assert len(np.unique(np.column_stack([x, t_x, T]), axis=0)) < len(x)  # the weighting is exercised
    # the same likelihood, so the same optimum up to the optimizer's tolerance (this population has little
    # dropout: a, b sit on a flat ridge, so compare what the features use, not the raw parameters)
    assert compact.log_likelihood_ == pytest.approx(full.log_likelihood_, rel=1e-6)
    for m in ("probability_no_purchase", "expected_purchases"):
        np.testing.assert_allclose(getattr(compact, m)(90, x, t_x, T), getattr(full, m)(90, x, t_x, T),
                                   rtol=0.01, atol=1e-3, err_msg=m)
    with pytest.raises(ValueError, match="sample_weight"):
        BetaGeoModel().fit(x, t_x, T, sample_weight=np.zeros_like(x))


def test_bgnbd_above_the_cap_is_fitted_on_a_seeded_sample_close_to_the_full_fit():
    frame = _bg_population(20_000, 2)
    full = fit_bgnbd(frame, max_customers=None)
    a = fit_bgnbd(frame, max_customers=5000, random_state=3)
    b = fit_bgnbd(frame, max_customers=5000, random_state=3)
    c = fit_bgnbd(frame, max_customers=5000, random_state=4)
    assert a.params_ == b.params_  # deterministic
    assert a.params_ != c.params_  # and really a sample: another seed, another one
    # the population-level quantity the features use stays within sampling error
    x = frame.head(500)
    pa, pf = (with_bgnbd_features(x, pd.DataFrame(index=x.index), 90, m)["bg_p_no_purchase"] for m in (a, full))
    assert float(np.abs(pa - pf).max()) < 0.03
