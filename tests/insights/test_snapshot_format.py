"""The compact snapshot format (encoded text, float32 columns) and the integrity check on first read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import insights.snapshot.integrity as integrity
from insights.api.cache import SnapshotCache
from insights.errors import SnapshotDamaged, SnapshotUnavailable
from insights.snapshot.codec import DictColumn, Utf8Column
from insights.snapshot.local import LocalSnapshotStore
from insights.snapshot.reader import ColumnTable, load_local_version
from insights.snapshot.writer import content_hash, file_digests, finalize_build, write_doc, write_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))
from snapshot_factory import complete  # noqa: E402

N = 2000
RISK = np.array(["Low", "Medium", "High", "Critical"])


def customer_columns(n: int = N, seed: int = 0) -> dict[str, np.ndarray]:
    """The declared customers table: these columns varied, the rest neutral."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:05d}" for i in range(n)], dtype=str)
    if n:
        ids[-1] = "Zoë-ü"  # non-ASCII, still the largest in code point order
    return complete("customers", {
        "customer_id": ids,
        "email": np.array([f"c{i}@exämple.com" if i % 3 else "" for i in range(n)], dtype=str),
        "risk_level": RISK[rng.integers(0, 4, n)],
        "next_order_date": np.where(rng.random(n) < 0.5, "2026-12-01", ""),
        "churn_probability": rng.random(n),
        "predicted_clv": rng.lognormal(12, 1, n),  # money: stays float64
        "frequency": rng.integers(1, 50, n).astype(np.int32),
    })


def publish(root: Path, cols: dict[str, np.ndarray], *, as_of: str = "2026-11-01") -> tuple[LocalSnapshotStore, str]:
    build = root / f"build-{as_of}"
    write_table(build, "customers", cols)
    write_doc(build, "segments", {"auto_k": 3})
    version = finalize_build(build, {"table_keys": {"customers": "customer_id"}}, as_of=as_of)
    store = LocalSnapshotStore(root / "snaps")
    store.publish(build, version)
    return store, version


def flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def test_text_columns_are_dictionary_or_utf8_encoded_and_decode_to_the_same_values(tmp_path):
    cols = customer_columns()
    write_table(tmp_path, "customers", cols)
    folder = tmp_path / "tables" / "customers"
    schema = json.loads((folder / "schema.json").read_text())["columns"]
    assert schema["risk_level"] == {"encoding": "dictionary", "categories": sorted(RISK.tolist())}
    assert schema["customer_id"] == {"encoding": "utf8"}  # unique ids: codes would cost more than the bytes
    assert np.load(folder / "risk_level.npy").dtype == np.uint8
    assert np.load(folder / "next_order_date.npy").nbytes == N  # one byte a row instead of 40
    assert np.load(folder / "customer_id.npy").dtype == np.dtype("S7")  # "Zoë-ü" is 7 UTF-8 bytes
    assert np.load(folder / "churn_probability.npy").dtype == np.float32
    assert np.load(folder / "predicted_clv.npy").dtype == np.float64
    files = file_digests(tmp_path)
    finalize = {"version": "v", "files": files, "table_keys": {"customers": "customer_id"}}
    (tmp_path / "manifest.json").write_text(json.dumps(finalize))
    table = load_local_version(tmp_path).table("customers")
    for name in ("customer_id", "email", "risk_level", "next_order_date"):
        assert isinstance(table[name], DictColumn | Utf8Column)
        assert np.asarray(table[name]).tolist() == cols[name].tolist()
    rows = np.array([N - 1, 0, 5, 5])
    assert table["email"][rows].tolist() == cols["email"][rows].tolist()
    assert table["customer_id"][N - 1] == "Zoë-ü" and isinstance(table["risk_level"][3], str)
    assert table["risk_level"][cols["frequency"] > 40].tolist() == cols["risk_level"][cols["frequency"] > 40].tolist()
    assert np.allclose(table["churn_probability"], cols["churn_probability"], atol=1e-7)


def test_positions_find_ids_in_every_key_encoding():
    ids = np.array(["A1", "B2", "Zoë"])
    utf8 = ColumnTable({"id": np.strings.encode(ids, "utf-8")}, ["id"], key="id", schema={"id": {"encoding": "utf8"}})
    codes = ColumnTable({"id": np.array([0, 1, 2], dtype=np.uint8)}, ["id"], key="id",
                        schema={"id": {"encoding": "dictionary", "categories": ids.tolist()}})
    plain = ColumnTable({"id": ids}, ["id"], key="id")
    for table in (utf8, codes, plain):
        assert table.positions(["Zoë", "nope", "A1", "B2\x00", "", "A1extra"]).tolist() == [2, -1, 0, -1, -1, -1]
        assert table.positions([]).tolist() == []


def test_the_same_columns_give_the_same_bytes(tmp_path):
    write_table(tmp_path / "a", "customers", customer_columns())
    write_table(tmp_path / "b", "customers", customer_columns())
    assert [e["sha256"] for e in file_digests(tmp_path / "a")] == [e["sha256"] for e in file_digests(tmp_path / "b")]


def test_empty_tables_round_trip(tmp_path):
    write_table(tmp_path, "customers", customer_columns(0))
    files = file_digests(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"version": "v", "files": files,
                                                        "table_keys": {"customers": "customer_id"}}))
    table = load_local_version(tmp_path).table("customers")
    assert table.n_rows == 0 and table.positions(["a"]).tolist() == [-1]
    assert np.asarray(table["customer_id"]).shape == (0,)


def test_a_flipped_byte_is_refused_when_its_column_is_first_read_and_only_that_read_pays(tmp_path, monkeypatch):
    store, version = publish(tmp_path, customer_columns())
    flip_last_byte(tmp_path / "snaps" / "versions" / version / "tables" / "customers" / "email.npy")
    hashed = []
    real = integrity.sha256_file
    monkeypatch.setattr(integrity, "sha256_file", lambda p: hashed.append(Path(p).name) or real(p))
    snap = store.open()
    snap.check_files(digests=False)  # same sizes: the cheap cold-start check passes
    assert hashed == []
    table = snap.table("customers")
    assert table.positions(["C00003"]).tolist() == [3]
    assert sorted(hashed) == ["customer_id.npy", "schema.json"]
    assert snap.damaged is None
    with pytest.raises(SnapshotDamaged) as err:
        table["email"]
    assert err.value.details["reason"] == "snapshot_unreadable" and "refresh" in err.value.message
    assert "email.npy" in snap.damaged
    with pytest.raises(SnapshotDamaged):
        store.open().check_files(digests=True)


@pytest.mark.parametrize("damage", ["flip", "truncate", "unlisted"])
def test_a_damaged_document_or_table_is_refused(tmp_path, damage):
    store, version = publish(tmp_path, customer_columns())
    folder = tmp_path / "snaps" / "versions" / version
    if damage == "flip":
        flip_last_byte(folder / "docs" / "segments.json")
    elif damage == "truncate":
        (folder / "docs" / "segments.json").write_text("{}")
    else:  # a file slipped in beside the listed ones is never read
        (folder / "tables" / "customers" / "extra.npy").write_bytes(b"x")
        assert "extra" not in store.open().table("customers")
        return
    with pytest.raises(SnapshotDamaged):
        store.open().doc("segments")


def test_a_manifest_without_a_files_list_is_refused(tmp_path):
    write_table(tmp_path, "customers", customer_columns(10))
    (tmp_path / "manifest.json").write_text(json.dumps({"version": "v"}))
    with pytest.raises(SnapshotDamaged):
        load_local_version(tmp_path)


def test_a_cold_cache_stops_serving_a_version_found_damaged_and_loads_the_next_good_one(tmp_path):
    store, bad = publish(tmp_path, customer_columns())
    flip_last_byte(tmp_path / "snaps" / "versions" / bad / "tables" / "customers" / "churn_probability.npy")
    clock = [0.0]
    cache = SnapshotCache(store, recheck_s=60, clock=lambda: clock[0])
    snap = cache.get()  # cold: sizes only, so the version loads
    assert snap.version == bad
    with pytest.raises(SnapshotDamaged):
        snap.table("customers")["churn_probability"]
    with pytest.raises(SnapshotUnavailable) as err:
        cache.get()
    assert err.value.details["reason"] == "snapshot_unreadable"
    clock[0] += 61
    with pytest.raises(SnapshotUnavailable):
        cache.get()  # the same version is never reopened in this container
    _, good = publish(tmp_path, customer_columns(seed=1), as_of="2026-11-02")
    clock[0] += 61
    assert cache.get().version == good and cache.status()["last_error"] is None
    assert np.asarray(cache.get().table("customers")["churn_probability"]).shape == (N,)


def test_the_content_hash_covers_the_schema(tmp_path):
    cols = customer_columns(100)
    cols["segment"] = np.array(["alpha", "beta"] * 50)
    write_table(tmp_path, "customers", cols)
    before = content_hash(file_digests(tmp_path))
    schema = tmp_path / "tables" / "customers" / "schema.json"
    text = schema.read_text()
    assert '"alpha"' in text
    schema.write_text(text.replace('"alpha"', '"gamma"'))
    assert content_hash(file_digests(tmp_path)) != before


def test_a_version_written_before_the_compact_format_still_reads(tmp_path):
    """Rollback to an older version: plain unicode columns, no schema.json, a manifest with files."""
    cols = customer_columns(50)
    folder = tmp_path / "tables" / "customers"
    folder.mkdir(parents=True)
    for name, arr in cols.items():
        np.save(folder / f"{name}.npy", arr, allow_pickle=False)
    (tmp_path / "manifest.json").write_text(json.dumps({"version": "old", "files": file_digests(tmp_path),
                                                        "table_keys": {"customers": "customer_id"}}))
    table = load_local_version(tmp_path).table("customers")
    assert table["risk_level"].dtype.kind == "U" and table["churn_probability"].dtype == np.float64
    assert table.positions(["C00007", "Zoë-ü"]).tolist() == [7, 49]
    assert table["email"][[1, 3]].tolist() == cols["email"][[1, 3]].tolist()


def test_an_s3_file_left_in_the_tmp_cache_is_hashed_before_it_is_served_and_fetched_again_if_damaged(
        tmp_path, monkeypatch):
    moto = pytest.importorskip("moto")
    for k, v in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                 "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(k, v)
    with moto.mock_aws():
        import boto3

        from insights.snapshot.s3 import S3SnapshotStore

        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="snaps")
        build = tmp_path / "build"
        cols = customer_columns(100)
        write_table(build, "customers", cols)
        version = finalize_build(build, {"table_keys": {"customers": "customer_id"}}, as_of="2026-11-01")
        store = S3SnapshotStore(client, "snaps", "p", cache_dir=tmp_path / "cache")
        store.publish(build, version)
        fresh = store.open()  # fetched and hashed as it was written: served without hashing again
        assert fresh.table("customers")["email"][:3].tolist() == cols["email"][:3].tolist()
        digest = next(e["sha256"] for e in store.manifest(version)["files"]
                      if e["path"] == "tables/customers/email.npy")
        blob = tmp_path / "cache" / "blobs" / digest
        flip_last_byte(blob)  # /tmp damaged between two processes of the same container
        hashed = []
        real = integrity.sha256_file
        monkeypatch.setattr("insights.snapshot.blobcache.sha256_file", lambda p: hashed.append(p) or real(p))
        reused = S3SnapshotStore(client, "snaps", "p", cache_dir=tmp_path / "cache").open()
        assert np.asarray(reused.table("customers")["email"]).tolist() == cols["email"].tolist()
        assert blob in hashed and integrity.sha256_file(blob) == digest  # hashed, found bad, fetched again
        assert reused.damaged is None


def test_asking_whether_a_table_has_a_column_does_not_load_it():
    loaded = []
    table = ColumnTable(lambda n: loaded.append(n) or np.zeros(3), ["a", "b"])
    assert "a" in table and "zzz" not in table and loaded == []
    assert table["b"].shape == (3,) and loaded == ["b"]


@pytest.mark.parametrize("values", [
    ["C0000001", "C0000002", "", "C0000001"], ["é", "a", "zé", "", "ü", "a"], ["x" * 30, "y"], [], ["", ""],
    ["café 1", "café 2", "cafe 3"], ["a\u00a0b", "ab", "ab"]])
def test_text_is_stored_as_numpy_would_encode_it_whatever_the_alphabet(values):
    from insights.snapshot.codec import _encode, _utf8

    arr = np.array(values, dtype="<U40")  # wider than the text: the stored width follows the text, not the dtype
    want = np.strings.encode(arr, "utf-8")
    got = _utf8(arr)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    stored, spec = _encode(arr)
    if spec["encoding"] == "dictionary":
        assert spec["categories"] == sorted(set(values)) and list(np.asarray(spec["categories"])[stored]) == values
    else:
        assert spec["encoding"] == "utf8" and stored.tobytes() == want.tobytes()
