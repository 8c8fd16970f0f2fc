"""The analyst copy of the scores: Parquet with exactly athena/contract.json's score_tables columns.

Written with pandas + fastparquet (pyarrow does not fit in the Lambda package, DESIGN.md). fastparquet has
no writer for Parquet DATE, so date columns are written as int32 days since 1970-01-01 and the footer's
schema is then annotated as DATE, which is what Athena's ``date`` columns (and pyarrow, DuckDB) read.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from athena.contract import score_tables

__all__ = ["write_score_table", "customer_scores_frame", "product_forecasts_frame", "score_path"]


def score_path(root: str | Path, table: str, as_of: str) -> Path:
    """``root/scores/<table>/as_of=<date>/part-0.parquet``: the Hive partition the Glue table reads."""
    return Path(root) / "scores" / table / f"as_of={as_of}" / "part-0.parquet"


def customer_scores_frame(customers: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The ``customer_scores`` columns from the snapshot's ``customers`` table (the arrays themselves: no copy)."""
    names = score_tables()["customer_scores"].column_names
    missing = [n for n in names if n not in customers]
    if missing:
        raise ValueError(f"customers table lacks score columns: {', '.join(missing)}")
    return {n: np.asarray(customers[n]) for n in names}


def product_forecasts_frame(forecast: Mapping[str, np.ndarray], as_of: str) -> pd.DataFrame:
    """One row per forecast product and day (day 0 = as_of) from the snapshot's 2-D ``forecast`` columns."""
    ids = np.asarray(forecast["product_id"])
    pred = np.asarray(forecast["predicted_quantity"], dtype="float64")
    n, horizon = (pred.shape if pred.ndim == 2 else (ids.shape[0], 0))
    days = np.datetime64(as_of, "D") + np.arange(horizon)
    frame = pd.DataFrame({
        "product_id": np.repeat(ids, horizon),
        "date": np.tile(days, n).astype("datetime64[D]").astype(str),
        "predicted_quantity": pred.reshape(-1),
        "confidence_lower": np.asarray(forecast["confidence_lower"], dtype="float64").reshape(-1),
        "confidence_upper": np.asarray(forecast["confidence_upper"], dtype="float64").reshape(-1),
        "method": np.repeat(np.asarray(forecast["method"]), horizon),
    })
    # products with "insufficient_history" have no forecast (NaN rows in the snapshot): no analyst rows either
    return frame[np.isfinite(pred.reshape(-1))].reset_index(drop=True)


def write_score_table(frame: pd.DataFrame | Mapping[str, np.ndarray], table: str, path: str | Path) -> Path:
    """Write ``frame`` (a DataFrame or a dict of arrays) as score table ``table`` (contract order and types)."""
    import fastparquet

    spec = score_tables()[table]
    names = list(frame.columns) if isinstance(frame, pd.DataFrame) else list(frame)
    extra = sorted(set(names) - set(spec.column_names))
    missing = [c for c in spec.column_names if c not in names]
    if extra or missing:
        raise ValueError(f"{table}: columns differ from the contract (missing {missing}, unexpected {extra})")
    n_rows = len(np.asarray(frame[spec.column_names[0]]))
    out = pd.DataFrame(index=pd.RangeIndex(n_rows))
    dates = []
    for col in spec.columns:
        values = np.asarray(frame[col.name])
        if col.type == "string":
            out[col.name] = _strings(values)
        elif col.type == "int":
            out[col.name] = values.astype("int32")
        elif col.type == "bigint":
            out[col.name] = values.astype("int64")
        elif col.type == "double":
            out[col.name] = values.astype("float64")
        elif col.type == "date":
            out[col.name] = _days_since_epoch(values)
            dates.append(col.name)
        else:
            raise ValueError(f"{table}.{col.name}: unsupported contract type {col.type!r}")
        if col.required and pd.isna(out[col.name]).any():
            raise ValueError(f"{table}.{col.name} is required but has missing values")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fastparquet.write(str(path), out, write_index=False, compression="SNAPPY", stats=False,
                      object_encoding={c.name: "utf8" for c in spec.columns if c.type == "string"})
    _annotate_footer(path, dates)
    return path


def _strings(values: np.ndarray) -> pd.Series | pd.Categorical:
    """Low-cardinality text (segment, risk level, method) as a Categorical, which fastparquet writes
    dictionary-encoded: a fraction of the memory and bytes of one Python string per row."""
    text = np.asarray(values).astype(str)
    uniques, codes = np.unique(text, return_inverse=True)
    if len(uniques) <= 1024 and len(text) > 4 * len(uniques):
        return pd.Categorical.from_codes(codes.astype("int16"), categories=pd.Index(uniques, dtype=object))
    return pd.Series(text, dtype=object)


def _days_since_epoch(values: np.ndarray) -> pd.arrays.IntegerArray:
    text = np.asarray(values).astype(str)
    missing = (text == "") | (text == "NaT") | (text == "None") | (text == "nan")
    days = np.where(missing, "1970-01-01", text).astype("datetime64[D]").astype("int64").astype("int32")
    return pd.arrays.IntegerArray(days, missing)


def _annotate_footer(path: Path, date_columns: list[str]) -> None:
    """Mark int32 columns as Parquet DATE and drop fastparquet's pandas metadata (it would say int32)."""
    from fastparquet import parquet_thrift
    from fastparquet.cencoding import from_buffer
    from fastparquet.writer import update_custom_metadata, write_thrift

    wanted = {c.encode() for c in date_columns}
    with open(path, "rb+") as fh:
        end = fh.seek(-8, 2)
        start = end - int.from_bytes(fh.read(4), "little")
        fh.seek(start)
        fmd = from_buffer(fh.read(), "FileMetaData")
        schema = list(fmd.schema)
        for i, se in enumerate(schema):
            if se.name in wanted:
                schema[i] = parquet_thrift.SchemaElement(
                    name=se.name, type=se.type, repetition_type=se.repetition_type, i32=True,
                    converted_type=parquet_thrift.ConvertedType.DATE,
                    logicalType=parquet_thrift.LogicalType(DATE=parquet_thrift.DateType()),
                )
        fmd.schema = schema
        update_custom_metadata(fmd, {"pandas": None})
        fh.seek(start)
        size = write_thrift(fh, fmd)
        fh.write(struct.pack(b"<I", size))
        fh.write(b"PAR1")
        fh.truncate()
