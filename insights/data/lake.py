"""Writing the local lake: contract-typed, date-partitioned Parquet, replaced atomically."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from athena.contract import lake_tables

__all__ = ["write_lake", "conform", "EVENT_TABLES"]

#: the optional event tables (athena/contract.json) and the timestamp each is partitioned by, as <date column>
EVENT_TABLES = {"reviews": ("review_ts", "review_date"), "engagement": ("event_ts", "event_date")}


def conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Columns in contract order with contract types; optional columns absent from ``frame`` become null."""
    spec = lake_tables()[table]
    out = pd.DataFrame(index=frame.index)
    for col in spec.columns:
        values = frame[col.name] if col.name in frame else pd.Series(None, index=frame.index, dtype="object")
        if col.type == "string":
            out[col.name] = values.astype("string")
        elif col.type == "bigint":
            out[col.name] = values.astype("int64")
        elif col.type == "int":
            out[col.name] = values.astype("int32")
        elif col.type == "double":
            out[col.name] = values.astype("float64")
        elif col.type == "boolean":
            out[col.name] = values.astype("boolean")  # nullable: null = unknown
        elif col.type == "timestamp":
            ts = pd.to_datetime(values, utc=True)
            out[col.name] = ts.dt.tz_localize(None).astype("datetime64[us]")
    missing = [c for c in spec.required if out[c].isna().any()]
    if missing:
        raise ValueError(f"{table}: required columns with null values: {', '.join(missing)}")
    return out


def write_lake(
    lake: str | Path,
    orders: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    extra: Callable[[Path], None] | None = None,
    events: Mapping[str, pd.DataFrame | None] | None = None,
) -> Path:
    """Write ``orders`` (partitioned by order_date) and ``customers`` as a new lake at ``lake``.

    ``events`` may hold the optional ``reviews`` and ``engagement`` tables (partitioned by the date of their
    timestamp); a table that is None is not written at all, so the lake has no such table (not an empty one).
    Everything is written into a sibling temporary folder first and swapped in at the end, so a
    failure leaves any existing lake untouched. ``extra(folder)`` may add files (e.g. ground truth).
    """
    import duckdb

    lake = Path(lake)
    lake.parent.mkdir(parents=True, exist_ok=True)
    tmp = lake.parent / f".{lake.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        con.register("orders_df", conform(orders, "orders"))
        con.execute(
            f"COPY (SELECT *, CAST(order_ts AS DATE) AS order_date FROM orders_df) TO {_quote(tmp / 'orders')} "
            "(FORMAT PARQUET, PARTITION_BY (order_date), COMPRESSION ZSTD, ROW_GROUP_SIZE 1000000)"
        )
        (tmp / "customers").mkdir()
        if customers is not None and len(customers):
            con.register("customers_df", conform(customers, "customers"))
            con.execute(f"COPY customers_df TO {_quote(tmp / 'customers' / 'part-0.parquet')} (FORMAT PARQUET)")
        for name, frame in (events or {}).items():
            if frame is None:
                continue
            ts, day = EVENT_TABLES[name]
            con.register(f"{name}_df", conform(frame, name))
            if len(frame):
                con.execute(f"COPY (SELECT *, CAST({ts} AS DATE) AS {day} FROM {name}_df) TO {_quote(tmp / name)} "
                            f"(FORMAT PARQUET, PARTITION_BY ({day}), COMPRESSION ZSTD, ROW_GROUP_SIZE 1000000)")
            else:
                (tmp / name).mkdir()
        con.close()
        if extra is not None:
            extra(tmp)
        old = None
        if lake.exists():
            old = lake.parent / f".{lake.name}.old-{uuid.uuid4().hex[:8]}"
            lake.rename(old)
        try:
            tmp.rename(lake)
        except BaseException:
            if old is not None:  # put the previous lake back before reporting the failure
                old.rename(lake)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return lake


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
