"""Faults during the refresh, during publishing and in the published snapshot, seen from the API.

Each test injects one fault into the real pipeline (insights.pipeline.run_refresh with the real DuckDB or Athena
engine adapter, the real local or S3 store under moto) and then asks the real handler: it must keep serving the last
good snapshot or answer a clear 503 (error body, Retry-After), never a 500, and nothing half-written may become
visible. The model side is a small stand-in that writes the API's full table set (tests/handler/snapshot_factory.py):
the models themselves are exercised in tests/insights and tests/models.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from api_events import SECRET, FakeContext, body_of, v2
from sec_helpers import FactorySide, refresh, small_orders

from athena.athena_engine import AthenaEngine
from athena.duckdb_engine import DuckDBEngine
from athena.engine import load_sql, query_names
from insights.cli.tokens import mint_token
from insights.config import Settings
from insights.data.lake import write_lake
from insights.errors import DataAccessFailed, InsufficientData
from insights.refresh.side import SideOutput
from insights.refresh.wiring import RecordingMetricsSink
from insights.snapshot.local import LocalSnapshotStore
from insights.snapshot.s3 import S3SnapshotStore

# ----------------------------------------------------------------------------------------------- parts

class _Execution:
    def __init__(self, state: str, reason: str | None = None, retryable: bool = False) -> None:
        self.state, self.state_change_reason, self.retryable = state, reason, retryable


class AthenaOverDuckDB:
    """A PyAthena-shaped connection: answers with the real SQL on DuckDB unless the script says to fail.

    ``script`` is consumed one item per query attempt: "ok", "failed", "throttled", "hang" (never finishes).
    """

    def __init__(self, duck: DuckDBEngine, script: list[str], clock: list[float]) -> None:
        self.duck, self.script, self.clock, self.attempts = duck, list(script), clock, []
        self._names = {load_sql(n, "athena").strip(): n for n in query_names()}

    def cursor(self, on_poll):
        return _Cursor(self, on_poll)


class _Cursor:
    query_id = "11111111-2222-3333-4444-555555555555"

    def __init__(self, conn: AthenaOverDuckDB, on_poll) -> None:
        self.conn, self.on_poll, self.frame, self.cancelled = conn, on_poll, None, False

    def execute(self, sql, params):
        action = self.conn.script.pop(0) if self.conn.script else "ok"
        name = self.conn._names[sql.strip()]
        self.conn.attempts.append((name, action))
        if action == "failed":
            self.on_poll(_Execution("FAILED", "HIVE_BAD_DATA: Error parsing field value 'x' for field 3"))
            raise RuntimeError("OperationalError: HIVE_BAD_DATA")
        if action == "throttled":
            raise RuntimeError("An error occurred (ThrottlingException) when calling the StartQueryExecution "
                               "operation: Rate exceeded")
        if action == "hang":
            while True:
                self.conn.clock[0] += 30.0
                self.on_poll(_Execution("RUNNING"))
        self.on_poll(_Execution("SUCCEEDED"))
        self.frame = self.conn.duck.query(name, params)

    def as_pandas(self):
        return self.frame

    def cancel(self):
        self.cancelled = True

    def close(self):
        pass


def athena(lake: Path, script: list[str], *, max_retries: int = 2) -> tuple[AthenaEngine, AthenaOverDuckDB, list]:
    clock, sleeps = [0.0], []
    conn = AthenaOverDuckDB(DuckDBEngine.over_lake(lake), script, clock)
    engine = AthenaEngine(conn, timeout_s=120.0, max_retries=max_retries, backoff_s=2.0, sleep=sleeps.append,
                          clock=lambda: clock[0])
    return engine, conn, sleeps


# ----------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "lake"
    write_lake(path, small_orders("2025-01-01", 120))
    return path


@pytest.fixture
def store(tmp_path) -> LocalSnapshotStore:
    return LocalSnapshotStore(tmp_path / "snapshots")


@pytest.fixture
def good(lake, store) -> str:
    """The last good snapshot, published by a healthy refresh."""
    return refresh(DuckDBEngine.over_lake(lake), store).version


@pytest.fixture
def api(tmp_path):
    """ask(store, path) -> (status, headers, body): the real handler serving ``store`` (recheck on every request)."""
    import handler

    settings = Settings(snapshots=str(tmp_path / "unused"), jwt_secret=SECRET, snapshot_recheck_s=0.0)
    token = mint_token(SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    current: dict[str, Any] = {}

    def use(store, *, cold: bool = True) -> None:
        if cold or current.get("store") is not store:
            handler.configure(settings, store=store)
            current["store"] = store

    def ask(path: str = "/demand-insights/at-risk-customers", *, query: dict[str, str] | None = None,
            body: Any = None):
        method = "GET" if body is None else "POST"
        event = v2(method, path, query=query if query is not None or body is not None
                   else {"threshold": "0", "limit": "5"}, body=body, token=token)
        raw = handler.lambda_handler(event, FakeContext())
        headers = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
        return raw["statusCode"], headers, body_of(raw)

    ask.use = use
    yield ask
    handler.configure(Settings(snapshots=settings.snapshots))


def assert_serving(ask, version: str) -> None:
    status, _, body = ask()
    assert status == 200 and body["at_risk_customers"], body
    status, _, health = ask("/demand-insights/health", query={})
    assert status == 200 and health["snapshot"]["version"] == version, health


def assert_clear_503(ask) -> dict[str, Any]:
    status, headers, body = ask()
    assert status == 503, body
    assert set(body) == {"error"} and body["error"]["code"] == "snapshot_unavailable"
    assert "refresh" in body["error"]["message"] and int(headers["retry-after"]) >= 1
    assert "Traceback" not in json.dumps(body) and "File \"" not in json.dumps(body)
    return body


def visible_versions(store) -> list[str]:
    return store.versions()


# ----------------------------------------------------------------------------------------------- Athena

@pytest.mark.parametrize("script, attempts, state", [
    (["failed"], 1, "FAILED"),                                 # a query error: not retryable, fails at once
    (["hang", "hang", "hang"], 3, "TIMEOUT"),                  # timeouts: retried twice, then loud
    (["throttled", "throttled", "throttled"], 3, "THROTTLED"),  # throttling that never clears
])
def test_athena_failure_during_refresh_publishes_nothing_and_the_api_keeps_serving(
        lake, store, good, api, script, attempts, state):
    api.use(store)
    assert_serving(api, good)
    engine, conn, sleeps = athena(lake, script)
    with pytest.raises(DataAccessFailed) as err:
        refresh(engine, store)
    assert err.value.details["state"] == state
    assert len(conn.attempts) == attempts and sleeps == [2.0, 4.0][: attempts - 1]  # bounded, with backoff
    assert any("nothing was published" in n for n in getattr(err.value, "__notes__", []))
    assert store.latest_version() == good and visible_versions(store) == [good]
    assert_serving(api, good)


def test_athena_throttling_that_clears_is_retried_and_the_refresh_publishes(lake, store, good, api):
    engine, conn, sleeps = athena(lake, ["throttled", "throttled"])
    result = refresh(engine, store, as_of=date(2025, 5, 2))
    assert [a for _, a in conn.attempts[:3]] == ["throttled", "throttled", "ok"] and sleeps == [2.0, 4.0]
    assert store.latest_version() == result.version != good
    api.use(store)
    assert_serving(api, result.version)


def test_a_timed_out_query_is_cancelled_in_athena(lake, store, good):
    engine, conn, _ = athena(lake, ["hang"], max_retries=0)
    cancelled = []
    original = conn.cursor

    def spy(on_poll):
        cur = original(on_poll)
        cancelled.append(cur)
        return cur

    conn.cursor = spy
    with pytest.raises(DataAccessFailed):
        refresh(engine, store)
    assert cancelled and cancelled[0].cancelled, "a query past its timeout must be cancelled, not left running"


def test_a_corrupt_lake_file_fails_the_refresh_loudly_and_publishes_nothing(tmp_path, store, good, api, lake):
    broken = tmp_path / "broken-lake"
    shutil.copytree(lake, broken)
    engine = DuckDBEngine.over_lake(broken)  # the file goes bad after the engine has read the lake's schema
    victim = sorted((broken / "orders").rglob("*.parquet"))[3]
    victim.write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(DataAccessFailed) as err:
        refresh(engine, store)
    assert any("nothing was published" in n for n in getattr(err.value, "__notes__", []))
    assert store.latest_version() == good and visible_versions(store) == [good]
    api.use(store)
    assert_serving(api, good)


# ----------------------------------------------------------------------------------------------- S3 publish

@pytest.fixture
def s3(monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="snaps")
        yield client


class FlakyS3:
    """Passes calls to the real (moto) client, but the ``fail_at``-th call of ``method`` raises."""

    def __init__(self, inner, method: str, fail_at: int, error: Exception) -> None:
        self.inner, self.method, self.fail_at, self.error, self.calls = inner, method, fail_at, error, 0

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name != self.method:
            return attr

        def wrapped(*args, **kwargs):
            self.calls += 1
            if self.calls == self.fail_at:
                raise self.error
            return attr(*args, **kwargs)

        return wrapped


def _s3_error(code: str, op: str):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "injected"}}, op)


@pytest.mark.parametrize("method, fail_at, error", [
    ("upload_file", 3, ConnectionError("connection reset by peer")),     # mid-way through the version's files
    ("put_object", 1, "InternalError"),                                   # the manifest write itself
    ("put_object", 2, "SlowDown"),                                        # the move of `latest`
])
def test_an_s3_error_in_the_middle_of_publishing_leaves_the_last_snapshot_live(
        lake, s3, tmp_path, api, method, fail_at, error):
    healthy = S3SnapshotStore(s3, "snaps", "prod", cache_dir=tmp_path / "cache-a", max_workers=1)
    good = refresh(DuckDBEngine.over_lake(lake), healthy).version
    api.use(S3SnapshotStore(s3, "snaps", "prod", cache_dir=tmp_path / "cache-api"))
    assert_serving(api, good)
    exc = _s3_error(error, "PutObject") if isinstance(error, str) else error
    flaky = S3SnapshotStore(FlakyS3(s3, method, fail_at, exc), "snaps", "prod", cache_dir=tmp_path / "cache-b",
                            max_workers=1)
    with pytest.raises(Exception) as err:  # noqa: B017
        refresh(DuckDBEngine.over_lake(lake), flaky, as_of=date(2025, 5, 2))
    assert err.value is exc
    assert healthy.latest_version() == good
    listed = healthy.versions()
    assert listed[-1] == good or method == "put_object" and fail_at == 2  # the version is whole but not live
    assert_serving(api, good)
    api.use(S3SnapshotStore(s3, "snaps", "prod", cache_dir=tmp_path / "cache-cold"))  # a new container
    assert_serving(api, good)
    retry = refresh(DuckDBEngine.over_lake(lake), healthy, as_of=date(2025, 5, 2))  # the next run recovers
    assert healthy.latest_version() == retry.version
    assert_serving(api, retry.version)


def test_the_snapshot_store_unreachable_while_serving_keeps_the_loaded_snapshot_or_answers_503(
        lake, s3, tmp_path, api):
    healthy = S3SnapshotStore(s3, "snaps", "prod", cache_dir=tmp_path / "c1")
    good = refresh(DuckDBEngine.over_lake(lake), healthy).version
    outage = Outage(s3)
    api.use(S3SnapshotStore(outage, "snaps", "prod", cache_dir=tmp_path / "c2"))
    assert_serving(api, good)
    outage.down = True
    assert_serving(api, good)      # a warm container keeps the loaded snapshot
    _, _, health = api("/demand-insights/health", query={})
    assert health["store_error"] == "store_unreachable"
    api.use(S3SnapshotStore(outage, "snaps", "prod", cache_dir=tmp_path / "c3"))  # a cold container
    assert_clear_503(api)
    outage.down = False
    assert_serving(api, good)      # and it recovers by itself once S3 is back


class Outage:
    """Every S3 call fails while ``down`` (botocore's EndpointConnectionError)."""

    def __init__(self, inner) -> None:
        self.inner, self.down = inner, False

    def __getattr__(self, name):
        attr = getattr(self.inner, name)

        def call(*args, **kwargs):
            if self.down:
                from botocore.exceptions import EndpointConnectionError

                raise EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")
            return attr(*args, **kwargs)

        return call if callable(attr) else attr


class RescoredSide(FactorySide):
    """The next day's scores: every churn probability a little lower, so that column's file and digest change."""

    def score(self, models, frame, as_of):
        out = super().score(models, frame, as_of)
        customers = {**out.tables["customers"],
                     "churn_probability": np.asarray(out.tables["customers"]["churn_probability"]) * 0.99}
        return SideOutput(tables={**out.tables, "customers": customers}, table_keys=out.table_keys, docs=out.docs)


def test_a_corrupted_object_on_s3_is_refused_by_checksum(lake, s3, tmp_path, api):
    store = S3SnapshotStore(s3, "snaps", "prod", cache_dir=tmp_path / "c1")
    good = refresh(DuckDBEngine.over_lake(lake), store).version
    api.use(S3SnapshotStore(s3, "snaps", "prod", cache_dir=tmp_path / "warm"))
    assert_serving(api, good)
    # (a file whose digest the warm container already holds is never fetched again: only a changed one can hurt)
    bad = refresh(DuckDBEngine.over_lake(lake), store, as_of=date(2025, 5, 2), side=RescoredSide()).version
    key = f"prod/versions/{bad}/tables/customers/churn_probability.npy"
    body = bytearray(s3.get_object(Bucket="snaps", Key=key)["Body"].read())
    body[-8:] = b"\x00\x00\x00\x00\x00\x00\xf0\x7f"  # still a valid .npy: the last probability becomes +inf
    s3.put_object(Bucket="snaps", Key=key, Body=bytes(body))
    assert_serving(api, good)  # the warm container refuses the damaged version and keeps the good one
    api.use(S3SnapshotStore(s3, "snaps", "prod", cache_dir=tmp_path / "cold"))
    assert_clear_503(api)


# ----------------------------------------------------------------------------------------------- damaged latest

def _damage(folder: Path, how: str) -> None:
    col = folder / "tables" / "customers" / "churn_probability.npy"
    if how == "truncated_column":
        col.write_bytes(col.read_bytes()[:20])
    elif how == "garbage_column":
        col.write_bytes(b"\x00garbage" * 10)
    elif how == "missing_column":
        col.unlink()
    elif how == "missing_table":
        shutil.rmtree(folder / "tables" / "at_risk")
    elif how == "garbage_document":
        (folder / "docs" / "segments.json").write_text("{not json")
    elif how == "missing_manifest":
        (folder / "manifest.json").unlink()
    elif how == "pickled_column":  # an object array needs pickle: np.load(allow_pickle=False) must refuse it
        np.save(col, np.array([{"x": 1}] * 12, dtype=object), allow_pickle=True)
    else:
        raise ValueError(how)


DAMAGE = ["truncated_column", "garbage_column", "missing_column", "missing_table", "garbage_document",
          "missing_manifest", "pickled_column"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_latest_snapshot_never_replaces_the_loaded_one(lake, store, good, api, how):
    api.use(store)
    assert_serving(api, good)
    bad = refresh(DuckDBEngine.over_lake(lake), store, as_of=date(2025, 5, 2)).version
    _damage(store.root / "versions" / bad, how)
    assert store.latest_version() == bad
    assert_serving(api, good)
    _, _, health = api("/demand-insights/health", query={})
    assert health["store_error"] == "snapshot_unreadable"


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_latest_snapshot_in_a_cold_container_is_a_clear_503(lake, store, good, api, how):
    _damage(store.root / "versions" / good, how)
    api.use(store)
    body = assert_clear_503(api)
    assert body["error"]["details"]["reason"] == "snapshot_unreadable"
    status, _, _ = api("/demand-insights/health", query={})
    assert status == 503


@pytest.mark.parametrize("pointer", ["20991231T000000Z-2099-12-31-deadbeef", "../../../etc/passwd", "\x00", "x" * 500])
def test_a_latest_pointer_to_nowhere_is_a_clear_503_not_a_500(store, good, api, pointer):
    (store.root / "latest").write_text(pointer)
    api.use(store)
    assert_clear_503(api)


def test_unreadable_stored_models_are_retrained_by_the_next_refresh(lake, store, good, api):
    (store.root / "versions" / good / "models" / "insights" / "model.json").write_text("{truncated")
    side = FactorySide()
    result = refresh(DuckDBEngine.over_lake(lake), store, side=side)
    assert side.trained == 1 and "unreadable" in result.manifest["models"]["insights"]["decision"]
    api.use(store)
    assert_serving(api, result.version)


def test_a_bit_flip_in_a_local_snapshot_column_is_not_served(lake, store, good, api):
    col = store.root / "versions" / good / "tables" / "customers" / "churn_probability.npy"
    data = bytearray(col.read_bytes())
    data[-4:] = b"\x00\x00\x80\x7f"  # still a valid .npy of the same size: the last probability becomes +inf
    col.write_bytes(bytes(data))
    api.use(store)  # a cold container: the request that first reads the column finds the damage
    body = assert_clear_503(api)
    assert body["error"]["details"]["reason"] == "snapshot_unreadable"
    status, _, health = api("/demand-insights/health", query={})
    assert status == 503  # and the version stays refused, not half-served


def test_a_bit_flip_in_a_new_local_version_never_replaces_the_loaded_one(lake, store, good, api):
    api.use(store)
    assert_serving(api, good)
    bad = refresh(DuckDBEngine.over_lake(lake), store, as_of=date(2025, 5, 2)).version
    col = store.root / "versions" / bad / "docs" / "segments.json"
    col.write_bytes(col.read_bytes().replace(b'"auto_k":', b'"auto_K":'))  # same size, still valid JSON
    assert_serving(api, good)  # the warm swap checks every digest before it switches
    _, _, health = api("/demand-insights/health", query={})
    assert health["store_error"] == "snapshot_unreadable"


# ----------------------------------------------------------------------------------------------- data edges

def test_a_lake_that_ends_before_as_of_is_refreshed_with_a_lag_note_and_served(lake, store, api):
    metrics = RecordingMetricsSink()
    result = refresh(DuckDBEngine.over_lake(lake), store, as_of=date(2025, 7, 1), metrics=metrics)
    notes = result.manifest["check_notes"]
    assert any("lake ends 2025-04-30" in n for n in notes), notes
    lag = [v for name, v, _, _ in metrics.records if name == "DataLagDays"]
    assert lag == [61]
    api.use(store)
    assert_serving(api, result.version)


def test_an_as_of_before_any_data_publishes_nothing(lake, store, good, api):
    with pytest.raises(InsufficientData):
        refresh(DuckDBEngine.over_lake(lake), store, as_of=date(2024, 6, 1))
    assert store.latest_version() == good and visible_versions(store) == [good]
    api.use(store)
    assert_serving(api, good)


def test_an_empty_day_and_an_empty_partition_file_are_fine(tmp_path, store, api):
    orders = small_orders("2025-01-01", 120, skip_days=("2025-04-29", "2025-04-30"))
    lake = tmp_path / "gappy"
    write_lake(lake, orders)
    empty = lake / "orders" / "order_date=2025-04-30"
    empty.mkdir()
    some = next((lake / "orders").rglob("*.parquet"))
    pd.read_parquet(some).iloc[:0].to_parquet(empty / "data_0.parquet", index=False)
    engine = DuckDBEngine.over_lake(lake)
    summary = engine.query("lake_summary", {"cutoff": "2025-05-01"}).iloc[0]
    assert int(summary["order_lines"]) == len(orders)
    assert str(summary["last_date"])[:10] == "2025-04-28"
    result = refresh(engine, store)
    assert result.manifest["lake"]["order_lines"] == len(orders)
    api.use(store)
    assert_serving(api, result.version)


class ProductsOnlySide(FactorySide):
    """A refresh whose customer side was skipped (too few customers): only the product tables are published."""

    def score(self, models, frame, as_of):
        out = super().score(models, frame, as_of)
        keep = ("forecast", "elasticity")
        return SideOutput(tables={k: v for k, v in out.tables.items() if k in keep},
                          table_keys={k: v for k, v in out.table_keys.items() if k in keep},
                          docs={"forecast_meta": out.docs["forecast_meta"]})


def test_a_snapshot_without_customer_insights_answers_a_clear_503_on_customer_routes_not_500(lake, store, api):
    result = refresh(DuckDBEngine.over_lake(lake), store, side=ProductsOnlySide())
    api.use(store)
    status, _, health = api("/demand-insights/health", query={})
    assert status == 200 and health["snapshot"]["version"] == result.version
    for path, query in (("/demand-insights/at-risk-customers", {"threshold": "0.5"}),
                        ("/demand-insights/segments", {"n_clusters": "3"})):
        status, headers, body = api(path, query=query)
        assert status == 503, body
        assert body["error"]["code"] == "snapshot_unavailable" and "skipped" in body["error"]["message"]
        assert int(headers["retry-after"]) >= 1
    status, _, body = api("/demand-insights/forecast", body={"product_id": "P1", "forecast_days": 3})
    assert status == 200 and len(body["forecast"]) == 3, body  # the product side still answers
