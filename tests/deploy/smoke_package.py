"""Smoke test of the built Lambda package (run by build.sh; not collected by pytest).

Two modes, two interpreters:

``record`` (the dev venv, which has duckdb): generate a tiny sample lake, run the refresh on the DuckDB engine
and record every query the refresh makes with its result frame. The package cannot run this part itself:
duckdb is local-only, and Athena is AWS. Recording the SQL results is the one honest seam: everything after
the query (checks, training, scoring, publishing, serving) then runs from the package.

``check`` (``python3.12 -I``, sys.path = the unzipped package + a throwaway boto3, as on Lambda):
  1. import handler as the api function would (X-Ray on, tracing disabled) and prove no ML library loaded;
  2. build the Athena engine the refresh uses in AWS (PyAthena's PandasCursor, no pyarrow) without calling AWS;
  3. run the scheduled retrain through insights.refresh.run_scheduled on the recorded query results (the real
     models train in the package: scikit-learn, lightgbm with the bundled libgomp, xgboost-cpu, scipy) and
     publish into a local snapshot folder;
  4. answer GET /demand-insights/health and authenticated insight routes through handler.lambda_handler with
     API Gateway HTTP API (payload 2.0) events, from the snapshot just published;
  5. check that every loaded module came from the package, the boto3 folder or the standard library;
  6. with --moto: only then put moto on sys.path, run the refresh into the S3 snapshot store (the package's
     boto3 against moto in process) and serve health and segments through the API from that S3 store.

``verify-scores`` (the dev venv, which has pyarrow): the score Parquet files the package wrote for analysts have
exactly the columns and types of the Glue tables (athena/contract.json score_tables).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

AS_OF = "2026-06-01"
_REPO = Path(__file__).resolve().parents[2]
ML_MODULES = ("sklearn", "scipy", "xgboost", "lightgbm", "pyarrow", "duckdb")


# ------------------------------------------------------------------------------------------------ record

def record(out: Path, source: Path) -> int:
    """Dev venv: tiny lake -> refresh on DuckDB, recording every (query, params) -> frame.

    ``source`` holds the same copy of handler.py, insights/, models/ and athena/ that went into the package, so
    both sides run the same code even while the working tree changes.
    """
    sys.path.insert(0, str(source))
    import insights
    from athena.duckdb_engine import DuckDBEngine
    from insights.config import load_settings
    from insights.data.sample import SampleSpec, generate, write_sample
    from insights.refresh.wiring import RecordingMetricsSink, run_scheduled
    from insights.snapshot.local import LocalSnapshotStore

    assert Path(insights.__file__).resolve().is_relative_to(source), f"insights came from {insights.__file__}"
    lake, snapshots = out / "lake", out / "dev-snapshots"
    end = (_date(AS_OF) - _one_day()).isoformat()
    write_sample(str(lake), generate(SampleSpec(400, 12, 500, 7, _date(end)).resolved()))

    class RecordingEngine:
        def __init__(self, inner):
            self.inner, self.calls = inner, []
            self.dialect = getattr(inner, "dialect", "duckdb")

        def query(self, name, params=None):
            frame = self.inner.query(name, params)
            self.calls.append((name, dict(params or {}), _portable(frame)))
            return frame

    engine = RecordingEngine(DuckDBEngine.over_lake(str(lake)))
    settings = load_settings({}).with_overrides(lake=str(lake), snapshots=str(snapshots))
    started = time.perf_counter()
    summary = run_scheduled({"action": "retrain", "as_of": AS_OF}, settings, engine=engine,
                            store=LocalSnapshotStore(snapshots), metrics=RecordingMetricsSink())
    with open(out / "queries.pkl", "wb") as f:
        pickle.dump(engine.calls, f, protocol=5)
    (out / "dev_version.txt").write_text(str(summary.get("version")))
    print(f"record: {len(engine.calls)} queries recorded from a {400}-customer lake; dev refresh "
          f"{time.perf_counter() - started:.1f} s -> {summary.get('version')}")
    return 0


def _portable(frame) -> dict:
    """A frame as numpy arrays and Python objects only: the package has no pyarrow, and pandas 3 backs its
    strings with pyarrow where pyarrow is installed, so a pickled dev frame would not load there."""
    import numpy as np
    import pandas as pd

    columns = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_string_dtype(col.dtype) or col.dtype == object:
            columns[name] = ("str", col.to_numpy(dtype=object, na_value=None))
        elif isinstance(col.dtype, np.dtype):
            columns[name] = (None, col.to_numpy())
        else:  # nullable extension dtypes (Int64, boolean, ...)
            columns[name] = (str(col.dtype), col.to_numpy(dtype=object, na_value=None))
    return {"index": list(frame.index), "columns": columns}


def _frame(portable: dict):
    """Rebuild a _portable frame with the dtypes pandas picks in this interpreter (python-backed strings)."""
    import pandas as pd

    data = {}
    for name, (kind, values) in portable["columns"].items():
        if kind == "str":
            data[name] = pd.Series(values, dtype="str")
        elif kind is None:
            data[name] = pd.Series(values)
        else:
            data[name] = pd.Series(pd.array(values, dtype=kind))
    frame = pd.DataFrame(data)
    frame.index = pd.Index(portable["index"]) if len(portable["index"]) else frame.index
    return frame


def _date(text):
    from datetime import date

    return date.fromisoformat(text)


def _one_day():
    from datetime import timedelta

    return timedelta(days=1)


# ------------------------------------------------------------------------------------------------- check

class _Context:
    """The fields Powertools reads from a Lambda context."""

    function_name = "demand-insights-api"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:demand-insights-api"
    memory_limit_in_mb = 1024
    aws_request_id = "5f6c1d2e-0000-4000-8000-000000000001"
    log_group_name = "/aws/lambda/demand-insights-api"
    log_stream_name = "2026/11/21/[$LATEST]smoke"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


def _http_event(method: str, path: str, *, token: str | None = None, query: dict | None = None,
                body: dict | None = None) -> dict:
    """An API Gateway HTTP API (payload 2.0) event as AWS sends it."""
    headers = {"accept": "application/json", "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
               "user-agent": "smoke/1.0", "x-forwarded-proto": "https"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if body is not None:
        headers["content-type"] = "application/json"
    query = {k: str(v) for k, v in (query or {}).items()}
    event = {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()), "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "domainPrefix": "a1b2c3d4e5",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10",
                     "userAgent": "smoke/1.0"},
            "requestId": f"smoke-{time.time_ns()}", "routeKey": f"{method} {path}", "stage": "$default",
            "time": "21/Nov/2026:07:15:42 +0000", "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def _call(handler, event: dict, expect: int) -> dict:
    started = time.perf_counter()
    response = handler.lambda_handler(event, _Context())
    ms = (time.perf_counter() - started) * 1000
    status = response["statusCode"]
    body = json.loads(response["body"]) if response.get("body") else {}
    print(f"  {event['routeKey']:<45} {status}  {ms:7.1f} ms")
    if status != expect:
        raise AssertionError(f"{event['routeKey']}: expected {expect}, got {status}: {json.dumps(body)[:500]}")
    return body


def check(package: Path, boto3_dir: Path, fixture: Path, moto_dir: Path | None = None) -> int:
    """python3.12 -I with only the package and boto3: import, refresh on recorded results, serve."""
    import sysconfig

    assert sys.version_info[:2] == (3, 12), f"run me with python3.12, not {sys.version}"
    sys.path[:0] = [str(package), str(boto3_dir)]
    snapshots = fixture / "pkg-snapshots"
    secret = "smoke-test-secret-of-at-least-32-bytes!"
    os.environ.update({
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "demand-insights-api",  # the Lambda import path: Tracer and the X-Ray SDK
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "DemandInsights",
        "POWERTOOLS_SERVICE_NAME": "demand-insights-api", "POWERTOOLS_LOG_LEVEL": "WARNING",
        "INSIGHTS_LOG_LEVEL": "WARNING", "INSIGHTS_SNAPSHOTS": str(snapshots), "INSIGHTS_SNAPSHOT_RECHECK_S": "0",
        "INSIGHTS_JWT_SECRET": secret, "INSIGHTS_JWT_ALGORITHMS": "HS256",
    })

    print("1. import handler (cold, from bytecode)")
    started = time.perf_counter()
    import handler

    print(f"  import handler: {time.perf_counter() - started:.2f} s")
    loaded_ml = [m for m in ML_MODULES if m in sys.modules]
    assert not loaded_ml, f"the API path imported {loaded_ml}"
    assert not Path(handler.__file__).suffix == ".py", f"handler came from source: {handler.__file__}"
    no_snapshot = handler.lambda_handler(_http_event("GET", "/demand-insights/health"), _Context())
    print(f"  GET /demand-insights/health before any refresh: {no_snapshot['statusCode']}")
    assert no_snapshot["statusCode"] in (200, 503), no_snapshot
    assert not [m for m in ML_MODULES if m in sys.modules], "serving imported an ML library"

    print("2. the refresh's Athena engine (PyAthena PandasCursor, no pyarrow), built without calling AWS")
    from insights.config import load_settings
    from insights.refresh.wiring import RecordingMetricsSink, engine_from_settings, run_scheduled

    aws_settings = load_settings().with_overrides(
        lake="s3://smoke-lake/lake", athena_output_location="s3://smoke-results/athena-results/",
        athena_workgroup="demand-insights-wg")
    athena = engine_from_settings(aws_settings)
    assert type(athena).__name__ == "AthenaEngine", type(athena)
    assert "pyarrow" not in sys.modules, "building the Athena engine imported pyarrow"
    print(f"  {type(athena).__name__} ok")

    print("3. scheduled retrain on the recorded query results (models train inside the package)")
    with open(fixture / "queries.pkl", "rb") as f:
        calls = pickle.load(f)

    class ReplayEngine:
        """Answers each (query, params) with the frame DuckDB gave for it in the record step."""

        dialect = "athena"

        def __init__(self, recorded):
            self.recorded = recorded

        def query(self, name, params=None):
            for rec_name, rec_params, frame in self.recorded:
                if rec_name == name and rec_params == dict(params or {}):
                    return _frame(frame)
            raise AssertionError(f"the refresh asked for {name} {params}, which the record step never ran")

    started = time.perf_counter()
    summary = run_scheduled({"action": "retrain", "as_of": AS_OF}, load_settings(), engine=ReplayEngine(calls),
                            metrics=RecordingMetricsSink())
    print(f"  refresh: {time.perf_counter() - started:.1f} s -> version {summary.get('version')}")
    # Version ids end in a hash of the snapshot's content: the package must compute what the dev venv computed.
    dev_version = (fixture / "dev_version.txt").read_text()
    assert summary["version"].rsplit("-", 1)[1] == dev_version.rsplit("-", 1)[1], (
        f"the package's snapshot content differs from the dev venv's: {summary['version']} vs {dev_version}")
    print(f"  same content hash as the dev venv's refresh of the same data ({dev_version.rsplit('-', 1)[1]})")
    maps = Path("/proc/self/maps").read_text() if Path("/proc/self/maps").exists() else ""
    if "lightgbm" in sys.modules and "libgomp.so.1" in maps:
        gomp = sorted({line.split()[-1] for line in maps.splitlines() if "libgomp.so.1" in line})
        print(f"  libgomp.so.1 loaded from: {gomp}")
        assert any(g.startswith(str(package / "lib")) for g in gomp), f"lightgbm ignored the bundled libgomp: {gomp}"

    print("4. the API answers from the new snapshot (API Gateway HTTP API payload 2.0 events)")
    import jwt

    now = int(time.time())
    token = jwt.encode({"sub": "smoke", "iss": "demand-insights-local", "aud": "demand-insights", "iat": now,
                        "nbf": now, "exp": now + 300, "scope": "insights:read customers:pii"}, secret,
                       algorithm="HS256")
    health = _call(handler, _http_event("GET", "/demand-insights/health"), 200)
    assert summary.get("version") in json.dumps(health), f"health does not report the new snapshot: {health}"
    _call(handler, _http_event("GET", "/demand-insights/segments"), 401)
    segments = _call(handler, _http_event("GET", "/demand-insights/segments", token=token,
                                          query={"n_clusters": 3}), 200)
    assert segments, "empty segments answer"
    at_risk = _call(handler, _http_event("GET", "/demand-insights/at-risk-customers", token=token,
                                         query={"threshold": 0, "limit": 5}), 200)
    ids = [c["customer_id"] for c in at_risk.get("at_risk_customers", [])][:3]
    assert ids, f"no customers in the at-risk answer: {json.dumps(at_risk)[:300]}"
    churn = _call(handler, _http_event("POST", "/demand-insights/churn", token=token,
                                       body={"customer_ids": [*ids, "NO-SUCH-CUSTOMER"]}), 200)
    assert "NO-SUCH-CUSTOMER" in json.dumps(churn.get("not_found")), f"unknown id not listed: {churn}"
    _call(handler, _http_event("POST", "/demand-insights/clv", token=token, body={"customer_ids": ids}), 200)
    import numpy as np

    tables = snapshots / "versions" / summary["version"] / "tables"
    products = np.load(tables / "forecast" / "product_id.npy")
    status = np.load(tables / "forecast" / "status.npy")
    assert len(products), "the refresh forecast no product"
    product = str(products[int(np.argmax(status == "ok"))])
    forecast = _call(handler, _http_event("POST", "/demand-insights/forecast", token=token,
                                          body={"product_id": product, "forecast_days": 14}), 200)
    assert len(json.dumps(forecast)) > 200, forecast
    _call(handler, _http_event("POST", "/demand-insights/forecast", token=token,
                               body={"product_id": "NO-SUCH-PRODUCT", "forecast_days": 14}), 404)
    _call(handler, _http_event("GET", "/demand-insights/openapi.json"), 200)

    print("5. every module came from the package, the boto3 folder or the standard library")
    allowed = [str(package), str(boto3_dir), sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
    skip = ("__main__", "__mp_main__")  # this script (joblib aliases it as __mp_main__)
    files = {n: getattr(m, "__file__", None) or "" for n, m in list(sys.modules.items()) if n not in skip}
    strays = sorted(f"{n}: {f}" for n, f in files.items() if f and not any(f.startswith(a) for a in allowed))
    assert not strays, f"modules from outside the package: {strays[:10]}"
    print(f"  {len(sys.modules)} modules loaded, all from the package, boto3 or the standard library")
    if moto_dir is not None:
        _check_s3_store(moto_dir, boto3_dir, fixture, calls, handler, token, ReplayEngine)
    print("smoke test passed")
    return 0


def _check_s3_store(moto_dir: Path, boto3_dir: Path, fixture: Path, calls, handler, token: str,
                    replay_engine) -> None:
    """6. The same through the S3 snapshot store (the package's boto3 against moto, in process): the refresh
    publishes to s3://smoke-snapshots/snapshots, the api function's store downloads and serves it.

    moto and its dependencies are appended to sys.path only now, after the module-origin check."""
    print("6. the S3 snapshot store: refresh publishes to S3 (moto, in process), the API serves from S3")
    sys.path.append(str(moto_dir))
    import boto3
    from moto import mock_aws

    from insights.config import load_settings
    from insights.refresh.wiring import RecordingMetricsSink, run_scheduled
    from insights.snapshot.s3 import S3SnapshotStore

    assert Path(boto3.__file__).resolve().is_relative_to(boto3_dir), f"boto3 came from {boto3.__file__}"
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="smoke-snapshots")
        settings = load_settings().with_overrides(snapshots="s3://smoke-snapshots/snapshots")
        writer = S3SnapshotStore(client, "smoke-snapshots", "snapshots", cache_dir=fixture / "s3-cache-refresh")
        started = time.perf_counter()
        summary = run_scheduled({"action": "refresh", "as_of": AS_OF}, settings, engine=replay_engine(calls),
                                store=writer, metrics=RecordingMetricsSink())
        print(f"  refresh to S3: {time.perf_counter() - started:.1f} s -> {summary['version']}")
        keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket="smoke-snapshots")
                for o in page.get("Contents", [])]
        latest = client.get_object(Bucket="smoke-snapshots", Key="snapshots/latest")["Body"].read().decode().strip()
        assert latest == summary["version"], (latest, summary["version"])
        assert f"snapshots/versions/{latest}/manifest.json" in keys
        assert any(k.startswith("snapshots/scores/customer_scores/as_of=") for k in keys), keys[:20]
        print(f"  {len(keys)} objects under s3://smoke-snapshots/snapshots; latest -> {latest}")

        reader = S3SnapshotStore(client, "smoke-snapshots", "snapshots", cache_dir=fixture / "s3-cache-api")
        handler.configure(settings, store=reader)
        health = _call(handler, _http_event("GET", "/demand-insights/health"), 200)
        assert latest in json.dumps(health), health
        _call(handler, _http_event("GET", "/demand-insights/segments", token=token), 200)


# Glue type -> the Arrow types Athena reads it from.
_GLUE_TO_ARROW = {"string": ("string", "large_string"), "int": ("int32",), "bigint": ("int64",),
                  "double": ("double",), "date": ("date32[day]",), "timestamp": ("timestamp[us]", "timestamp[ms]",
                                                                                  "timestamp[ns]")}


def verify_scores(fixture: Path, source: Path) -> int:
    """Dev venv: the score Parquet the package wrote has exactly the Glue tables' columns and types."""
    import pyarrow.parquet as pq

    contract = json.loads((source / "athena" / "contract.json").read_text())
    root = fixture / "pkg-snapshots" / "scores"
    for table, spec in contract["score_tables"].items():
        files = sorted(root.glob(f"{table}/as_of=*/*.parquet"))
        assert files, f"the package's refresh wrote no {table} Parquet under {root}"
        schema = pq.read_schema(files[0])
        got = [(f.name, str(f.type)) for f in schema]
        want = [c["name"] for c in spec["columns"]]
        assert [n for n, _ in got] == want, f"{table}: columns {[n for n, _ in got]} != contract {want}"
        for (name, arrow), col in zip(got, spec["columns"], strict=True):
            assert arrow in _GLUE_TO_ARROW[col["type"]], f"{table}.{name}: Parquet {arrow}, Glue {col['type']}"
        print(f"  {table}: {len(got)} columns match the Glue table ({files[0].relative_to(fixture)})")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--source", type=Path, default=_REPO, help="project sources (default: this checkout)")
    c = sub.add_parser("check")
    c.add_argument("--package", type=Path, required=True)
    c.add_argument("--boto3", type=Path, required=True)
    c.add_argument("--fixture", type=Path, required=True)
    c.add_argument("--moto", type=Path, help="a folder with moto for python3.12: also check the S3 store")
    v = sub.add_parser("verify-scores")
    v.add_argument("--fixture", type=Path, required=True)
    v.add_argument("--source", type=Path, default=_REPO, help="project sources (default: this checkout)")
    args = p.parse_args(argv)
    if args.mode == "record":
        return record(args.out.resolve(), args.source.resolve())
    if args.mode == "verify-scores":
        return verify_scores(args.fixture.resolve(), args.source.resolve())
    return check(args.package.resolve(), args.boto3.resolve(), args.fixture.resolve(),
                 args.moto.resolve() if args.moto else None)


if __name__ == "__main__":
    sys.exit(main())
