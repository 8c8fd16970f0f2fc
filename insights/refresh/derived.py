"""Documents derived once the customers are scored: aggregates the API answers without touching a row.

The pipeline calls :func:`derived_docs` with the scored ``customers`` columns (still in memory) right after the
customer side is written (in the score stage): the churn outlook (insights/refresh/churn_outlook.py), the
acquisition cohorts (insights/refresh/cohorts.py, one lake aggregate per period), the growth projection
(insights/refresh/growth.py, one lake aggregate), the segment transitions since the previous version
(insights/refresh/transitions.py) and the bulk export copies of the scores (insights/refresh/exports.py). Each
document is declared in insights/snapshot/schema.py and read by one route.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from athena.engine import QueryEngine
from insights.refresh.churn_outlook import churn_outlook_doc
from insights.refresh.cohorts import cohorts_doc
from insights.refresh.exports import write_exports
from insights.refresh.growth import growth_doc
from insights.refresh.transitions import previous_segments, transitions_doc
from insights.snapshot.store import SnapshotStore

__all__ = ["derived_docs"]


def derived_docs(*, customers: Mapping[str, np.ndarray], docs: Mapping[str, Any], engine: QueryEngine,
                 store: SnapshotStore, as_of: date, build: Path | None = None) -> dict[str, Any]:
    """The derived documents of one refresh as of ``as_of`` (``docs``: the customer side's own documents); with
    ``build`` also the bulk export files written into it (insights/refresh/exports.py)."""
    meta = docs.get("customer_models") or {}
    horizon = int(meta.get("churn_horizon_days") or (meta.get("churn") or {}).get("horizon_days") or 90)
    exports = {"exports": write_exports(build, customers, as_of.isoformat())} if build is not None else {}
    return {**exports, "churn_outlook": churn_outlook_doc(customers, model_horizon_days=horizon),
            "cohorts": cohorts_doc(engine, as_of),
            "growth": growth_doc(engine, as_of, customers, model_horizon_days=horizon),
            "segment_transitions": transitions_doc(customers, *previous_segments(store, as_of.isoformat()))}
