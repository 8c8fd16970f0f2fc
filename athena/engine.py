"""The data-access port: one ``QueryEngine`` protocol, named SQL files, one error type."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

__all__ = ["QueryEngine", "UnloadingEngine", "DataAccessError", "QUERIES_DIR", "query_names", "query_parameters",
           "load_sql", "render"]

QUERIES_DIR = Path(__file__).with_name("queries")


class DataAccessError(RuntimeError):
    """A query could not be run: the driver's failure, with Athena's (or DuckDB's) reason.

    ``state`` is FAILED, CANCELLED, TIMEOUT, THROTTLED or ERROR; ``retryable`` says whether
    trying again later can help (throttling, timeouts and transient service errors).
    """

    def __init__(
        self,
        message: str,
        *,
        query: str | None = None,
        state: str = "ERROR",
        reason: str | None = None,
        query_execution_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.query = query
        self.state = state
        self.reason = reason
        self.query_execution_id = query_execution_id
        self.retryable = retryable


@runtime_checkable
class QueryEngine(Protocol):
    """Runs one named query from athena/queries with ``%(name)s`` parameters, returning a DataFrame."""

    def query(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame: ...

    def release_memory(self) -> None:
        """Give back what the engine holds between queries (the refresh calls it once its queries are done)."""


@runtime_checkable
class UnloadingEngine(QueryEngine, Protocol):
    """An engine that can also write a query's rows split by shard (the sharded refresh's extract)."""

    def unload(self, name: str, params: Mapping[str, Any] | None, *, key: str, shards: int, target: str) -> None:
        """Write the rows as Parquet under ``target``/shard=K/, K = athena.shard.shard_of(row[key], shards)."""


def query_names() -> list[str]:
    """Names of the shared queries (athena/queries/<name>.sql, overrides excluded)."""
    return sorted(p.name[: -len(".sql")] for p in QUERIES_DIR.glob("*.sql") if p.name.count(".") == 1)


_PARAMETER = re.compile(r"(\bDATE\s+)?%\((\w+)\)s", re.IGNORECASE)


def query_parameters(name: str) -> dict[str, str]:
    """The ``%(name)s`` parameters of query ``name`` in order of first use, each with its kind.

    "date" where the SQL reads it as ``DATE %(x)s`` (a YYYY-MM-DD string), "integer" for a ``..._days`` count,
    "text" otherwise. Raises DataAccessError for an unknown query.
    """
    kinds: dict[str, str] = {}
    for as_date, param in _PARAMETER.findall(load_sql(name)):
        kind = "date" if as_date else "integer" if param.endswith("_days") else "text"
        if kinds.get(param) in (None, "text"):
            kinds[param] = kind
    return kinds


@cache
def load_sql(name: str, dialect: str | None = None) -> str:
    """The text of query ``name``; ``<name>.<dialect>.sql`` overrides the shared file when it exists."""
    if dialect:
        override = QUERIES_DIR / f"{name}.{dialect}.sql"
        if override.exists():
            return override.read_text()
    path = QUERIES_DIR / f"{name}.sql"
    if not path.exists():
        raise DataAccessError(f"unknown query {name!r}; known: {', '.join(query_names())}", query=name)
    return path.read_text()


def render(sql: str, params: Mapping[str, Any] | None) -> str:
    """Render ``%(name)s`` parameters into SQL text with PyAthena's formatter (what Athena receives)."""
    from pyathena.formatter import DefaultParameterFormatter

    text = sql.strip().rstrip(";")
    if not params:
        return text.replace("%%", "%")
    return DefaultParameterFormatter().format(text, dict(params))
