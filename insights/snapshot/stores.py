"""The snapshot store a deployment names in INSIGHTS_SNAPSHOTS: ``s3://bucket/prefix`` or a local folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from insights.config import Settings
from insights.errors import ConfigError
from insights.snapshot.local import LocalSnapshotStore
from insights.snapshot.store import SnapshotStore

if TYPE_CHECKING:
    from insights.snapshot.s3_client import S3Client  # botocore: imported only for S3 stores

__all__ = ["store_from_settings"]


def store_from_settings(settings: Settings, *, client: S3Client | None = None) -> SnapshotStore:
    """The store named by ``settings.snapshots``; ``client`` is an S3 client (default: boto3's, on first use)."""
    target = str(settings.snapshots)
    if not target.startswith("s3://"):
        return LocalSnapshotStore(target, keep_versions=settings.keep_versions)
    bucket, _, prefix = target[len("s3://"):].partition("/")
    if not bucket:
        raise ConfigError(f"INSIGHTS_SNAPSHOTS={target!r} names no bucket")
    if client is None:
        import boto3  # only for S3 stores: a local run never pays botocore's import

        client = boto3.client("s3", region_name=settings.region)
    from insights.snapshot.s3 import S3SnapshotStore

    return S3SnapshotStore(client, bucket, prefix, keep_versions=settings.keep_versions)
