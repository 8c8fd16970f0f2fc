"""LocalSnapshotStore: snapshots in a folder; versions are renamed into place, ``latest`` replaced under a lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from insights.errors import NotFound, SnapshotUnavailable
from insights.snapshot.reader import MANIFEST, Snapshot, json_object, load_local_version
from insights.snapshot.store import LATEST, MODELS, SCORES, STALE_TMP_S, VERSIONS, SnapshotStore, check_version_id

__all__ = ["LocalSnapshotStore"]


class LocalSnapshotStore(SnapshotStore):
    """Snapshots in a local folder; versions are renamed into place, ``latest`` is replaced under a lock."""

    def __init__(self, root: str | Path, *, keep_versions: int = 7) -> None:
        self.root = Path(root)
        self.keep_versions = keep_versions

    def __repr__(self) -> str:
        return f"LocalSnapshotStore({str(self.root)!r})"

    def _vdir(self, version: str) -> Path:
        return self.root / VERSIONS / check_version_id(version)

    def latest_version(self) -> str | None:
        try:
            text = (self.root / LATEST).read_text().strip()
        except FileNotFoundError:
            return None
        return text or None

    def versions(self) -> list[str]:
        base = self.root / VERSIONS
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if not p.name.startswith(".") and (p / MANIFEST).is_file())

    def manifest(self, version: str) -> dict[str, Any]:
        path = self._vdir(version) / MANIFEST
        if not path.is_file():
            raise NotFound(f"snapshot version {version!r} does not exist", version=version)
        return json_object(path.read_text(), str(path))

    def open(self, version: str | None = None) -> Snapshot:
        version = version or self.latest_version()
        if version is None:
            raise SnapshotUnavailable(f"no snapshot published in {self.root} yet: run the refresh")
        folder = self._vdir(version)
        if not (folder / MANIFEST).is_file():
            raise NotFound(f"snapshot version {version!r} does not exist", version=version)
        return load_local_version(folder)

    def fetch_models(self, version: str) -> Path | None:
        folder = self._vdir(version) / MODELS
        return folder if folder.is_dir() else None

    def new_build_dir(self) -> Path:
        """A scratch folder on the store's filesystem, so publishing is a rename rather than a copy."""
        base = self.root / VERSIONS / f".build-{uuid.uuid4().hex[:12]}"
        base.mkdir(parents=True)
        return base

    def _write_version(self, build_dir: Path, version: str, manifest: dict[str, Any]) -> bool:
        target = self._vdir(version)
        target.parent.mkdir(parents=True, exist_ok=True)
        if (target / MANIFEST).is_file():
            return False  # the same version id (same second, same as_of, same content) is already there
        tmp = target.parent / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir()
            for entry in sorted(build_dir.iterdir()):
                if entry.name != SCORES:
                    _move_or_copy(entry, tmp / entry.name)
            os.rename(tmp, target)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if (target / MANIFEST).is_file():
                return False  # a concurrent publisher of the same version id won the rename
            raise
        return True

    def _write_scores(self, files: list[tuple[str, Path]]) -> None:
        for key, src in files:
            dest = self.root / key
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}")
            _copy_file(src, tmp)
            os.replace(tmp, dest)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _swap_latest(self, update: Callable[[str | None], str | None]) -> str | None:
        with self._lock():
            current = self.latest_version()
            new = update(current)
            if new is None or new == current:
                return current
            tmp = self.root / f".latest.tmp-{uuid.uuid4().hex[:8]}"
            tmp.write_text(new + "\n")
            os.replace(tmp, self.root / LATEST)
            return new

    def _delete_version(self, version: str) -> None:
        target = self._vdir(version)
        # rename first so a half-deleted folder is never listed as a version
        trash = target.parent / f".trash-{version}-{uuid.uuid4().hex[:8]}"
        target.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)

    def _stale_partial_versions(self) -> list[str]:
        return []  # local versions appear by rename: there are no partial ones, only scratch folders

    def prune(self, keep: int | None = None) -> list[str]:
        doomed = super().prune(keep)
        base = self.root / VERSIONS
        if base.is_dir():
            now = time.time()
            for p in base.iterdir():
                scratch = p.name.startswith((".tmp-", ".trash-", ".build-"))
                if scratch and now - p.stat().st_mtime > STALE_TMP_S:
                    shutil.rmtree(p, ignore_errors=True)
        return doomed


def _copy_file(src: Path, dest: Path) -> None:
    shutil.copyfile(src, dest)


def _move_or_copy(src: Path, dest: Path) -> None:
    """Rename when on the same filesystem (a build from ``new_build_dir``), copy otherwise."""
    try:
        os.rename(src, dest)
        return
    except OSError as exc:
        if exc.errno != 18:  # EXDEV: another filesystem
            raise
    if src.is_dir():
        dest.mkdir()
        for child in sorted(src.iterdir()):
            _move_or_copy(child, dest / child.name)
    else:
        _copy_file(src, dest)


