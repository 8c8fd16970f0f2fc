"""The S3 store's local cache: snapshot files kept by their sha256 in a folder of bounded size (Lambda's /tmp).

Content-addressed, so a file that did not change between two versions (same digest in both manifests) is
fetched once and serves both; least recently used files go first when the folder outgrows its bound.
docs/snapshot.md, "Reading from S3". numpy-free.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from insights.snapshot.integrity import FileMismatch, sha256_file

__all__ = ["BlobCache", "default_max_bytes"]

log = logging.getLogger("insights.snapshot.store")

MAX_DEFAULT_BYTES = 2 * 1024**3
_SHA256 = re.compile(r"[0-9a-f]{64}")


def default_max_bytes(folder: Path) -> int:
    """Half of the filesystem that holds ``folder`` (Lambda's /tmp: 512 MB to 10 GB), at most 2 GiB."""
    folder.mkdir(parents=True, exist_ok=True)
    return min(MAX_DEFAULT_BYTES, shutil.disk_usage(folder).total // 2)


class BlobCache:
    """Files named by their sha256 under ``folder``, together at most ``max_bytes`` (LRU eviction).

    A file is served only once this cache has checked its digest: when it wrote it (``fill`` returns the
    digest of what it wrote), or by hashing a file it finds there from an earlier process. A file evicted
    while a reader still maps it stays readable through that mapping (its disk space returns when unmapped).
    """

    def __init__(self, folder: str | Path, max_bytes: int | None = None) -> None:
        self.folder = Path(folder)
        self.max_bytes = default_max_bytes(self.folder) if max_bytes is None else int(max_bytes)
        self._lock = threading.Lock()
        self._sizes: OrderedDict[str, int] | None = None  # least recently used first
        self._checked: set[str] = set()
        self.evicted = 0

    def get(self, digest: str, size: int, fill: Callable[[Path], str]) -> Path:
        """A local path holding the ``size`` bytes whose sha256 is ``digest``.

        ``fill(tmp)`` writes them to ``tmp`` (a download) and returns the sha256 of what it wrote; FileMismatch
        when that is not ``digest`` or the size differs.
        """
        if not _SHA256.fullmatch(digest):
            raise FileMismatch(f"has no sha256 in the manifest ({digest[:80]!r})")
        path = self.folder / digest
        with self._lock:
            sizes = self._index()
            if digest in self._checked and path.is_file():
                sizes.move_to_end(digest)
                return path
        if path.is_file() and path.stat().st_size == size and sha256_file(path) == digest:
            self._add(digest, size)  # left by an earlier process: hashed once before it is served
            return path
        tmp = self.folder / f".{digest}.part-{uuid.uuid4().hex[:8]}"
        try:
            got = fill(tmp)
            written = tmp.stat().st_size
            if written != size:
                raise FileMismatch(f"has {written} bytes, the manifest says {size}")
            if got != digest:
                raise FileMismatch("does not match its manifest sha256")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self._add(digest, size)
        return path

    @property
    def bytes(self) -> int:
        with self._lock:
            return sum(self._index().values())

    def _add(self, digest: str, size: int) -> None:
        with self._lock:
            sizes = self._index()
            sizes[digest] = size
            sizes.move_to_end(digest)
            self._checked.add(digest)
            total = sum(sizes.values())
            for old in list(sizes):
                if total <= self.max_bytes:
                    break
                if old == digest:
                    continue
                total -= sizes.pop(old)
                self._checked.discard(old)
                (self.folder / old).unlink(missing_ok=True)
                self.evicted += 1
                log.info("snapshot cache full: evicted a file", extra={"sha256": old, "cache_bytes": total,
                                                                       "max_bytes": self.max_bytes})

    def _index(self) -> OrderedDict[str, int]:
        """Sizes of the files present, oldest first (scanned once; partial downloads of a crashed run removed)."""
        if self._sizes is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            found = []
            for p in self.folder.iterdir():
                if p.name.startswith("."):
                    p.unlink(missing_ok=True)
                elif p.is_file():
                    st = p.stat()
                    found.append((st.st_mtime, p.name, st.st_size))
            self._sizes = OrderedDict((name, size) for _, name, size in sorted(found))
        return self._sizes
