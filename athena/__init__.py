"""Data access: the QueryEngine port, its Athena and DuckDB adapters, and the shared SQL in queries/."""

from athena.engine import DataAccessError, QueryEngine, load_sql, query_names

__all__ = ["DataAccessError", "QueryEngine", "load_sql", "query_names"]
