"""The S3 calls the snapshot store makes, as a typed protocol (boto3's client in AWS, moto's in the tests), and
how their failures read: botocore's ClientError with S3's error code."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from botocore.exceptions import ClientError  # boto3 is there whenever an S3 store is (stores.py imports this lazily)

__all__ = ["S3Client", "ClientError", "is_missing", "is_precondition_failure"]


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


def is_precondition_failure(exc: ClientError) -> bool:
    code, status = _error_code(exc)
    return code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409") or status in (409, 412)


def is_missing(exc: ClientError) -> bool:
    return _error_code(exc)[0] in ("NoSuchKey", "404", "NotFound")
