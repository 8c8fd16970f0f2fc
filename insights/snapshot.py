"""The insight snapshot as the API reads it: columnar numpy tables and small JSON documents.

Layout and columns: docs/snapshot.md. This module needs numpy only (the API imports it).
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

__all__ = ["ColumnTable", "Snapshot", "MissingFromSnapshot", "load_local_version", "snapshot_from_manifest",
           "write_table", "write_doc", "file_digests", "content_hash", "sha256_file", "MANIFEST"]

MANIFEST = "manifest.json"


class ColumnTable(Mapping[str, np.ndarray]):
    """Named columns of equal length; ``key`` is the sorted id column used by :meth:`positions`."""

    def __init__(self, columns: Mapping[str, np.ndarray] | Callable[[str], np.ndarray], names: Iterable[str],
                 *, key: str | None = None) -> None:
        self._names = list(names)
        self._loader = columns if callable(columns) else columns.__getitem__
        self._cache: dict[str, np.ndarray] = {}
        self.key = key

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            if name not in self._names:
                raise KeyError(name)
            self._cache[name] = self._loader(name)
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
        keys = self[self.key]
        wanted = np.asarray(list(ids), dtype=str)
        if keys.shape[0] == 0 or wanted.shape[0] == 0:
            return np.full(wanted.shape[0], -1, dtype=np.int64)
        pos = np.searchsorted(keys, wanted)
        pos = np.minimum(pos, keys.shape[0] - 1)
        return np.where(keys[pos] == wanted, pos, -1).astype(np.int64)


@dataclass
class Snapshot:
    """One published version: manifest, tables and documents."""

    version: str
    manifest: dict[str, Any]
    tables: Mapping[str, ColumnTable] = field(default_factory=dict)
    docs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def as_of(self) -> str:
        return str(self.manifest.get("as_of", ""))

    @property
    def created_at(self) -> str:
        return str(self.manifest.get("created_at", ""))

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
        """A snapshot built from arrays in memory (tests, and the refresh before it publishes)."""
        keys = dict(keys or {})
        return cls(
            version=version,
            manifest=dict(manifest),
            tables={n: ColumnTable(dict(cols), cols.keys(), key=keys.get(n)) for n, cols in tables.items()},
            docs=dict(docs),
        )


class MissingFromSnapshot(InsufficientData, KeyError):
    """The snapshot has no such table or document (the refresh skipped that model family): the API answers 422.

    Still a KeyError, so ``name in``-style callers that catch KeyError keep working.
    """

    def __init__(self, snapshot: Snapshot, kind: str, name: str) -> None:
        skipped = sorted(k for k, v in (snapshot.manifest.get("sides") or {}).items() if v == "skipped")
        why = f" (the refresh skipped: {', '.join(skipped)}; see the manifest's check_notes)" if skipped else ""
        super().__init__(f"snapshot {snapshot.version} has no {name!r} {kind}{why}", missing=f"{kind}:{name}")

    __str__ = InsufficientData.__str__


class _LazyDocs(Mapping[str, Any]):
    def __init__(self, folder: Path, names: list[str]) -> None:
        self._folder, self._names, self._cache = folder, names, {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            if name not in self._names:
                raise KeyError(name)
            self._cache[name] = json.loads((self._folder / f"{name}.json").read_text())
        return self._cache[name]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def load_local_version(folder: str | Path, *, mmap: bool = True) -> Snapshot:
    """Open the version stored in ``folder`` (its manifest.json, tables/ and docs/); columns load lazily."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    keys: dict[str, str] = manifest.get("table_keys", {})
    tables: dict[str, ColumnTable] = {}
    tables_dir = folder / "tables"
    if tables_dir.is_dir():
        for tdir in sorted(p for p in tables_dir.iterdir() if p.is_dir()):
            names = sorted(p.stem for p in tdir.glob("*.npy"))
            tables[tdir.name] = ColumnTable(
                lambda n, d=tdir: np.load(d / f"{n}.npy", mmap_mode="r" if mmap else None, allow_pickle=False),
                names, key=keys.get(tdir.name),
            )
    docs_dir = folder / "docs"
    doc_names = sorted(p.stem for p in docs_dir.glob("*.json")) if docs_dir.is_dir() else []
    return Snapshot(version=str(manifest.get("version", folder.name)), manifest=manifest, tables=tables,
                    docs=_LazyDocs(docs_dir, doc_names))


def snapshot_from_manifest(manifest: Mapping[str, Any], fetch: Callable[[str], Path], *, mmap: bool = True) -> Snapshot:
    """A snapshot whose files are listed in ``manifest["files"]``; ``fetch(relpath)`` returns a local path.

    Columns and documents load on first use, so ``fetch`` may download lazily (the S3 store does).
    """
    keys: dict[str, str] = dict(manifest.get("table_keys", {}))
    columns: dict[str, list[str]] = {}
    doc_names: list[str] = []
    for entry in manifest.get("files", []):
        parts = entry["path"].split("/")
        if len(parts) == 3 and parts[0] == "tables" and parts[2].endswith(".npy"):
            columns.setdefault(parts[1], []).append(parts[2][:-4])
        elif len(parts) == 2 and parts[0] == "docs" and parts[1].endswith(".json"):
            doc_names.append(parts[1][:-5])
    tables = {
        t: ColumnTable(
            lambda n, t=t: np.load(fetch(f"tables/{t}/{n}.npy"), mmap_mode="r" if mmap else None, allow_pickle=False),
            sorted(names), key=keys.get(t),
        )
        for t, names in sorted(columns.items())
    }
    docs = _FetchedDocs(fetch, sorted(doc_names))
    return Snapshot(version=str(manifest.get("version", "")), manifest=dict(manifest), tables=tables, docs=docs)


class _FetchedDocs(_LazyDocs):
    def __init__(self, fetch: Callable[[str], Path], names: list[str]) -> None:
        self._fetch, self._names, self._cache = fetch, names, {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            if name not in self._names:
                raise KeyError(name)
            self._cache[name] = json.loads(Path(self._fetch(f"docs/{name}.json")).read_text())
        return self._cache[name]


# -- writing (the refresh builds a version folder with these, then a SnapshotStore publishes it) --

def write_table(folder: str | Path, name: str, columns: Mapping[str, np.ndarray]) -> list[Path]:
    """Write ``columns`` as ``folder/tables/<name>/<column>.npy``; all columns must have the same length."""
    lengths = {c: np.asarray(a).shape[0] if np.asarray(a).ndim else -1 for c, a in columns.items()}
    if len(set(lengths.values())) > 1 or -1 in lengths.values():
        raise ValueError(f"table {name!r}: columns of different lengths or scalars: {lengths}")
    out = Path(folder) / "tables" / name
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for col, values in columns.items():
        arr = np.asarray(values)
        if arr.dtype == object:
            raise ValueError(f"table {name!r} column {col!r}: object arrays are not allowed (no pickle)")
        path = out / f"{col}.npy"
        np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
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


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


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
