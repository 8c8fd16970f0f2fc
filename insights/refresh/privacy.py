"""Privacy at refresh time, wired from settings: pending erasure requests first, then retention.

:func:`before_refresh` runs at the start of every refresh (the Lambda's scheduled run and the CLI's): it erases
the customers of any request under ``erasure/requests/`` (insights/refresh/erasure.py) and drops the lake's
order partitions older than INSIGHTS_LAKE_RETENTION_DAYS; snapshot versions older than
INSIGHTS_SNAPSHOT_RETENTION_DAYS are purged after the publish (:func:`purge_old_versions`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from insights.config import Settings
from insights.pseudonym import pseudonymizer_from_settings
from insights.refresh.erasure import erase_customers, process_requests
from insights.refresh.objects import Objects, objects_for
from insights.refresh.parquet_rows import partition_date
from insights.snapshot.store import SCORES, SnapshotStore, as_of_in_version_id

__all__ = ["forget", "before_refresh", "after_refresh", "drop_old_partitions", "purge_old_versions"]

log = logging.getLogger("insights.refresh.privacy")


def _parts(settings: Settings, store: SnapshotStore | None) -> tuple[Objects, Objects, SnapshotStore]:
    from insights.snapshot.stores import store_from_settings

    store = store if store is not None else store_from_settings(settings)
    client = None
    if any(str(t).startswith("s3://") for t in (settings.lake, settings.snapshots)):
        from insights.snapshot.s3 import S3SnapshotStore  # botocore: only when something is on S3

        if isinstance(store, S3SnapshotStore):
            client = store.client  # one client for the store and the files (moto's in the tests)
    return (objects_for(settings.lake, client=client, region=settings.region),
            objects_for(settings.snapshots, client=client, region=settings.region), store)


def forget(settings: Settings, ids: Iterable[str], *, store: SnapshotStore | None = None,
           trigger: str = "cli") -> dict[str, Any]:
    """Erase ``ids`` from the lake, the score tables and every kept version now; returns the audit record."""
    lake, snaps, store = _parts(settings, store)
    return erase_customers(ids, lake=lake, snapshots=snaps, store=store,
                           pseudonyms=pseudonymizer_from_settings(settings), trigger=trigger)


# the optional tables, partitioned like orders by a date (athena/contract.json): their rows age out with the orders
_EVENT_PARTITIONS = (("reviews", "review_date"), ("engagement", "event_date"))


def drop_old_partitions(lake: Objects, cutoff: date) -> dict[str, Any]:
    """Delete the order partitions whose date is before ``cutoff``; {"cutoff", "files", "partitions"}.

    The optional reviews and engagement tables lose their partitions before ``cutoff`` too, counted apart under
    "tables" (only when one had any)."""
    limit = np.datetime64(cutoff.isoformat(), "D")
    doomed = [k for k in lake.keys("orders/") if (d := partition_date(k)) is not None and d < limit]
    for key in doomed:
        lake.delete(key)
    out: dict[str, Any] = {"cutoff": cutoff.isoformat(), "files": len(doomed),
                           "partitions": len({k.rsplit("/", 1)[0] for k in doomed})}
    for table, column in _EVENT_PARTITIONS:
        old = [k for k in lake.keys(f"{table}/") if (d := partition_date(k, column)) is not None and d < limit]
        for key in old:
            lake.delete(key)
        if old:
            out.setdefault("tables", {})[table] = {"files": len(old),
                                                   "partitions": len({k.rsplit("/", 1)[0] for k in old})}
    return out


def purge_old_versions(store: SnapshotStore, max_age_days: int, *, today: date | None = None,
                       snapshots: Objects | None = None) -> list[str]:
    """Purge complete versions whose as_of is more than ``max_age_days`` before today (never the live one), and
    the analyst score partitions (``scores/<table>/as_of=<date>/``) as old, when ``snapshots`` is given."""
    if max_age_days <= 0:
        return []
    today = today or datetime.now(UTC).date()
    oldest = (today - timedelta(days=max_age_days)).isoformat()
    live = store.latest_version()
    doomed = [v for v in store.versions() if v != live and (store.as_of(v) or as_of_in_version_id(v)) < oldest]
    for version in doomed:
        store.purge_version(version)
    if snapshots is not None:
        live_as_of = store.as_of(live) if live else ""
        for key in snapshots.keys(f"{SCORES}/"):
            as_of = partition_date(key, "as_of")
            if as_of is not None and str(as_of) < oldest and str(as_of) != live_as_of:
                snapshots.delete(key)
    if doomed:
        log.info("snapshot versions past retention purged", extra={"deleted": doomed, "max_age_days": max_age_days})
    return doomed


def after_refresh(settings: Settings, store: SnapshotStore, *, today: date | None = None) -> list[str]:
    """Snapshot retention by age (INSIGHTS_SNAPSHOT_RETENTION_DAYS): the purged versions."""
    if settings.snapshot_retention_days <= 0:
        return []
    _, snaps, store = _parts(settings, store)
    return purge_old_versions(store, settings.snapshot_retention_days, today=today, snapshots=snaps)


def before_refresh(settings: Settings, store: SnapshotStore, *, today: date | None = None) -> dict[str, Any]:
    """Erasure requests, then lake retention; a summary (empty when there was nothing to do)."""
    out: dict[str, Any] = {}
    lake, snaps, store = _parts(settings, store)
    erased = process_requests(lake=lake, snapshots=snaps, store=store,
                              pseudonyms=pseudonymizer_from_settings(settings))
    if erased is not None:
        out["erasure"] = {k: erased[k] for k in ("record", "customers", "requests", "rejected") if k in erased}
    if settings.lake_retention_days > 0:
        today = today or datetime.now(UTC).date()
        out["retention"] = drop_old_partitions(lake, today - timedelta(days=settings.lake_retention_days))
        log.info("lake retention applied", extra=out["retention"])
    return out
