"""Writing a snapshot version: tables, documents, the file list with digests, and the manifest that seals it.

The refresh builds a version folder with these functions, then a SnapshotStore publishes it. numpy only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from insights.snapshot.codec import SCHEMA_FILE, encode_table
from insights.snapshot.integrity import sha256_file
from insights.snapshot.reader import MANIFEST
from insights.snapshot.schema import check_table

__all__ = ["write_table", "write_doc", "file_digests", "content_hash", "finalize_build", "new_version_id",
           "version_created_at"]


def write_table(folder: str | Path, name: str, columns: Mapping[str, np.ndarray]) -> list[Path]:
    """Write ``columns`` as ``folder/tables/<name>/<column>.npy`` plus ``schema.json`` (their encodings).

    All columns must have the same length. Text is stored dictionary-encoded or as UTF-8 bytes and the
    schema's float32 columns narrow (codec); ColumnTable decodes them on access.
    """
    check_table(name, columns)
    lengths = {c: np.asarray(a).shape[0] if np.asarray(a).ndim else -1 for c, a in columns.items()}
    if len(set(lengths.values())) > 1 or -1 in lengths.values():
        raise ValueError(f"table {name!r}: columns of different lengths or scalars: {lengths}")
    stored, schema = encode_table(name, columns)
    out = Path(folder) / "tables" / name
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for col, arr in stored.items():
        path = out / f"{col}.npy"
        np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
        paths.append(path)
    path = out / SCHEMA_FILE
    path.write_text(json.dumps({"columns": schema}, sort_keys=True, separators=(",", ":")))
    paths.append(path)
    return paths


def write_doc(folder: str | Path, name: str, document: Any) -> Path:
    """Write ``document`` as ``folder/docs/<name>.json`` (sorted keys, so equal documents give equal bytes)."""
    out = Path(folder) / "docs"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_json_default))
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def file_digests(folder: str | Path, *, exclude_top: Iterable[str] = (MANIFEST, "scores")) -> list[dict[str, Any]]:
    """``[{"path", "bytes", "sha256"}]`` for every file under ``folder`` (sorted, POSIX relative paths)."""
    folder = Path(folder)
    skip = set(exclude_top)
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.split("/")[0] in skip:
            continue
        out.append({"path": rel, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    return out


def content_hash(files: Iterable[Mapping[str, Any]], *, prefixes: tuple[str, ...] = ("tables/", "docs/")) -> str:
    """One sha256 over the listed files' paths and digests (by default the tables and documents the API reads)."""
    digest = hashlib.sha256()
    for entry in sorted(files, key=lambda e: e["path"]):
        if entry["path"].startswith(prefixes):
            digest.update(f"{entry['path']}\0{entry['sha256']}\n".encode())
    return digest.hexdigest()


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
