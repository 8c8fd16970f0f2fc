"""Model persistence for the refresh: the demand forecaster's booster in its library's own format plus its
fitted state as JSON (no pickle), so models/ stays free of file I/O."""

from __future__ import annotations

import json
from pathlib import Path

from models.forecast import FEATURES, DemandForecaster

__all__ = ["save_forecaster", "load_forecaster"]


def save_forecaster(model: DemandForecaster, folder: str | Path) -> None:
    """Write the booster (xgboost JSON or LightGBM text) and the fitted state of ``model`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if model.backend == "xgboost":
        model.booster_.save_model(str(folder / "booster.json"))
    else:
        (folder / "booster.txt").write_text(model.booster_.model_to_string())
    state = {"params": model.get_params(), "best_iteration": model.best_iteration_,
             "conformal": model.conformal_, "conformal_wide": getattr(model, "conformal_wide_", None),
             "quantiles": getattr(model, "quantiles_", None), "yearly": model.yearly_,
             "validation_metrics": model.validation_metrics_,
             "feature_names": model.feature_names_, "feature_importance": model.feature_importance_,
             "feature_summary": model.feature_summary_, "n_train_rows": model.n_train_rows_,
             "n_products_fitted": model.n_products_fitted_}
    (folder / "forecaster.json").write_text(json.dumps(state, indent=1))


def load_forecaster(folder: str | Path) -> DemandForecaster:
    """The forecaster saved in ``folder``; ValueError when it was saved by code with other features."""
    folder = Path(folder)
    state = json.loads((folder / "forecaster.json").read_text())
    model = DemandForecaster(**state["params"])
    if model.backend == "xgboost":
        import xgboost as xgb

        model.booster_ = xgb.Booster()
        model.booster_.load_model(str(folder / "booster.json"))
    else:
        import lightgbm as lgb

        model.booster_ = lgb.Booster(model_str=(folder / "booster.txt").read_text())
    if list(state["feature_names"]) != list(FEATURES):
        raise ValueError(f"saved model's features {state['feature_names']} differ from this code's {FEATURES}")
    model.best_iteration_ = state["best_iteration"]
    model.yearly_ = bool(state["yearly"])
    model.conformal_ = state["conformal"]
    model.conformal_wide_ = state.get("conformal_wide")  # None: saved before the 95% band existed
    if state.get("quantiles") is not None:
        model.quantiles_ = state["quantiles"]
    model.validation_metrics_ = state["validation_metrics"]
    model.feature_names_ = state["feature_names"]
    model.feature_importance_ = state["feature_importance"]
    model.feature_summary_ = state["feature_summary"]
    model.n_train_rows_ = state["n_train_rows"]
    model.n_products_fitted_ = state["n_products_fitted"]
    return model
