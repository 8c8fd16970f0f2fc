"""Files by key under a root that is a local folder or ``s3://bucket/prefix``: what erasure and retention rewrite.

Every write replaces a whole file atomically: locally a sibling temporary file renamed over the old one
(``os.replace``), on S3 one PutObject (an object is never seen half-written). A reader therefore sees the old
file or the new one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Objects", "LocalObjects", "S3Objects", "objects_for"]


class Objects(Protocol):
    def keys(self, prefix: str) -> list[str]: ...  # sorted keys under prefix ("" = all)
    def download(self, key: str, dest: Path) -> None: ...
    def read(self, key: str) -> bytes: ...
    def put(self, key: str, src: Path) -> None: ...  # replaces key atomically
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def delete(self, key: str) -> None: ...


class LocalObjects:
    """Keys are POSIX paths under ``root``; hidden temporary files are never listed."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalObjects({str(self.root)!r})"

    def keys(self, prefix: str) -> list[str]:
        base = self.root / prefix if prefix else self.root
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*")
                      if p.is_file() and not any(part.startswith(".") for part in p.relative_to(self.root).parts))

    def download(self, key: str, dest: Path) -> None:
        shutil.copyfile(self.root / key, dest)

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def _replace(self, key: str, write: Any) -> None:
        dest = self.root / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            write(tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def put(self, key: str, src: Path) -> None:
        self._replace(key, lambda tmp: shutil.copyfile(src, tmp))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._replace(key, lambda tmp: tmp.write_bytes(data))

    def delete(self, key: str) -> None:
        """Remove the file, and its folders left empty (an emptied partition), up to the root."""
        path = self.root / key
        path.unlink(missing_ok=True)
        for folder in path.parents:
            if folder == self.root or self.root not in folder.parents:
                break
            try:
                folder.rmdir()
            except OSError:  # not empty (or gone): stop
                break


class S3Objects:
    """Keys under ``s3://bucket/prefix``, through boto3's client (moto's in the tests)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")

    def __repr__(self) -> str:
        return f"S3Objects('s3://{self.bucket}/{self.prefix}')"

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def keys(self, prefix: str) -> list[str]:
        base = self._key(prefix)
        skip = len(self.prefix) + 1 if self.prefix else 0
        out = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base):
            out += [item["Key"][skip:] for item in page.get("Contents", [])]
        return sorted(out)

    def download(self, key: str, dest: Path) -> None:
        self.client.download_file(self.bucket, self._key(key), str(dest))

    def read(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        return body

    def put(self, key: str, src: Path) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=src.read_bytes())

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


def objects_for(target: str, *, client: Any = None, region: str = "us-east-1") -> Objects:
    """The files under ``target``: an ``s3://bucket/prefix`` (boto3's client unless given) or a local folder."""
    if not str(target).startswith("s3://"):
        return LocalObjects(target)
    bucket, _, prefix = str(target)[len("s3://"):].partition("/")
    if client is None:
        import boto3

        client = boto3.client("s3", region_name=region)
    return S3Objects(client, bucket, prefix)
