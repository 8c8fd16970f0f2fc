"""The API's snapshot cache: load the live snapshot once per warm container, re-check `latest` at most every N s.

The store is anything with ``latest_version() -> str | None`` and ``open(version) -> Snapshot``
(the stores of insights/snapshot in production, a fake in tests). No ML import here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from insights.errors import SnapshotDamaged, SnapshotUnavailable
from insights.snapshot.reader import Snapshot

__all__ = ["SnapshotCache", "SnapshotSource"]

log = logging.getLogger(__name__)

REFRESH_HINT = ("no insight snapshot has been published yet: run the refresh "
                "(locally `python -m insights refresh`; in AWS invoke the refresh function or wait for its schedule)")


class SnapshotSource(Protocol):
    def latest_version(self) -> str | None: ...

    def open(self, version: str) -> Snapshot: ...


class SnapshotCache:
    """Holds the live snapshot in memory; thread-safe; never raises on a failed re-check while one is loaded."""

    def __init__(self, store: SnapshotSource | None = None, *, factory: Callable[[], SnapshotSource] | None = None,
                 recheck_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        if store is None and factory is None:
            raise ValueError("SnapshotCache needs a store or a factory")
        self._factory = factory
        self._store: SnapshotSource | None = store
        self.recheck_s = float(recheck_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._previous: Snapshot | None = None  # the version served before the last switch: the fallback
        self._checked_at: float | None = None
        self.last_error: str | None = None
        self.loads = 0
        self._refused: set[str] = set()

    @property
    def store(self) -> SnapshotSource:
        if self._store is None:
            self._store = self._factory()  # type: ignore[misc]
        return self._store

    def get(self) -> Snapshot:
        """The live snapshot; loads or re-checks when due; raises SnapshotUnavailable when there is none."""
        now = self._clock()
        snap = self._snapshot
        if snap is not None and snap.damaged is None and self._checked_at is not None \
                and now - self._checked_at < self.recheck_s:
            return snap
        with self._lock:
            if self._snapshot is not None and self._snapshot.damaged is not None:
                self._drop_damaged()
            if self._checked_at is None or now - self._checked_at >= self.recheck_s or self._snapshot is None:
                self._check(now)
            if self._snapshot is None:
                raise SnapshotUnavailable(REFRESH_HINT, retry_after_s=int(max(self.recheck_s, 1)),
                                          reason=self.last_error or "no_snapshot")
            return self._snapshot

    def _check(self, now: float) -> None:
        self._checked_at = now
        try:
            version = self.store.latest_version()
        except Exception as exc:  # the store is unreachable: keep serving what we have
            self.last_error = "store_unreachable"
            log.error("snapshot store check failed, serving the loaded snapshot",
                      extra={"error": type(exc).__name__, "loaded_version": self._version()})
            return
        if version is None:
            if self._snapshot is None:
                self.last_error = "no_snapshot"
                log.warning("no snapshot published yet", extra={"hint": REFRESH_HINT})
            return
        if self._snapshot is not None and version == self._snapshot.version:
            self.last_error = None
            return
        if version in self._refused:  # failed its integrity check in this container: never reopened
            if self._snapshot is None:
                self.last_error = "snapshot_unreadable"
            return
        started = self._clock()
        try:
            snapshot = self.store.open(version)
            if self._snapshot is None:  # cold: sizes now, each file's sha256 on its first read
                snapshot.check_files(digests=False)
            else:  # warm: what the served version has read must pass in the new one before it replaces it
                everything = snapshot.files is None or snapshot.files.local
                snapshot.check_files(digests=True, only=None if everything else self._snapshot.working_set)
        except Exception as exc:  # a corrupt or half-deleted version never replaces a good one
            if isinstance(exc, SnapshotDamaged):
                self._refused.add(version)  # a file failed its digest: never fetched again in this container
            self.last_error = "snapshot_unreadable"
            log.error("could not open snapshot version, keeping the loaded one",
                      extra={"version": version, "error": type(exc).__name__, "loaded_version": self._version()})
            return
        previous = self._snapshot
        self._previous = previous if previous is not None and previous.damaged is None else None
        self._snapshot = snapshot
        self.last_error = None
        self.loads += 1
        log.info("snapshot loaded", extra={
            "version": snapshot.version, "previous_version": None if previous is None else previous.version,
            "checked_files": len(snapshot.working_set), "switch_s": round(self._clock() - started, 3)})

    def _drop_damaged(self) -> None:
        """A file of the loaded version failed its check on first read: stop serving that version, and go back
        to the one it replaced if there is one (it served before the switch; its files are checked as ever)."""
        snap = self._snapshot
        assert snap is not None
        self._refused.add(snap.version)
        fallback, self._previous = self._previous, None
        self._snapshot = fallback if fallback is not None and fallback.damaged is None else None
        self._checked_at = None  # look at `latest` again now: a newer version may be there
        self.last_error = "snapshot_unreadable"
        log.error("the loaded snapshot failed an integrity check, no longer serving it",
                  extra={"version": snap.version, "damaged": snap.damaged, "fallback_version": self._version()})

    def _version(self) -> str | None:
        return None if self._snapshot is None else self._snapshot.version

    def status(self) -> dict[str, Any]:
        """Health view: version, as_of, created_at, age in seconds, last error."""
        snap = self._snapshot
        out: dict[str, Any] = {"loaded": snap is not None, "last_error": self.last_error,
                               "recheck_seconds": self.recheck_s}
        if snap is not None:
            out.update(version=snap.version, as_of=snap.as_of, created_at=snap.created_at,
                       age_seconds=_age_seconds(snap.created_at))
        return out


def _age_seconds(created_at: str) -> float | None:
    if not created_at:
        return None
    try:
        ts = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return round((datetime.now(UTC) - ts).total_seconds(), 1)
