"""The snapshot store: publish complete versions, move the ``latest`` pointer atomically, keep the last N.

One small interface, two adapters chosen by ``settings.snapshots`` (docs/snapshot.md, "Layout"):
:class:`LocalSnapshotStore` for a folder and :class:`S3SnapshotStore` for ``s3://bucket/prefix``.

Publishing writes every file of ``versions/<version>/`` first (the manifest last: a version without a
manifest is incomplete and never listed), then the analyst Parquet copies under ``scores/``, and only
then moves ``latest`` with a compare-and-swap: ``os.replace`` under a file lock locally, a conditional
``PutObject`` (If-Match / If-None-Match) on S3. A reader therefore sees the old version or the new one,
never a mix; of concurrent publishers the newest version id wins and ``latest`` never moves backwards
except through :meth:`SnapshotStore.rollback`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from insights.errors import NotFound
from insights.snapshot import (
    MANIFEST,
    Snapshot,
    content_hash,
    file_digests,
)

# LocalSnapshotStore (insights.store_local) and S3SnapshotStore (insights.store_s3) are importable from here too.
__all__ = [
    "SnapshotStore", "PublishConflict", "store_from_settings",
    "new_version_id", "version_created_at", "finalize_build", "rollback_main",
]

logger = logging.getLogger(__name__)

LATEST = "latest"
VERSIONS = "versions"
SCORES = "scores"
MODELS = "models"
_STALE_TMP_S = 3600.0  # unfinished uploads/copies older than this are garbage


class PublishConflict(RuntimeError):
    """``latest`` kept changing under a compare-and-swap (too many concurrent writers)."""


def new_version_id(as_of: str, content_hash: str, now: datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSSZ-<as_of>-<first 8 hex of the content hash>``: sorts by creation time."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{as_of}-{content_hash[:8]}"


def version_created_at(version: str) -> datetime | None:
    """The creation time encoded in a version id (None when it does not parse)."""
    try:
        return datetime.strptime(version[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def finalize_build(build_dir: str | Path, fields: dict[str, Any], *, as_of: str,
                   now: datetime | None = None) -> str:
    """Write ``build_dir/manifest.json`` (``fields``, version, as_of, created_at, files); return the version.

    The files list (path, bytes, sha256) covers everything in the build except scores/ and the manifest itself.
    """
    build_dir = Path(build_dir)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    files = file_digests(build_dir)
    digest = content_hash(files)
    version = new_version_id(as_of, digest, now)
    manifest = {**fields, "version": version, "as_of": as_of, "created_at": now.isoformat(timespec="seconds"),
                "content_sha256": digest, "files": files}
    (build_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    return version


def _check_version_id(version: str) -> str:
    if not version or "/" in version or version.startswith(".") or version != version.strip():
        raise ValueError(f"invalid snapshot version id {version!r}")
    return version


def _read_build_manifest(build_dir: Path, version: str) -> dict[str, Any]:
    path = build_dir / MANIFEST
    if not path.is_file():
        raise ValueError(f"{build_dir} has no {MANIFEST}: not a finished snapshot build")
    manifest = json.loads(path.read_text())
    if manifest.get("version") != version:
        raise ValueError(f"{path} is for version {manifest.get('version')!r}, not {version!r}")
    for entry in manifest.get("files", []):
        f = build_dir / entry["path"]
        if not f.is_file() or f.stat().st_size != entry["bytes"]:
            raise ValueError(f"{build_dir}: {entry['path']} is missing or differs from the manifest")
    return manifest


def _score_files(build_dir: Path) -> list[tuple[str, Path]]:
    root = build_dir / SCORES
    if not root.is_dir():
        return []
    return [(f"{SCORES}/{p.relative_to(root).as_posix()}", p) for p in sorted(root.rglob("*")) if p.is_file()]


class SnapshotStore(ABC):
    """Where snapshots live. ``publish`` is the only writer of new versions; readers use ``latest_version``/``open``."""

    keep_versions: int = 7

    # -- pointer and listing --
    @abstractmethod
    def latest_version(self) -> str | None:
        """The version ``latest`` points to, or None before the first publish."""

    @abstractmethod
    def versions(self) -> list[str]:
        """Complete versions (with a manifest), oldest first."""

    # -- reading --
    @abstractmethod
    def open(self, version: str | None = None) -> Snapshot:
        """Open ``version`` (default: latest); NotFound for an unknown version, SnapshotUnavailable when none."""

    @abstractmethod
    def manifest(self, version: str) -> dict[str, Any]:
        """The manifest of a complete version."""

    @abstractmethod
    def fetch_models(self, version: str) -> Path | None:
        """A local folder holding ``versions/<version>/models`` (None when the version has no models)."""

    # -- writing --
    @abstractmethod
    def _write_version(self, build_dir: Path, version: str, manifest: dict[str, Any]) -> bool:
        """Copy the build (without scores/) to versions/<version>, manifest last; False if it already existed."""

    @abstractmethod
    def _write_scores(self, files: list[tuple[str, Path]]) -> None:
        """Put the analyst Parquet files at their keys (each replaced atomically)."""

    @abstractmethod
    def _swap_latest(self, update: Callable[[str | None], str | None]) -> str | None:
        """Compare-and-swap ``latest``: ``update(current)`` returns the new value or None to leave it."""

    @abstractmethod
    def _delete_version(self, version: str) -> None: ...

    @abstractmethod
    def _stale_partial_versions(self) -> list[str]:
        """Versions left incomplete by a crashed publish (no manifest) and older than an hour."""

    def publish(self, build_dir: str | Path, version: str) -> str:
        """Publish the finished build in ``build_dir`` as ``version``; returns the version ``latest`` points to after.

        ``build_dir`` holds manifest.json (its "version" must equal ``version``), tables/, docs/, models/ and
        optionally scores/<table>/as_of=<date>/*.parquet. Nothing becomes visible until the pointer moves; if
        another publisher already moved ``latest`` to a newer version, the pointer stays there.
        """
        build_dir = Path(build_dir)
        _check_version_id(version)
        manifest = _read_build_manifest(build_dir, version)
        started = time.perf_counter()
        created = self._write_version(build_dir, version, manifest)
        self._write_scores(_score_files(build_dir))

        def forward(current: str | None) -> str | None:
            return version if current is None or current < version else None

        live = self._swap_latest(forward)
        moved = live == version
        logger.info("snapshot published", extra={
            "version": version, "new_files": created, "latest": live, "moved_latest": moved,
            "publish_s": round(time.perf_counter() - started, 3)})
        try:
            self.prune()
        except Exception as exc:  # noqa: BLE001 - the new version is live; old ones go at the next publish
            logger.warning("pruning old snapshot versions failed: %s", exc)
        return live or version

    def rollback(self, version: str | None = None) -> str:
        """Point ``latest`` at ``version`` (default: the complete version before the current one); returns it."""
        available = self.versions()
        if version is not None:
            _check_version_id(version)
            if version not in available:
                raise NotFound(f"snapshot version {version!r} does not exist", version=version)
            target = version
        else:
            current = self.latest_version()
            older = [v for v in available if current is None or v < current]
            if not older:
                raise NotFound("no earlier snapshot version to roll back to", latest=current)
            target = older[-1]
        self._swap_latest(lambda current: target)
        logger.info("snapshot rolled back", extra={"version": target})
        return target

    def prune(self, keep: int | None = None) -> list[str]:
        """Delete all but the ``keep`` newest complete versions (never the live one) and stale partial ones."""
        keep = self.keep_versions if keep is None else keep
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        live = self.latest_version()
        complete = self.versions()
        doomed = [v for v in complete[:-keep] if v != live] + self._stale_partial_versions()
        for v in doomed:
            try:
                self._delete_version(v)
            except (OSError, FileNotFoundError) as exc:  # a concurrent pruner got there first
                logger.warning("could not delete snapshot version %s: %s", v, exc)
        if doomed:
            logger.info("snapshot versions pruned", extra={"deleted": doomed, "kept": keep})
        return doomed


# --------------------------------------------------------------------------------------------- wiring

def store_from_settings(settings: Any, *, client: Any = None) -> SnapshotStore:
    """The store named by ``settings.snapshots``: ``s3://bucket/prefix`` or a local folder."""
    target = str(settings.snapshots)
    keep = int(getattr(settings, "keep_versions", 7))
    if target.startswith("s3://"):
        bucket, _, prefix = target[len("s3://"):].partition("/")
        if not bucket:
            raise ValueError(f"INSIGHTS_SNAPSHOTS={target!r} names no bucket")
        if client is None:
            import boto3

            client = boto3.client("s3", region_name=getattr(settings, "region", None))
        from insights.store_s3 import S3SnapshotStore

        return S3SnapshotStore(client, bucket, prefix, keep_versions=keep,
                               cache_dir=getattr(settings, "snapshot_cache_dir", None))
    from insights.store_local import LocalSnapshotStore

    return LocalSnapshotStore(target, keep_versions=keep)


def rollback_main(args: argparse.Namespace, settings: Any) -> int:
    """``python -m insights rollback [VERSION] [--snapshots DIR]``: move ``latest`` back."""
    settings = settings.with_overrides(snapshots=getattr(args, "snapshots", None))
    store = store_from_settings(settings)
    before = store.latest_version()
    try:
        after = store.rollback(getattr(args, "version", None))
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        versions = store.versions()
        print("versions: " + (", ".join(versions) if versions else "(none)"), file=sys.stderr)
        return 1
    for v in store.versions():
        print(f"{'*' if v == after else ' '} {v}")
    print(f"latest: {before} -> {after}")
    return 0


def __getattr__(name: str) -> Any:
    # The adapters live in their own modules (they subclass SnapshotStore): re-exported lazily, no import cycle.
    if name == "LocalSnapshotStore":
        from insights.store_local import LocalSnapshotStore

        return LocalSnapshotStore
    if name == "S3SnapshotStore":
        from insights.store_s3 import S3SnapshotStore

        return S3SnapshotStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
