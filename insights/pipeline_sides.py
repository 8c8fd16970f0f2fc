"""The two model families of the refresh, as ``Side`` adapters over insights.customer_scoring and
insights.product_scoring (imported lazily: they pull in the ML stack)."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from datetime import date, timedelta
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insights.pipeline import SideOutput
from insights.pipeline_scores import customer_scores_frame, product_forecasts_frame

__all__ = ["CustomerSide", "ProductSide", "holdout_metrics", "code_fingerprint"]


def holdout_metrics(metadata: dict[str, Any]) -> dict[str, float]:
    """Flat ``{<model>_<metric>: value}`` from the ``holdout`` blocks of a models' metadata.

    A block split into calibrated/uncalibrated reports the calibrated numbers; a block keyed by candidate
    models reports the chosen one (``section["model"]``); counts (``n``) are left out.
    """
    out: dict[str, float] = {}
    for model, section in sorted(metadata.items()):
        if not isinstance(section, dict):
            continue
        for key in ("holdout", "spend_holdout", "orders_holdout"):
            block = section.get(key)
            if not isinstance(block, dict):
                continue
            if isinstance(block.get("calibrated"), dict):
                block = block["calibrated"]
            elif isinstance(block.get(str(section.get("model"))), dict):
                block = block[str(section["model"])]
            prefix = model if key == "holdout" else f"{model}_{key.removesuffix('_holdout')}"
            for metric, value in _leaves(block):
                if metric != "n":
                    out[f"{prefix}_{metric}"] = value
    return out


def code_fingerprint(modules: tuple[str, ...], packages: tuple[str, ...] = ("models",)) -> str:
    """sha256 (12 hex) of the files of ``modules`` and of every module in ``packages``, found without importing.

    A new deployment with changed model code gets a new fingerprint, and the refresh retrains rather than
    feed stored models to code that may no longer read them. Bytecode-only packages hash the .pyc files.
    """
    paths: list[Path] = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            paths.append(Path(spec.origin))
    for name in packages:
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            paths += sorted(p for p in Path(folder).iterdir() if p.suffix in (".py", ".pyc") and p.is_file())
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _leaves(block: dict[str, Any], prefix: str = "") -> list[tuple[str, float]]:
    found = []
    for name, value in sorted(block.items()):
        if isinstance(value, dict) and not prefix:
            found += _leaves(value, f"{name}_")
        elif isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value):
            found.append((f"{prefix}{name}", float(value)))
    return found


@dataclass
class CustomerSide:
    """Segments, churn, CLV and next-order scores for every customer with a purchase before as_of."""

    clv_horizon_days: int = 365
    churn_horizon_days: int = 90
    margin: float | None = None
    random_state: int = 0
    min_customers: int = 20
    name: str = "customers"

    @classmethod
    def from_settings(cls, settings: Any) -> CustomerSide:
        return cls(clv_horizon_days=settings.clv_horizon_days, churn_horizon_days=settings.churn_horizon_days,
                   margin=settings.margin, min_customers=settings.min_customers)

    def code_version(self) -> str:
        return code_fingerprint(("insights.customer_scoring", "insights.customer_training"))

    def extract(self, engine: Any, as_of: date) -> pd.DataFrame:
        return engine.query("customer_features", {"cutoff": as_of.isoformat()})

    def gate(self, frame: pd.DataFrame) -> str | None:
        n = len(frame)
        return None if n >= self.min_customers else f"{n} customers with a purchase; at least {self.min_customers}"

    def drift_features(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        return {c: frame[c].to_numpy("float64", na_value=np.nan)
                for c in ("recency_days", "frequency", "monetary_total", "avg_order_value") if c in frame}

    def train(self, engine: Any, as_of: date) -> Any:
        from insights.customer_scoring import train_customer_models

        return train_customer_models(engine, as_of, clv_horizon_days=self.clv_horizon_days,
                                     churn_horizon_days=self.churn_horizon_days, margin=self.margin,
                                     random_state=self.random_state)

    def save(self, models: Any, folder: Path) -> None:
        models.save(folder)

    def load(self, folder: Path) -> Any:
        from insights.customer_scoring import CustomerModels

        return CustomerModels.load(folder)

    def describe(self, models: Any) -> dict[str, Any]:
        return dict(models.metadata)

    def score(self, models: Any, frame: pd.DataFrame, as_of: date) -> SideOutput:
        from insights.customer_scoring import score_customers

        scores = score_customers(models, frame, as_of)
        return SideOutput(
            tables={"customers": scores.columns, "at_risk": {"order": np.asarray(scores.at_risk_order, "int32")}},
            table_keys={"customers": "customer_id"}, docs=dict(scores.docs),
            scores={"customer_scores": customer_scores_frame(scores.columns)},
            quality=holdout_metrics(models.metadata),
        )


@dataclass
class ProductSide:
    """90-day demand forecasts with bounds and price elasticity for every product with enough history."""

    horizon_days: int = 90
    level: float = 0.8
    history_days: int = 730
    random_state: int = 0
    min_sales_days: int = 14
    name: str = "products"

    @classmethod
    def from_settings(cls, settings: Any) -> ProductSide:
        return cls(horizon_days=settings.forecast_horizon_days, history_days=settings.sales_history_days,
                   min_sales_days=settings.min_sales_days)

    def code_version(self) -> str:
        return code_fingerprint(("insights.product_scoring",))

    def extract(self, engine: Any, as_of: date) -> pd.DataFrame:
        start = as_of - timedelta(days=self.history_days)
        return engine.query("daily_sales", {"start": start.isoformat(), "end": as_of.isoformat()})

    def gate(self, frame: pd.DataFrame) -> str | None:
        days = int(frame["sale_date"].nunique()) if len(frame) else 0
        return None if days >= self.min_sales_days else f"{days} days with sales; at least {self.min_sales_days}"

    def drift_features(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        return {c: frame[c].to_numpy("float64", na_value=np.nan) for c in ("quantity", "price") if c in frame}

    def train(self, engine: Any, as_of: date) -> Any:
        from insights.product_scoring import train_product_models

        return train_product_models(engine, as_of, horizon_days=self.horizon_days, level=self.level,
                                    random_state=self.random_state, history_days=self.history_days)

    def save(self, models: Any, folder: Path) -> None:
        models.save(folder)

    def load(self, folder: Path) -> Any:
        from insights.product_scoring import ProductModels

        return ProductModels.load(folder)

    def describe(self, models: Any) -> dict[str, Any]:
        return dict(models.metadata)

    def score(self, models: Any, frame: pd.DataFrame, as_of: date) -> SideOutput:
        from insights.product_scoring import score_products

        scores = score_products(models, frame, as_of)
        tables = {name: dict(cols) for name, cols in scores.tables.items()}
        out_scores = {}
        if "forecast" in tables and len(tables["forecast"].get("product_id", ())):
            out_scores["product_forecasts"] = product_forecasts_frame(tables["forecast"], as_of.isoformat())
        return SideOutput(tables=tables, table_keys={t: "product_id" for t in tables}, docs=dict(scores.docs),
                          scores=out_scores, quality=holdout_metrics(models.metadata))
