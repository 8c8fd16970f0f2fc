"""A shard's rows: its extract files read back as a frame, and the scored parts concatenated in key order.

Used by the sharded refresh's steps (insights/refresh/sharded.py); numpy, pandas and fastparquet only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from insights.refresh.shard_work import WorkArea
from insights.refresh.side import join_extracts

__all__ = ["key_chunks", "table_length", "concat_rows", "read_part"]


def key_chunks(keys: np.ndarray, size: int) -> list[tuple[int, int]]:
    """(start, stop) row ranges of about ``size`` rows over sorted ``keys``, never splitting a key's rows (a side
    may have several rows per key: a customer's products)."""
    change = np.flatnonzero(keys[1:] != keys[:-1]) + 1  # where a new key starts
    bounds, start = [], 0
    while start < keys.size:
        at = np.searchsorted(change, start + size)  # the first key start at or after start + size
        stop = int(change[at]) if at < change.size else int(keys.size)
        bounds.append((start, stop))
        start = stop
    return bounds


def table_length(columns: dict[str, np.ndarray]) -> int:
    return int(len(next(iter(columns.values())))) if columns else 0


def concat_rows(parts: list[dict[str, dict[str, np.ndarray]]], key: str) -> dict[str, dict[str, np.ndarray]]:
    """Each table's columns concatenated over the parts, rows sorted by ``key`` (ties keep the shard order).

    Column by column, each part's column released as it is used: the peak is the rows once plus one column
    (the parts' dicts are emptied; at 10M customers a whole-table copy was 3-6 GB)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for table in list(parts[0]) if parts else []:
        names = list(parts[0][table])
        if key in names:
            keys = np.concatenate([p[table][key] for p in parts])
            order = np.argsort(keys, kind="stable")
            del keys
        else:
            order = None
        out[table] = {}
        for c in names:
            column = np.concatenate([p[table].pop(c) for p in parts])
            out[table][c] = column[order] if order is not None else column
            del column
    return out


def read_part(work: WorkArea, files: list[str], key: str) -> pd.DataFrame:
    """The rows of one shard's extract files, typed and rounded as the refresh's engine returns a query's: the
    first query's (extract/<side>/q0/...) with each further query's columns joined on ``key`` (join_extracts)."""
    queries: dict[str, list[str]] = {}
    for name in files:
        queries.setdefault(name.rsplit("/shard=", 1)[0], []).append(name)
    if not any(q.endswith("/q0") for q in queries):
        return pd.DataFrame()  # no row of the main query in this shard
    return join_extracts([_read_files(work, queries[q]) for q in sorted(queries, key=_query_index)], key)


def _query_index(prefix: str) -> int:
    return int(prefix.rsplit("/q", 1)[1])


def _read_files(work: WorkArea, files: list[str]) -> pd.DataFrame:
    import fastparquet  # in the Lambda package (pyarrow is not)

    frames = []
    with tempfile.TemporaryDirectory(prefix="insights-part-") as tmp:
        for i, key in enumerate(files):
            path = Path(tmp) / f"{i}.parquet"
            path.write_bytes(work.get(key))
            frames.append(fastparquet.ParquetFile(str(path)).to_pandas())
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_float_dtype(values.dtype):
            frame[col] = values.round(6)  # as CanonicalEngine rounds every query's floats
        elif pd.api.types.is_datetime64_dtype(values.dtype):
            frame[col] = values.astype("datetime64[us]")  # DuckDB's unit (fastparquet reads ns)
    return frame
