"""Integrity of a snapshot version's files: each is checked against the manifest's size and sha256 on first use.

docs/snapshot.md, "Integrity". numpy-free (hashlib only): the API imports it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

from insights.errors import SnapshotDamaged, SnapshotGone

__all__ = ["VersionFiles", "FileMismatch", "sha256_file", "SERVED_PREFIXES"]

SERVED_PREFIXES = ("tables/", "docs/")

log = logging.getLogger("insights.snapshot.reader")


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class FileMismatch(Exception):
    """Raised by a fetcher that checks what it fetches: the file is missing or differs from its manifest entry."""


class VersionFiles:
    """The table and document files a manifest lists; each is checked against its size and sha256 on first use.

    ``fetch(relpath)`` gives a local path: a join under the version folder (``root``, which also allows the
    cheap presence check), or a download by the lazy S3 store. A fetcher that checks each file against its
    entry itself (``fetch_checks=True``: the S3 store hashes while it downloads) raises FileMismatch for a bad
    one and its files are not hashed a second time; any other exception of ``fetch`` (an unreachable store)
    propagates without refusing the version. ``read`` is the version's working set: the files served or
    checked so far.
    """

    def __init__(self, version: str, fetch: Callable[[str], Path], entries: Iterable[Mapping[str, Any]], *,
                 root: Path | None = None, fetch_checks: bool = False, workers: int = 1) -> None:
        self.version = version
        self.entries = {str(e["path"]): e for e in entries if str(e["path"]).startswith(SERVED_PREFIXES)}
        self._fetch, self._root, self._fetch_checks, self._workers = fetch, root, fetch_checks, max(1, workers)
        self.read: set[str] = set()
        self.damaged: str | None = None

    @property
    def local(self) -> bool:
        """True when the files are on local disk (checking them all costs hashing only, no transfer)."""
        return self._root is not None

    def path(self, rel: str) -> Path:
        """A local path to ``rel`` whose content matches the manifest (checked once); SnapshotDamaged if not."""
        entry = self.entries.get(rel)
        if entry is None:
            self._refuse(rel, "is not listed in the manifest")
        try:
            path = Path(self._fetch(rel))
        except FileMismatch as exc:
            self._refuse(rel, str(exc))
        if rel not in self.read:
            if not self._fetch_checks:
                self._check_size(rel, path, entry)
                if sha256_file(path) != entry["sha256"]:
                    self._refuse(rel, "does not match its manifest sha256")
            self.read.add(rel)
        return path

    def check(self, *, digests: bool, only: Iterable[str] | None = None) -> None:
        """Every listed file (or those of ``only`` that are listed): present with its size (cheap), and with
        ``digests`` also its sha256 (which reads, or for a remote store fetches, each one)."""
        rels = list(self.entries) if only is None else [r for r in dict.fromkeys(only) if r in self.entries]
        if digests:
            if self._workers > 1 and len(rels) > 1:
                with ThreadPoolExecutor(max_workers=self._workers) as pool:
                    list(pool.map(self.path, rels))
            else:
                for rel in rels:
                    self.path(rel)
        elif self._root is not None:
            for rel in rels:
                if rel not in self.read:
                    self._check_size(rel, self._root / rel, self.entries[rel])

    def _check_size(self, rel: str, path: Path, entry: Mapping[str, Any]) -> None:
        try:
            size = path.stat().st_size
        except OSError:
            self._refuse(rel, "is missing")
        if size != entry["bytes"]:
            self._refuse(rel, f"has {size} bytes, the manifest says {entry['bytes']}")

    def _refuse(self, rel: str, why: str) -> NoReturn:
        self.damaged = f"{rel} {why}"
        log.error("snapshot file failed its integrity check: the version is refused",
                  extra={"version": self.version, "path": rel, "why": why})
        kind = SnapshotGone if why.startswith("is missing") else SnapshotDamaged
        raise kind(f"snapshot {self.version} failed its integrity check and is refused; "
                   "run the refresh to publish a good version (or roll back)",
                   reason="snapshot_unreadable", version=self.version, retry_after_s=60)
