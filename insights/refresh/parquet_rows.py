"""Removing rows from Parquet files of the lake and of the analyst score tables, one file at a time.

A file is read (its id column first: most files hold none of the ids and are left untouched), filtered, written
to a scratch file and put back over the old one atomically (insights/refresh/objects.py); a file left empty is
deleted. fastparquet (in the refresh package) reads and writes: timestamps stay TIMESTAMP_MICROS, text UTF-8.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from athena.contract import score_tables
from insights.refresh.analyst import write_score_table
from insights.refresh.objects import Objects

__all__ = ["drop_rows", "drop_csv_rows", "write_lake_file", "write_scores_file", "FileEdit"]

Writer = Callable[[pd.DataFrame, Path], None]
FileEdit = tuple[int, int, list[str]]  # rows removed, rows left, the removed rows' emails (if the file has any)


def write_lake_file(frame: pd.DataFrame, path: Path) -> None:
    """A lake table's rows, typed as they were read (ZSTD, timestamps in microseconds)."""
    import fastparquet

    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_datetime64_any_dtype(frame[c])]
    fastparquet.write(str(path), frame.reset_index(drop=True), compression="ZSTD", times="int64",
                      write_index=False, stats=False, object_encoding={c: "utf8" for c in text})


def write_scores_file(table: str) -> Writer:
    """Rows of analyst score table ``table``, written as the refresh writes them (contract types, DATE columns)."""
    dates = [c.name for c in score_tables()[table].columns if c.type == "date"]

    def write(frame: pd.DataFrame, path: Path) -> None:
        frame = frame.copy()
        for col in dates:  # read back as timestamps: the writer wants ISO dates ("" when missing)
            frame[col] = pd.to_datetime(frame[col]).dt.strftime("%Y-%m-%d").fillna("")
        write_score_table(frame.reset_index(drop=True), table, path)

    return write


def drop_rows(objects: Objects, key: str, column: str, values: set[str], write: Writer) -> FileEdit:
    """Remove the rows of ``key`` whose ``column`` is one of ``values``; (removed, left, their emails)."""
    with tempfile.TemporaryDirectory(prefix="insights-rows-") as scratch:
        local = Path(scratch) / f"in-{uuid.uuid4().hex[:8]}.parquet"
        objects.download(key, local)
        read, write = _reader(local, write)
        columns, ids = read([column])
        if ids is None:
            return 0, -1, []
        hit = ids[column].astype("object").isin(values).to_numpy()
        if not hit.any():
            return 0, int(hit.shape[0]), []
        _, frame = read(columns)
        assert frame is not None
        emails = [str(e) for e in frame.loc[hit, "email"].dropna()] if "email" in frame else []
        kept = frame[~hit]
        if kept.empty:
            objects.delete(key)
            return int(hit.sum()), 0, emails
        out = Path(scratch) / f"out-{uuid.uuid4().hex[:8]}.parquet"
        write(kept, out)
        objects.put(key, out)
        return int(hit.sum()), int((~hit).sum()), emails


def drop_csv_rows(objects: Objects, key: str, column: str, values: set[str]) -> FileEdit:
    """:func:`drop_rows` for a CSV file with a header (a bulk export): every field is kept as the text it was."""
    with tempfile.TemporaryDirectory(prefix="insights-rows-") as scratch:
        local = Path(scratch) / "in.csv"
        objects.download(key, local)
        frame = pd.read_csv(local, dtype=str, keep_default_na=False)
        if column not in frame:
            return 0, len(frame), []
        hit = frame[column].isin(values).to_numpy()
        if not hit.any():
            return 0, len(frame), []
        emails = [e for e in frame.loc[hit, "email"] if e] if "email" in frame else []
        out = Path(scratch) / "out.csv"
        frame[~hit].to_csv(out, index=False)
        objects.put(key, out)
        return int(hit.sum()), int((~hit).sum()), emails


Reader = Callable[[list[str]], tuple[list[str], pd.DataFrame | None]]


def _reader(path: Path, write: Writer) -> tuple[Reader, Writer]:
    """fastparquet (the refresh package's); a file whose pandas metadata it cannot read (pyarrow-only types,
    e.g. a sample's ground truth) is read and written back with pyarrow, which is there wherever such files are."""
    import fastparquet

    try:
        pf = fastparquet.ParquetFile(str(path))
        pf.to_pandas(columns=list(pf.columns))[:0]
    except (TypeError, ValueError):
        names = list(pd.read_parquet(path).columns)

        def read_arrow(columns: list[str]) -> tuple[list[str], pd.DataFrame | None]:
            return names, pd.read_parquet(path, columns=columns) if set(columns) <= set(names) else None

        return read_arrow, lambda frame, out: frame.to_parquet(out, index=False)

    def read(columns: list[str]) -> tuple[list[str], pd.DataFrame | None]:
        return list(pf.columns), pf.to_pandas(columns=columns) if set(columns) <= set(pf.columns) else None

    return read, write


def partition_date(key: str, name: str = "order_date") -> np.datetime64 | None:
    """The date of a Hive partition key ``.../<name>=YYYY-MM-DD/...``, or None."""
    for part in key.split("/"):
        if part.startswith(f"{name}="):
            try:
                return np.datetime64(part[len(name) + 1:], "D")
            except ValueError:
                return None
    return None
