"""GET /exports/customer-scores: scope rules, the local file URL and the presigned S3 URL (moto)."""

from __future__ import annotations

import io
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import pandas as pd
import pytest
from api_events import body_of, v2
from snapshot_factory import AS_OF, customer_columns, write_snapshot

from insights.api.auth import SCOPE_EXPORT, SCOPE_PII, SCOPE_READ
from insights.config import Settings
from insights.refresh.analyst import customer_scores_frame, score_path, write_score_table
from insights.refresh.exports import write_exports

P = "/demand-insights/exports/customer-scores"


def write_export_files(root: Path) -> None:
    """What the refresh puts under the build's scores/ (the pipeline's analyst Parquet and write_exports' copies)."""
    cols = customer_columns()
    write_score_table(customer_scores_frame(cols), "customer_scores", score_path(root, "customer_scores", AS_OF))
    write_exports(root, cols, AS_OF)


def test_the_export_needs_the_export_scope(invoke, token):
    r = invoke(v2("GET", P, token=token()))
    assert r["statusCode"] == 403 and body_of(r)["error"]["code"] == "insufficient_scope"
    assert 'scope="customers:export"' in r["headers"]["WWW-Authenticate"]
    assert invoke(v2("GET", P))["statusCode"] == 401
    r = invoke(v2("GET", P, token=token(SCOPE_READ, SCOPE_EXPORT), query={"format": "xlsx"}))
    assert r["statusCode"] == 422 and body_of(r)["error"]["code"] == "validation_error"


def test_locally_a_file_url_to_every_customers_scores_without_emails(invoke, token, snapshot_root):
    write_export_files(snapshot_root)
    body = body_of(invoke(v2("GET", P, token=token(SCOPE_READ, SCOPE_EXPORT))))
    assert (body["format"], body["url_kind"], body["expires_in_seconds"], body["rows"]) == ("csv", "file", None, 12)
    assert body["includes_emails"] is False and "email" not in body["columns"]
    frame = pd.read_csv(url2pathname(urlparse(body["url"]).path))
    assert list(frame.columns) == body["columns"] and len(frame) == 12
    cols = customer_columns()
    assert frame["customer_id"].tolist() == cols["customer_id"].tolist()
    assert frame["value_at_risk"].tolist() == pytest.approx(cols["value_at_risk"].tolist())
    parquet = body_of(invoke(v2("GET", P, token=token(SCOPE_READ, SCOPE_EXPORT), query={"format": "parquet"})))
    table = pd.read_parquet(url2pathname(urlparse(parquet["url"]).path))
    assert len(table) == 12 and "email" not in table.columns and parquet["url"].endswith("part-0.parquet")


def test_emails_only_with_the_pii_scope_as_well(invoke, token, snapshot_root):
    write_export_files(snapshot_root)
    for fmt in ("csv", "parquet"):
        body = body_of(invoke(v2("GET", P, token=token(SCOPE_READ, SCOPE_EXPORT, SCOPE_PII), query={"format": fmt})))
        assert body["includes_emails"] is True and body["columns"][:2] == ["customer_id", "email"]
        path = url2pathname(urlparse(body["url"]).path)
        frame = pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)
        assert frame["email"].tolist()[:4] == ["c1@example.com", "c2@example.com", "c3@example.com", None] or \
            frame["email"].fillna("").tolist()[:4] == ["c1@example.com", "c2@example.com", "c3@example.com", ""]


def test_a_missing_export_file_is_a_503_not_a_broken_link(invoke, token):
    r = invoke(v2("GET", P, token=token(SCOPE_READ, SCOPE_EXPORT)))  # the snapshot folder has no export files
    assert r["statusCode"] == 503 and body_of(r)["error"]["code"] == "snapshot_unavailable"


moto = pytest.importorskip("moto")


def test_in_aws_a_presigned_s3_url_that_fetches_the_file(monkeypatch, tmp_path, api, invoke, token):
    for k, v in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with moto.mock_aws():
        import boto3
        import requests

        from insights.snapshot.stores import store_from_settings
        from insights.snapshot.writer import finalize_build

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="insights-test")
        folder = write_snapshot(tmp_path / "b", version="b", as_of=AS_OF, publish=False)
        (folder / "manifest.json").unlink()
        write_export_files(folder)  # the build's scores/: uploaded by publish
        version = finalize_build(folder, {"table_keys": {"customers": "customer_id"}}, as_of=AS_OF,
                                 now=datetime(2026, 11, 1, 4, tzinfo=UTC))
        store_from_settings(Settings(snapshots="s3://insights-test/snaps")).publish(folder, version)
        api.configure(Settings(snapshots="s3://insights-test/snaps", jwt_secret=api.runtime.settings.jwt_secret))

        body = body_of(invoke(v2("GET", P, token=token(SCOPE_READ, SCOPE_EXPORT))))
        assert body["url_kind"] == "presigned_s3" and body["expires_in_seconds"] == 300
        url = urlparse(body["url"])
        assert unquote(url.path).endswith(f"/snaps/scores/exports/customer_scores/as_of={AS_OF}/customer_scores.csv")
        assert "X-Amz-Signature=" in url.query and "X-Amz-Expires=300" in url.query
        fetched = requests.get(body["url"], timeout=10)
        assert fetched.status_code == 200
        frame = pd.read_csv(io.BytesIO(fetched.content))
        assert len(frame) == 12 and "email" not in frame.columns
        pii = body_of(invoke(v2("GET", P, token=token(SCOPE_READ, SCOPE_EXPORT, SCOPE_PII),
                                query={"format": "parquet"})))
        assert "/scores/exports/customer_scores_pii/" in pii["url"]
        table = pd.read_parquet(io.BytesIO(requests.get(pii["url"], timeout=10).content))
        assert table["email"].iloc[0] == "c1@example.com" and len(table) == 12
