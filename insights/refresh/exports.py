"""Bulk copies of every customer's scores for ``GET /exports/customer-scores``: CSV and Parquet, with and without
emails.

Without emails: the analyst Parquet the refresh already writes (``scores/customer_scores/as_of=D/part-0.parquet``,
the Glue table's partition) and a CSV of the same columns. With emails (served only to callers that also hold
``customers:pii``): a separate copy, CSV and Parquet, under ``scores/exports/customer_scores_pii/``. The extra
files live under ``scores/exports/`` so no Glue table's location ever holds a CSV. The publish step uploads
everything under the build's ``scores/`` (insights/snapshot/store.py); the ``exports`` document tells the API the
keys, relative to the store's root.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from athena.contract import score_tables
from insights.refresh.analyst import score_path

__all__ = ["write_exports", "exports_doc", "EXPORT_COLUMNS"]

EXPORT_COLUMNS = tuple(score_tables()["customer_scores"].column_names)
CHUNK_ROWS = 100_000


def write_exports(build: Path, customers: Mapping[str, np.ndarray], as_of: str) -> dict[str, Any]:
    """Write the CSV copy and the emails copy into ``build``; return the ``exports`` document.

    In slices of ``CHUNK_ROWS`` customers, so the copies cost the refresh a few tens of MB whatever the size.
    """
    n = int(np.asarray(customers["customer_id"]).shape[0])
    doc = exports_doc(as_of, n)
    files, pii = doc["customer_scores"]["files"], doc["customer_scores"]["pii_files"]
    for rel in (files["csv"], pii["csv"], pii["parquet"]):
        (build / rel).parent.mkdir(parents=True, exist_ok=True)
    for start in range(0, max(n, 1), CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        frame = pd.DataFrame({c: np.asarray(customers[c][rows]) for c in EXPORT_COLUMNS})
        frame["next_order_date"] = frame["next_order_date"].replace("", None)
        first = start == 0
        frame.to_csv(build / files["csv"], index=False, header=first, mode="w" if first else "a", lineterminator="\n")
        email = pd.Series(np.asarray(customers["email"][rows]).astype(object), dtype=object)
        frame.insert(1, "email", email.where(email != "", None))
        frame.to_csv(build / pii["csv"], index=False, header=first, mode="w" if first else "a", lineterminator="\n")
        _parquet(frame, build / pii["parquet"], append=not first)
    return doc


def exports_doc(as_of: str, rows: int) -> dict[str, Any]:
    """The ``exports`` document: each copy's key relative to the store's root, its rows and columns."""
    pii_dir = Path("scores/exports/customer_scores_pii") / f"as_of={as_of}"
    return {
        "customer_scores": {
            "rows": int(rows), "columns": list(EXPORT_COLUMNS),
            # the Parquet without emails is the analyst copy the pipeline writes (the Glue table's partition)
            "files": {"parquet": score_path("", "customer_scores", as_of).as_posix(),
                      "csv": f"scores/exports/customer_scores/as_of={as_of}/customer_scores.csv"},
            "pii_columns": ["email"],
            "pii_files": {"parquet": (pii_dir / "customer_scores.parquet").as_posix(),
                          "csv": (pii_dir / "customer_scores.csv").as_posix()},
        },
    }


def _parquet(frame: pd.DataFrame, path: Path, *, append: bool) -> None:
    """Write (or append one row group of) ``frame``; text as UTF-8 (next_order_date too: YYYY-MM-DD text)."""
    import fastparquet  # the refresh package's Parquet writer (no pyarrow there)

    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    fastparquet.write(str(path), frame, write_index=False, compression="SNAPPY", stats=False, append=append,
                      object_encoding={c: "utf8" for c in text})
