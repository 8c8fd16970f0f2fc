"""The customer side of the refresh: segments, churn, CLV and next-order scores for every customer.

:class:`CustomerSide` is what the pipeline runs (insights/refresh/side.py): it extracts ``customer_features``
joined with ``customer_categories`` (the traits' inputs) as of ``as_of`` once, trains on it
(insights/refresh/customer_training.py queries only the past cutoffs), and scores it in the sharded refresh's
three steps (insights/refresh/customer_scoring.py: context, per-row, population-level) into the ``customers``,
``at_risk`` and ``customer_traits`` tables and the ``segments``, ``customer_models`` and ``traits`` documents
(insights/snapshot/schema.py, insights/snapshot/traits.py). No query reads an order on or after ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from athena.engine import QueryEngine
from insights.config import Settings
from insights.refresh.analyst import customer_scores_frame
from insights.refresh.customer_scoring import (
    CUSTOMER_COLUMNS,
    SEGMENT_KS,
    CustomerScores,
    consistent_spend,
    customer_context,
    finish_customers,
    score_customer_rows,
    score_customers,
)
from insights.refresh.customer_training import CustomerModels, train_customer_models
from insights.refresh.engagement import ENGAGEMENT_QUERY, join_engagement
from insights.refresh.side import SideOutput, code_fingerprint, holdout_metrics, join_extracts, jsonable
from insights.snapshot.traits import trait_columns, trait_inputs, traits_document

__all__ = ["CustomerSide", "score_customers", "CustomerScores", "SEGMENT_KS", "CUSTOMER_COLUMNS", "consistent_spend"]


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
    def from_settings(cls, settings: Settings) -> CustomerSide:
        return cls(clv_horizon_days=settings.clv_horizon_days, churn_horizon_days=settings.churn_horizon_days,
                   margin=settings.margin, min_customers=settings.min_customers)

    def code_version(self) -> str:
        return code_fingerprint(("insights.refresh.customers", "insights.refresh.customer_training",
                                 "insights.refresh.customer_scoring", "insights.refresh.training_slices",
                                 "insights.refresh.engagement"))

    shard_key = "customer_id"  # the sharded refresh (insights/refresh/sharded.py) splits customers by it

    def extract_queries(self, as_of: date) -> list[tuple[str, dict[str, Any]]]:
        cutoff = {"cutoff": as_of.isoformat()}
        # the second: the traits' affinity; the third: the optional reviews and engagement (no rows without them)
        return [("customer_features", cutoff), ("customer_categories", cutoff), (ENGAGEMENT_QUERY, cutoff)]

    def extract(self, engine: QueryEngine, as_of: date) -> pd.DataFrame:
        frames = [engine.query(*q) for q in self.extract_queries(as_of)]
        # no engagement rows (a lake without the tables): no engagement columns at all, the frame of before
        return join_engagement(join_extracts(frames[:2], self.shard_key), frames[2])

    def prepare(self, engine: QueryEngine, rows: pd.DataFrame, as_of: date) -> pd.DataFrame:
        return rows  # the joined extract rows are the training frame as they are

    def gate(self, frame: pd.DataFrame) -> str | None:
        n = len(frame)
        return None if n >= self.min_customers else f"{n} customers with a purchase; at least {self.min_customers}"

    def drift_features(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        return {c: frame[c].to_numpy("float64", na_value=np.nan)
                for c in ("recency_days", "frequency", "monetary_total", "avg_order_value") if c in frame}

    def train(self, engine: QueryEngine, as_of: date, frame: pd.DataFrame) -> CustomerModels:
        return train_customer_models(engine, as_of, frame, clv_horizon_days=self.clv_horizon_days,
                                     churn_horizon_days=self.churn_horizon_days, margin=self.margin,
                                     random_state=self.random_state)

    def save(self, models: CustomerModels, folder: Path) -> None:
        models.save(folder)

    def load(self, folder: Path) -> CustomerModels:
        return CustomerModels.load(folder)

    def describe(self, models: CustomerModels) -> dict[str, Any]:
        return dict(models.metadata)

    def score(self, models: CustomerModels, frame: pd.DataFrame, as_of: date) -> SideOutput:
        context = self.context(models, frame, as_of)  # the sharded refresh's three steps on one frame
        return self.finish(models, context, self.score_part(models, context, frame, as_of), as_of)

    # the sharded refresh: population context once, rows per shard, the population-level rest once
    def context(self, models: CustomerModels, frame: pd.DataFrame, as_of: date) -> dict[str, Any]:
        return customer_context(models, frame, as_of)

    def score_part(self, models: CustomerModels, context: dict[str, Any], part: pd.DataFrame,
                   as_of: date) -> dict[str, dict[str, np.ndarray]]:
        traits = trait_inputs(part.sort_values("customer_id", kind="stable").reset_index(drop=True))
        return {"customers": score_customer_rows(models, context, part, as_of), "trait_inputs": traits}

    def finish(self, models: CustomerModels, context: dict[str, Any], rows: dict[str, dict[str, np.ndarray]],
               as_of: date) -> SideOutput:
        scores = finish_customers(models, context, rows["customers"], as_of)
        # the traits' category check is population-wide: on every customer's inputs together
        traits = trait_columns(rows["trait_inputs"], scores.columns["predicted_clv"], scores.columns["monetary_total"])
        docs = {**scores.docs, "traits": jsonable(traits_document(traits))}
        return SideOutput(
            tables={"customers": scores.columns, "at_risk": {"order": np.asarray(scores.at_risk_order, "int32")},
                    "customer_traits": traits},
            table_keys={"customers": "customer_id", "customer_traits": "customer_id"}, docs=docs,
            scores={"customer_scores": customer_scores_frame(scores.columns)},
            quality=holdout_metrics(models.metadata),
        )
