"""The query engine as the refresh sees it: floats rounded so the same lake gives the same snapshot, and failures
in the engine's error tree (athena's DataAccessError -> insights.errors.DataAccessFailed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from athena.engine import DataAccessError, QueryEngine, UnloadingEngine
from insights.errors import DataAccessFailed

__all__ = ["CanonicalEngine"]


class CanonicalEngine:
    """The engine with every float column rounded to ``decimals`` and its failures in the engine's error tree.

    Parallel aggregation (DuckDB threads, Athena workers) sums in a varying order, so the last bits of a sum
    change from run to run; rounding makes the same lake give the same features, hence the same snapshot.
    """

    def __init__(self, engine: QueryEngine, decimals: int = 6) -> None:
        self.inner, self.decimals = engine, decimals

    def query(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        try:
            frame = self.inner.query(name, params)
        except DataAccessError as exc:
            raise DataAccessFailed(f"query {name!r} failed: {exc}", query=name, state=exc.state, reason=exc.reason,
                                   query_execution_id=exc.query_execution_id, retryable=exc.retryable) from exc
        for col in frame.columns:
            if pd.api.types.is_float_dtype(frame[col].dtype):
                frame[col] = frame[col].round(self.decimals)
        return frame

    def unload(self, name: str, params: Mapping[str, Any] | None, *, key: str, shards: int, target: str) -> None:
        """The inner engine's unload (athena.engine.UnloadingEngine), its failures in the engine's error tree."""
        if not isinstance(self.inner, UnloadingEngine):
            raise DataAccessFailed(f"{type(self.inner).__name__} cannot unload by shard", query=name)
        try:
            self.inner.unload(name, params, key=key, shards=shards, target=target)
        except DataAccessError as exc:
            raise DataAccessFailed(f"unload {name!r} failed: {exc}", query=name, state=exc.state, reason=exc.reason,
                                   query_execution_id=exc.query_execution_id, retryable=exc.retryable) from exc

    def release_memory(self) -> None:
        self.inner.release_memory()
