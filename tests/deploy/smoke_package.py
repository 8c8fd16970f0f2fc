"""Smoke test of the two Lambda packages (run by build.sh; not collected by pytest).

Four modes, two interpreters:

``record`` (the dev venv, which has duckdb): generate a tiny sample lake, run the scheduled retrain on the DuckDB
engine and record every query the refresh makes with its result frame. The package cannot run this part itself:
duckdb is local-only, and Athena is AWS. Recording the SQL results is the one honest seam: everything after
the query (checks, training, scoring, publishing, serving) then runs from the packages.

``check-refresh`` (``python3.12 -I``, sys.path = the unzipped refresh.zip + a throwaway boto3, as on Lambda):
  1. import handler as the refresh function does (X-Ray on), build the Athena engine it uses in AWS (PyAthena's
     PandasCursor, no pyarrow) without calling AWS;
  2. a scheduled retrain event, as EventBridge Scheduler delivers it, through handler.lambda_handler: the real
     models train inside the package (scikit-learn, lightgbm with the bundled libgomp, xgboost-cpu, scipy) on the
     recorded query results (the engine factory is the one thing replaced) and the snapshot publishes to a local
     folder; its content hash must equal the dev venv's;
  3. every loaded module came from the package, the boto3 folder or the standard library;
  4. with moto (appended to sys.path only now): a daily refresh event publishes into the S3 snapshot store.

``check-api`` (``python3.12 -I``, sys.path = the unzipped api.zip + a throwaway boto3):
  1. no ML library, no refresh/data/cli code and none of the numpy submodules the package drops can even be
     found; import handler (X-Ray on) and prove none was loaded;
  2. answer every route of the API (checked against handler.api.routes) with API Gateway HTTP API (payload 2.0)
     events, and a REST API (payload 1.0) event, from the snapshot refresh.zip just published: HS256 tokens,
     and RS256/ES256 tokens whose keys come from a JWKS URL (served on 127.0.0.1: cryptography in the package);
  3. every loaded module came from the package, the boto3 folder or the standard library;
  4. with moto: the same snapshot uploaded to S3, and the API serving it through the S3 snapshot store.

``verify-scores`` (the dev venv, which has pyarrow): the score Parquet files the refresh package wrote for analysts
have exactly the columns and types of the Glue tables (athena/contract.json score_tables).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import re
import sys
import time
from pathlib import Path

CUSTOMERS = 500
_REPO = Path(__file__).resolve().parents[2]
ML_MODULES = ("pandas", "sklearn", "scipy", "xgboost", "lightgbm", "pyathena", "fastparquet", "joblib", "pyarrow",
              "duckdb")
# What the api package must not even contain: the other process's code and the numpy submodules build.sh drops.
NOT_IN_API = (*ML_MODULES, "insights.refresh", "insights.data", "insights.cli", "athena", "models.churn",
              "models.forecast", "numpy.random", "numpy.fft", "numpy.polynomial", "numpy.ma", "numpy.testing",
              "numpy.f2py", "aws_xray_sdk", "pydantic.v1",
              # the MCP SDK's server stack: the endpoint runs on its wire types (mcp_types) alone
              "mcp", "starlette", "uvicorn", "anyio", "httpx2", "sse_starlette", "jsonschema")
SECRET = "smoke-test-secret-of-at-least-32-bytes!"


# ------------------------------------------------------------------------------------------------ record

def _events(as_of: str) -> tuple[dict, dict]:
    """What EventBridge Scheduler delivers (terraform/schedules.tf) for the run on ``as_of``, its placeholder
    filled. The run is today's: an event time days away from the clock is a replay and never moves ``latest``."""
    return ({"action": "retrain", "scheduled_time": f"{as_of}T03:00:00Z"},
            {"action": "refresh", "scheduled_time": f"{as_of}T03:00:00Z"})


def _answer_digests(version: Path) -> dict[str, str]:
    """sha256 of each table and document file of a snapshot version (what the API answers from)."""
    import hashlib

    return {p.relative_to(version).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("tables", "docs") for p in sorted((version / sub).rglob("*")) if p.is_file()}


def _fixture_as_of(fixture: Path) -> str:
    """The as_of the recording ran on (its queries carry it, so the checks replay the same day)."""
    return (fixture / "as_of.txt").read_text().strip()


def record(out: Path, source: Path) -> int:
    """Dev venv: tiny lake -> scheduled retrain on DuckDB, recording every (query, params) -> frame.

    ``source`` holds the same copy of handler.py, insights/, models/ and athena/ that went into the packages, so
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
    as_of = time.strftime("%Y-%m-%d", time.gmtime())
    (out / "as_of.txt").write_text(as_of)
    retrain_event, _ = _events(as_of)
    end = (_date(as_of) - _one_day()).isoformat()
    # 500 customers and 3 products over 640 days: every model family trains (about a minute; over 500 days CLV's
    # oldest training window held fewer than 50 customers for some as_of dates) and two products get a reliable
    # price elasticity, so the pricing routes answer 200.
    write_sample(str(lake), generate(SampleSpec(CUSTOMERS, 3, 640, 7, _date(end)).resolved()))

    class RecordingEngine:
        def __init__(self, inner):
            self.inner, self.calls = inner, []
            self.dialect = getattr(inner, "dialect", "duckdb")

        def query(self, name, params=None):
            frame = self.inner.query(name, params)
            self.calls.append((name, dict(params or {}), _portable(frame)))
            return frame

        def release_memory(self):
            self.inner.release_memory()

    engine = RecordingEngine(DuckDBEngine.over_lake(str(lake)))
    settings = load_settings({}).with_overrides(lake=str(lake), snapshots=str(snapshots), log_level="WARNING")
    started = time.perf_counter()
    summary = run_scheduled(retrain_event, settings, engine=engine, store=LocalSnapshotStore(snapshots),
                            metrics=RecordingMetricsSink())
    with open(out / "queries.pkl", "wb") as f:
        pickle.dump(engine.calls, f, protocol=5)
    (out / "dev_version.txt").write_text(str(summary.get("version")))
    print(f"record: {len(engine.calls)} queries recorded from a {CUSTOMERS}-customer lake; dev refresh "
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

    def release_memory(self):
        pass


def _date(text):
    from datetime import date

    return date.fromisoformat(text)


def _one_day():
    from datetime import timedelta

    return timedelta(days=1)


# ------------------------------------------------------------------------------------------ both checks

class _Context:
    """The fields Powertools reads from a Lambda context."""

    def __init__(self, function: str) -> None:
        self.function_name = f"demand-insights-{function}"
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:demand-insights-{function}"
        self.memory_limit_in_mb = 1024
        self.aws_request_id = "5f6c1d2e-0000-4000-8000-000000000001"
        self.log_group_name = f"/aws/lambda/demand-insights-{function}"
        self.log_stream_name = "2026/11/21/[$LATEST]smoke"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


def _lambda_environment(package: Path, boto3_dir: Path, function: str, **extra: str) -> None:
    """sys.path and the variables Lambda (and Terraform) set for ``function``: X-Ray active, an unsampled trace;
    the refresh's handler builds its Tracer, the api's does not (POWERTOOLS_TRACE_DISABLED, as Terraform sets)."""
    assert sys.version_info[:2] == (3, 12), f"run me with python3.12, not {sys.version}"
    sys.path[:0] = [str(package), str(boto3_dir)]
    os.environ.update({
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": f"demand-insights-{function}", "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "_X_AMZN_TRACE_ID": "Root=1-6740a2b6-3e4f5a6b7c8d9e0f1a2b3c4d;Parent=53995c3f42cd8ad8;Sampled=0",
        "POWERTOOLS_METRICS_NAMESPACE": "DemandInsights", "POWERTOOLS_SERVICE_NAME": f"demand-insights-{function}",
        "POWERTOOLS_LOG_LEVEL": "WARNING", "INSIGHTS_LOG_LEVEL": "WARNING", **extra,
    })


def _import_handler(*, tracer: bool):
    started = time.perf_counter()
    import handler

    state = "on" if tracer else "off"
    print(f"  import handler: {time.perf_counter() - started:.2f} s (bytecode only, Tracer {state})")
    assert Path(handler.__file__).suffix == ".pyc", f"handler came from source: {handler.__file__}"
    assert (handler.tracer is not None) == tracer, f"handler.tracer is {handler.tracer!r}"
    return handler


def _check_module_origins(package: Path, boto3_dir: Path) -> None:
    import sysconfig

    allowed = [str(package), str(boto3_dir), sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
    skip = ("__main__", "__mp_main__")  # this script (joblib aliases it as __mp_main__)
    files = {n: getattr(m, "__file__", None) or "" for n, m in list(sys.modules.items()) if n not in skip}
    strays = sorted(f"{n}: {f}" for n, f in files.items() if f and not any(f.startswith(a) for a in allowed))
    assert not strays, f"modules from outside the package: {strays[:10]}"
    print(f"  {len(sys.modules)} modules loaded, all from the package, boto3 or the standard library")


@contextlib.contextmanager
def _moto(moto_dir: Path, boto3_dir: Path):
    """moto's in-process AWS, put on sys.path only after the module-origin check."""
    sys.path.append(str(moto_dir))
    import boto3
    from moto import mock_aws

    assert Path(boto3.__file__).resolve().is_relative_to(boto3_dir), f"boto3 came from {boto3.__file__}"
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="smoke-snapshots")
        yield client


def _upload_tree(client, root: Path, prefix: str) -> int:
    """Every file under ``root`` to s3://smoke-snapshots/<prefix>/ (what a store's publish leaves there)."""
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    for path in files:
        client.upload_file(str(path), "smoke-snapshots", f"{prefix}/{path.relative_to(root).as_posix()}")
    return len(files)


def _s3_keys(client) -> list[str]:
    return [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket="smoke-snapshots")
            for o in page.get("Contents", [])]


# ------------------------------------------------------------------------------------------ check-refresh

def check_refresh(package: Path, boto3_dir: Path, fixture: Path, moto_dir: Path | None) -> int:
    """python3.12 -I with only refresh.zip and boto3: scheduled retrain through the handler, then publish to S3."""
    snapshots = fixture / "pkg-snapshots"
    _lambda_environment(package, boto3_dir, "refresh", INSIGHTS_SNAPSHOTS=str(snapshots),
                        INSIGHTS_LAKE="s3://smoke-lake/lake", INSIGHTS_ATHENA_DATABASE="demand_insights_db",
                        INSIGHTS_ATHENA_WORKGROUP="demand-insights-wg",
                        INSIGHTS_ATHENA_OUTPUT_LOCATION="s3://smoke-results/athena-results/")
    retrain_event, refresh_event = _events(_fixture_as_of(fixture))
    print("1. import handler (cold, from bytecode); the Athena engine, built without calling AWS")
    handler = _import_handler(tracer=True)
    loaded = [m for m in ML_MODULES if m in sys.modules]
    assert not loaded, f"importing the handler loaded {loaded}: the ML stack belongs to the scheduled branch only"
    from insights.config import load_settings
    from insights.refresh import wiring

    athena = wiring.engine_from_settings(load_settings())
    assert type(athena).__name__ == "AthenaEngine", type(athena)
    assert "pyarrow" not in sys.modules, "building the Athena engine imported pyarrow"
    print(f"  {type(athena).__name__} ok")

    print(f"2. scheduled retrain {json.dumps(retrain_event)} through handler.lambda_handler "
          "(the recorded query results stand in for Athena)")
    with open(fixture / "queries.pkl", "rb") as f:
        calls = pickle.load(f)
    wiring.engine_from_settings = lambda settings: ReplayEngine(calls)  # the one seam: SQL results are replayed
    started = time.perf_counter()
    with open(fixture / "refresh-stdout.log", "w") as out, contextlib.redirect_stdout(out):  # EMF metrics lines
        summary = handler.lambda_handler(retrain_event, _Context("refresh"))
    print(f"  refresh: {time.perf_counter() - started:.1f} s -> version {summary.get('version')}")
    assert summary.get("status") == "published" and summary.get("version"), summary
    assert (snapshots / "latest").read_text().strip() == summary["version"], "latest does not name the new version"
    emf = (fixture / "refresh-stdout.log").read_text()
    assert '"ScheduledEvents"' in emf, "the handler emitted no ScheduledEvents metric"
    # The package must compute what the dev venv computed: every table and document byte for byte. The model
    # artifacts differ by design (each carries its build's code fingerprint, .py here and .pyc there, and its
    # Python's pickle), and so do the manifest and the version id, which hash them.
    dev_version = (fixture / "dev_version.txt").read_text().strip()
    ours = _answer_digests(snapshots / "versions" / summary["version"])
    theirs = _answer_digests(fixture / "dev-snapshots" / "versions" / dev_version)
    differ = sorted(p for p in ours.keys() | theirs.keys() if ours.get(p) != theirs.get(p))
    assert not differ and len(ours) > 20, f"the package's snapshot differs from the dev venv's in {differ[:10]}"
    print(f"  same {len(ours)} tables and documents as the dev venv's refresh of the same data ({dev_version})")
    maps = Path("/proc/self/maps").read_text() if Path("/proc/self/maps").exists() else ""
    assert "lightgbm" in sys.modules and "xgboost" in sys.modules, "the retrain did not use lightgbm and xgboost"
    if "libgomp.so.1" in maps:
        gomp = sorted({line.split()[-1] for line in maps.splitlines() if "libgomp.so.1" in line})
        print(f"  libgomp.so.1 loaded from: {gomp}")
        assert any(g.startswith(str(package / "lib")) for g in gomp), f"lightgbm ignored the bundled libgomp: {gomp}"

    print("3. every module came from the package, the boto3 folder or the standard library")
    _check_module_origins(package, boto3_dir)
    (fixture / "published_version.txt").write_text(summary["version"])
    if moto_dir is not None:
        print(f"4. the S3 snapshot store: the retrain's version in S3 (moto), then a daily refresh "
              f"{json.dumps(refresh_event)} through the handler publishes the next one there")
        with _moto(moto_dir, boto3_dir) as client:
            uploaded = _upload_tree(client, snapshots / "versions", "snapshots/versions")
            client.put_object(Bucket="smoke-snapshots", Key="snapshots/latest", Body=summary["version"].encode())
            handler.configure(load_settings().with_overrides(snapshots="s3://smoke-snapshots/snapshots"))
            started = time.perf_counter()
            with open(fixture / "refresh-s3-stdout.log", "w") as out, contextlib.redirect_stdout(out):
                daily = handler.lambda_handler(refresh_event, _Context("refresh"))
            print(f"  refresh to S3: {time.perf_counter() - started:.1f} s -> {daily['version']} "
                  f"(models: {daily['models']}, previous {daily['previous']})")
            assert daily["previous"] == summary["version"], daily
            keys = _s3_keys(client)
            latest = client.get_object(Bucket="smoke-snapshots", Key="snapshots/latest")["Body"].read().decode()
            assert latest.strip() == daily["version"], (latest, daily["version"])
            assert f"snapshots/versions/{latest.strip()}/manifest.json" in keys
            assert any(k.startswith("snapshots/scores/customer_scores/as_of=") for k in keys), keys[:20]
            print(f"  {uploaded} files uploaded, {len(keys)} objects after the refresh; latest -> {latest.strip()}")
    print("refresh.zip: smoke test passed")
    return 0


# ---------------------------------------------------------------------------------------------- check-api

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


class _Client:
    """Sends events through handler.lambda_handler and remembers which routes answered."""

    def __init__(self, handler, log) -> None:
        self.handler, self.log, self.routes = handler, log, set()

    def call(self, event: dict, expect: int) -> dict:
        method = event.get("httpMethod") or event["requestContext"]["http"]["method"]
        path = event.get("resource") or event["rawPath"]
        started = time.perf_counter()
        with contextlib.redirect_stdout(self.log):  # the EMF metric lines Powertools prints
            response = self.handler.lambda_handler(event, _Context("api"))
        ms = (time.perf_counter() - started) * 1000
        status = response["statusCode"]
        body = json.loads(response["body"]) if response.get("body") else {}
        kind = "REST 1.0" if "httpMethod" in event else "HTTP 2.0"
        print(f"  {kind} {method} {path:<38} {status}  {ms:7.1f} ms")
        if status != expect:
            raise AssertionError(f"{method} {path}: expected {expect}, got {status}: {json.dumps(body)[:500]}")
        self.routes.add((method, path))
        return body


def _jwks_server(keys: list[tuple[str, object]]):
    """A JWKS document on 127.0.0.1 (as an OIDC provider publishes it); returns (url, server)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import jwt

    doc = {"keys": []}
    for kid, key in keys:
        algorithm = jwt.algorithms.RSAAlgorithm if "RSA" in type(key).__name__ else jwt.algorithms.ECAlgorithm
        doc["keys"].append({**json.loads(algorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"})
    payload = json.dumps(doc).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", server


def _first_product(snapshot, table: str, ok_column: str = "status") -> str | None:
    """A product id whose row in ``table`` has status "ok", read through the snapshot reader (ids are encoded)."""
    import numpy as np

    t = snapshot.table(table)
    ok = np.flatnonzero(np.asarray(t[ok_column]) == "ok")
    return str(t["product_id"][int(ok[0])]) if len(ok) else None


def check_api(package: Path, boto3_dir: Path, fixture: Path, moto_dir: Path | None) -> int:
    """python3.12 -I with only api.zip and boto3: every route, from the snapshot refresh.zip published."""
    import importlib.util

    snapshots = fixture / "pkg-snapshots"
    print("1. the api package holds no ML library and none of the refresh's code")
    _lambda_environment(package, boto3_dir, "api", POWERTOOLS_TRACE_DISABLED="true")
    found = [name for name in NOT_IN_API if _findable(importlib.util, name)]
    assert not found, f"the api package can import {found}"
    print(f"  not importable, as intended: {', '.join(NOT_IN_API)}")
    # RS256 and ES256 keys published by a JWKS URL, as an OIDC provider does (cryptography runs in the package).
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks_url, server = _jwks_server([("smoke-rsa", rsa_key), ("smoke-ec", ec_key)])
    os.environ.update({"INSIGHTS_SNAPSHOTS": str(snapshots), "INSIGHTS_SNAPSHOT_RECHECK_S": "0",
                       "INSIGHTS_JWT_SECRET": SECRET, "INSIGHTS_JWT_ALGORITHMS": "HS256,RS256,ES256",
                       "INSIGHTS_JWT_JWKS_URL": jwks_url})
    handler = _import_handler(tracer=False)
    assert not [m for m in ML_MODULES if m in sys.modules], "importing the handler loaded an ML library"

    import jwt
    import numpy as np

    from insights.snapshot.local import LocalSnapshotStore

    version = (fixture / "published_version.txt").read_text().strip()
    snapshot = LocalSnapshotStore(snapshots).open()
    assert snapshot.version == version, (snapshot.version, version)
    now = int(time.time())
    claims = {"sub": "smoke", "iss": "demand-insights-local", "aud": "demand-insights", "iat": now, "nbf": now,
              "exp": now + 300, "scope": "insights:read customers:pii"}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    client = _Client(handler, open(fixture / "api-stdout.log", "w"))  # noqa: SIM115 (open for the whole check)

    print("2. every route, from the snapshot refresh.zip published "
          f"({version}; API Gateway events through handler.lambda_handler)")
    P = "/demand-insights"
    health = client.call(_http_event("GET", f"{P}/health"), 200)
    assert health["snapshot"]["version"] == version, f"health does not report the published snapshot: {health}"
    openapi = client.call(_http_event("GET", f"{P}/openapi.json"), 200)
    assert {path for _, path in handler.api.routes if path != f"{P}/openapi.json"  # the dashboard's HTML/JS: not
            and not path.startswith(f"{P}/dashboard")} <= set(openapi["paths"]), openapi  # JSON, not in the doc
    client.call(_http_event("GET", f"{P}/segments"), 401)
    assert client.call(_http_event("GET", f"{P}/segments", token=token, query={"n_clusters": 3}), 200)
    client.call(_http_event("GET", f"{P}/segments", token=token, query={"n_clusters": 42}), 422)
    at_risk = client.call(_http_event("GET", f"{P}/at-risk-customers", token=token,
                                      query={"threshold": 0, "limit": 5}), 200)
    ids = [c["customer_id"] for c in at_risk.get("at_risk_customers", [])][:3]
    assert ids, f"no customers in the at-risk answer: {json.dumps(at_risk)[:300]}"
    churn = client.call(_http_event("POST", f"{P}/churn", token=token,
                                    body={"customer_ids": [*ids, "NO-SUCH-CUSTOMER"]}), 200)
    assert "NO-SUCH-CUSTOMER" in json.dumps(churn.get("not_found")), f"unknown id not listed: {churn}"
    client.call(_http_event("POST", f"{P}/clv", token=token, body={"customer_ids": ids}), 200)
    traits = client.call(_http_event("GET", f"{P}/segments/traits", token=token), 200)
    assert traits["archetypes"] and traits["total_customers"] > 0, traits
    listed = client.call(_http_event("POST", f"{P}/mcp", token=token,
                                     body={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}), 200)
    assert any(t["name"] == "predict_churn" for t in listed["result"]["tools"]), listed
    called = client.call(_http_event("POST", f"{P}/mcp", token=token, body={
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "predict_churn", "arguments": {"customer_ids": ids}}}), 200)
    assert not called["result"]["isError"] and called["result"]["structuredContent"]["predictions"], called
    sized = client.call(_http_event("POST", f"{P}/experiments/sample-size", token=token,
                                    body={"baseline_rate": 0.05, "minimum_detectable_effect": 0.1}), 200)
    assert sized["total_sample_size"] > 0, sized
    client.call(_http_event("POST", f"{P}/experiments/analyze", token=token, body={"arms": [
        {"name": "A", "visitors": 1000, "conversions": 50}, {"name": "B", "visitors": 1000, "conversions": 65}]}), 200)
    cards = client.call(_http_event("GET", f"{P}/quality", token=token), 200)
    assert cards["available"] and set(cards["families"]) == {"clv", "churn"}, f"cards: {json.dumps(cards)[:300]}"
    # Product ids come from the snapshot reader: the compact format stores text as UTF-8 bytes, so a raw
    # np.load of the column gives b'P0001', which no route knows.
    product = _first_product(snapshot, "forecast")
    assert product and not product.startswith("b'"), product
    forecast = client.call(_http_event("POST", f"{P}/forecast", token=token,
                                       body={"product_id": product, "forecast_days": 14}), 200)
    assert len(json.dumps(forecast)) > 200, forecast
    client.call(_http_event("POST", f"{P}/forecast", token=token,
                            body={"product_id": "NO-SUCH-PRODUCT", "forecast_days": 14}), 404)
    priced = _first_product(snapshot, "elasticity")
    if priced is None:  # a sample this small may leave every estimate refused: then the routes say so (422)
        priced, expect = str(snapshot.table("elasticity")["product_id"][0]), 422
    else:
        expect = 200
    elasticity = client.call(_http_event("POST", f"{P}/price-elasticity", token=token,
                                         body={"product_id": priced}), expect)
    observed = elasticity.get("price_range") or {"min": 8.0, "max": 12.0}  # a price the product sold at
    price = round((observed["min"] + observed["max"]) / 2, 2)
    client.call(_http_event("POST", f"{P}/price-optimization", token=token,
                            body={"product_id": priced, "current_price": price, "current_quantity": 100,
                                  "cost_per_unit": round(price * 0.4, 2)}), expect)
    client.call(_http_event("POST", f"{P}/price-optimization", token=token,  # far outside what it sold at
                            body={"product_id": priced, "current_price": price * 1000, "current_quantity": 100,
                                  "cost_per_unit": 1.0}), 422)
    overview = client.call(_http_event("GET", f"{P}/overview", token=token), 200)
    assert overview["customers"] > 0 and overview["churn_histogram"]["counts"], overview
    _check_dashboard(handler, client)
    rest = json.loads((fixture / "apigw_v1_get_at_risk.json").read_text())
    rest["headers"]["Authorization"] = rest["multiValueHeaders"]["Authorization"][0] = f"Bearer {token}"
    client.call(rest, 200)
    for kid, key, alg in (("smoke-rsa", rsa_key, "RS256"), ("smoke-ec", ec_key, "ES256")):
        signed = jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})
        client.call(_http_event("GET", f"{P}/segments", token=signed), 200)
    print(f"  RS256 and ES256 tokens verified against the JWKS at {jwks_url}")
    server.shutdown()
    missing = set(handler.api.routes) - client.routes
    assert not missing, f"routes the smoke test never called: {sorted(missing)}"
    print(f"  all {len(handler.api.routes)} routes answered")
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(ML_MODULES))
    assert not loaded, f"serving loaded {loaded}"
    assert np.__file__.startswith(str(package)), np.__file__

    print("3. every module came from the package, the boto3 folder or the standard library")
    _check_module_origins(package, boto3_dir)
    if moto_dir is not None:
        _check_api_on_s3(handler, client, moto_dir, boto3_dir, snapshots, version, token, product)
    print("api.zip: smoke test passed")
    return 0


def _check_dashboard(handler, client: _Client) -> None:
    """The dashboard's page and every file it loads are in the package and served, public, with their types."""
    from insights.api.events import DASHBOARD

    def get(path: str) -> dict:
        with contextlib.redirect_stdout(client.log):
            response = handler.lambda_handler(_http_event("GET", path), _Context("api"))
        assert response["statusCode"] == 200, (path, response["statusCode"], response.get("body", "")[:300])
        client.routes.add(("GET", path))
        return response

    page = get(DASHBOARD)
    assert page["headers"]["Content-Type"].startswith("text/html"), page["headers"]
    files = re.findall(r'(?:src|href)="([^"?]+)\?v=', page["body"])
    sizes = {path: len(get(path)["body"].encode()) for path in files}
    total = len(page["body"].encode()) + sum(sizes.values())
    print(f"  GET {DASHBOARD} and its {len(files)} files: {total / 1024:.0f} KB, no token needed")


def _findable(util, name: str) -> bool:
    try:
        return util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent package is absent
        return False


def _check_api_on_s3(handler, client: _Client, moto_dir: Path, boto3_dir: Path, snapshots: Path, version: str,
                     token: str, product: str) -> None:
    """4. The published version uploaded to S3 (moto, in process); the API's S3 store downloads and serves it."""
    print("4. the S3 snapshot store: the published version in S3 (moto), the API serving it from there")
    from insights.config import load_settings

    with _moto(moto_dir, boto3_dir) as s3:
        uploaded = _upload_tree(s3, snapshots / "versions" / version, f"snapshots/versions/{version}")
        s3.put_object(Bucket="smoke-snapshots", Key="snapshots/latest", Body=version.encode())
        handler.configure(load_settings().with_overrides(snapshots="s3://smoke-snapshots/snapshots"))
        P = "/demand-insights"
        health = client.call(_http_event("GET", f"{P}/health"), 200)
        assert health["snapshot"]["version"] == version, health
        client.call(_http_event("GET", f"{P}/segments", token=token), 200)
        client.call(_http_event("POST", f"{P}/forecast", token=token,
                                body={"product_id": product, "forecast_days": 7}), 200)
        print(f"  {uploaded} files uploaded; the API served them through the S3 store")


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
    for mode in ("check-refresh", "check-api"):
        c = sub.add_parser(mode)
        c.add_argument("--package", type=Path, required=True, help="the unzipped package")
        c.add_argument("--boto3", type=Path, required=True, help="boto3 for python3.12, as the runtime has it")
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
    check = check_refresh if args.mode == "check-refresh" else check_api
    return check(args.package.resolve(), args.boto3.resolve(), args.fixture.resolve(),
                 args.moto.resolve() if args.moto else None)


if __name__ == "__main__":
    sys.exit(main())
