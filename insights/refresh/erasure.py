"""Erasure on request: remove customers from the lake, the analyst score tables and every kept snapshot version.

``python -m insights forget ID ...`` calls :func:`erase_customers` directly; in AWS an operator (or the store's
own backend) writes ``erasure/requests/<name>.json`` (``{"customer_ids": [...]}``, or one id a line) under the
snapshots prefix and the next refresh runs :func:`process_requests` before it extracts anything, so the
refresh that follows trains and scores without them. Each run writes one audit record,
``erasure/audit/<time>-<id>.json``: when, how many customers (salted hashes of their ids, never the ids), which
lake and score files lost how many rows, which versions were rewritten or purged. SECURITY.md, "Erasure".
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from athena.contract import lake_tables, score_tables
from insights.errors import InvalidRequest
from insights.pseudonym import Pseudonymizer
from insights.refresh.objects import Objects
from insights.refresh.parquet_rows import FileEdit, drop_csv_rows, drop_rows, write_lake_file, write_scores_file
from insights.snapshot.erasure import CannotRewrite, rewrite_version
from insights.snapshot.store import SCORES, SnapshotStore

__all__ = ["erase_customers", "process_requests", "read_request", "REQUESTS", "AUDIT", "ID_COLUMN"]

log = logging.getLogger("insights.refresh.erasure")

REQUESTS = "erasure/requests/"
AUDIT = "erasure/audit/"
ID_COLUMN = "customer_id"  # the contract's customer column in every lake and score table that has one
MAX_IDS = 10_000
WORKERS = 8  # files scanned at once


def _clean_ids(ids: Iterable[Any]) -> list[str]:
    out = sorted({str(i).strip() for i in ids if str(i).strip()})
    if not out:
        raise InvalidRequest("no customer id to forget")
    if len(out) > MAX_IDS:
        raise InvalidRequest(f"{len(out)} customer ids in one erasure; at most {MAX_IDS}")
    return out


def erase_customers(ids: Iterable[Any], *, lake: Objects, snapshots: Objects, store: SnapshotStore,
                    pseudonyms: Pseudonymizer | None = None, trigger: str = "cli",
                    now: datetime | None = None) -> dict[str, Any]:
    """Remove every row of ``ids`` (and of their pseudonyms) everywhere; returns the audit record it wrote."""
    raw = _clean_ids(ids)
    targets = set(raw) | ({pseudonyms.pseudonym(i) for i in raw} if pseudonyms is not None else set())
    now = (now or datetime.now(UTC)).astimezone(UTC)
    salt = secrets.token_hex(16)
    audit: dict[str, Any] = {
        "at": now.isoformat(timespec="seconds"), "trigger": trigger, "customers": len(raw),
        "id_hash": {"algorithm": "sha256(salt + id)", "salt": salt,
                    "hashes": sorted(hashlib.sha256((salt + i).encode()).hexdigest() for i in raw)},
        "lake": {}, "scores": {}, "versions": [],
    }
    record = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    emails: set[str] = set()
    # every Parquet file of the lake with a customer_id column: the tables, and what an import set aside or a
    # sample generator's ground truth keeps beside them
    folders = sorted({k.split("/", 1)[0] for k in lake.keys("") if "/" in k} | set(lake_tables()))
    for folder in folders:
        edit = _rewrite_files(lake, f"{folder}/", targets, emails, write_lake_file)
        if edit["rows"] or folder in lake_tables():
            audit["lake"][folder] = edit
    # every Parquet or CSV file under scores/ with a customer_id column: the analyst tables (written back as the
    # refresh writes them) and any copy beside them (bulk exports)
    contract = {t for t, spec in score_tables().items() if ID_COLUMN in spec.column_names}
    folders = sorted({k.split("/")[1] for k in snapshots.keys(f"{SCORES}/") if k.count("/") >= 2} | contract)
    for folder in folders:
        writer = write_scores_file(folder) if folder in score_tables() else write_lake_file
        edit = _rewrite_files(snapshots, f"{SCORES}/{folder}/", targets, emails, writer)
        if edit["rows"] or folder in contract:
            audit["scores"][folder] = edit
    for version in store.versions():
        audit["versions"].append(_erase_version(store, version, targets, emails, record))
    snapshots.put_bytes(f"{AUDIT}{record}.json", json.dumps(audit, indent=1, sort_keys=True).encode())
    log.info("customers erased", extra={"audit": f"{AUDIT}{record}.json", "customers": len(raw),
                                        "lake_rows": sum(t["rows"] for t in audit["lake"].values()),
                                        "versions": [v["action"] for v in audit["versions"]]})
    audit["record"] = f"{AUDIT}{record}.json"
    return audit


def _rewrite_files(objects: Objects, prefix: str, targets: set[str], emails: set[str], write: Any) -> dict[str, Any]:
    """Every Parquet or CSV file under ``prefix``, a few at a time (on S3 each is a GET: the scan is I/O-bound)."""
    keys = [k for k in objects.keys(prefix) if k.endswith((".parquet", ".csv"))]
    files, rows = [], 0

    def edit(key: str) -> FileEdit:
        if key.endswith(".csv"):
            return drop_csv_rows(objects, key, ID_COLUMN, targets)
        return drop_rows(objects, key, ID_COLUMN, targets, write)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        edits = pool.map(edit, keys)
        for key, (removed, _, found) in zip(keys, edits, strict=True):
            if removed:
                files.append(key)
                rows += removed
                emails.update(found)
    return {"rows": rows, "files": files}


def _erase_version(store: SnapshotStore, version: str, targets: set[str], emails: set[str],
                   record: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"version": version}
    build = store.new_build_dir()
    try:
        snapshot = store.open(version)
        result = rewrite_version(snapshot, targets, emails, build, models=store.fetch_models(version),
                                 erasure_note={"audit": f"{AUDIT}{record}.json"})
        entry["rows"] = result.rows
        if not result.touched:
            entry["action"] = "untouched"
            return entry
        assert result.new_version is not None
        store.replace_version(version, build, result.new_version)
        entry.update(action="rewritten", new_version=result.new_version, docs=result.docs)
    except CannotRewrite as exc:
        store.purge_version(version)
        entry.update(action="purged", why=str(exc))
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return entry


def read_request(body: bytes) -> list[str]:
    """The ids of one request file: ``{"customer_ids": [...]}`` or one id a line."""
    text = body.decode("utf-8").strip()
    if text.startswith("{"):
        data = json.loads(text)
        ids = data.get("customer_ids") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str | int) for i in ids):
            raise InvalidRequest('an erasure request must be {"customer_ids": ["...", ...]}')
        return [str(i) for i in ids]
    return [line.strip() for line in text.splitlines() if line.strip()]


def process_requests(*, lake: Objects, snapshots: Objects, store: SnapshotStore,
                     pseudonyms: Pseudonymizer | None = None, now: datetime | None = None) -> dict[str, Any] | None:
    """Erase the customers of every pending request under ``erasure/requests/``, then delete the requests.

    Returns the audit record, or None when nothing was pending. An unreadable request is deleted too (and
    counted in the audit as rejected) so that it cannot block every later refresh.
    """
    keys = [k for k in snapshots.keys(REQUESTS) if not k.endswith("/")]
    if not keys:
        return None
    ids: list[str] = []
    rejected = []
    for key in keys:
        try:
            ids += read_request(snapshots.read(key))
        except (InvalidRequest, ValueError) as exc:
            rejected.append(key.rsplit("/", 1)[-1])
            log.error("unreadable erasure request, deleted", extra={"request": key, "error": str(exc)[:200]})
    audit = None
    if any(i.strip() for i in ids):
        audit = erase_customers(ids, lake=lake, snapshots=snapshots, store=store, pseudonyms=pseudonyms,
                                trigger="request", now=now)
    for key in keys:  # the requests name customers: they go once served
        snapshots.delete(key)
    return {**(audit or {}), "requests": len(keys), "rejected": rejected}
