import numpy as np
import pytest

from models.conformal import M5_QUANTILES, apply_quantiles, conformal_table, pinball_loss, quantile_table
from models.forecast_metrics import mase, naive_scale, scaled_pinball, wape


def test_pinball_loss_matches_a_hand_computed_three_point_example():
    y = np.array([1.0, 3.0, 5.0])
    q = np.array([[2.0, 2.0, 2.0], [4.0, 4.0, 4.0]])
    # p = 0.1, q = 2: under-forecasts cost 0.1, over-forecasts 0.9: (0.9 * 1 + 0.1 * 1 + 0.1 * 3) / 3
    # p = 0.9, q = 4: (0.1 * 3 + 0.1 * 1 + 0.9 * 1) / 3
    np.testing.assert_allclose(pinball_loss(y, q, [0.1, 0.9]), [1.3 / 3, 1.3 / 3])
    np.testing.assert_allclose(pinball_loss(y, y[None, :], [0.5]), [0.0])


def test_mase_wape_and_the_scaled_pinball_match_hand_computed_values():
    history = [np.array([1.0, 2, 3, 4, 5, 6, 7, 3, 2, 3]), np.zeros(10)]  # lag-7 MAE: (2 + 0 + 0) / 3 = 2/3
    y = np.array([[2.0, 4.0], [1.0, 1.0]])
    pred = np.array([[3.0, 3.0], [0.0, 0.0]])
    assert naive_scale(history, 7)[0] == pytest.approx(2 / 3) and naive_scale(history, 7)[1] == 0
    assert mase(y, pred, history) == pytest.approx(1.0 / (2 / 3))  # the all-zero series has no scale: skipped
    assert wape(y, pred) == pytest.approx(4 / 8)
    # the median at the point forecast: pinball 0.5 |e| = 0.5; lag-1 scale of series 0 = (1+1+1+1+1+1+4+1+1)/9
    spl = scaled_pinball(y, pred[:, None, :], [0.5], history)
    assert spl == pytest.approx(0.5 / (12 / 9))


def test_conformal_bands_cover_their_nominal_level_on_iid_residuals():
    rng = np.random.default_rng(0)
    n = 40_000
    scale = rng.lognormal(0, 1, n)
    k = rng.integers(0, 90, n)
    pred = np.zeros(n)
    y = rng.standard_normal(n) * (1 + 1 / scale)  # slow sellers relatively noisier, as scaled Poisson counts
    fresh = rng.standard_normal(n) * (1 + 1 / scale)
    for level in (0.8, 0.95):
        t = conformal_table(y, pred, scale, k, level)
        b = np.minimum(np.searchsorted([7, 14, 28, 56, 91], k, side="right"), 4)
        v = np.searchsorted(t["scale_edges"], scale, side="right")
        lo, hi = np.asarray(t["lower"])[b, v], np.asarray(t["upper"])[b, v]
        inside = (fresh >= lo) & (fresh <= hi)
        assert inside.mean() == pytest.approx(level, abs=0.01)
        for c in range(4):  # Mondrian: each volume class covers, not only the total
            assert inside[v == c].mean() == pytest.approx(level, abs=0.02)


def test_quantile_table_gives_ordered_non_negative_quantiles():
    rng = np.random.default_rng(1)
    n = 5_000
    scale, k = rng.uniform(0.1, 10, n), rng.integers(0, 28, n)
    y = rng.poisson(scale) / scale
    t = quantile_table(y, np.ones(n), scale, k, M5_QUANTILES)
    q = apply_quantiles(t, np.ones(n), scale, k)
    assert q.shape == (9, n) and (q >= 0).all() and (np.diff(q, axis=0) >= 0).all()
    with pytest.raises(ValueError, match="increasing"):
        quantile_table(y, np.ones(n), scale, k, (0.9, 0.1))
