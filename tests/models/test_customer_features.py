"""Feature preparation for the customer models: derived ratios by hand, BG/NBD columns, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models._features import BGNBD_COLUMNS, FEATURE_NAMES, feature_matrix, fit_bgnbd, with_bgnbd_features


def _rows(n: int = 2) -> pd.DataFrame:
    base = {"recency_days": [10, 40], "frequency": [3, 1], "monetary_total": [300.0, 50.0],
            "customer_age_days": [100, 40], "avg_order_value": [100.0, 50.0],
            "mean_days_between_orders": [45.0, np.nan], "std_days_between_orders": [5.0, np.nan],
            "orders_30d": [1, 0], "orders_90d": [2, 1], "orders_180d": [3, 1], "orders_365d": [3, 1],
            "spend_30d": [100.0, 0.0], "spend_90d": [200.0, 50.0], "spend_180d": [300.0, 50.0],
            "spend_365d": [300.0, 50.0], "distinct_products": [5, 1], "return_rate": [0.0, 0.0],
            "spend_trend": [1.0, 1.0]}
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
