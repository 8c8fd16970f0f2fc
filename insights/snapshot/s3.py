"""S3SnapshotStore: snapshots under ``s3://bucket/prefix``; ``latest`` moves by conditional PutObject."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError  # boto3 is there whenever an S3 store is (stores.py imports this lazily)

from insights.errors import NotFound, PublishConflict, SnapshotUnavailable
from insights.snapshot.integrity import sha256_file
from insights.snapshot.reader import MANIFEST, Snapshot, json_object, load_local_version, snapshot_from_manifest
from insights.snapshot.store import LATEST, MODELS, SCORES, STALE_TMP_S, VERSIONS, SnapshotStore, check_version_id
from insights.snapshot.writer import version_created_at

__all__ = ["S3SnapshotStore", "S3Client"]

logger = logging.getLogger("insights.snapshot.store")


class _Paginator(Protocol):
    def paginate(self, **kwargs: Any) -> Iterable[dict[str, Any]]: ...


class S3Client(Protocol):
    """The calls of boto3's S3 client this store makes (moto's in the tests); failures are botocore ClientErrors."""

    def get_object(self, **kwargs: Any) -> dict[str, Any]: ...

    def put_object(self, **kwargs: Any) -> dict[str, Any]: ...

    def delete_objects(self, **kwargs: Any) -> dict[str, Any]: ...

    def download_file(self, bucket: str, key: str, filename: str) -> None: ...

    def upload_file(self, filename: str, bucket: str, key: str) -> None: ...

    def get_paginator(self, operation_name: str) -> _Paginator: ...


def _error_code(exc: ClientError) -> tuple[str, int | None]:
    """S3's error code and HTTP status from botocore's parsed error response."""
    response: dict[str, Any] = exc.response
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(response.get("Error", {}).get("Code", "")), None if status is None else int(status)


def _is_precondition_failure(exc: ClientError) -> bool:
    code, status = _error_code(exc)
    return code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409") or status in (409, 412)


def _is_missing(exc: ClientError) -> bool:
    return _error_code(exc)[0] in ("NoSuchKey", "404", "NotFound")


class S3SnapshotStore(SnapshotStore):
    """Snapshots under ``s3://bucket/prefix``; ``latest`` moves by conditional PutObject (If-Match/If-None-Match).

    :meth:`open` downloads the version's tables and documents (not its models) into ``cache_dir/<version>``,
    checks each file's sha256 against the manifest, and opens the copy; ``lazy=True`` fetches each file on
    first use instead. Only the two most recently opened versions stay in the cache.
    """

    def __init__(self, client: S3Client, bucket: str, prefix: str = "", *, cache_dir: str | Path | None = None,
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
        return self._key(VERSIONS, check_version_id(version), rel)

    # -- pointer and listing --
    def _get_latest(self) -> tuple[str | None, str | None]:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(LATEST))
        except ClientError as exc:
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
        except ClientError as exc:
            if _is_missing(exc):
                raise NotFound(f"snapshot version {version!r} does not exist", version=version) from None
            raise
        return json_object(obj["Body"].read(), f"{self!r} manifest of {version}")

    # -- reading --
    def _download(self, version: str, entry: dict[str, Any], folder: Path) -> Path:
        dest = folder / str(entry["path"])
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
            if self.lazy:  # each file is checked at its download: not hashed a second time
                return snapshot_from_manifest(manifest, lambda rel: self._download(version, by_path[rel], folder),
                                              verified=by_path)
            verified: list[str] = []
            if not (folder / MANIFEST).is_file():
                self._download_all(version, served, folder)
                (folder / MANIFEST).write_text(json.dumps(manifest))
                verified = list(by_path)  # checked at download; a reused cache is checked again on first read
            return load_local_version(folder, verified=verified)
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
        except ClientError as exc:
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
            except ClientError as exc:
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
            if version not in complete and created and (now - created).total_seconds() > STALE_TMP_S:
                stale.append(version)
        return stale


