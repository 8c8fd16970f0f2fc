"""Reading an export for the importer: CSV, gzip-compressed CSV or Parquet, told apart by their first bytes.

CSV is read by pyarrow with every column as raw bytes, so that no value is reinterpreted (ids stay text, "007"
keeps its zeros) and a line with the wrong number of fields is set aside instead of stopping the read. Text is
decoded as UTF-8; a value that is not valid UTF-8 is decoded as Windows-1252 (the usual culprit: spreadsheet
exports), value by value, so one bad line does not garble the others.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from insights.errors import ImportFailed

__all__ = ["Source", "read_source"]

_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_DELIMITERS = (",", ";", "\t", "|")
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass
class Source:
    """The rows of one input file, as read; ``malformed`` holds (line number or None, raw text) of rejects."""

    frame: pd.DataFrame
    format: str
    encoding: str
    malformed: list[tuple[int | None, str]] = field(default_factory=list)
    non_utf8_rows: int = 0

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]


def read_source(path: str | Path) -> Source:
    """Read ``path``; raises :class:`ImportFailed` when it is missing, empty or neither CSV nor Parquet."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    if not head:
        raise ImportFailed(f"cannot read {path}: the file is empty")
    try:
        if head == _PARQUET_MAGIC:
            return _read_parquet(path)
        return _read_csv(path, compressed=head[:2] == _GZIP_MAGIC)
    except ImportFailed:
        raise
    except (OSError, EOFError, ValueError, gzip.BadGzipFile) as exc:
        raise ImportFailed(f"cannot read {path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow raises its own types for corrupt input
        raise ImportFailed(f"cannot read {path}: {type(exc).__name__}: {exc}") from None


def _read_parquet(path: Path) -> Source:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    frame = table.to_pandas()
    frame.columns = [str(c) for c in frame.columns]
    return Source(frame=frame.reset_index(drop=True), format="parquet", encoding="utf-8")


def _header(path: Path, compressed: bool) -> tuple[list[str], str]:
    """Column names and the delimiter: whichever of , ; tab | splits the header line into the most fields."""
    opener = gzip.open if compressed else open
    with opener(path, "rb") as fh:
        raw = fh.readline()
    if not raw.strip():
        raise ImportFailed(f"cannot read {path}: no header line")
    text = _decode(raw.rstrip(b"\r\n"))[0].lstrip("\ufeff")
    splits = {d: next(csv.reader(io.StringIO(text), delimiter=d)) for d in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: len(splits[d]))  # ties: the first, the comma
    names = [n.strip() for n in splits[delimiter]]
    if len(names) < 2:
        raise ImportFailed(f"cannot read {path}: the header has {len(names)} column; expected a comma-separated "
                           f"export with a header line")
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ImportFailed(f"cannot read {path}: repeated column name(s) in the header: {', '.join(dupes)}")
    return names, delimiter


def _decode(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), True


def _read_csv(path: Path, *, compressed: bool) -> Source:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    names, delimiter = _header(path, compressed)
    malformed: list[tuple[int | None, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        malformed.append((row.number, row.text))
        return "skip"

    stream = pa.input_stream(str(path), compression="gzip" if compressed else None)
    table = pacsv.read_csv(
        stream,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                         invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.binary() for n in names},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    columns: dict[str, pd.Series] = {}
    non_utf8 = None
    for name in names:
        chunked = table.column(name)
        try:
            columns[name] = pc.cast(chunked, pa.string()).to_pandas().astype("string")
        except pa.ArrowInvalid:  # invalid UTF-8 somewhere in this column: decode value by value
            decoded = [_decode(v) if v is not None else (None, False) for v in chunked.to_pylist()]
            columns[name] = pd.Series([d[0] for d in decoded], dtype="string")
            flags = pd.Series([d[1] for d in decoded], dtype=bool)
            non_utf8 = flags if non_utf8 is None else (non_utf8 | flags)
    frame = pd.DataFrame(columns, columns=names)
    n_bad = int(non_utf8.sum()) if non_utf8 is not None else 0
    encoding = "utf-8" if not n_bad else f"utf-8 (cp1252 for {n_bad} rows)"
    kind = "csv.gz" if compressed else "csv"
    return Source(frame=frame, format=kind if delimiter == "," else f"{kind} ({_NAMES[delimiter]}-separated)",
                  encoding=encoding, malformed=malformed, non_utf8_rows=n_bad)
