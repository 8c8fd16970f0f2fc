"""A snapshot version as its readers see it: columnar numpy tables and small JSON documents, loaded lazily.

Layout, columns and encodings: docs/snapshot.md; the tables and documents themselves: insights/snapshot/schema.py.
numpy only (the API imports it). Every file is checked against the manifest's sha256 the first time it is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from insights.errors import MissingFromSnapshot, SnapshotDamaged
from insights.snapshot.codec import SCHEMA_FILE, decode_column, encode_table, lookup
from insights.snapshot.integrity import VersionFiles
from insights.snapshot.schema import TABLES

__all__ = ["ColumnTable", "Snapshot", "load_local_version", "snapshot_from_manifest", "json_object", "MANIFEST"]

MANIFEST = "manifest.json"


def json_object(raw: str | bytes, what: str) -> dict[str, Any]:
    """A JSON document that must be an object (a manifest, a schema); ValueError naming ``what`` otherwise."""
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object")
    return value


class ColumnTable(Mapping[str, Any]):
    """Named columns of equal length; ``key`` is the sorted id column used by :meth:`positions`.

    Numeric columns are numpy arrays (memory-mapped from disk); text columns are stored encoded
    (snapshot_codec) and come back as wrappers that decode only the rows asked for: ``col[i]`` is a str,
    ``col[rows]`` a unicode array, ``np.asarray(col)`` the whole column.
    """

    def __init__(self, columns: Mapping[str, np.ndarray] | Callable[[str], np.ndarray], names: Iterable[str],
                 *, key: str | None = None,
                 schema: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None) -> None:
        self._names = list(names)
        self._loader = columns if callable(columns) else columns.__getitem__
        self._schema = schema
        self._cache: dict[str, Any] = {}
        self.key = key

    def _spec(self, name: str) -> Mapping[str, Any] | None:
        if callable(self._schema):
            self._schema = self._schema()
        return (self._schema or {}).get(name)

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            if name not in self._names:
                raise KeyError(name)
            self._cache[name] = decode_column(self._loader(name), self._spec(name))
        return self._cache[name]

    def __contains__(self, name: object) -> bool:
        return name in self._names  # Mapping's default would load the column to find out

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    @property
    def n_rows(self) -> int:
        return 0 if not self._names else int(self[self.key or self._names[0]].shape[0])

    def positions(self, ids: Iterable[str]) -> np.ndarray:
        """Row index of each id in the sorted key column, -1 where the id is absent."""
        if self.key is None:
            raise ValueError("this table has no key column")
        return lookup(self[self.key], [str(i) for i in ids])


@dataclass
class Snapshot:
    """One published version: manifest, tables and documents (and, when read from files, their checker)."""

    version: str
    manifest: dict[str, Any]
    tables: Mapping[str, ColumnTable] = field(default_factory=dict)
    docs: Mapping[str, Any] = field(default_factory=dict)
    files: VersionFiles | None = None

    @property
    def as_of(self) -> str:
        return str(self.manifest.get("as_of", ""))

    @property
    def currency(self) -> str:
        """The currency of every amount in this version (ISO 4217 code), set by the refresh; USD if unsaid."""
        return str(self.manifest.get("currency") or "USD")

    @property
    def created_at(self) -> str:
        return str(self.manifest.get("created_at", ""))

    @property
    def damaged(self) -> str | None:
        """Why this version was refused (a file failed its check on first read), else None."""
        return None if self.files is None else self.files.damaged

    @property
    def working_set(self) -> frozenset[str]:
        """The files (paths relative to the version) this snapshot has served or checked so far."""
        return frozenset() if self.files is None else frozenset(self.files.read)

    def check_files(self, *, digests: bool, only: Iterable[str] | None = None) -> None:
        """Raise SnapshotDamaged unless every listed file (or each listed one of ``only``) is present with its
        size, and with ``digests`` its sha256 (a lazy remote version fetches the files to check them)."""
        if self.files is not None:
            self.files.check(digests=digests, only=only)

    # One policy for what a version lacks (a refresh that skipped a model family): a table or document that
    # an answer needs is a 503 (MissingFromSnapshot: the next refresh may bring it); metadata that only
    # decorates an answer is optional.
    def table(self, name: str) -> ColumnTable:
        """The table, or MissingFromSnapshot when this version has none."""
        if name not in self.tables:
            raise MissingFromSnapshot(f"the live snapshot has no {name!r} table (the refresh skipped it); "
                                      "run the refresh again once the data allows it", reason="missing_table",
                                      table=name, retry_after_s=3600)
        return self.tables[name]

    def doc(self, name: str) -> Any:
        """The document, or MissingFromSnapshot when this version has none."""
        if name not in self.docs:
            raise MissingFromSnapshot(f"the live snapshot has no {name!r} document (the refresh skipped it)",
                                      reason="missing_document", document=name, retry_after_s=3600)
        return self.docs[name]

    def optional_doc(self, name: str) -> dict[str, Any]:
        """The document as a dict, or {} when this version has none (metadata an answer can do without)."""
        doc = self.docs.get(name) if name in self.docs else None
        return doc if isinstance(doc, dict) else {}

    @classmethod
    def from_memory(cls, version: str, manifest: Mapping[str, Any], tables: Mapping[str, Mapping[str, np.ndarray]],
                    docs: Mapping[str, Any], keys: Mapping[str, str] | None = None) -> Snapshot:
        """A snapshot built from arrays in memory (tests), encoded exactly as write_table stores them."""
        keys = dict(keys or {})
        built = {}
        for name, cols in tables.items():
            stored, schema = encode_table(name, cols)
            built[name] = ColumnTable(stored, stored.keys(), key=keys.get(name), schema=schema)
        return cls(version=version, manifest=dict(manifest), tables=built, docs=dict(docs))


class _Docs(Mapping[str, Any]):
    def __init__(self, files: VersionFiles, names: list[str]) -> None:
        self._files, self._names = files, names
        self._cache: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            if name not in self._names:
                raise KeyError(name)
            self._cache[name] = json.loads(self._files.path(f"docs/{name}.json").read_text())
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def load_local_version(folder: str | Path, *, mmap: bool = True) -> Snapshot:
    """Open the version stored in ``folder`` (its manifest.json lists the files); columns load lazily."""
    folder = Path(folder)
    manifest = json_object((folder / MANIFEST).read_text(), f"{folder / MANIFEST}")
    manifest.setdefault("version", folder.name)
    return snapshot_from_manifest(manifest, lambda rel: folder / rel, mmap=mmap, root=folder)


def snapshot_from_manifest(manifest: Mapping[str, Any], fetch: Callable[[str], Path], *, mmap: bool = True,
                           root: Path | None = None, fetch_checks: bool = False, workers: int = 1) -> Snapshot:
    """A snapshot whose files are listed in ``manifest["files"]``; ``fetch(relpath)`` returns a local path.

    Columns and documents load on first use (so ``fetch`` may download lazily, as the S3 store does), each
    checked against the manifest's size and sha256 the first time (by ``fetch`` itself with ``fetch_checks``);
    a version whose manifest lists no files cannot be checked and is refused. ``workers`` fetch in parallel
    when :meth:`Snapshot.check_files` checks many files at once.
    """
    version = str(manifest.get("version", ""))
    if not isinstance(manifest.get("files"), list):
        raise SnapshotDamaged(f"snapshot {version} has a manifest without a files list and is refused; "
                              "run the refresh to publish a good version", reason="snapshot_unreadable",
                              version=version, retry_after_s=60)
    files = VersionFiles(version, fetch, manifest["files"], root=root, fetch_checks=fetch_checks, workers=workers)
    keys: dict[str, str] = dict(manifest.get("table_keys", {}))
    columns: dict[str, list[str]] = {}
    schemas: set[str] = set()
    doc_names: list[str] = []
    for rel in files.entries:
        parts = rel.split("/")
        if len(parts) == 3 and parts[0] == "tables" and parts[2].endswith(".npy"):
            columns.setdefault(parts[1], []).append(parts[2][:-4])
        elif len(parts) == 3 and parts[0] == "tables" and parts[2] == SCHEMA_FILE:
            schemas.add(parts[1])
        elif len(parts) == 2 and parts[0] == "docs" and parts[1].endswith(".json"):
            doc_names.append(parts[1][:-5])
    mode: Literal["r"] | None = "r" if mmap else None
    tables = {
        t: ColumnTable(_column_loader(files, t, mode), sorted(names), key=keys.get(t) or _declared_key(t),
                       schema=_schema_loader(files, t) if t in schemas else None)
        for t, names in sorted(columns.items())
    }
    return Snapshot(version=version, manifest=dict(manifest), tables=tables, docs=_Docs(files, sorted(doc_names)),
                    files=files)


def _declared_key(table: str) -> str | None:
    """The key column schema.py declares for ``table`` (a manifest's table_keys may predate the table)."""
    spec = TABLES.get(table)
    return spec.key if spec else None


def _column_loader(files: VersionFiles, table: str, mode: Literal["r"] | None) -> Callable[[str], np.ndarray]:
    def load(name: str) -> np.ndarray:
        column: np.ndarray = np.load(files.path(f"tables/{table}/{name}.npy"), mmap_mode=mode, allow_pickle=False)
        return column

    return load


def _schema_loader(files: VersionFiles, table: str) -> Callable[[], Mapping[str, Any]]:
    def load() -> Mapping[str, Any]:
        columns: Mapping[str, Any] = json_object(files.path(f"tables/{table}/{SCHEMA_FILE}").read_text(),
                                                 f"schema of table {table}")["columns"]
        return columns

    return load
