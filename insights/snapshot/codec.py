"""How snapshot columns are stored compactly and decoded on access (docs/snapshot.md, "Column encodings").

Text is never stored as fixed-width numpy unicode (4 bytes a character, padded to the longest value): a
text column is either dictionary-encoded (uint8/uint16 codes into sorted categories kept in the table's
``schema.json``) or UTF-8 bytes (``S<n>``), whichever is smaller. Columns whose values are probabilities,
log-odds contributions or small counts are stored as float32 (the ``float32`` columns of schema.py). The reader
wraps encoded columns in :class:`DictColumn` / :class:`Utf8Column`, which decode only the rows asked for.
numpy only: the API imports this.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from insights.snapshot.schema import float32_columns

__all__ = ["SCHEMA_FILE", "MAX_CATEGORIES", "encode_table", "decode_column", "DictColumn",
           "Utf8Column"]

SCHEMA_FILE = "schema.json"  # tables/<table>/schema.json: {"columns": {name: {"encoding": ...}}}
# beyond this many distinct values the categories (parsed from schema.json on first access) would cost the
# cold start more than the UTF-8 bytes cost on disk
MAX_CATEGORIES = 4096
def encode_table(table: str, columns: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
    """``(stored arrays, schema)`` for a table's columns; deterministic (equal input, equal bytes)."""
    stored: dict[str, np.ndarray] = {}
    schema: dict[str, dict[str, Any]] = {}
    narrow = float32_columns(table)
    for name, values in columns.items():
        arr = np.asarray(values)
        if arr.dtype == object:
            raise ValueError(f"table {table!r} column {name!r}: object arrays are not allowed (no pickle)")
        if name in narrow and arr.dtype.kind == "f" and arr.dtype.itemsize > 4:
            arr = arr.astype(np.float32)
        stored[name], schema[name] = _encode(arr)
    return stored, schema


def _encode(arr: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    if arr.dtype.kind not in "UT" or arr.ndim != 1:
        return arr, {"encoding": "plain"}
    arr = arr.astype(str)
    utf8 = _utf8(arr)
    # UTF-8 bytes sort as their code points: the same categories and codes as np.unique of the text, faster
    raw_categories, codes = np.unique(utf8, return_inverse=True)
    categories = np.strings.decode(raw_categories, "utf-8") if raw_categories.size else arr[:0]
    if categories.shape[0] <= MAX_CATEGORIES:
        code_type = np.uint8 if categories.shape[0] <= 256 else np.uint16
        cat_bytes = int(np.strings.str_len(np.strings.encode(categories, "utf-8")).sum()) + 4 * categories.shape[0]
        if arr.shape[0] * np.dtype(code_type).itemsize + cat_bytes < utf8.nbytes:
            return codes.reshape(-1).astype(code_type), {"encoding": "dictionary", "categories": categories.tolist()}
    return utf8, {"encoding": "utf8"}


def _utf8(arr: np.ndarray) -> np.ndarray:
    """``np.strings.encode(arr, "utf-8")``; ASCII text (ids, dates, labels: nearly always) by numpy's cast,
    2-3 times faster, and its bytes sort faster than the text (the publish step encodes ~15 text columns of
    every customer: 2-3 minutes at 10M customers before)."""
    width = int(np.strings.str_len(arr).max()) if arr.size else 0
    try:
        return arr.astype(f"S{max(width, 1)}")
    except UnicodeEncodeError:  # some text beyond ASCII
        return np.strings.encode(arr, "utf-8")


def decode_column(raw: np.ndarray, spec: Mapping[str, Any] | None) -> Any:
    """The column as the services see it: ``raw`` itself, or a wrapper decoding the rows asked for."""
    encoding = (spec or {}).get("encoding", "plain")
    if encoding == "plain":
        return raw
    if encoding == "dictionary":
        return DictColumn(raw, np.asarray(spec["categories"], dtype=str))  # type: ignore[index]
    if encoding == "utf8":
        return Utf8Column(raw)
    raise ValueError(f"unknown column encoding {encoding!r}")


class _Encoded:
    """Array-like enough for the services: ``col[i]`` -> str, ``col[rows]`` -> unicode array, ``np.asarray(col)``."""

    raw: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.raw.shape

    @property
    def ndim(self) -> int:
        return 1

    def __len__(self) -> int:
        return int(self.raw.shape[0])

    def __iter__(self) -> Iterator[str]:
        return iter(self[:].tolist())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out: np.ndarray = self[:]
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError


class DictColumn(_Encoded):
    """Dictionary-encoded text: ``codes`` index the sorted ``categories``."""

    def __init__(self, codes: np.ndarray, categories: np.ndarray) -> None:
        self.raw, self.categories = codes, categories
        self.dtype = categories.dtype if categories.shape[0] else np.dtype("<U1")

    def __getitem__(self, index: Any) -> Any:
        codes = self.raw[index]
        if np.ndim(codes) == 0:
            return str(self.categories[int(codes)])
        return self.categories[np.asarray(codes, dtype=np.intp)]

    def code_of(self, values: np.ndarray) -> np.ndarray:
        """The code of each value (-1 when the value is not a category); categories are sorted."""
        return sorted_positions(self.categories, values)


class Utf8Column(_Encoded):
    """UTF-8 bytes (``S<n>``); byte order is code point order, so a sorted column stays sorted."""

    def __init__(self, raw: np.ndarray) -> None:
        self.raw = raw
        self.dtype = np.dtype(f"<U{max(raw.dtype.itemsize, 1)}")

    def __getitem__(self, index: Any) -> Any:
        raw = self.raw[index]
        if isinstance(raw, bytes):
            return raw.decode("utf-8")
        return np.strings.decode(np.asarray(raw), "utf-8")


def sorted_positions(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index of each ``wanted`` value in the sorted ``keys`` (-1 where absent)."""
    if keys.shape[0] == 0 or wanted.shape[0] == 0:
        return np.full(wanted.shape[0], -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, wanted), keys.shape[0] - 1)
    return np.where(keys[pos] == wanted, pos, -1).astype(np.int64)


def lookup(column: Any, ids: list[str]) -> np.ndarray:
    """Rows of ``ids`` in a sorted key column of any encoding (-1 where absent)."""
    bad = np.array(["\x00" in i for i in ids], dtype=bool)  # numpy strings cannot hold a trailing NUL
    wanted = np.asarray(ids, dtype=str)
    if isinstance(column, Utf8Column):
        pos = sorted_positions(column.raw, np.strings.encode(wanted, "utf-8"))
    elif isinstance(column, DictColumn):
        codes = column.code_of(wanted)
        pos = sorted_positions(np.asarray(column.raw, dtype=np.int64), codes)
        pos[codes < 0] = -1
    else:
        pos = sorted_positions(np.asarray(column), wanted)
    pos[bad] = -1
    return pos
