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
import contextlib
import fcntl
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from insights.errors import NotFound, SnapshotUnavailable
from insights.snapshot import (
    MANIFEST,
    Snapshot,
    content_hash,
    file_digests,
    load_local_version,
    sha256_file,
    snapshot_from_manifest,
)

__all__ = [
    "SnapshotStore", "LocalSnapshotStore", "S3SnapshotStore", "PublishConflict", "store_from_settings",
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


# ---------------------------------------------------------------------------------------------- local

class LocalSnapshotStore(SnapshotStore):
    """Snapshots in a local folder; versions are renamed into place, ``latest`` is replaced under a lock."""

    def __init__(self, root: str | Path, *, keep_versions: int = 7) -> None:
        self.root = Path(root)
        self.keep_versions = keep_versions

    def __repr__(self) -> str:
        return f"LocalSnapshotStore({str(self.root)!r})"

    def _vdir(self, version: str) -> Path:
        return self.root / VERSIONS / _check_version_id(version)

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
        return json.loads(path.read_text())

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
                if scratch and now - p.stat().st_mtime > _STALE_TMP_S:
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


# ------------------------------------------------------------------------------------------------- S3

def _is_precondition_failure(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409") or status in (409, 412)


def _is_missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound")


class S3SnapshotStore(SnapshotStore):
    """Snapshots under ``s3://bucket/prefix``; ``latest`` moves by conditional PutObject (If-Match/If-None-Match).

    :meth:`open` downloads the version's tables and documents (not its models) into ``cache_dir/<version>``,
    checks each file's sha256 against the manifest, and opens the copy; ``lazy=True`` fetches each file on
    first use instead. Only the two most recently opened versions stay in the cache.
    """

    def __init__(self, client: Any, bucket: str, prefix: str = "", *, cache_dir: str | Path | None = None,
                 keep_versions: int = 7, max_workers: int = 8, lazy: bool = False,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        default_cache = Path(tempfile.gettempdir()) / "insights-snapshot-cache" / bucket / (self.prefix or "_root")
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache
        self.keep_versions = keep_versions
        self.max_workers = max_workers
        self.lazy = lazy
        self._sleep = sleep
        self._opened: list[str] = []

    def __repr__(self) -> str:
        return f"S3SnapshotStore('s3://{self.bucket}/{self.prefix}')"

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _vkey(self, version: str, rel: str = "") -> str:
        return self._key(VERSIONS, _check_version_id(version), rel)

    # -- pointer and listing --
    def _get_latest(self) -> tuple[str | None, str | None]:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(LATEST))
        except Exception as exc:  # noqa: BLE001 - botocore's ClientError, without importing botocore here
            if _is_missing(exc):
                return None, None
            raise
        return obj["Body"].read().decode().strip() or None, obj["ETag"]

    def latest_version(self) -> str | None:
        try:
            return self._get_latest()[0]
        except Exception as exc:  # noqa: BLE001
            raise SnapshotUnavailable(f"cannot read {self!r}/latest: {exc}") from exc

    def _scan(self) -> tuple[list[str], dict[str, list[str]]]:
        """(complete versions, {version: keys}) from one listing of versions/."""
        base = self._key(VERSIONS) + "/"
        keys: dict[str, list[str]] = {}
        complete = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base):
            for item in page.get("Contents", []):
                rel = item["Key"][len(base):]
                version, _, rest = rel.partition("/")
                keys.setdefault(version, []).append(item["Key"])
                if rest == MANIFEST:
                    complete.append(version)
        return sorted(complete), keys

    def versions(self) -> list[str]:
        return self._scan()[0]

    def manifest(self, version: str) -> dict[str, Any]:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._vkey(version, MANIFEST))
        except Exception as exc:  # noqa: BLE001
            if _is_missing(exc):
                raise NotFound(f"snapshot version {version!r} does not exist", version=version) from None
            raise
        return json.loads(obj["Body"].read())

    # -- reading --
    def _download(self, version: str, entry: dict[str, Any], folder: Path) -> Path:
        dest = folder / entry["path"]
        if dest.is_file() and dest.stat().st_size == entry["bytes"]:
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part-{uuid.uuid4().hex[:8]}")
        try:
            self.client.download_file(self.bucket, self._vkey(version, entry["path"]), str(tmp))
            if sha256_file(tmp) != entry["sha256"]:
                raise SnapshotUnavailable(f"snapshot {version}: {entry['path']} does not match its manifest sha256",
                                          version=version)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    def _download_all(self, version: str, entries: list[dict[str, Any]], folder: Path) -> None:
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            list(pool.map(lambda e: self._download(version, e, folder), entries))

    def open(self, version: str | None = None) -> Snapshot:
        try:
            version = version or self.latest_version()
            if version is None:
                raise SnapshotUnavailable(f"no snapshot published in {self!r} yet: run the refresh")
            manifest = self.manifest(version)
            folder = self.cache_dir / version
            folder.mkdir(parents=True, exist_ok=True)
            served = [e for e in manifest.get("files", []) if e["path"].startswith(("tables/", "docs/"))]
            by_path = {e["path"]: e for e in served}
            self._remember(version)
            if self.lazy:
                return snapshot_from_manifest(manifest, lambda rel: self._download(version, by_path[rel], folder))
            if not (folder / MANIFEST).is_file():
                self._download_all(version, served, folder)
                (folder / MANIFEST).write_text(json.dumps(manifest))
            return load_local_version(folder)
        except (NotFound, SnapshotUnavailable):
            raise
        except Exception as exc:  # noqa: BLE001 - the store is unreachable or the version is damaged
            raise SnapshotUnavailable(f"cannot open snapshot {version!r} from {self!r}: {exc}") from exc

    def _remember(self, version: str) -> None:
        """Keep the cache to the versions opened last (older mappings may still be in use by a reader)."""
        self._opened = [v for v in self._opened if v != version] + [version]
        if self.cache_dir.is_dir():
            for p in self.cache_dir.iterdir():
                if p.is_dir() and p.name not in self._opened[-2:]:
                    shutil.rmtree(p, ignore_errors=True)

    def fetch_models(self, version: str) -> Path | None:
        entries = [e for e in self.manifest(version).get("files", []) if e["path"].startswith(f"{MODELS}/")]
        if not entries:
            return None
        folder = self.cache_dir / version
        self._remember(version)
        self._download_all(version, entries, folder)
        return folder / MODELS

    # -- writing --
    def _write_version(self, build_dir: Path, version: str, manifest: dict[str, Any]) -> bool:
        manifest_key = self._vkey(version, MANIFEST)
        files = [p for p in sorted(build_dir.rglob("*")) if p.is_file()]
        body = [p for p in files if p.relative_to(build_dir).parts[0] != SCORES and p != build_dir / MANIFEST]
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            list(pool.map(lambda p: self.client.upload_file(
                str(p), self.bucket, self._vkey(version, p.relative_to(build_dir).as_posix())), body))
        try:
            # the manifest goes last and only once: its presence is what makes the version complete
            self.client.put_object(Bucket=self.bucket, Key=manifest_key, Body=(build_dir / MANIFEST).read_bytes(),
                                   IfNoneMatch="*", ContentType="application/json")
        except Exception as exc:  # noqa: BLE001
            if _is_precondition_failure(exc):
                return False
            raise
        return True

    def _write_scores(self, files: list[tuple[str, Path]]) -> None:
        for key, src in files:
            self.client.upload_file(str(src), self.bucket, self._key(key))

    def _swap_latest(self, update: Callable[[str | None], str | None]) -> str | None:
        for attempt in range(10):
            current, etag = self._get_latest()
            new = update(current)
            if new is None or new == current:
                return current
            condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
            try:
                self.client.put_object(Bucket=self.bucket, Key=self._key(LATEST), Body=(new + "\n").encode(),
                                       ContentType="text/plain", **condition)
                return new
            except Exception as exc:  # noqa: BLE001
                if not _is_precondition_failure(exc):
                    raise
                logger.info("latest changed under us, retrying", extra={"attempt": attempt + 1})
                self._sleep(0.05 * (attempt + 1))
        raise PublishConflict(f"{self!r}/latest kept changing: gave up after 10 attempts")

    def _delete_keys(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            self.client.delete_objects(Bucket=self.bucket,
                                       Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})

    def _delete_version(self, version: str) -> None:
        manifest_key = self._vkey(version, MANIFEST)
        self._delete_keys([manifest_key])  # first: the version stops being listed as complete
        _, keys = self._scan()
        self._delete_keys([k for k in keys.get(version, []) if k != manifest_key])

    def _stale_partial_versions(self) -> list[str]:
        complete, keys = self._scan()
        now = datetime.now(UTC)
        stale = []
        for version in keys:
            created = version_created_at(version)
            if version not in complete and created and (now - created).total_seconds() > _STALE_TMP_S:
                stale.append(version)
        return stale


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
        return S3SnapshotStore(client, bucket, prefix, keep_versions=keep,
                               cache_dir=getattr(settings, "snapshot_cache_dir", None))
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
