"""The sharded refresh's state machine (terraform/refresh_sfn.asl.json) executed by moto's Step Functions, with
the real handler (handler.lambda_handler) as every Lambda task: a snapshot is published on S3 at the end; a
shard that fails leaves moto's map "succeeded" with a null child, and the publish step still refuses."""

from __future__ import annotations

import io
import json
import time
import zipfile
from datetime import date

import boto3
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from insights.config import Settings, load_settings
from insights.snapshot.s3 import S3SnapshotStore
from tests.deploy.sfn_asl import FUNCTION, REGION, render_asl


class LambdaContext:
    function_name = "demand-insights-refresh"
    function_version = "$LATEST"
    memory_limit_in_mb = 3008
    invoked_function_arn = FUNCTION
    aws_request_id = "5b1f6c2e-0000-4c3b-9a0e-6d5f4e3c2b1a"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    from insights.data.sample import SampleSpec, generate, write_sample

    path = tmp_path_factory.mktemp("sfn") / "lake"
    write_sample(path, generate(SampleSpec(customers=600, products=8, days=420, seed=5, end=date(2026, 6, 30))))
    return path


@pytest.fixture()
def aws(monkeypatch, lake, tmp_path):
    import handler

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    calls: list[dict] = []
    fail = {"shard": None}

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        event = json.loads(body)
        calls.append(event)
        if event.get("refresh_step") == "score" and event.get("shard") == fail["shard"]:
            raise RuntimeError(f"shard {event['shard']} worker crashed")
        return json.dumps(handler.lambda_handler(event, LambdaContext())).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    with mock_aws(config={"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}):
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="snaps")
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="sfn", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("handler.py", "")
        boto3.client("lambda", region_name=REGION).create_function(
            FunctionName="demand-insights-refresh", Runtime="python3.12", Role=role["Arn"],
            Handler="handler.lambda_handler", Code={"ZipFile": code.getvalue()})
        handler.configure(Settings(lake=str(lake), snapshots="s3://snaps/insights", region=REGION,
                                   shard_work=str(tmp_path / "work"), sales_history_days=60))
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(name="demand-insights-refresh", definition=render_asl(),
                                           roleArn=role["Arn"], type="STANDARD")["stateMachineArn"]
        try:
            yield sfn, machine, calls, fail
        finally:
            handler.configure(load_settings())


def _run(sfn, machine, name, as_of="2026-07-01", timeout_s=900.0) -> dict:
    arn = sfn.start_execution(stateMachineArn=machine, name=name,
                              input=json.dumps({"action": "refresh", "as_of": as_of}))["executionArn"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.5)
    raise AssertionError("the execution did not finish")


def test_the_state_machine_runs_the_real_handlers_and_publishes_then_a_failed_shard_blocks_it(aws, tmp_path):
    sfn, machine, calls, fail = aws
    store = S3SnapshotStore(boto3.client("s3", region_name=REGION), "snaps", "insights")

    execution = _run(sfn, machine, "daily")
    assert execution["status"] == "SUCCEEDED", execution
    summary = json.loads(execution["output"])
    assert summary["status"] == "published" and summary["latest_moved"]
    assert store.latest_version() == summary["version"]
    assert [c["refresh_step"] for c in calls] == ["plan", *["score"] * 6, "publish"]
    assert sorted((c["side"], c["shard"]) for c in calls if c["refresh_step"] == "score") == [
        (side, k) for side in ("customers", "recommendations") for k in range(3)]
    assert len({c["run_id"] for c in calls[1:]}) == 1
    snapshot = store.open()
    assert summary["rows"]["customers"] == len(snapshot.table("customers")["customer_id"]) > 500
    assert not any((tmp_path / "work").iterdir())  # the run's work area is removed once published

    calls.clear()
    fail["shard"] = 1
    failed = _run(sfn, machine, "daily-with-a-failing-shard")
    assert failed["status"] == "FAILED"
    assert calls[-1]["refresh_step"] == "publish"  # moto let the map "succeed"; the publish step refused
    assert store.latest_version() == summary["version"]


def test_the_rendered_asl_is_a_standard_machine_with_a_distributed_map():
    asl = json.loads(render_asl(shards=16, max_concurrency=8))
    assert list(asl["States"]) == ["Plan", "ScoreShards", "Publish"]
    mapped = asl["States"]["ScoreShards"]
    assert mapped["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert mapped["MaxConcurrency"] == 8 and asl["States"]["Plan"]["Parameters"]["Payload"]["shards"] == 16
    throttled = {e for s in (asl["States"]["Plan"], mapped["ItemProcessor"]["States"]["ScoreShard"],
                             asl["States"]["Publish"]) for r in s["Retry"] for e in r["ErrorEquals"]}
    assert "Lambda.TooManyRequestsException" in throttled
