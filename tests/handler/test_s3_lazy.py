"""The S3 store reads lazily (moto): what a request fetches, integrity on first read, the /tmp bound, warm switches."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from api_events import SECRET, FakeContext, body_of, v2
from snapshot_factory import customer_columns, write_snapshot

from insights.config import Settings
from insights.snapshot.blobcache import BlobCache
from insights.snapshot.integrity import FileMismatch
from insights.snapshot.writer import file_digests, finalize_build

moto = pytest.importorskip("moto")

BUCKET, PREFIX = "lazy-test", "snaps"
KEYS = {"customers": "customer_id", "forecast": "product_id", "elasticity": "product_id"}
CHURN_FILES = {f"tables/customers/{c}.npy" for c in (
    "customer_id", "churn_probability", "risk_level", "churn_factor_1", "churn_factor_2", "churn_factor_3",
    "churn_contrib_1", "churn_contrib_2", "churn_contrib_3", "churn_value_1", "churn_value_2", "churn_value_3",
    "recency_days")} | {"tables/customers/schema.json",
                                                                 "docs/customer_models.json"}
DAY1, DAY2 = datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 2, 4, tzinfo=UTC)


class Meter:
    """Every S3 call a client makes, as (operation, key relative to the prefix)."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, str]] = []
        client.meta.events.register("provide-client-params.s3.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, str(params.get("Key", "")).removeprefix(f"{PREFIX}/")))

    def gets(self, version: str | None = None) -> set[str]:
        """Keys fetched (of ``version``: relative to it)."""
        keys = {k for op, k in self.calls if op == "GetObject"}
        if version is None:
            return keys
        head = f"versions/{version}/"
        return {k[len(head):] for k in keys if k.startswith(head)}


@pytest.fixture
def s3(monkeypatch):
    for k, v in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(k, v)
    with moto.mock_aws():
        import boto3

        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _store(client: Any, cache: Path, **kw: Any):
    from insights.snapshot.s3 import S3SnapshotStore

    return S3SnapshotStore(client, BUCKET, PREFIX, cache_dir=cache, **kw)


def publish(s3, tmp_path: Path, name: str, when: datetime, mutate=None) -> str:
    folder = write_snapshot(tmp_path / name, version=name, as_of=when.date().isoformat(), publish=False,
                            mutate=mutate)
    (folder / "manifest.json").unlink()
    version = finalize_build(folder, {"table_keys": KEYS}, as_of=when.date().isoformat(), now=when)
    _store(s3, tmp_path / "publisher-cache").publish(folder, version)
    return version


def damage(s3, version: str, rel: str, how=None) -> None:
    """Change the stored object without changing its size (still parseable): only the digest can tell."""
    key = f"{PREFIX}/versions/{version}/{rel}"
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    if how is None:
        body = body[:-1] + bytes([body[-1] ^ 0x01])
    else:
        body = how(body)
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def lower_churn(parts: dict[str, Any]) -> None:
    parts["tables"]["customers"]["churn_probability"] = parts["tables"]["customers"]["churn_probability"] * 0.5


class Container:
    """The real handler on an S3 store of its own (its own client, meter and /tmp cache), with a settable clock."""

    def __init__(self, api, monkeypatch, cache: Path, **store_kw: Any) -> None:
        import boto3

        self.client = boto3.client("s3", region_name="us-east-1")
        self.meter = Meter(self.client)
        self.store = _store(self.client, cache, **store_kw)
        api.configure(Settings(snapshots=f"s3://{BUCKET}/{PREFIX}", jwt_secret=SECRET, snapshot_recheck_s=60.0),
                      store=self.store)
        self.api, self.now = api, 0.0
        monkeypatch.setattr(api.runtime.cache, "_clock", lambda: self.now)

    def ask(self, method: str, path: str, token: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        raw = self.api.lambda_handler(v2(method, f"/demand-insights/{path}", token=token, **kw), FakeContext())
        return raw["statusCode"], body_of(raw)

    def churn(self, token: str, ids=("C001", "C003")) -> tuple[int, dict[str, Any]]:
        return self.ask("POST", "churn", token, body={"customer_ids": list(ids)})

    def health(self) -> dict[str, Any]:
        return self.ask("GET", "health", "")[1]

    def later(self) -> None:
        self.now += 61.0


@pytest.fixture
def container(api, monkeypatch, tmp_path):
    return lambda cache="cache", **kw: Container(api, monkeypatch, tmp_path / cache, **kw)


# ------------------------------------------------------------------------------------------ what a request reads

def test_a_churn_request_fetches_the_manifest_and_only_the_customer_columns_it_reads(s3, tmp_path, container, token):
    version = publish(s3, tmp_path, "b1", DAY1)
    box = container()
    status, body = box.churn(token())
    assert status == 200 and body["predictions"][0]["churn_probability"] == 0.95
    assert box.meter.gets() - {f"versions/{version}/{rel}" for rel in CHURN_FILES} == {
        "latest", f"versions/{version}/manifest.json"}
    assert box.meter.gets(version) == CHURN_FILES | {"manifest.json"}
    assert not any(op == "HeadObject" for op, _ in box.meter.calls)  # small files: one GET each
    box.meter.calls.clear()
    assert box.churn(token(), ids=("C002",))[0] == 200
    assert box.meter.gets() == set()  # warm: nothing fetched again
    status, body = box.ask("GET", "segments", token())
    assert status == 200 and box.meter.gets(version) == {"docs/segments.json"}


# ------------------------------------------------------------------------------------------ integrity on first read

def test_a_flipped_byte_in_a_column_the_request_reads_is_a_503_in_a_cold_container(s3, tmp_path, container, token):
    version = publish(s3, tmp_path, "b1", DAY1)
    damage(s3, version, "tables/customers/churn_factor_2.npy")
    box = container()
    status, body = box.churn(token())
    assert status == 503 and body["error"]["details"]["reason"] == "snapshot_unreadable"
    assert box.ask("GET", "segments", token())[0] == 503  # the version is refused, not half-served
    assert box.api.runtime.cache.status()["last_error"] == "snapshot_unreadable"


def test_a_flipped_byte_in_a_column_never_fetched_does_not_matter_until_it_is_read(s3, tmp_path, container, token):
    version = publish(s3, tmp_path, "b1", DAY1)
    damage(s3, version, "tables/customers/email.npy")
    box = container()
    assert box.churn(token())[0] == 200
    assert "tables/customers/email.npy" not in box.meter.gets(version)
    status, body = box.ask("GET", "at-risk-customers", token.pii(), query={"threshold": "0.5", "limit": "3"})
    assert status == 503 and body["error"]["details"]["reason"] == "snapshot_unreadable"
    assert box.churn(token())[0] == 503


def test_a_store_error_on_first_read_is_a_retryable_503_that_refuses_nothing(s3, tmp_path, container, token,
                                                                              monkeypatch):
    publish(s3, tmp_path, "b1", DAY1)
    box = container()
    real = box.client.get_object

    def flaky(**kw):
        if kw["Key"].endswith("churn_probability.npy"):
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")
        return real(**kw)

    monkeypatch.setattr(box.client, "get_object", flaky)
    status, body = box.churn(token())
    assert status == 503 and body["error"]["code"] == "snapshot_unavailable"
    assert body["error"]["details"]["reason"] == "store_unreachable"
    monkeypatch.setattr(box.client, "get_object", real)
    assert box.churn(token())[0] == 200  # the same version, once S3 answers again
    assert box.api.runtime.cache.status()["last_error"] is None


# ------------------------------------------------------------------------------------------ warm switches

def test_the_daily_switch_fetches_only_the_changed_files_of_what_the_container_served(s3, tmp_path, container, token):
    first = publish(s3, tmp_path, "b1", DAY1)
    box = container()
    assert box.churn(token())[1]["predictions"][0]["churn_probability"] == 0.95
    second = publish(s3, tmp_path, "b2", DAY2, mutate=lower_churn)
    box.meter.calls.clear()
    box.later()
    status, body = box.churn(token())
    assert status == 200 and body["as_of"] == "2026-11-02" and body["predictions"][0]["churn_probability"] == 0.475
    # the other files the churn route reads have the same digest in both versions: reused from /tmp
    assert box.meter.gets() == {"latest", f"versions/{second}/manifest.json",
                                f"versions/{second}/tables/customers/churn_probability.npy"}
    assert first != second


def test_a_new_version_damaged_in_a_file_the_container_served_never_replaces_it(s3, tmp_path, container, token):
    first = publish(s3, tmp_path, "b1", DAY1)
    box = container()
    assert box.churn(token())[0] == 200
    second = publish(s3, tmp_path, "b2", DAY2, mutate=lower_churn)
    damage(s3, second, "tables/customers/churn_probability.npy")
    box.later()
    status, body = box.churn(token())
    assert status == 200 and body["as_of"] == "2026-11-01"  # checked before the switch: refused
    health = box.health()
    assert health["snapshot"]["version"] == first and health["store_error"] == "snapshot_unreadable"
    box.meter.calls.clear()
    box.later()
    assert box.churn(token())[0] == 200
    assert box.meter.gets() == {"latest"}  # a refused version is never fetched again in this container


def test_a_new_version_damaged_in_a_file_the_container_never_served_falls_back_to_the_previous_one(
        s3, tmp_path, container, token):
    first = publish(s3, tmp_path, "b1", DAY1)
    box = container()
    assert box.churn(token())[0] == 200

    def bump(parts):
        parts["docs"]["segments"]["auto_k"] = 3

    second = publish(s3, tmp_path, "b2", DAY2, mutate=bump)
    damage(s3, second, "docs/segments.json", lambda b: b.replace(b'"auto_k":3', b'"auto_K":3'))
    box.later()
    assert box.churn(token())[1]["as_of"] == "2026-11-02"  # its working set passed: switched
    status, body = box.ask("GET", "segments", token())
    assert status == 503 and body["error"]["details"]["reason"] == "snapshot_unreadable"  # found on first read
    status, body = box.ask("GET", "segments", token())
    assert status == 200 and body["n_clusters"] == 4 and body["as_of"] == "2026-11-01"  # the previous version
    assert box.churn(token())[1]["as_of"] == "2026-11-01"
    health = box.health()
    assert health["snapshot"]["version"] == first and health["store_error"] == "snapshot_unreadable"


# ------------------------------------------------------------------------------------------ the /tmp cache

def test_the_tmp_cache_stays_within_its_bound_and_evicted_files_are_fetched_again(s3, tmp_path, container, token):
    version = publish(s3, tmp_path, "b1", DAY1)
    bound = 12_000  # above the largest file read (segments.json, ~10 kB), below all of them together
    box = container(cache_max_bytes=bound)
    for method, path, kw in (("POST", "churn", {"body": {"customer_ids": ["C001"]}}),
                             ("POST", "clv", {"body": {"customer_ids": ["C001"]}}),
                             ("GET", "at-risk-customers", {"query": {"threshold": "0.5"}}),
                             ("POST", "forecast", {"body": {"product_id": "P1", "forecast_days": 7}}),
                             ("GET", "segments", {})):
        assert box.ask(method, path, token(), **kw)[0] == 200
        on_disk = sum(p.stat().st_size for p in (tmp_path / "cache" / "blobs").iterdir())
        assert on_disk <= bound
    assert box.store.blobs.evicted > 0
    assert box.churn(token())[0] == 200  # columns in use stay readable through their mapping
    fetched = len(box.meter.gets(version))
    again = container(cache_max_bytes=bound)  # a new container on the same /tmp
    assert again.churn(token())[0] == 200 and again.meter.gets(version) and fetched > len(again.meter.gets(version))


def test_the_blob_cache_evicts_least_recently_used_first_and_keeps_one_file_larger_than_its_bound(tmp_path):
    cache = BlobCache(tmp_path, max_bytes=10)

    def put(data: bytes) -> Path:
        import hashlib

        def fill(dest: Path) -> str:
            dest.write_bytes(data)
            return hashlib.sha256(data).hexdigest()

        return cache.get(hashlib.sha256(data).hexdigest(), len(data), fill)

    a, b = put(b"aaaa"), put(b"bbbb")
    put(b"aaaa")  # used again: now b is the least recent
    c = put(b"cccc")
    assert a.exists() and c.exists() and not b.exists() and cache.bytes == 8
    big = put(b"x" * 25)
    assert big.exists() and cache.bytes == 25 and not a.exists()
    with pytest.raises(FileMismatch, match="sha256"):
        cache.get("0" * 64, 4, lambda dest: dest.write_bytes(b"dddd") and "f" * 64)
    with pytest.raises(FileMismatch, match="no sha256"):
        cache.get("../../etc/passwd", 4, lambda dest: "")
    assert sorted(p.name for p in tmp_path.iterdir()) == [big.name]  # no partial file left behind


# ------------------------------------------------------------------------------------------ rollback

def _legacy_version(tmp_path: Path, version: str) -> Path:
    """A version as written before the compact format: plain unicode columns, no schema.json."""
    folder = tmp_path / "legacy" / version
    table = folder / "tables" / "customers"
    table.mkdir(parents=True)
    for name, arr in customer_columns().items():
        np.save(table / f"{name}.npy", arr, allow_pickle=False)
    (folder / "docs").mkdir()
    (folder / "docs" / "customer_models.json").write_text(json.dumps({"churn": {"horizon_days": 90}}))
    manifest = {"version": version, "as_of": "2026-10-31", "created_at": "2026-10-31T04:00:00+00:00",
                "table_keys": {"customers": "customer_id"}, "files": file_digests(folder)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_versions_written_before_the_lazy_store_still_read_and_a_rollback_switches_to_them(
        s3, tmp_path, container, token):
    old = "20261031T040000Z-2026-10-31-0ld00000"
    publisher = _store(s3, tmp_path / "publisher-cache")
    publisher.publish(_legacy_version(tmp_path, old), old)
    box = container("cold")
    status, body = box.churn(token())
    assert status == 200 and body["as_of"] == "2026-10-31" and body["predictions"][0]["churn_probability"] == 0.95
    assert "tables/customers/schema.json" not in box.meter.gets(old)
    current = publish(s3, tmp_path, "b1", DAY1)
    box.later()
    assert box.churn(token())[1]["as_of"] == "2026-11-01"
    assert publisher.rollback(old) == old
    box.later()
    status, body = box.churn(token())
    assert status == 200 and body["as_of"] == "2026-10-31" and current != old
    assert box.health()["snapshot"]["version"] == old
