"""The snapshot store: publish complete versions, move the ``latest`` pointer atomically, keep the last N.

One small interface, two adapters chosen by ``settings.snapshots`` (docs/snapshot.md, "Layout"):
:class:`LocalSnapshotStore` for a folder and :class:`S3SnapshotStore` for ``s3://bucket/prefix``.

Publishing writes every file of ``versions/<version>/`` first (the manifest last: a version without a
manifest is incomplete and never listed), then the analyst Parquet copies under ``scores/``, and only
then moves ``latest`` with a compare-and-swap: ``os.replace`` under a file lock locally, a conditional
``PutObject`` (If-Match / If-None-Match) on S3. A reader therefore sees the old version or the new one,
never a mix.

Time only moves forward: ``latest`` moves to a new version only if its as_of is at least the live version's
(on a tie the newer version id wins), so a backfill or a replayed event publishes its version for audit and
leaves ``latest`` alone. Only an explicit operator action moves it to an older as_of: ``publish(...,
move_latest="always")`` (``refresh --make-latest``) or :meth:`SnapshotStore.rollback`.
"""

from __future__ import annotations

import logging
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from insights.errors import NotFound
from insights.snapshot.reader import MANIFEST, Snapshot, json_object

__all__ = ["SnapshotStore", "LATEST", "VERSIONS", "SCORES", "MODELS", "STALE_TMP_S", "MOVE_LATEST",
           "check_version_id", "as_of_in_version_id"]

logger = logging.getLogger(__name__)

LATEST = "latest"
VERSIONS = "versions"
SCORES = "scores"
MODELS = "models"
STALE_TMP_S = 3600.0  # unfinished uploads/copies older than this are garbage
MOVE_LATEST = ("forward", "always", "never")  # publish's rule for the pointer: by as_of, unconditionally, not at all


def check_version_id(version: str) -> str:
    if not version or "/" in version or version.startswith(".") or version != version.strip():
        raise ValueError(f"invalid snapshot version id {version!r}")
    return version


def as_of_in_version_id(version: str) -> str:
    """The as_of a version id names (``YYYYMMDDTHHMMSSZ-<as_of>-<hash>``), or "" when it names none."""
    part = version[17:27]
    return part if len(part) == 10 and part[4] == "-" and part[7] == "-" else ""


def _read_build_manifest(build_dir: Path, version: str) -> dict[str, Any]:
    path = build_dir / MANIFEST
    if not path.is_file():
        raise ValueError(f"{build_dir} has no {MANIFEST}: not a finished snapshot build")
    manifest = json_object(path.read_text(), str(path))
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
    def new_build_dir(self) -> Path:
        """A scratch folder for the refresh to build a version in (a store may place it where publishing is cheap)."""
        return Path(tempfile.mkdtemp(prefix="insights-build-"))

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

    def as_of(self, version: str) -> str:
        """The as_of of a complete version: its manifest's (one read), else the date its id names ("" if none)."""
        try:
            return str(self.manifest(version).get("as_of") or as_of_in_version_id(version))
        except NotFound:  # pruned or deleted by hand: the id still names the day
            return as_of_in_version_id(version)

    def publish(self, build_dir: str | Path, version: str, *, move_latest: str = "forward") -> str | None:
        """Publish the finished build in ``build_dir`` as ``version``; returns the version ``latest`` points to after.

        ``build_dir`` holds manifest.json (its "version" must equal ``version``), tables/, docs/, models/ and
        optionally scores/<table>/as_of=<date>/*.parquet. Nothing becomes visible until the pointer moves.
        ``move_latest``: "forward" (the default) moves ``latest`` only if this version's (as_of, version id)
        is at least the live one's, so an older as_of (a backfill, a replayed event) or a concurrent publisher's
        newer snapshot keeps the pointer where it is; "always" moves it regardless (an operator's explicit
        choice); "never" publishes for audit only.
        """
        if move_latest not in MOVE_LATEST:
            raise ValueError(f"move_latest must be one of {', '.join(MOVE_LATEST)}, got {move_latest!r}")
        build_dir = Path(build_dir)
        check_version_id(version)
        manifest = _read_build_manifest(build_dir, version)
        as_of = str(manifest.get("as_of") or as_of_in_version_id(version))
        started = time.perf_counter()
        created = self._write_version(build_dir, version, manifest)
        self._write_scores(_score_files(build_dir))

        def forward(current: str | None) -> str | None:
            # Runs inside the compare-and-swap, once per attempt, with the pointer value the swap is conditioned
            # on: the live version's manifest is immutable once written, so its as_of read here belongs to
            # exactly that value; if another publisher moves latest meanwhile, the swap fails (412 on S3, the
            # lock locally) and this runs again against the new value.
            if move_latest == "never":
                return None
            if current is None or move_latest == "always":
                return version
            return version if (as_of, version) > (self.as_of(current), current) else None

        live = self._swap_latest(forward)
        moved = live == version
        logger.info("snapshot published", extra={
            "version": version, "as_of": as_of, "new_files": created, "latest": live, "moved_latest": moved,
            "move_latest": move_latest, "publish_s": round(time.perf_counter() - started, 3)})
        try:
            self.prune()
        except Exception as exc:  # noqa: BLE001 - the new version is live; old ones go at the next publish
            logger.warning("pruning old snapshot versions failed: %s", exc)
        return live

    def rollback(self, version: str | None = None) -> str:
        """Point ``latest`` at ``version``; returns it.

        The default is the version just before the live one in the order ``publish`` moves forward by,
        (as_of, version id): the snapshot that was live before, not a backfill published for audit since.
        """
        available = self.versions()
        if version is not None:
            check_version_id(version)
            if version not in available:
                raise NotFound(f"snapshot version {version!r} does not exist", version=version)
            target = version
        else:
            current = self.latest_version()
            key = (self.as_of(current), current) if current is not None else None
            older = sorted((self.as_of(v), v) for v in available if v != current)
            older = [k for k in older if key is None or k < key]
            if not older:
                raise NotFound("no earlier snapshot version to roll back to", latest=current)
            target = older[-1][1]
        self._swap_latest(lambda current: target)
        logger.info("snapshot rolled back", extra={"version": target})
        return target

    def replace_version(self, old: str, build_dir: str | Path, new: str) -> None:
        """Publish the build ``new`` in place of ``old`` (an erasure's rewrite), then delete ``old``.

        ``latest`` moves to ``new`` only if it still points at ``old``; readers that hold ``old`` open find its
        files gone and reload from ``latest`` (the API retries such a request once: api/app.py).
        """
        build_dir = Path(build_dir)
        check_version_id(old)
        manifest = _read_build_manifest(build_dir, check_version_id(new))
        self._write_version(build_dir, new, manifest)
        self._swap_latest(lambda current: new if current == old else None)
        self._delete_version(old)
        logger.info("snapshot version replaced", extra={"version": old, "new_version": new})

    def purge_version(self, version: str) -> None:
        """Delete ``version`` even if it is live (an erasure that cannot rewrite it); ``latest`` then moves to
        the newest remaining version by (as_of, id), or stays pointing nowhere when none is left."""
        check_version_id(version)

        def elsewhere(current: str | None) -> str | None:
            if current != version:
                return None
            rest = sorted((self.as_of(v), v) for v in self.versions() if v != version)
            return rest[-1][1] if rest else None

        self._swap_latest(elsewhere)
        self._delete_version(version)
        logger.warning("snapshot version purged", extra={"version": version})

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
