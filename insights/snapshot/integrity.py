"""Integrity of a snapshot version's files: each is checked against the manifest's size and sha256 on first use.

docs/snapshot.md, "Integrity". numpy-free (hashlib only): the API imports it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from insights.errors import SnapshotDamaged, SnapshotUnavailable

__all__ = ["VersionFiles", "sha256_file", "SERVED_PREFIXES"]

SERVED_PREFIXES = ("tables/", "docs/")

log = logging.getLogger("insights.snapshot.reader")


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class VersionFiles:
    """The table and document files a manifest lists; each is checked against its size and sha256 on first use.

    ``fetch(relpath)`` gives a local path (a join under the version folder, or a download for the lazy S3
    store); ``root`` is that folder when there is one (for the cheap presence check). Paths in ``verified``
    were already checked (the S3 store checks at download) and are not hashed again.
    """

    def __init__(self, version: str, fetch: Callable[[str], Path], entries: Iterable[Mapping[str, Any]], *,
                 root: Path | None = None, verified: Iterable[str] = ()) -> None:
        self.version = version
        self.entries = {str(e["path"]): e for e in entries if str(e["path"]).startswith(SERVED_PREFIXES)}
        self._fetch, self._root, self._ok = fetch, root, set(verified)
        self.damaged: str | None = None

    def path(self, rel: str) -> Path:
        """A local path to ``rel`` whose content matches the manifest (checked once); SnapshotDamaged if not."""
        entry = self.entries.get(rel)
        if entry is None:
            self._refuse(rel, "is not listed in the manifest")
        try:
            path = Path(self._fetch(rel))
        except SnapshotUnavailable as exc:  # the S3 store's own check at download
            self._refuse(rel, str(exc))
        if rel not in self._ok:
            self._check_size(rel, path, entry)
            if sha256_file(path) != entry["sha256"]:
                self._refuse(rel, "does not match its manifest sha256")
            self._ok.add(rel)
        return path

    def check(self, *, digests: bool) -> None:
        """Every listed file: present with its size (cheap), and with ``digests`` also its sha256 (reads all)."""
        for rel, entry in self.entries.items():
            if digests:
                self.path(rel)
            elif self._root is not None and rel not in self._ok:
                self._check_size(rel, self._root / rel, entry)

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
        raise SnapshotDamaged(f"snapshot {self.version} failed its integrity check and is refused; "
                              "run the refresh to publish a good version (or roll back)",
                              reason="snapshot_unreadable", version=self.version, retry_after_s=60)
