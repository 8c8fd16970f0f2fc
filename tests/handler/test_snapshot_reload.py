"""The snapshot cache: loaded once per warm container, `latest` re-checked at most every N seconds."""

from __future__ import annotations

import shutil

import pytest
from api_events import body_of, v2
from snapshot_factory import VERSION, write_snapshot

from insights.api.cache import SnapshotCache
from insights.errors import SnapshotUnavailable
from insights.snapshot.local import LocalSnapshotStore

NEW = "20261102T040000Z-2026-11-02-def5678"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class CountingStore(LocalSnapshotStore):
    def __init__(self, root) -> None:
        super().__init__(root)
        self.checks = self.opens = 0
        self.fail_check = False

    def latest_version(self):
        self.checks += 1
        if self.fail_check:
            raise ConnectionError("S3 is down")
        return super().latest_version()

    def open(self, version):
        self.opens += 1
        return super().open(version)


@pytest.fixture
def store(snapshot_root):
    return CountingStore(snapshot_root)


def test_the_snapshot_is_loaded_once_and_rechecked_only_after_the_interval(store, snapshot_root):
    clock = Clock()
    cache = SnapshotCache(store, recheck_s=60, clock=clock)
    assert cache.get().version == VERSION
    for _ in range(50):
        cache.get()
    assert (store.checks, store.opens) == (1, 1)
    write_snapshot(snapshot_root, version=NEW, as_of="2026-11-02")
    clock.t += 59.9
    assert cache.get().version == VERSION  # not due yet
    clock.t += 0.2
    assert cache.get().version == NEW and cache.get().as_of == "2026-11-02"
    assert (store.checks, store.opens) == (2, 2)
    clock.t += 61
    cache.get()
    assert (store.checks, store.opens) == (3, 2)  # same version: no reload


def test_an_unreachable_store_keeps_the_loaded_snapshot(store):
    clock = Clock()
    cache = SnapshotCache(store, recheck_s=60, clock=clock)
    cache.get()
    store.fail_check = True
    clock.t += 120
    assert cache.get().version == VERSION
    assert cache.status()["last_error"] == "store_unreachable"


def test_a_corrupt_new_version_never_replaces_the_good_one(store, snapshot_root):
    clock = Clock()
    cache = SnapshotCache(store, recheck_s=60, clock=clock)
    cache.get()
    folder = write_snapshot(snapshot_root, version=NEW)
    shutil.rmtree(folder / "tables" / "customers")
    (folder / "manifest.json").write_text("{not json")
    clock.t += 61
    assert cache.get().version == VERSION
    assert cache.status()["last_error"] == "snapshot_unreadable"


def test_no_snapshot_raises_snapshot_unavailable_then_loads_once_published(tmp_path):
    clock = Clock()
    cache = SnapshotCache(LocalSnapshotStore(tmp_path), recheck_s=30, clock=clock)
    with pytest.raises(SnapshotUnavailable) as info:
        cache.get()
    assert info.value.details["retry_after_s"] == 30
    write_snapshot(tmp_path)
    clock.t += 31
    assert cache.get().version == VERSION


def test_the_api_serves_a_new_version_after_the_recheck_interval(api, invoke, token, snapshot_root, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(api.runtime.cache, "_clock", clock)
    first = body_of(invoke(v2("GET", "/demand-insights/health")))["snapshot"]["version"]
    assert first == VERSION

    def bump(parts):
        parts["docs"]["segments"]["auto_k"] = 3

    write_snapshot(snapshot_root, version=NEW, as_of="2026-11-02", mutate=bump)
    assert body_of(invoke(v2("GET", "/demand-insights/segments", token=token())))["n_clusters"] == 4
    clock.t += api.runtime.settings.snapshot_recheck_s + 1
    body = body_of(invoke(v2("GET", "/demand-insights/segments", token=token())))
    assert body["n_clusters"] == 3 and body["as_of"] == "2026-11-02"
    assert body_of(invoke(v2("GET", "/demand-insights/health")))["snapshot"]["version"] == NEW


def test_the_recheck_interval_comes_from_settings(api, snapshot_root):
    from insights.config import Settings

    api.configure(Settings(snapshots=str(snapshot_root), jwt_secret="x" * 40, snapshot_recheck_s=5))
    assert api.runtime.cache.recheck_s == 5
