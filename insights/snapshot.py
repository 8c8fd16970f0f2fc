"""The insight snapshot as the API reads it: columnar numpy tables and small JSON documents.

Layout and columns: docs/snapshot.md. This module needs numpy only (the API imports it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ColumnTable", "Snapshot", "load_local_version"]


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
        return self.tables[name]

    def doc(self, name: str) -> Any:
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
