import numpy as np
import pytest

from models.intermittent import tsb_forecast


def test_tsb_forecast_is_probability_times_size_and_flat():
    y = np.array([0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0] * 10, dtype=float)
    f = tsb_forecast(y, horizon_days=30)
    assert f.predicted.shape == (30,) and np.all(f.predicted == f.predicted[0])
    assert f.size == pytest.approx(4.0)
    assert 0.2 < f.probability < 0.45  # one sale in four days, smoothed
    assert f.predicted[0] == pytest.approx(f.probability * f.size)
    assert f.lower[0] == 0.0 and f.upper[0] == pytest.approx(4.0)  # 80%: 0 to one sale


def test_tsb_probability_decays_after_a_product_stops_selling():
    active = np.ones(60)
    stopped = np.concatenate([active, np.zeros(60)])
    assert tsb_forecast(stopped, horizon_days=7).predicted[0] < 0.01 * tsb_forecast(active, horizon_days=7).predicted[0]


def test_bounds_enclose_the_point_and_are_never_negative():
    rng = np.random.default_rng(0)
    y = rng.poisson(0.3, 200) * rng.integers(1, 20, 200)
    f = tsb_forecast(y.astype(float), horizon_days=90, level=0.8)
    assert np.all(f.lower >= 0) and np.all(f.lower <= f.predicted) and np.all(f.predicted <= f.upper)


@pytest.mark.parametrize("y, kw, match", [(np.zeros(10), {}, "no day with a sale"),
                                           (np.array([1.0, -1.0]), {}, "quantity"),
                                           (np.ones(5), {"horizon_days": 0}, "horizon_days"),
                                           (np.ones(5), {"level": 1.0}, "level"),
                                           (np.ones(5), {"alpha_size": 0.0}, "alpha_size")])
def test_bad_inputs_raise(y, kw, match):
    args = {"horizon_days": 5, **kw}
    with pytest.raises(ValueError, match=match):
        tsb_forecast(y, **args)
