"""Bulk export of every customer's scores: a link to the copy the refresh wrote, never the rows themselves.

In AWS (``INSIGHTS_SNAPSHOTS=s3://bucket/prefix``) the link is a presigned S3 GET valid ``URL_TTL_S`` seconds,
signed with the API function's role (which may read ``<prefix>/scores/*``); locally it is a ``file://`` URL of the
file in the snapshot folder. The caller needs ``customers:export``; the copy with emails is linked only when the
caller also holds ``customers:pii``. Which files exist: the ``exports`` document (insights/refresh/exports.py).
numpy-free: this module is on the API's request path (boto3 is imported for S3 stores only, once).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from insights.api.auth import SCOPE_EXPORT, SCOPE_PII
from insights.errors import AuthError, InvalidRequest, MissingFromSnapshot
from insights.snapshot.reader import Snapshot

__all__ = ["customer_scores_export", "FORMATS", "URL_TTL_S"]

FORMATS = ("csv", "parquet")
URL_TTL_S = 300


def customer_scores_export(snapshot: Snapshot, *, fmt: str, scopes: Iterable[str], snapshots: str,
                           region: str | None = None) -> dict[str, Any]:
    """A short-lived link to every customer's scores as ``fmt`` (emails only for ``customers:pii``)."""
    scopes = frozenset(scopes)
    if SCOPE_EXPORT not in scopes:
        raise AuthError(403, "insufficient_scope", f"this route needs the {SCOPE_EXPORT!r} scope", scope=SCOPE_EXPORT)
    if fmt not in FORMATS:
        raise InvalidRequest(f"format must be one of {FORMATS}, got {fmt!r}")
    doc = snapshot.doc("exports")["customer_scores"]
    with_pii = SCOPE_PII in scopes
    rel = (doc["pii_files"] if with_pii else doc["files"])[fmt]
    if snapshots.startswith("s3://"):
        bucket, _, prefix = snapshots[len("s3://"):].partition("/")
        key = f"{prefix.strip('/')}/{rel}" if prefix.strip("/") else rel
        url = _s3(region).generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                                 ExpiresIn=URL_TTL_S)
        kind, ttl = "presigned_s3", URL_TTL_S
    else:
        path = Path(snapshots).resolve() / rel
        if not path.is_file():
            raise MissingFromSnapshot(f"the export file of snapshot {snapshot.version} is missing from the snapshot "
                                      "folder; run the refresh again", reason="missing_document", document=rel,
                                      retry_after_s=3600)
        url, kind, ttl = path.as_uri(), "file", None
    columns = list(doc["columns"])
    if with_pii:
        columns.insert(1, "email")
    return {
        "format": fmt,
        "url": url,
        "url_kind": kind,
        "expires_in_seconds": ttl,
        "rows": doc["rows"],
        "columns": columns,
        "includes_emails": with_pii,
        "version": snapshot.version,
        "as_of": snapshot.as_of,
    }


@functools.lru_cache(maxsize=4)
def _s3(region: str | None) -> Any:
    import boto3  # S3 stores only: a local run never imports botocore
    from botocore.config import Config

    return boto3.client("s3", region_name=region, config=Config(signature_version="s3v4"))  # SigV4 links
