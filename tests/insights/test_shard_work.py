"""The sharded refresh's work area behaves the same in a folder and on S3 (moto)."""

import boto3
import pytest
from moto import mock_aws

from insights.refresh.shard_work import LocalWork, S3Work, default_work_root, work_area


@pytest.fixture(params=["local", "s3"])
def work(request, tmp_path, monkeypatch):
    if request.param == "local":
        yield LocalWork(tmp_path / "run-1")
        return
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="snaps")
        client.put_object(Bucket="snaps", Key="insights/work/run-2/other", Body=b"another run's")
        yield work_area("s3://snaps/insights/work", "run-1", client=client)


def test_files_round_trip_list_download_and_go_with_the_run(work, tmp_path):
    assert not work.exists("plan.json") and work.keys("extract") == []
    work.put("plan.json", b"{}")
    work.put("extract/customers/shard=0/a.parquet", b"a")
    work.put("extract/customers/shard=10/b.parquet", b"b")
    assert work.exists("plan.json") and work.get("plan.json") == b"{}"
    assert work.keys("extract/customers/shard=0/") == ["extract/customers/shard=0/a.parquet"]  # not shard=10
    with pytest.raises(FileNotFoundError):
        work.get("missing.json")
    folder = work.download("extract/customers", tmp_path / "copy")
    assert (folder / "shard=10" / "b.parquet").read_bytes() == b"b"
    work.remove()
    assert work.keys("") == []


def test_the_work_area_lies_beside_the_snapshots():
    assert default_work_root("s3://snaps/insights/") == "s3://snaps/insights/work"
    assert default_work_root("/data/demo/snapshots").endswith("/data/demo/work")
    assert isinstance(work_area("s3://b/p", "r", client=object()), S3Work)
