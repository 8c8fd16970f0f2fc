"""The snapshot store: atomic publish, the latest pointer, retention, rollback, both adapters."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from insights.cli.refresh import rollback_command
from insights.config import Settings
from insights.errors import NotFound, SnapshotDamaged, SnapshotUnavailable
from insights.snapshot import local as store_mod
from insights.snapshot.local import LocalSnapshotStore
from insights.snapshot.s3 import S3SnapshotStore
from insights.snapshot.stores import store_from_settings
from insights.snapshot.writer import finalize_build, version_created_at, write_doc, write_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))
from snapshot_factory import complete  # noqa: E402

T0 = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)


def make_build(folder: Path, *, as_of: str = "2026-11-01", seed: int = 0, n: int = 50,
               now: datetime = T0) -> tuple[Path, str]:
    """A small finished build: one table, one doc, one model file and one score file."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    write_table(folder, "customers", complete("customers", {
        "customer_id": np.array([f"c{i:05d}" for i in range(n)]),
        "churn_probability": rng.random(n),
    }))
    write_doc(folder, "segments", {"auto_k": 3, "seed": seed})
    (folder / "models").mkdir(exist_ok=True)
    (folder / "models" / "model.json").write_text(json.dumps({"seed": seed}))
    score = folder / "scores" / "customer_scores" / f"as_of={as_of}" / "part-0.parquet"
    score.parent.mkdir(parents=True)
    score.write_bytes(f"parquet {seed}".encode())
    version = finalize_build(folder, {"table_keys": {"customers": "customer_id"}, "rows": {"customers": n}},
                             as_of=as_of, now=now)
    return folder, version


def publish_n(store, tmp_path: Path, count: int, start: int = 0) -> list[str]:
    out = []
    for i in range(start, start + count):
        build, version = make_build(tmp_path / f"b{i}", seed=i, now=T0 + timedelta(minutes=i))
        store.publish(build, version)
        out.append(version)
    return out


# ------------------------------------------------------------------------------------------- local

def test_published_version_is_readable_through_latest(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    assert store.latest_version() is None
    build, version = make_build(tmp_path / "b")
    assert store.publish(build, version) == version
    assert store.latest_version() == version
    snap = store.open()
    assert snap.version == version and snap.as_of == "2026-11-01"
    table = snap.table("customers")
    assert table.n_rows == 50
    assert list(table.positions(["c00003", "zzz"])) == [3, -1]
    assert snap.doc("segments")["auto_k"] == 3
    assert store.fetch_models(version).joinpath("model.json").is_file()
    assert (tmp_path / "snaps" / "scores" / "customer_scores" / "as_of=2026-11-01" / "part-0.parquet").read_bytes() \
        == b"parquet 0"
    assert not (tmp_path / "snaps" / "versions" / version / "scores").exists()


def test_version_id_sorts_by_creation_time_and_names_as_of(tmp_path):
    _, v = make_build(tmp_path / "b", now=T0)
    assert v.startswith("20261101T050000Z-2026-11-01-")
    assert version_created_at(v) == T0


def test_open_without_any_snapshot_is_unavailable_and_unknown_version_is_not_found(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    with pytest.raises(SnapshotUnavailable):
        store.open()
    with pytest.raises(NotFound):
        store.open("20260101T000000Z-2026-01-01-deadbeef")


def test_publish_refuses_a_build_without_a_matching_manifest(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    build, version = make_build(tmp_path / "b")
    with pytest.raises(ValueError, match="not"):
        store.publish(build, version[:-1] + "x")
    (build / "tables" / "customers" / "churn_probability.npy").write_bytes(b"short")
    with pytest.raises(ValueError, match="differs"):
        store.publish(build, version)
    assert store.latest_version() is None and store.versions() == []


def test_failure_in_the_middle_of_publishing_leaves_latest_unchanged(tmp_path, monkeypatch):
    store = LocalSnapshotStore(tmp_path / "snaps")
    first = publish_n(store, tmp_path, 1)[0]
    build, version = make_build(tmp_path / "b-fail", seed=9, now=T0 + timedelta(days=1))
    calls = {"n": 0}
    real = store_mod._move_or_copy

    def flaky(src, dest):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(src, dest)

    monkeypatch.setattr(store_mod, "_move_or_copy", flaky)
    with pytest.raises(OSError, match="disk full"):
        store.publish(build, version)
    assert store.latest_version() == first
    assert store.versions() == [first]
    assert store.open().table("customers").n_rows == 50
    assert not [p for p in (tmp_path / "snaps" / "versions").iterdir() if p.name.startswith(".tmp-")]


def test_failure_while_writing_scores_never_moves_latest(tmp_path, monkeypatch):
    store = LocalSnapshotStore(tmp_path / "snaps")
    first = publish_n(store, tmp_path, 1)[0]
    build, version = make_build(tmp_path / "b-fail", seed=9, now=T0 + timedelta(days=1))
    monkeypatch.setattr(store_mod, "_copy_file", lambda src, dest: (_ for _ in ()).throw(OSError("io error")))
    with pytest.raises(OSError):
        store.publish(build, version)
    assert store.latest_version() == first
    assert store.open().version == first


def test_retention_keeps_the_newest_n_and_the_live_version(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps", keep_versions=3)
    versions = publish_n(store, tmp_path, 5)
    assert store.versions() == versions[-3:]
    store.rollback(versions[2])
    more = publish_n(store, tmp_path, 3, start=5)
    # rollback target versions[2] was live until the next publish; then only the newest three remain
    assert store.versions() == more
    assert store.latest_version() == more[-1]


def test_live_version_survives_retention_after_a_rollback(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps", keep_versions=2)
    versions = publish_n(store, tmp_path, 3)
    store.rollback(versions[1])
    assert store.prune() == []
    store.prune(keep=1)
    assert store.versions() == [versions[1], versions[2]]
    assert store.open().version == versions[1]


def test_rollback_moves_latest_to_the_previous_or_named_version(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    v = publish_n(store, tmp_path, 3)
    assert store.rollback() == v[1]
    assert store.latest_version() == v[1]
    assert store.rollback() == v[0]
    with pytest.raises(NotFound):
        store.rollback()
    assert store.rollback(v[2]) == v[2]
    with pytest.raises(NotFound):
        store.rollback("20990101T000000Z-2099-01-01-00000000")


def test_a_publish_after_a_rollback_moves_latest_forward_again(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    v = publish_n(store, tmp_path, 2)
    store.rollback()
    new = publish_n(store, tmp_path, 1, start=2)[0]
    assert store.latest_version() == new > v[1]


def test_an_older_version_never_replaces_a_newer_latest(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    newer_build, newer = make_build(tmp_path / "new", seed=1, now=T0 + timedelta(hours=1))
    older_build, older = make_build(tmp_path / "old", seed=2, now=T0)
    store.publish(newer_build, newer)
    assert store.publish(older_build, older) == newer
    assert store.latest_version() == newer
    assert older in store.versions()


def test_publishing_the_same_version_twice_is_idempotent(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    b1, v1 = make_build(tmp_path / "b1", seed=3)
    b2, v2 = make_build(tmp_path / "b2", seed=3)
    assert v1 == v2
    store.publish(b1, v1)
    assert store.publish(b2, v2) == v1
    assert store.versions() == [v1]


def test_concurrent_publishers_leave_a_complete_newest_latest(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps", keep_versions=20)
    builds = [make_build(tmp_path / f"c{i}", seed=i, now=T0 + timedelta(seconds=i)) for i in range(8)]
    errors: list[BaseException] = []

    def run(build, version):
        try:
            LocalSnapshotStore(tmp_path / "snaps", keep_versions=20).publish(build, version)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=b) for b in builds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.latest_version() == max(v for _, v in builds)
    assert store.versions() == sorted(v for _, v in builds)
    assert store.open().table("customers").n_rows == 50


def test_rollback_command_prints_the_move_and_fails_cleanly_without_history(tmp_path, capsys):
    root = tmp_path / "snaps"
    v = publish_n(LocalSnapshotStore(root), tmp_path, 2)
    settings = Settings(snapshots=str(root))
    assert rollback_command(argparse.Namespace(version=None, snapshots=None), settings) == 0
    assert f"latest: {v[1]} -> {v[0]}" in capsys.readouterr().out
    assert rollback_command(argparse.Namespace(version=None, snapshots=str(root)), Settings()) == 2
    assert "no earlier snapshot" in capsys.readouterr().err


def test_store_from_settings_picks_the_adapter(tmp_path):
    assert isinstance(store_from_settings(Settings(snapshots=str(tmp_path))), LocalSnapshotStore)
    s3 = store_from_settings(Settings(snapshots="s3://bkt/some/prefix"), client=object())
    assert isinstance(s3, S3SnapshotStore) and s3.bucket == "bkt" and s3.prefix == "some/prefix"


# ---------------------------------------------------------------------------------------------- S3

@pytest.fixture()
def s3(monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="snaps")
        yield client


def test_s3_publish_open_rollback_and_retention(s3, tmp_path):
    store = S3SnapshotStore(s3, "snaps", "prod/insights", cache_dir=tmp_path / "cache", keep_versions=2)
    assert store.latest_version() is None
    with pytest.raises(SnapshotUnavailable):
        store.open()
    v = publish_n(store, tmp_path, 3)
    assert store.latest_version() == v[2]
    assert store.versions() == v[1:]
    snap = store.open()
    assert snap.version == v[2] and snap.table("customers").n_rows == 50
    assert snap.doc("segments")["seed"] == 2
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="snaps", Prefix="prod/insights/")["Contents"]}
    assert "prod/insights/scores/customer_scores/as_of=2026-11-01/part-0.parquet" in keys
    assert not any(k.startswith(f"prod/insights/versions/{v[0]}/") for k in keys)
    assert json.loads((store.fetch_models(v[2]) / "model.json").read_text()) == {"seed": 2}
    assert store.rollback() == v[1]
    assert store.open().doc("segments")["seed"] == 1


def test_s3_open_fetches_each_column_on_first_use_into_the_digest_cache(s3, tmp_path):
    store = S3SnapshotStore(s3, "snaps", "", cache_dir=tmp_path / "cache")
    version = publish_n(store, tmp_path, 1)[0]
    snap = store.open()
    entry = next(e for e in store.manifest(version)["files"]
                 if e["path"] == "tables/customers/churn_probability.npy")
    blob = tmp_path / "cache" / "blobs" / entry["sha256"]
    assert not blob.exists()
    assert snap.table("customers")["churn_probability"].shape == (50,)
    assert blob.exists()


def test_s3_failure_in_the_middle_of_publishing_leaves_latest_unchanged(s3, tmp_path):
    store = S3SnapshotStore(s3, "snaps", "p", cache_dir=tmp_path / "cache", max_workers=1)
    first = publish_n(store, tmp_path, 1)[0]
    build, version = make_build(tmp_path / "b-fail", seed=7, now=T0 + timedelta(days=1))

    class Flaky:
        def __init__(self, inner):
            self.inner, self.uploads = inner, 0

        def upload_file(self, *a, **kw):
            self.uploads += 1
            if self.uploads == 2:
                raise ConnectionError("network dropped")
            return self.inner.upload_file(*a, **kw)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    flaky_store = S3SnapshotStore(Flaky(s3), "snaps", "p", cache_dir=tmp_path / "cache2", max_workers=1)
    with pytest.raises(ConnectionError):
        flaky_store.publish(build, version)
    assert store.latest_version() == first
    assert store.versions() == [first]
    assert store.open().version == first


def test_s3_corrupted_file_is_refused_when_first_read(s3, tmp_path):
    store = S3SnapshotStore(s3, "snaps", "p", cache_dir=tmp_path / "cache")
    version = publish_n(store, tmp_path, 1)[0]
    s3.put_object(Bucket="snaps", Key=f"p/versions/{version}/tables/customers/churn_probability.npy", Body=b"x")
    snap = store.open()  # the manifest only
    assert snap.table("customers").positions(["c00003"]).tolist() == [3]
    with pytest.raises(SnapshotDamaged):
        snap.table("customers")["churn_probability"]
    assert "churn_probability.npy has 1 bytes" in snap.damaged


@pytest.mark.parametrize("mine_is_newer", [True, False])
def test_s3_pointer_swap_rechecks_when_latest_changes_underneath(s3, tmp_path, monkeypatch, mine_is_newer):
    store = S3SnapshotStore(s3, "snaps", "p", cache_dir=tmp_path / "cache", sleep=lambda s: None)
    v = publish_n(store, tmp_path, 1)
    build, mine = make_build(tmp_path / "mine", seed=5, now=T0 + timedelta(hours=2 if mine_is_newer else 1))
    other_build, other = make_build(tmp_path / "other", seed=6, now=T0 + timedelta(hours=1 if mine_is_newer else 2))
    other_store = S3SnapshotStore(s3, "snaps", "p", cache_dir=tmp_path / "cache3")
    real_get = store._get_latest
    state = {"raced": False, "reads": 0}

    def racing_get():
        state["reads"] += 1
        current = real_get()
        if not state["raced"]:
            state["raced"] = True
            other_store.publish(other_build, other)  # another run moves latest between our read and our write
        return current

    monkeypatch.setattr(store, "_get_latest", racing_get)
    winner = mine if mine_is_newer else other
    # the conditional put fails (the ETag changed), so the pointer is read again before deciding
    assert store.publish(build, mine) == winner
    assert state["raced"] and state["reads"] >= 3  # publish's read, the re-read after 412, prune's read
    assert store.latest_version() == winner
    assert store.versions() == sorted([v[0], other, mine])


def test_a_failing_prune_does_not_fail_a_publish_that_is_already_live(tmp_path, monkeypatch):
    store = LocalSnapshotStore(tmp_path / "snaps", keep_versions=1)
    publish_n(store, tmp_path, 1)
    monkeypatch.setattr(store, "_delete_version", lambda v: (_ for _ in ()).throw(RuntimeError("AccessDenied")))
    new = publish_n(store, tmp_path, 1, start=1)[0]
    assert store.latest_version() == new and len(store.versions()) == 2


# ------------------------------------------------------------------------------ time only moves forward

def test_an_older_as_of_is_published_for_audit_but_never_moves_latest(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    live_build, live = make_build(tmp_path / "live", as_of="2026-11-01", seed=1, now=T0)
    store.publish(live_build, live)
    old_build, old = make_build(tmp_path / "old", as_of="2025-02-10", seed=2, now=T0 + timedelta(hours=1))
    assert old > live  # created later: the version id alone would have moved latest back 21 months
    assert store.publish(old_build, old) == live
    assert store.latest_version() == live and old in store.versions()
    assert store.as_of(old) == "2025-02-10" and store.as_of(live) == "2026-11-01"


def test_a_newer_as_of_wins_even_when_it_was_created_first(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    newer_build, newer = make_build(tmp_path / "n", as_of="2026-11-02", seed=1, now=T0)
    older_build, older = make_build(tmp_path / "o", as_of="2026-11-01", seed=2, now=T0 + timedelta(minutes=5))
    store.publish(older_build, older)
    assert store.publish(newer_build, newer) == newer
    tie_build, tie = make_build(tmp_path / "t", as_of="2026-11-02", seed=3, now=T0 + timedelta(minutes=9))
    assert store.publish(tie_build, tie) == tie  # same as_of: the newer version id wins


def test_move_latest_always_is_the_explicit_override_and_never_is_audit_only(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    live_build, live = make_build(tmp_path / "live", as_of="2026-11-01", seed=1, now=T0)
    assert store.publish(live_build, live, move_latest="never") is None  # a backfill into an empty store
    store.publish(make_build(tmp_path / "again", as_of="2026-11-01", seed=1, now=T0)[0], live)
    assert store.latest_version() == live
    old_build, old = make_build(tmp_path / "old", as_of="2025-02-10", seed=2, now=T0 + timedelta(hours=1))
    assert store.publish(old_build, old, move_latest="always") == old
    with pytest.raises(ValueError, match="move_latest"):
        store.publish(old_build, old, move_latest="sideways")


def test_rollback_goes_to_the_previous_as_of_not_to_an_audit_backfill(tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    a_build, a = make_build(tmp_path / "a", as_of="2026-10-31", seed=1, now=T0)
    back_build, back = make_build(tmp_path / "back", as_of="2025-02-10", seed=2, now=T0 + timedelta(minutes=1))
    c_build, c = make_build(tmp_path / "c", as_of="2026-11-01", seed=3, now=T0 + timedelta(minutes=2))
    for build, version in ((a_build, a), (back_build, back), (c_build, c)):
        store.publish(build, version)
    assert store.latest_version() == c
    assert store.rollback() == a  # by (as_of, version id): the backfill published in between is skipped
    assert store.rollback() == back  # and then, asked again, the older as_of
    assert store.rollback(c) == c


def test_s3_the_as_of_rule_is_decided_again_when_latest_moves_under_the_swap(s3, tmp_path, monkeypatch):
    store = S3SnapshotStore(s3, "snaps", "p", cache_dir=tmp_path / "cache", sleep=lambda s: None)
    first = publish_n(store, tmp_path, 1)[0]  # as_of 2026-11-01
    # mine is newer than the live version (same as_of, later id), but another run publishes a newer as_of
    # between our read of latest and our conditional write: the swap fails, and the re-decision keeps theirs
    mine_build, mine = make_build(tmp_path / "mine", as_of="2026-11-01", seed=5, now=T0 + timedelta(hours=2))
    other_build, other = make_build(tmp_path / "other", as_of="2026-11-02", seed=6, now=T0 + timedelta(hours=1))
    other_store = S3SnapshotStore(s3, "snaps", "p", cache_dir=tmp_path / "cache3")
    real_get = store._get_latest
    state = {"raced": False}

    def racing_get():
        current = real_get()
        if not state["raced"]:
            state["raced"] = True
            other_store.publish(other_build, other)  # moves latest between our read and our write
        return current

    monkeypatch.setattr(store, "_get_latest", racing_get)
    assert store.publish(mine_build, mine) == other
    assert store.latest_version() == other and mine in store.versions() and first in store.versions()
    monkeypatch.setattr(store, "_get_latest", real_get)
    assert store.publish(mine_build, mine, move_latest="always") == mine
    assert store.rollback() == first  # the predecessor of mine in (as_of, version id) order
