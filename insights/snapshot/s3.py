"""S3SnapshotStore: snapshots under ``s3://bucket/prefix``; ``latest`` moves by conditional PutObject."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from insights.errors import NotFound, PublishConflict, SnapshotUnavailable
from insights.snapshot.blobcache import BlobCache
from insights.snapshot.integrity import FileMismatch, sha256_file
from insights.snapshot.reader import MANIFEST, Snapshot, json_object, snapshot_from_manifest
from insights.snapshot.s3_client import ClientError, S3Client, is_missing, is_precondition_failure
from insights.snapshot.store import LATEST, MODELS, SCORES, STALE_TMP_S, VERSIONS, SnapshotStore, check_version_id
from insights.snapshot.writer import version_created_at

__all__ = ["S3SnapshotStore"]

logger = logging.getLogger("insights.snapshot.store")

BLOBS = "blobs"
SINGLE_GET_BYTES = 8 * 1024 * 1024  # s3transfer's multipart threshold: smaller files are one GetObject


def _drop_other_layouts(cache_dir: Path) -> None:
    """Remove what an earlier layout of the cache left (whole versions under ``cache_dir/<version>``)."""
    if cache_dir.is_dir():
        for p in cache_dir.iterdir():
            if p.name in (BLOBS, MODELS):
                continue
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


class S3SnapshotStore(SnapshotStore):
    """Snapshots under ``s3://bucket/prefix``; ``latest`` moves by conditional PutObject (If-Match/If-None-Match).

    :meth:`open` reads the version's manifest only; each table column, schema.json and document is fetched the
    first time a reader asks for it (one GetObject, hashed while it is written; a file of 8 MiB or more by
    parallel ranged GETs), checked against its manifest size and sha256, and kept in ``cache_dir/blobs`` by
    its digest (:class:`BlobCache`: at most ``cache_max_bytes``, default half of /tmp up to 2 GiB), so a file
    equal in two versions is fetched once. A missing or different file refuses the version; an unreachable
    store is a retryable 503 that refuses nothing.
    """

    def __init__(self, client: S3Client, bucket: str, prefix: str = "", *, cache_dir: str | Path | None = None,
                 cache_max_bytes: int | None = None, keep_versions: int = 7, max_workers: int = 8,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        default_cache = Path(tempfile.gettempdir()) / "insights-snapshot-cache" / bucket / (self.prefix or "_root")
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache
        self.keep_versions = keep_versions
        self.max_workers = max_workers
        self.cache_max_bytes = cache_max_bytes
        self._sleep = sleep
        self._blobs: BlobCache | None = None
        self._opened: list[str] = []

    def __repr__(self) -> str:
        return f"S3SnapshotStore('s3://{self.bucket}/{self.prefix}')"

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _vkey(self, version: str, rel: str = "") -> str:
        return self._key(VERSIONS, check_version_id(version), rel)

    # -- pointer and listing --
    def _get_latest(self) -> tuple[str | None, str | None]:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(LATEST))
        except ClientError as exc:
            if is_missing(exc):
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
        except ClientError as exc:
            if is_missing(exc):
                raise NotFound(f"snapshot version {version!r} does not exist", version=version) from None
            raise
        return json_object(obj["Body"].read(), f"{self!r} manifest of {version}")

    # -- reading --
    @property
    def blobs(self) -> BlobCache:
        """The cache of served files under ``cache_dir/blobs`` (made on first use)."""
        if self._blobs is None:
            _drop_other_layouts(self.cache_dir)
            self._blobs = BlobCache(self.cache_dir / BLOBS, self.cache_max_bytes)
        return self._blobs

    def open(self, version: str | None = None) -> Snapshot:
        """The version's manifest now; each table and document file on first use (see the class docstring)."""
        try:
            version = version or self.latest_version()
            if version is None:
                raise SnapshotUnavailable(f"no snapshot published in {self!r} yet: run the refresh")
            manifest = self.manifest(version)
            listed = manifest.get("files")
            by_path = {str(e["path"]): e for e in listed if isinstance(e, dict)} if isinstance(listed, list) else {}
            return snapshot_from_manifest(manifest, lambda rel: self._fetch_served(version, by_path[rel]),
                                          fetch_checks=True, workers=self.max_workers)
        except (NotFound, SnapshotUnavailable):
            raise
        except Exception as exc:  # noqa: BLE001 - the store is unreachable or the manifest unreadable
            raise SnapshotUnavailable(f"cannot open snapshot {version!r} from {self!r}: {exc}") from exc

    def _fetch_served(self, version: str, entry: dict[str, Any]) -> Path:
        key = self._vkey(version, entry["path"])
        return self.blobs.get(str(entry["sha256"]), int(entry["bytes"]),
                              lambda dest: self._get_into(key, dest, int(entry["bytes"])))

    def _get_into(self, key: str, dest: Path, size: int) -> str:
        """Write the object ``key`` to ``dest``; the sha256 of the bytes written."""
        try:
            if size >= SINGLE_GET_BYTES:  # s3transfer's parallel ranged GETs
                self.client.download_file(self.bucket, key, str(dest))
                return sha256_file(dest)
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            digest = hashlib.sha256()
            with open(dest, "wb") as fh:
                while block := body.read(1 << 20):
                    digest.update(block)
                    fh.write(block)
            return digest.hexdigest()
        except Exception as exc:  # noqa: BLE001 - botocore's ClientError, or the network failing under it
            if isinstance(exc, ClientError) and is_missing(exc):
                raise FileMismatch("is missing from the store") from exc
            raise SnapshotUnavailable(f"cannot fetch {key} from {self!r}: {exc}", reason="store_unreachable",
                                      retry_after_s=5) from exc

    def _download(self, version: str, entry: dict[str, Any], folder: Path) -> Path:
        dest = folder / str(entry["path"])
        if dest.is_file() and dest.stat().st_size == entry["bytes"] and sha256_file(dest) == entry["sha256"]:
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

    def fetch_models(self, version: str) -> Path | None:
        """Download ``versions/<version>/models`` (the refresh's model reuse) into the cache, checked by sha256."""
        entries = [e for e in self.manifest(version).get("files", []) if e["path"].startswith(f"{MODELS}/")]
        if not entries:
            return None
        folder = self.cache_dir / MODELS / check_version_id(version)
        folder.mkdir(parents=True, exist_ok=True)
        self._opened = [v for v in self._opened if v != version] + [version]
        for p in (self.cache_dir / MODELS).iterdir():  # the models of the two versions asked for last
            if p.is_dir() and p.name not in self._opened[-2:]:
                shutil.rmtree(p, ignore_errors=True)
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            list(pool.map(lambda e: self._download(version, e, folder), entries))
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
        except ClientError as exc:
            if is_precondition_failure(exc):
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
            except ClientError as exc:
                if not is_precondition_failure(exc):
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
            if version not in complete and created and (now - created).total_seconds() > STALE_TMP_S:
                stale.append(version)
        return stale


