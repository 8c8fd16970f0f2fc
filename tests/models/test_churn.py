"""Churn model: ECE by hand, calibration on a shifted later slice, contributions, risk levels, bad labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.churn import ChurnModel, classification_metrics, expected_calibration_error, risk_levels


def _slice(n: int, seed: int, shift: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "noise": rng.normal(size=n)})
    logit = 1.5 * X["a"] - 0.7 * X["b"] + shift
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def test_ece_matches_a_hand_computation():
    # one sample per bin: mean of |y - p| = (0.1 + 0.1 + 0.2 + 0.7) / 4
    assert expected_calibration_error([0, 1, 1, 1], [0.1, 0.9, 0.8, 0.3]) == pytest.approx(0.275)
    # two samples in bin 5 (0.5, 0.55): |0.5 - 0.525| weighted by 2/2
    assert expected_calibration_error([0, 1], [0.5, 0.55]) == pytest.approx(0.025)
    with pytest.raises(ValueError):
        expected_calibration_error([0, 1], [0.5, 1.5])


def test_calibration_on_a_later_shifted_slice_reduces_ece():
    X, y = _slice(3000, 0)
    X_cal, y_cal = _slice(3000, 1, shift=1.2)  # the later period churns more: the booster is off
    X_test, y_test = _slice(3000, 2, shift=1.2)
    for method in ("sigmoid", "isotonic"):
        model = ChurnModel(random_state=0, calibration=method, early_stopping_rounds=None).fit(
            X, y, X_cal=X_cal, y_cal=y_cal)
        raw = expected_calibration_error(y_test, model.predict_raw(X_test))
        calibrated = expected_calibration_error(y_test, model.predict_proba(X_test))
        assert raw > 0.1 and calibrated < 0.05 and calibrated < raw / 2, method
        assert model.calibration_method_ == method
        held = model.holdout_metrics_
        assert held["calibrated"]["ece"] < held["uncalibrated"]["ece"]
        assert held["calibrated"]["roc_auc"] > 0.7


def test_platt_scaling_keeps_the_ranking():
    X, y = _slice(2000, 0)
    X_cal, y_cal = _slice(1000, 1, shift=0.8)
    model = ChurnModel(random_state=0).fit(X, y, X_cal=X_cal, y_cal=y_cal)
    assert model.calibration_method_ == "sigmoid"
    raw, cal = model.predict_raw(X), model.predict_proba(X)
    assert (np.argsort(raw, kind="stable") == np.argsort(cal, kind="stable")).all()


def test_a_prior_is_the_starting_score_and_early_stopping_keeps_few_trees_on_a_perfect_one():
    X, y = _slice(2000, 0)
    X_cal, y_cal = _slice(2000, 1)
    truth = lambda F: 1 / (1 + np.exp(-(1.5 * F["a"] - 0.7 * F["b"])))  # noqa: E731
    X, X_cal = X.assign(prior=truth(X)), X_cal.assign(prior=truth(X_cal))
    model = ChurnModel(prior="prior", n_estimators=300, random_state=0).fit(X, y, X_cal=X_cal, y_cal=y_cal)
    assert model.n_trees_ < 60  # nothing left to learn beyond the true probability
    np.testing.assert_allclose(model.predict_raw(X_cal), truth(X_cal), atol=0.08)
    names, _ = model.top_factors(X_cal, 1)
    assert (names[:, 0] == "prior").mean() > 0.8
    with pytest.raises(ValueError, match="prior column"):
        ChurnModel(prior="missing").fit(X, y)


def test_auto_calibration_uses_platt_scaling_on_small_slices():
    X, y = _slice(600, 0)
    X_cal, y_cal = _slice(300, 1, shift=1.0)
    model = ChurnModel(calibration="auto", random_state=0).fit(X, y, X_cal=X_cal, y_cal=y_cal)
    assert model.calibration_method_ == "sigmoid"
    p = model.predict_proba(X_cal)
    assert abs(p.mean() - y_cal.mean()) < 0.05


def test_contributions_explain_the_raw_log_odds_and_name_the_driver():
    X, y = _slice(2000, 0)
    model = ChurnModel(random_state=0).fit(X, y)
    contrib = np.asarray(model.booster_.predict(X, pred_contrib=True))
    raw = model.predict_raw(X)
    np.testing.assert_allclose(contrib.sum(axis=1), np.log(raw / (1 - raw)), rtol=1e-6, atol=1e-6)
    names, values = model.top_factors(X, 3)
    assert names.shape == values.shape == (2000, 3)
    assert (names[:, 0] == "a").mean() > 0.6  # the strongest driver leads most explanations
    assert (np.abs(values[:, 0]) >= np.abs(values[:, 1])).all()
    assert max(model.feature_importance_, key=model.feature_importance_.get) == "a"
    assert sum(model.feature_importance_.values()) == pytest.approx(1.0)


def test_fit_is_deterministic():
    X, y = _slice(1000, 0)
    X_cal, y_cal = _slice(1000, 1)
    a = ChurnModel(random_state=5).fit(X, y, X_cal=X_cal, y_cal=y_cal).predict_proba(X)
    b = ChurnModel(random_state=5).fit(X, y, X_cal=X_cal, y_cal=y_cal).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_a_single_label_class_is_refused():
    X, _ = _slice(100, 0)
    with pytest.raises(ValueError, match="single class"):
        ChurnModel().fit(X, np.ones(100, dtype=int))
    with pytest.raises(ValueError, match="0/1"):
        ChurnModel().fit(X, np.full(100, 2))


def test_risk_levels_follow_the_documented_thresholds():
    levels = risk_levels([0.0, 0.29, 0.3, 0.49, 0.5, 0.69, 0.7, 1.0])
    assert levels.tolist() == ["Low", "Low", "Medium", "Medium", "High", "High", "Critical", "Critical"]


def test_classification_metrics_report_every_score():
    m = classification_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert set(m) == {"n", "base_rate", "roc_auc", "pr_auc", "brier", "log_loss", "ece"}
