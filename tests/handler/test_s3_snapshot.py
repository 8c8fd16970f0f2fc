"""The API over the S3 snapshot store (moto): the refresh's publish, the API's load, and the reload."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime

import pytest
from api_events import body_of, v2
from snapshot_factory import write_snapshot

from insights.config import Settings

moto = pytest.importorskip("moto")


@pytest.fixture
def s3(monkeypatch, tmp_path):
    for k, v in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the S3 store's download cache stays in this test
    with moto.mock_aws():
        import boto3

        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="insights-test")
        yield client


def _publish(tmp_path, name, as_of, when, mutate=None):
    from insights.snapshot.stores import store_from_settings
    from insights.snapshot.writer import finalize_build

    folder = write_snapshot(tmp_path / name, version=name, as_of=as_of, publish=False, mutate=mutate)
    (folder / "manifest.json").unlink()
    version = finalize_build(folder, {"table_keys": {"customers": "customer_id", "forecast": "product_id",
                                                     "elasticity": "product_id"}}, as_of=as_of, now=when)
    store = store_from_settings(Settings(snapshots="s3://insights-test/snapshots"))
    store.publish(folder, version)
    return version


def test_the_api_serves_and_reloads_a_snapshot_published_to_s3(s3, tmp_path, api, invoke, token, monkeypatch):
    first = _publish(tmp_path, "b1", "2026-11-01", datetime(2026, 11, 1, 4, tzinfo=UTC))
    settings = Settings(snapshots="s3://insights-test/snapshots", jwt_secret=api.runtime.settings.jwt_secret)
    api.configure(settings)
    health = body_of(invoke(v2("GET", "/demand-insights/health")))
    assert health["snapshot"]["version"] == first
    churn = body_of(invoke(v2("POST", "/demand-insights/churn", body={"customer_ids": ["C001", "nope"]},
                              token=token())))
    assert churn["predictions"][0]["churn_probability"] == 0.95 and churn["not_found"] == ["nope"]

    def bump(parts):
        parts["docs"]["segments"]["auto_k"] = 3

    second = _publish(tmp_path, "b2", "2026-11-02", datetime(2026, 11, 2, 4, tzinfo=UTC), mutate=bump)
    clock = [0.0]
    monkeypatch.setattr(api.runtime.cache, "_clock", lambda: clock[0])
    api.runtime.cache._checked_at = 0.0
    assert body_of(invoke(v2("GET", "/demand-insights/segments", token=token())))["n_clusters"] == 4
    clock[0] = settings.snapshot_recheck_s + 1
    assert body_of(invoke(v2("GET", "/demand-insights/segments", token=token())))["n_clusters"] == 3
    assert body_of(invoke(v2("GET", "/demand-insights/health")))["snapshot"]["version"] == second


def test_an_empty_bucket_is_a_503_not_a_500(s3, api, invoke, token):
    api.configure(Settings(snapshots="s3://insights-test/nothing-here", jwt_secret=api.runtime.settings.jwt_secret))
    r = invoke(v2("GET", "/demand-insights/segments", token=token()))
    assert r["statusCode"] == 503 and body_of(r)["error"]["code"] == "snapshot_unavailable"
