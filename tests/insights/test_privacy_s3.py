"""Erasure in AWS, under moto: a request under erasure/requests/ is served at the start of the refresh; afterwards
no object of the bucket (lake, score tables, every snapshot version, the audit) holds the id or its email, and
the API, reading all along, never failed."""

from __future__ import annotations

import json
import tempfile
import threading
from datetime import timedelta

import pandas as pd
import pytest
from privacy_kit import AS_OF, SECRET, Customers, bucket_files, call, files_holding, sample_lake

from athena.duckdb_engine import DuckDBEngine
from insights.config import Settings
from insights.refresh.privacy import before_refresh
from insights.refresh.wiring import refresh
from insights.snapshot.stores import store_from_settings

moto = pytest.importorskip("moto")
BUCKET = "insights-test"


@pytest.fixture
def s3(monkeypatch, tmp_path):
    for k, v in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the S3 store's download cache stays in this test
    with moto.mock_aws():
        import boto3

        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_an_erasure_request_is_served_by_the_refresh_and_leaves_no_object_holding_the_customer(s3, tmp_path):
    lake = sample_lake(tmp_path / "lake", customers=100, days=90)
    for path in lake.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), BUCKET, f"lake/{path.relative_to(lake).as_posix()}")
    settings = Settings(lake=f"s3://{BUCKET}/lake", snapshots=f"s3://{BUCKET}/snapshots", jwt_secret=SECRET,
                        snapshot_recheck_s=0.0, max_data_lag_days=100_000, refresh_interval_hours=1e9)
    store = store_from_settings(settings, client=s3)
    for as_of in (AS_OF - timedelta(days=1), AS_OF):  # Athena's part is played by DuckDB over the same files
        refresh(settings, as_of=as_of, engine=DuckDBEngine.over_lake(lake), store=store, sides=[Customers()])
    people = pd.read_parquet(lake / "customers").dropna(subset=["email"])
    scored = set(store.open().table("customers")["customer_id"])
    gone, email = next((c, e) for c, e in zip(people["customer_id"], people["email"], strict=True) if c in scored)
    kept = next(c for c in sorted(scored) if c != gone)
    assert files_holding(bucket_files(s3, BUCKET), gone, email)
    s3.put_object(Bucket=BUCKET, Key="snapshots/erasure/requests/ticket-1.json",
                  Body=json.dumps({"customer_ids": [gone]}).encode())

    import handler

    handler.configure(settings)
    answers: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            answers.append(call(handler, "POST", "churn", body={"customer_ids": [gone, kept]})[0])
            answers.append(call(handler, "GET", "segments")[0])
            stop.wait(0.02)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        done = before_refresh(settings, store_from_settings(settings, client=s3))
    finally:
        stop.set()
        thread.join()
    try:
        assert answers and set(answers) == {200}
        assert done["erasure"]["customers"] == 1 and done["erasure"]["requests"] == 1
        objects = bucket_files(s3, BUCKET)
        assert files_holding(objects, gone, email) == []
        assert not [k for k in objects if k.startswith("snapshots/erasure/requests/")]  # served, then deleted
        assert [k for k in objects if k.startswith("snapshots/erasure/audit/")]
        assert len(store.versions()) == 2
        status, churn = call(handler, "POST", "churn", body={"customer_ids": [gone, kept]})
        assert status == 200 and churn["not_found"] == [gone]
    finally:
        handler.configure(Settings())


def test_an_unreadable_request_is_deleted_and_reported_without_blocking_the_refresh(s3, tmp_path):
    settings = Settings(lake=f"s3://{BUCKET}/lake", snapshots=f"s3://{BUCKET}/snapshots")
    s3.put_object(Bucket=BUCKET, Key="snapshots/erasure/requests/bad.json", Body=b'{"ids": 3}')
    done = before_refresh(settings, store_from_settings(settings, client=s3))
    assert done["erasure"] == {"requests": 1, "rejected": ["bad.json"]}
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="snapshots/erasure/requests/")
