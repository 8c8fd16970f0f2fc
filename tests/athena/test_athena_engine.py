"""AthenaEngine: the shared SQL through PyAthena, under moto (success path) and botocore's Stubber (failures)."""

import math

import numpy as np
import pandas as pd
import pytest
from athena_tiny_lake import CUTOFF
from botocore.stub import Stubber
from moto.athena.models import QueryResults

from athena.athena_engine import AthenaEngine
from athena.engine import DataAccessError, load_sql, query_names, render
from insights.config import Settings

REGION = "us-east-1"
PARAMS = {
    "customer_features": {"cutoff": CUTOFF},
    "customer_categories": {"cutoff": CUTOFF},
    "customer_labels": {"cutoff": CUTOFF, "horizon_days": 60},
    "customer_cohorts": {"period": "month", "start": "2023-01-01", "end": "2024-06-01"},
    "customer_activity_monthly": {"start": "2023-01-01", "end": "2024-06-01"},
    "daily_sales": {"start": "2024-02-01", "end": "2024-03-02"},
    "lake_summary": {"cutoff": CUTOFF},
    "customer_products": {"cutoff": CUTOFF, "split": "2024-02-01"},
    "product_categories": {"cutoff": CUTOFF},
    "product_buyers": {"cutoff": CUTOFF},
    "product_cooccurrence": {"cutoff": CUTOFF},
    "customer_engagement": {"cutoff": CUTOFF},
}
SETTINGS = Settings(athena_database="insights_db", athena_workgroup="insights-wg",
                    athena_output_location="s3://athena-results/queries/", region=REGION)



def _athena_type(series: pd.Series) -> str:
    if pd.api.types.is_integer_dtype(series):
        return "bigint"
    if pd.api.types.is_float_dtype(series):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    return "varchar"


def _cell(value, kind: str) -> dict:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return {}  # Athena leaves VarCharValue out for NULL
    if kind == "date":
        return {"VarCharValue": pd.Timestamp(value).date().isoformat()}
    if kind == "double":
        return {"VarCharValue": repr(float(value))}
    return {"VarCharValue": str(value)}


def seed_results(backend, frame: pd.DataFrame) -> None:
    """Queue ``frame`` as the next query's result, typed the way Athena would describe it."""
    kinds = [_athena_type(frame[c]) for c in frame.columns]
    column_info = [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c, "Label": c, "Type": k,
                    "Precision": {"bigint": 19, "double": 17}.get(k, 0), "Scale": 0, "Nullable": "UNKNOWN",
                    "CaseSensitive": k == "varchar"} for c, k in zip(frame.columns, kinds, strict=True)]
    rows = [{"Data": [{"VarCharValue": c} for c in frame.columns]}]
    rows += [{"Data": [_cell(v, k) for v, k in zip(row, kinds, strict=True)]}
             for row in frame.itertuples(index=False)]
    backend.query_results_queue.append(QueryResults(rows=rows, column_info=column_info))


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_each_query_file_runs_on_athena_and_duckdb_with_the_same_result(aws, duck, name):
    assert set(PARAMS) == set(query_names())
    params = PARAMS[name]
    expected = duck.query(name, params)
    seed_results(aws, expected)
    engine = AthenaEngine.from_settings(SETTINGS)
    actual = engine.query(name, params)

    (execution,) = aws.executions.values()
    assert execution.query.strip() == render(load_sql(name), params)  # PyAthena's formatter, parameters inlined
    assert "%(" not in execution.query and f"DATE '{params.get('cutoff', params.get('start'))}'" in execution.query
    assert execution.workgroup.name == "insights-wg"
    assert execution.context["Database"] == "insights_db"
    assert execution.config["OutputLocation"].startswith("s3://athena-results/queries/")

    assert list(actual.columns) == list(expected.columns) and len(actual) == len(expected)
    for col in expected.columns:
        kind = _athena_type(expected[col])
        if kind == "bigint":
            assert actual[col].dtype == np.int64, col  # not the cursor's nullable Int64: same as DuckDB's
            assert actual[col].tolist() == expected[col].tolist(), col
        elif kind == "double":
            assert actual[col].dtype == np.float64, col
            np.testing.assert_allclose(actual[col], expected[col], rtol=1e-15, equal_nan=True, err_msg=col)
        elif kind == "date":
            assert pd.api.types.is_datetime64_any_dtype(actual[col]), col
            assert list(actual[col]) == list(expected[col]), col
        else:
            assert [None if pd.isna(v) else v for v in actual[col]] == \
                   [None if pd.isna(v) else v for v in expected[col]], col


def _stubbed_engine(monkeypatch, **kwargs):
    import pyathena
    from pyathena.pandas.cursor import PandasCursor
    from pyathena.util import RetryConfig

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    connection = pyathena.connect(s3_staging_dir="s3://athena-results/queries/", work_group="insights-wg",
                                  schema_name="insights_db", region_name=REGION, cursor_class=PandasCursor,
                                  poll_interval=0.001, kill_on_interrupt=False, retry_config=RetryConfig(attempt=1))
    sleeps: list[float] = []
    engine = AthenaEngine(connection, sleep=sleeps.append, **kwargs)
    stubber = Stubber(connection._client)
    return engine, stubber, sleeps


def _execution(qid: str, state: str, reason: str | None = None, retryable: bool | None = None) -> dict:
    status: dict = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    if retryable is not None:
        status["AthenaError"] = {"ErrorCategory": 1 if retryable else 2, "ErrorType": 1000, "Retryable": retryable,
                                 "ErrorMessage": reason or ""}
    return {"QueryExecution": {"QueryExecutionId": qid, "Query": "SELECT 1", "StatementType": "DML",
                               "Status": status, "WorkGroup": "insights-wg",
                               "ResultConfiguration": {"OutputLocation": f"s3://athena-results/queries/{qid}.csv"}}}


def _start(stubber, qid: str, name: str = "lake_summary", params=None) -> None:
    stubber.add_response("start_query_execution", {"QueryExecutionId": qid}, {
        "QueryString": render(load_sql(name), params or {"cutoff": CUTOFF}),
        "WorkGroup": "insights-wg",
        "QueryExecutionContext": {"Catalog": "awsdatacatalog", "Database": "insights_db"},
        "ResultConfiguration": {"OutputLocation": "s3://athena-results/queries/"},
    })


def test_failed_query_raises_data_access_error_with_athenas_reason(monkeypatch):
    engine, stubber, sleeps = _stubbed_engine(monkeypatch)
    reason = "COLUMN_NOT_FOUND: line 3:5: Column 'order_date' cannot be resolved"
    _start(stubber, "q-failed")
    stubber.add_response("get_query_execution", _execution("q-failed", "FAILED", reason, retryable=False))
    with stubber, pytest.raises(DataAccessError) as err:
        engine.query("lake_summary", {"cutoff": CUTOFF})
    stubber.assert_no_pending_responses()
    assert (err.value.state, err.value.reason, err.value.retryable) == ("FAILED", reason, False)
    assert err.value.query == "lake_summary" and err.value.query_execution_id == "q-failed"
    assert reason in str(err.value) and sleeps == []


def test_cancelled_query_is_not_retried(monkeypatch):
    engine, stubber, sleeps = _stubbed_engine(monkeypatch)
    _start(stubber, "q-cancelled")
    stubber.add_response("get_query_execution", _execution("q-running", "RUNNING"))
    stubber.add_response("get_query_execution", _execution("q-cancelled", "CANCELLED", "Query was cancelled by user"))
    with stubber, pytest.raises(DataAccessError) as err:
        engine.query("lake_summary", {"cutoff": CUTOFF})
    assert (err.value.state, err.value.reason, err.value.retryable) == ("CANCELLED", "Query was cancelled by user",
                                                                        False)
    assert sleeps == []


def test_retryable_failure_is_retried_with_backoff_then_reported(monkeypatch):
    engine, stubber, sleeps = _stubbed_engine(monkeypatch, max_retries=3, backoff_s=2.0)
    reason = "INTERNAL_ERROR_QUERY_ENGINE: Amazon Athena experienced an internal error"
    for attempt in range(4):
        _start(stubber, f"q{attempt}")
        stubber.add_response("get_query_execution", _execution(f"q{attempt}", "FAILED", reason, retryable=True))
    with stubber, pytest.raises(DataAccessError) as err:
        engine.query("lake_summary", {"cutoff": CUTOFF})
    stubber.assert_no_pending_responses()
    assert sleeps == [2.0, 4.0, 8.0]
    assert (err.value.state, err.value.reason, err.value.retryable) == ("FAILED", reason, True)
    assert err.value.query_execution_id == "q3"


def test_throttling_is_retried_with_backoff_and_ends_in_a_data_access_error(monkeypatch):
    engine, stubber, sleeps = _stubbed_engine(monkeypatch, max_retries=2, backoff_s=0.5)
    for _ in range(3):
        stubber.add_client_error("start_query_execution", service_error_code="ThrottlingException",
                                 service_message="Rate exceeded", http_status_code=400)
    with stubber, pytest.raises(DataAccessError) as err:
        engine.query("lake_summary", {"cutoff": CUTOFF})
    stubber.assert_no_pending_responses()
    assert sleeps == [0.5, 1.0]
    assert err.value.state == "THROTTLED" and err.value.retryable and "Rate exceeded" in err.value.reason


def test_query_running_past_the_timeout_is_cancelled(monkeypatch):
    ticks = iter([0.0, 10.0, 601.0])
    engine, stubber, sleeps = _stubbed_engine(monkeypatch, timeout_s=600.0, max_retries=0,
                                              clock=lambda: next(ticks))
    _start(stubber, "q-slow")
    stubber.add_response("get_query_execution", _execution("q-slow", "RUNNING"))
    stubber.add_response("get_query_execution", _execution("q-slow", "RUNNING"))
    stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-slow"})
    with stubber, pytest.raises(DataAccessError) as err:
        engine.query("lake_summary", {"cutoff": CUTOFF})
    stubber.assert_no_pending_responses()  # the query was stopped on Athena, not left running
    assert (err.value.state, err.value.query_execution_id, err.value.retryable) == ("TIMEOUT", "q-slow", True)
    assert "timed out after 600 s" in str(err.value) and sleeps == []


class _FakeExecution:
    def __init__(self, state, reason=None, retryable=False):
        self.state, self.state_change_reason, self.retryable = state, reason, retryable


class _ScriptedConnection:
    """A connection whose cursors replay a script: an exception (after an on_poll) or a result frame."""

    def __init__(self, script):
        self.script, self.sql = list(script), []

    def cursor(self, on_poll=None):
        conn = self

        class Cursor:
            query_id = "q-fake"

            def execute(self, sql, params):
                conn.sql.append((sql, params))
                step = conn.script.pop(0)
                if isinstance(step, tuple):
                    on_poll(step[0])
                    raise step[1]
                self._frame = step
                return self

            def as_pandas(self):
                return self._frame

            def cancel(self):
                pass

            def close(self):
                pass

        return Cursor()


def test_throttled_then_successful_query_returns_rows_after_backoff():
    from pyathena.error import OperationalError

    throttled = (_FakeExecution("FAILED", "ThrottlingException: Rate exceeded"), OperationalError("Rate exceeded"))
    frame = pd.DataFrame({"order_lines": [3]})
    sleeps: list[float] = []
    conn = _ScriptedConnection([throttled, throttled, frame])
    result = AthenaEngine(conn, sleep=sleeps.append, backoff_s=1.0, max_retries=3).query("lake_summary",
                                                                                          {"cutoff": CUTOFF})
    assert result is frame and sleeps == [1.0, 2.0]
    assert [p for _, p in conn.sql] == [{"cutoff": CUTOFF}] * 3 and conn.sql[0][0] == load_sql("lake_summary")
