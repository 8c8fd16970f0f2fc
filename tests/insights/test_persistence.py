"""The refresh saves the demand forecaster in its library's own format and reads it back to the same forecasts."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from test_forecast import START, small_model, synthetic_sales  # noqa: E402

from insights.refresh.persistence import load_forecaster, save_forecaster  # noqa: E402
from models.forecast_features import build_panel  # noqa: E402


@pytest.fixture(scope="module")
def panel():
    return build_panel(synthetic_sales(), end=START + dt.timedelta(days=300))


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_a_saved_forecaster_loads_to_the_same_forecasts(panel, tmp_path, backend):
    fitted = small_model(backend=backend, n_estimators=60).fit(panel)
    save_forecaster(fitted, tmp_path / "m")
    loaded = load_forecaster(tmp_path / "m")
    a, b = fitted.predict(panel), loaded.predict(panel)
    np.testing.assert_allclose(a.predicted, b.predicted, rtol=1e-6)
    np.testing.assert_allclose(a.upper, b.upper, rtol=1e-6)
    assert loaded.conformal_ == fitted.conformal_ and loaded.best_iteration_ == fitted.best_iteration_


def test_a_forecaster_saved_with_other_features_is_refused(panel, tmp_path):
    save_forecaster(small_model(n_estimators=20).fit(panel), tmp_path / "m")
    state = json.loads((tmp_path / "m" / "forecaster.json").read_text())
    state["feature_names"] = state["feature_names"][:-1]
    (tmp_path / "m" / "forecaster.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match="differ from this code"):
        load_forecaster(tmp_path / "m")
