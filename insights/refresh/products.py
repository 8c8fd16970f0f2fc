"""The product side of the refresh: the global demand model, forecasts with intervals, and elasticities.

:class:`ProductSide` is what the pipeline runs (insights/refresh/side.py): it extracts ``daily_sales`` over
``[as_of - history_days, as_of)`` once, fits the forecaster on that frame (early stopping and conformal
calibration on its last 28 days), and :func:`score_products` writes the ``forecast`` and ``elasticity``
tables and the ``forecast_meta`` document (insights/snapshot/schema.py; methods: docs/product-models.md).
The request path prices with models.pricing (numpy only).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from athena.engine import QueryEngine
from insights.config import Settings
from insights.refresh.analyst import product_forecasts_frame
from insights.refresh.forecast_days import fallback_note, on_trading_days
from insights.refresh.persistence import load_forecaster, save_forecaster
from insights.refresh.pricing import ELASTICITY_METHOD, elasticity_table, forecast_grain
from insights.refresh.side import SideOutput, code_fingerprint, holdout_metrics
from models.forecast import DemandForecaster
from models.forecast_drivers import forecast_drivers
from models.forecast_features import build_panel
from models.intermittent import tsb_forecast

__all__ = ["ProductSide", "ProductModels", "ProductScores", "fit_product_models", "score_products",
           "WHATIF_MULTIPLIERS"]

WHATIF_MULTIPLIERS = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3)
METHOD = "direct multi-horizon (horizon as a feature), one global model across products"


@dataclass
class ProductSide:
    """90-day demand forecasts with bounds and price elasticity for every product with enough history."""

    horizon_days: int = 90
    level: float = 0.8
    wide_level: float = 0.95
    history_days: int = 730
    random_state: int = 0
    min_sales_days: int = 14
    name: str = "products"
    params: dict[str, Any] = field(default_factory=dict)  # DemandForecaster parameters (tests make it small)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProductSide:
        return cls(horizon_days=settings.forecast_horizon_days, history_days=settings.sales_history_days,
                   min_sales_days=settings.min_sales_days)

    def code_version(self) -> str:
        return code_fingerprint(("insights.refresh.products", "insights.refresh.forecast_days"))

    def extract(self, engine: QueryEngine, as_of: dt.date) -> pd.DataFrame:
        start = as_of - dt.timedelta(days=self.history_days)
        return engine.query("daily_sales", {"start": start.isoformat(), "end": as_of.isoformat()})

    def gate(self, frame: pd.DataFrame) -> str | None:
        days = int(frame["sale_date"].nunique()) if len(frame) else 0
        return None if days >= self.min_sales_days else f"{days} days with sales; at least {self.min_sales_days}"

    def drift_features(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        return {c: frame[c].to_numpy("float64", na_value=np.nan) for c in ("quantity", "price") if c in frame}

    def train(self, engine: QueryEngine, as_of: dt.date, frame: pd.DataFrame) -> ProductModels:
        return fit_product_models(frame, as_of, horizon_days=self.horizon_days, level=self.level,
                                  wide_level=self.wide_level, random_state=self.random_state, **self.params)

    def save(self, models: ProductModels, folder: Path) -> None:
        models.save(folder)

    def load(self, folder: Path) -> ProductModels:
        return ProductModels.load(folder)

    def describe(self, models: ProductModels) -> dict[str, Any]:
        return dict(models.metadata)

    def score(self, models: ProductModels, frame: pd.DataFrame, as_of: dt.date) -> SideOutput:
        scores = score_products(models, frame, as_of)
        tables = {name: dict(cols) for name, cols in scores.tables.items()}
        out_scores: dict[str, pd.DataFrame | dict[str, np.ndarray]] = {}
        if "forecast" in tables and len(tables["forecast"].get("product_id", ())):
            out_scores["product_forecasts"] = product_forecasts_frame(tables["forecast"], as_of.isoformat())
        return SideOutput(tables=tables, table_keys={t: "product_id" for t in tables}, docs=dict(scores.docs),
                          scores=out_scores, quality=holdout_metrics(models.metadata))


@dataclass
class ProductModels:
    """The fitted forecaster (None when no product had enough history: every product then gets a fallback)."""

    forecaster: DemandForecaster | None
    metadata: dict[str, Any] = field(default_factory=dict)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.forecaster is not None:
            save_forecaster(self.forecaster, folder / "forecaster")
        (folder / "product_models.json").write_text(json.dumps(self.metadata, indent=1, default=str))

    @classmethod
    def load(cls, folder: str | Path) -> ProductModels:
        folder = Path(folder)
        metadata = json.loads((folder / "product_models.json").read_text())
        sub = folder / "forecaster"
        return cls(load_forecaster(sub) if sub.is_dir() else None, metadata)


@dataclass(frozen=True)
class ProductScores:
    tables: dict[str, dict[str, np.ndarray]]
    docs: dict[str, Any]


def fit_product_models(sales: pd.DataFrame, as_of: dt.date, *, horizon_days: int = 90, level: float = 0.8,
                       wide_level: float = 0.95, random_state: int = 0, backend: str = "xgboost",
                       **params: Any) -> ProductModels:
    """Fit the global demand model on ``sales`` (daily_sales rows before ``as_of``); deterministic for a seed.

    ``params`` go to :class:`models.forecast.DemandForecaster` (e.g. n_estimators, max_train_rows, n_jobs).
    """
    import xgboost

    est = DemandForecaster(horizon_days=horizon_days, level=level, wide_level=wide_level, backend=backend,
                           random_state=random_state, **params)
    meta: dict[str, Any] = {"model": backend, "method": METHOD, "as_of": as_of.isoformat(), "level": level,
                            "wide_level": wide_level,
                            "horizon_days": horizon_days, "versions": {"xgboost": xgboost.__version__}}
    if backend == "lightgbm":
        import lightgbm

        meta["versions"]["lightgbm"] = lightgbm.__version__
    if len(sales) == 0:
        meta["skipped"] = "no sales before as_of"
        return ProductModels(None, {"forecast": meta})
    panel = build_panel(sales, end=as_of)
    n_eligible = int(est.eligible(panel).sum())
    if n_eligible == 0 or panel.n_days < est.min_history_days + est.validation_days:
        meta["skipped"] = (f"{n_eligible} products with {est.min_history_days} days of history and "
                           f"{est.min_sale_days} sale days over {panel.n_days} days: every product gets a fallback")
        return ProductModels(None, {"forecast": meta})
    grain, weekdays, _, _ = forecast_grain(sales, panel.product_ids, as_of, 7)
    trading = np.array([[str(w) in days.split(",") for w in range(7)] for days in weekdays], dtype=bool)
    est.fit(panel, grain=grain, trading=trading)
    meta.update({
        "trained_on": {"start": panel.start.isoformat(), "end": as_of.isoformat(),
                       "validation_start": (as_of - dt.timedelta(days=est.validation_days)).isoformat()},
        "holdout": {k: v for k, v in est.validation_metrics_.items()},
        "holdout_by_grain": getattr(est, "validation_by_grain_", {}),
        "holdout_note": "the validation window (last validation_days before as_of) that also stopped the boosting "
                        "and calibrated the intervals; bench/bench_products.py measures a true holdout",
        "best_iteration": est.best_iteration_, "n_products": est.n_products_fitted_, "n_train_rows": est.n_train_rows_,
        "conformal": est.conformal_, "conformal_wide": est.conformal_wide_,
        "feature_importance": est.feature_importance_,
        "feature_summary": est.feature_summary_, "params": est.get_params(),
    })
    return ProductModels(est, {"forecast": meta})


def score_products(models: ProductModels, sales: pd.DataFrame, as_of: dt.date) -> ProductScores:
    """Forecast and elasticity tables for every product in ``sales`` (daily_sales rows before ``as_of``)."""
    meta = models.metadata.get("forecast", {})
    H = int(meta.get("horizon_days", 90)) if models.forecaster is None else models.forecaster.horizon_days
    level = float(meta.get("level", 0.8)) if models.forecaster is None else models.forecaster.level
    wide_level = float(meta.get("wide_level") or 0.95)
    sales = sales.loc[pd.to_datetime(sales["sale_date"]).dt.date < as_of] if len(sales) else sales
    if len(sales) == 0:
        return ProductScores(_empty_tables(H), {"forecast_meta": _forecast_meta(models, level, wide_level, {}, H)})
    panel = build_panel(sales, end=as_of)
    n, m = panel.n_products, len(WHATIF_MULTIPLIERS)
    pred, lower, upper, lower_w, upper_w = (np.full((n, H), np.nan, dtype=np.float32) for _ in range(5))
    whatif = np.full((n, m, H), np.nan, dtype=np.float32)
    method = np.full(n, "none", dtype=object)
    status = np.full(n, "insufficient_history", dtype=object)
    done = np.zeros(n, dtype=bool)
    drivers, effects = np.full((n, 3), "", dtype=object), np.zeros((n, 3), dtype=np.float32)
    note = np.full(n, "", dtype=object)
    if models.forecaster is not None:
        rows = np.flatnonzero(models.forecaster.eligible(panel))
        if rows.size:
            res = models.forecaster.predict(panel, rows=rows, price_multipliers=WHATIF_MULTIPLIERS)
            pred[rows], lower[rows], upper[rows], whatif[rows] = res.predicted, res.lower, res.upper, res.whatif
            if res.lower_wide is not None:  # a model saved before the wide band existed leaves it NaN (null)
                lower_w[rows], upper_w[rows] = res.lower_wide, res.upper_wide
            method[rows], status[rows], done[rows] = "model", "ok", True
            drivers[rows], effects[rows] = forecast_drivers(models.forecaster, panel, rows)
    sale_days = np.sum(np.nan_to_num(panel.quantity[:, -365:]) > 0, axis=1)
    for i in np.flatnonzero(~done):
        series = panel.quantity[i, panel.first_index[i]:]
        if np.sum(series > 0) < 2:
            note[i] = "sold on fewer than 2 days: there is no selling rate to forecast from"
            continue  # one sale is not a rate: insufficient history
        f = tsb_forecast(series, horizon_days=H, level=level)
        pred[i], lower[i], upper[i] = f.predicted, f.lower, f.upper
        w = tsb_forecast(series, horizon_days=H, level=wide_level)
        lower_w[i], upper_w[i] = np.minimum(w.lower, f.lower), np.maximum(w.upper, f.upper)
        method[i], status[i] = "tsb", "fallback"
        note[i] = fallback_note(models.forecaster, int(sale_days[i]), int(panel.n_days - panel.first_index[i]))
    grain, weekdays, grain_note = on_trading_days(sales, panel, as_of, (pred, lower, upper, lower_w, upper_w),
                                                   whatif)
    ref_price, last_price = _prices(panel)
    forecast = {"product_id": panel.product_ids.astype(str), "method": method.astype(str),
                "status": status.astype(str), "reference_price": ref_price, "last_price": last_price,
                "predicted_quantity": pred, "confidence_lower": lower, "confidence_upper": upper,
                "confidence_lower_wide": lower_w, "confidence_upper_wide": upper_w,
                "whatif_quantity": whatif, "method_note": note.astype(str), "grain": grain,
                "trading_weekdays": weekdays, "grain_note": grain_note,
                **{f"driver_{j + 1}": np.where(effects[:, j] != 0, drivers[:, j], "").astype(str) for j in range(3)},
                **{f"driver_effect_{j + 1}": effects[:, j] for j in range(3)}}
    counts = {s: int((status == s).sum()) for s in ("ok", "fallback", "insufficient_history")}
    with np.errstate(all="ignore"):  # the GLM's checks handle a diverging step; numpy's warnings are noise here
        elasticity = elasticity_table(sales, as_of, _recent_quantity(panel))
    return ProductScores({"forecast": forecast, "elasticity": elasticity},
                         {"forecast_meta": _forecast_meta(models, level, wide_level, counts, H)})


# ---------------------------------------------------------------------- helpers
def _prices(panel) -> tuple[np.ndarray, np.ndarray]:
    """Reference price (geometric mean over the last 91 days) and the last observed price."""
    window = panel.price[:, -91:]
    with np.errstate(invalid="ignore"):
        ref = np.exp(np.nanmean(np.log(window), axis=1))
    return ref.astype(np.float64), panel.price[:, -1].astype(np.float64)


def _recent_quantity(panel) -> dict[str, float]:
    """Mean daily units over each product's last 28 days (the optimizer's default current quantity)."""
    out = {}
    for i, pid in enumerate(panel.product_ids.astype(str)):
        recent = panel.quantity[i, max(int(panel.first_index[i]), panel.n_days - 28):]
        out[pid] = float(np.mean(recent)) if recent.size else float("nan")
    return out


def _forecast_meta(models: ProductModels, level: float, wide_level: float, counts: dict[str, int],
                   horizon: int) -> dict[str, Any]:
    meta = models.metadata.get("forecast", {})
    return {"level": level, "wide_level": wide_level, "method": METHOD, "model": meta.get("model", "xgboost"),
            "feature_importance": meta.get("feature_importance", []), "holdout": meta.get("holdout", {}),
            "holdout_by_grain": meta.get("holdout_by_grain", {}),
            "horizon_days": horizon, "trained_on": meta.get("trained_on"),
            "interval": "split conformal: scaled validation residual quantiles per horizon bucket x volume quartile "
                        "(the level band, and the wide_level band that contains it)",
            "fallback": "tsb: Teunter-Syntetos-Babai rate for products without enough history for the model",
            "whatif_price_multipliers": list(WHATIF_MULTIPLIERS), "counts": counts,
            "elasticity_method": ELASTICITY_METHOD, "skipped": meta.get("skipped")}


def _empty_tables(H: int) -> dict[str, dict[str, np.ndarray]]:
    e = np.array([], dtype="<U1")
    f = np.array([], dtype=np.float64)
    forecast = {"product_id": e, "method": e, "status": e, "reference_price": f, "last_price": f,
                "predicted_quantity": np.zeros((0, H), np.float32), "confidence_lower": np.zeros((0, H), np.float32),
                "confidence_upper": np.zeros((0, H), np.float32), "confidence_lower_wide": np.zeros((0, H), np.float32),
                "confidence_upper_wide": np.zeros((0, H), np.float32),
                "whatif_quantity": np.zeros((0, len(WHATIF_MULTIPLIERS), H), np.float32), "method_note": e,
                "grain": e, "trading_weekdays": e, "grain_note": e,
                **{f"driver_{j}": e for j in (1, 2, 3)}, **{f"driver_effect_{j}": f for j in (1, 2, 3)}}
    el = elasticity_table(pd.DataFrame(), dt.date(1970, 1, 1))
    return {"forecast": forecast, "elasticity": el}
