"""The sharded refresh's work area: one run's intermediate files under a fresh run id, on S3 or in a folder.

Layout under ``<root>/<run_id>/``: ``plan.json`` (the plan step's decisions), ``extract/<side>/shard=K/*.parquet``
(the engine's UNLOAD or COPY), ``frames/<side>.pkl`` (a side extracted whole), ``models/<side>/...``,
``context/<side>.pkl``, ``parts/<side>/shard=K.pkl`` and ``done/<side>/shard=K.json`` (one per scored shard).
Every file is written by this project's own steps into its private prefix; nothing here is ever served.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

__all__ = ["WorkArea", "LocalWork", "S3Work", "work_area", "default_work_root"]


class WorkArea(Protocol):
    """Keys are '/'-separated paths under the run's root."""

    def location(self, key: str) -> str: ...  # where an engine writes ``key`` (a folder path or an s3:// URI)
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...  # FileNotFoundError when missing
    def exists(self, key: str) -> bool: ...
    def keys(self, prefix: str) -> list[str]: ...  # every key under ``prefix``, sorted
    def download(self, prefix: str, folder: Path) -> Path: ...  # the files under ``prefix`` copied into ``folder``
    def upload(self, folder: Path, prefix: str) -> None: ...
    def remove(self) -> None: ...  # the whole run


class LocalWork:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalWork({str(self.root)!r})"

    def location(self, key: str) -> str:
        return str(self.root / key)

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # a reader never sees half a file

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def keys(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*")
                      if p.is_file() and not p.name.startswith("."))

    def download(self, prefix: str, folder: Path) -> Path:
        shutil.copytree(self.root / prefix, folder, dirs_exist_ok=True)
        return folder

    def upload(self, folder: Path, prefix: str) -> None:
        shutil.copytree(folder, self.root / prefix, dirs_exist_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class S3Work:
    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")

    def __repr__(self) -> str:
        return f"S3Work('s3://{self.bucket}/{self.prefix}')"

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(self.location(key)) from None

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:  # botocore's ClientError: 404 is "not there", anything else is a failure
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def keys(self, prefix: str) -> list[str]:
        out, start = [], len(self.prefix) + 1 if self.prefix else 0
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            out += [o["Key"][start:] for o in page.get("Contents", [])]
        return sorted(k for k in out if not k.rsplit("/", 1)[-1].startswith("."))

    def download(self, prefix: str, folder: Path) -> Path:
        for key in self.keys(prefix):
            path = folder / key[len(prefix):].lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.get(key))
        return folder

    def upload(self, folder: Path, prefix: str) -> None:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            self.put(f"{prefix}/{path.relative_to(folder).as_posix()}", path.read_bytes())

    def remove(self) -> None:
        keys = [self._key(k) for k in self.keys("")]
        for i in range(0, len(keys), 1000):
            self.client.delete_objects(Bucket=self.bucket,
                                       Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})


def default_work_root(snapshots: str) -> str:
    """Beside the snapshots: ``s3://bucket/prefix/work`` on S3, ``<snapshots folder>/../work`` locally."""
    if snapshots.startswith("s3://"):
        return snapshots.rstrip("/") + "/work"
    return str(Path(snapshots).resolve().parent / "work")


def work_area(root: str, run_id: str, *, client: Any = None) -> WorkArea:
    """The work area of run ``run_id`` under ``root`` (an s3:// URI or a folder; a temp folder when empty)."""
    if root.startswith("s3://"):
        bucket, _, prefix = root[len("s3://"):].partition("/")
        if client is None:
            import boto3

            client = boto3.client("s3")
        return S3Work(client, bucket, f"{prefix.strip('/')}/{run_id}".strip("/"))
    return LocalWork(Path(root or tempfile.gettempdir()) / run_id)
