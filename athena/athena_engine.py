"""AthenaEngine: the shared SQL through PyAthena's PandasCursor, with a timeout and bounded retries."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from athena.engine import DataAccessError, load_sql, render
from athena.shard import sharded_select

__all__ = ["AthenaEngine"]

logger = logging.getLogger(__name__)

_THROTTLE_CODES = ("ThrottlingException", "TooManyRequestsException", "Rate exceeded", "SlowDown")


class _Timeout(Exception):
    pass


class AthenaEngine:
    """Runs athena/queries/<name>.sql on Athena.

    Parameters are rendered by PyAthena's own formatter (``%(name)s``); results come back through
    PyAthena's PandasCursor. A query that FAILED, was CANCELLED, ran past ``timeout_s`` or was
    throttled raises :class:`DataAccessError` with Athena's reason, after up to ``max_retries``
    further attempts with exponential backoff when Athena says the failure is retryable.
    """

    dialect = "athena"

    def __init__(
        self,
        connection: Any,
        *,
        timeout_s: float = 600.0,
        max_retries: int = 3,
        backoff_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connection = connection
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> AthenaEngine:
        """Connect with the workgroup, database, output location and region of ``settings``."""
        from pyathena import connect
        from pyathena.pandas.cursor import PandasCursor

        connection = connect(
            s3_staging_dir=settings.athena_output_location,
            work_group=settings.athena_workgroup,
            schema_name=settings.athena_database,
            region_name=settings.region,
            cursor_class=PandasCursor,
            poll_interval=1,
            kill_on_interrupt=True,
        )
        return cls(
            connection, timeout_s=settings.athena_timeout_s, max_retries=settings.athena_max_retries, **kwargs
        )

    def release_memory(self) -> None:
        """Nothing to give back: results live in S3 and in the returned frames."""

    def query(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run query ``name`` and return its rows."""
        sql = load_sql(name, self.dialect)
        return self._with_retries(name, lambda: self._run_once(name, sql, params))

    def unload_sql(self, name: str, params: Mapping[str, Any] | None, *, key: str, shards: int, target: str) -> str:
        """The UNLOAD statement :meth:`unload` sends: the shared query, rendered, as the inner SELECT."""
        if not target.startswith("s3://"):
            raise DataAccessError(f"Athena unloads to an s3:// prefix, not {target!r}", query=name)
        select = sharded_select(render(load_sql(name, self.dialect), params), key, shards)
        target = target.rstrip("/") + "/"
        return (f"UNLOAD ({select}) TO '{target}' "
                "WITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['shard'])")

    def unload(self, name: str, params: Mapping[str, Any] | None, *, key: str, shards: int, target: str) -> None:
        """Write query ``name``'s rows as Parquet under ``target``/shard=K/ (K = the shard of column ``key``).

        Athena refuses a non-empty target prefix and writes at most 100 partitions: the caller gives each run a
        fresh prefix (its run id) and athena.shard caps ``shards``. Retries as :meth:`query` does.
        """
        sql = self.unload_sql(name, params, key=key, shards=shards, target=target)
        self._with_retries(name, lambda: self._run_once(name, sql, None, fetch=False))

    def _with_retries(self, name: str, run: Callable[[], Any]) -> Any:
        attempt = 0
        while True:
            try:
                return run()
            except DataAccessError as exc:
                if not exc.retryable or attempt >= self.max_retries:
                    raise
                delay = self.backoff_s * (2**attempt)
                logger.warning(
                    "athena query %s: %s (%s); retry %d of %d in %.1f s",
                    name, exc.state, exc.reason, attempt + 1, self.max_retries, delay,
                )
                self._sleep(delay)
                attempt += 1

    def _run_once(self, name: str, sql: str, params: Mapping[str, Any] | None, fetch: bool = True) -> Any:
        last: dict[str, Any] = {}
        started = self._clock()

        def on_poll(execution: Any) -> None:
            last["execution"] = execution
            if execution.state not in ("SUCCEEDED", "FAILED", "CANCELLED") and self._clock() - started > self.timeout_s:
                raise _Timeout()

        if fetch:
            cursor = self._connection.cursor(on_poll=on_poll)
        else:  # a plain cursor: the pandas one would look for a CSV result an UNLOAD does not write
            from pyathena.cursor import Cursor

            cursor = self._connection.cursor(Cursor, on_poll=on_poll)
        try:
            if not fetch:  # an UNLOAD: its rows go to S3, there is no result set to read
                cursor.execute(sql)
                return None
            cursor.execute(sql, dict(params or {}))
            return _like_duckdb(cursor.as_pandas())
        except _Timeout:
            query_id = getattr(cursor, "query_id", None)
            try:
                cursor.cancel()
            except Exception:  # noqa: BLE001 - the timeout is the error worth reporting
                logger.warning("could not cancel timed-out query %s", query_id)
            raise DataAccessError(
                f"athena query {name!r} timed out after {self.timeout_s:.0f} s (cancelled)",
                query=name, state="TIMEOUT", reason="timeout", query_execution_id=query_id, retryable=True,
            ) from None
        except DataAccessError:
            raise
        except Exception as exc:  # noqa: BLE001 - every driver failure becomes one error type
            raise _as_data_access_error(name, exc, last.get("execution"), getattr(cursor, "query_id", None)) from exc
        finally:
            try:
                cursor.close()
            except Exception:  # noqa: BLE001
                pass


def _like_duckdb(frame: pd.DataFrame) -> pd.DataFrame:
    """PandasCursor reads every integer column as nullable Int64; DuckDB gives int64 unless there is a NULL.

    Converting the NULL-free ones makes both adapters return the same dtypes, so code tested on DuckDB
    behaves the same on Athena.
    """
    for col in frame.columns:
        values = frame[col]
        if isinstance(values.dtype, pd.Int64Dtype) and not values.isna().any():
            frame[col] = values.astype("int64")
    return frame


def _as_data_access_error(name: str, exc: Exception, execution: Any, query_id: str | None) -> DataAccessError:
    text = str(exc) or type(exc).__name__
    if execution is not None and getattr(execution, "state", None) in ("FAILED", "CANCELLED"):
        state = execution.state
        reason = execution.state_change_reason or text
        throttled = any(code in reason for code in _THROTTLE_CODES)
        retryable = bool(getattr(execution, "retryable", False)) or throttled
        if throttled:
            state = "THROTTLED"
        return DataAccessError(
            f"athena query {name!r} {state}: {reason}",
            query=name, state=state, reason=reason, query_execution_id=query_id, retryable=retryable,
        )
    throttled = any(code in text for code in _THROTTLE_CODES)
    return DataAccessError(
        f"athena query {name!r} {'THROTTLED' if throttled else 'ERROR'}: {text}",
        query=name, state="THROTTLED" if throttled else "ERROR", reason=text,
        query_execution_id=query_id, retryable=throttled,
    )
