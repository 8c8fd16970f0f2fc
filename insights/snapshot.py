"""The insight snapshot as the API reads it: columnar numpy tables and small JSON documents.

Layout, columns and encodings: docs/snapshot.md. This module needs numpy only (the API imports it).
Every table and document file is checked against the manifest's sha256 the first time it is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from insights.errors import InsufficientData
from insights.snapshot_codec import SCHEMA_FILE, decode_column, encode_table, lookup
from insights.snapshot_integrity import SERVED_PREFIXES, SnapshotDamaged, VersionFiles, sha256_file

__all__ = ["ColumnTable", "Snapshot", "MissingFromSnapshot", "SnapshotDamaged", "load_local_version",
           "snapshot_from_manifest", "write_table", "write_doc", "file_digests", "content_hash", "sha256_file",
           "VersionFiles", "SERVED_PREFIXES", "MANIFEST"]

MANIFEST = "manifest.json"


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

    def __iter__(self):
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
    def created_at(self) -> str:
        return str(self.manifest.get("created_at", ""))

    @property
    def damaged(self) -> str | None:
        """Why this version was refused (a file failed its check on first read), else None."""
        return None if self.files is None else self.files.damaged

    def check_files(self, *, digests: bool) -> None:
        """Raise SnapshotDamaged unless every listed file is present with its size (and sha256 with ``digests``)."""
        if self.files is not None:
            self.files.check(digests=digests)

    def table(self, name: str) -> ColumnTable:
        if name not in self.tables:
            raise MissingFromSnapshot(self, "table", name)
        return self.tables[name]

    def doc(self, name: str) -> Any:
        if name not in self.docs:
            raise MissingFromSnapshot(self, "document", name)
        return self.docs[name]

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


class MissingFromSnapshot(InsufficientData, KeyError):
    """The snapshot has no such table or document (the refresh skipped that model family): the API answers 422.

    Still a KeyError, so ``name in``-style callers that catch KeyError keep working.
    """

    def __init__(self, snapshot: Snapshot, kind: str, name: str) -> None:
        skipped = sorted(k for k, v in (snapshot.manifest.get("sides") or {}).items() if v == "skipped")
        why = f" (the refresh skipped: {', '.join(skipped)}; see the manifest's check_notes)" if skipped else ""
        super().__init__(f"snapshot {snapshot.version} has no {name!r} {kind}{why}", missing=f"{kind}:{name}")

    __str__ = InsufficientData.__str__


class _Docs(Mapping[str, Any]):
    def __init__(self, files: VersionFiles, names: list[str]) -> None:
        self._files, self._names, self._cache = files, names, {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            if name not in self._names:
                raise KeyError(name)
            self._cache[name] = json.loads(self._files.path(f"docs/{name}.json").read_text())
        return self._cache[name]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def load_local_version(folder: str | Path, *, mmap: bool = True, verified: Iterable[str] = ()) -> Snapshot:
    """Open the version stored in ``folder`` (its manifest.json lists the files); columns load lazily."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest.setdefault("version", folder.name)
    return snapshot_from_manifest(manifest, lambda rel: folder / rel, mmap=mmap, root=folder, verified=verified)


def snapshot_from_manifest(manifest: Mapping[str, Any], fetch: Callable[[str], Path], *, mmap: bool = True,
                           root: Path | None = None, verified: Iterable[str] = ()) -> Snapshot:
    """A snapshot whose files are listed in ``manifest["files"]``; ``fetch(relpath)`` returns a local path.

    Columns and documents load on first use (so ``fetch`` may download lazily, as the S3 store does), each
    checked against the manifest's size and sha256 the first time; a version whose manifest lists no files
    cannot be checked and is refused.
    """
    version = str(manifest.get("version", ""))
    if not isinstance(manifest.get("files"), list):
        raise SnapshotDamaged(f"snapshot {version} has a manifest without a files list and is refused; "
                              "run the refresh to publish a good version", reason="snapshot_unreadable",
                              version=version, retry_after_s=60)
    files = VersionFiles(version, fetch, manifest["files"], root=root, verified=verified)
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
    mode = "r" if mmap else None
    tables = {
        t: ColumnTable(
            lambda n, t=t: np.load(files.path(f"tables/{t}/{n}.npy"), mmap_mode=mode, allow_pickle=False),
            sorted(names), key=keys.get(t),
            schema=(lambda t=t: json.loads(files.path(f"tables/{t}/{SCHEMA_FILE}").read_text())["columns"])
            if t in schemas else None,
        )
        for t, names in sorted(columns.items())
    }
    return Snapshot(version=version, manifest=dict(manifest), tables=tables, docs=_Docs(files, sorted(doc_names)),
                    files=files)


# -- writing (the refresh builds a version folder with these, then a SnapshotStore publishes it) --

def write_table(folder: str | Path, name: str, columns: Mapping[str, np.ndarray]) -> list[Path]:
    """Write ``columns`` as ``folder/tables/<name>/<column>.npy`` plus ``schema.json`` (their encodings).

    All columns must have the same length. Text is stored dictionary-encoded or as UTF-8 bytes and the
    FLOAT32_COLUMNS as float32 (snapshot_codec); ColumnTable decodes them on access.
    """
    lengths = {c: np.asarray(a).shape[0] if np.asarray(a).ndim else -1 for c, a in columns.items()}
    if len(set(lengths.values())) > 1 or -1 in lengths.values():
        raise ValueError(f"table {name!r}: columns of different lengths or scalars: {lengths}")
    stored, schema = encode_table(name, columns)
    out = Path(folder) / "tables" / name
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for col, arr in stored.items():
        path = out / f"{col}.npy"
        np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
        paths.append(path)
    path = out / SCHEMA_FILE
    path.write_text(json.dumps({"columns": schema}, sort_keys=True, separators=(",", ":")))
    paths.append(path)
    return paths


def write_doc(folder: str | Path, name: str, document: Any) -> Path:
    """Write ``document`` as ``folder/docs/<name>.json`` (sorted keys, so equal documents give equal bytes)."""
    out = Path(folder) / "docs"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_json_default))
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def file_digests(folder: str | Path, *, exclude_top: Iterable[str] = (MANIFEST, "scores")) -> list[dict[str, Any]]:
    """``[{"path", "bytes", "sha256"}]`` for every file under ``folder`` (sorted, POSIX relative paths)."""
    folder = Path(folder)
    skip = set(exclude_top)
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.split("/")[0] in skip:
            continue
        out.append({"path": rel, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    return out


def content_hash(files: Iterable[Mapping[str, Any]], *, prefixes: tuple[str, ...] = ("tables/", "docs/")) -> str:
    """One sha256 over the listed files' paths and digests (by default the tables and documents the API reads)."""
    digest = hashlib.sha256()
    for entry in sorted(files, key=lambda e: e["path"]):
        if entry["path"].startswith(prefixes):
            digest.update(f"{entry['path']}\0{entry['sha256']}\n".encode())
    return digest.hexdigest()
