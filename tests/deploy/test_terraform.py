"""Offline Terraform checks: fmt, init against the local mirror, validate, terraform test (mocked AWS), the
Glue tables against athena/contract.json, and the plan listing every resource the deploy issue asks for."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.deploy.conftest import CONTRACT, TERRAFORM_DIR, copy_stack, init_stack, run_terraform

# What the mocked plan uses for names: account 123456789012, eu-west-1, the default prefixes.
_ACCOUNT, _REGION = "123456789012", "eu-west-1"
_LAKE_URI = f"s3://demand-insights-lake-{_ACCOUNT}-{_REGION}/lake"
_SCORES_URI = f"s3://demand-insights-snapshots-{_ACCOUNT}-{_REGION}/snapshots/scores"
_PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"

# Every resource type the deploy issue lists, each must appear in the plan.
REQUIRED_RESOURCES = {
    "aws_s3_bucket": 4,
    "aws_s3_bucket_versioning": 4,
    "aws_s3_bucket_server_side_encryption_configuration": 4,
    "aws_s3_bucket_public_access_block": 4,
    "aws_s3_bucket_lifecycle_configuration": 4,
    "aws_glue_catalog_database": 1,
    "aws_glue_catalog_table": 6,
    "aws_athena_workgroup": 1,
    "aws_lambda_function": 2,
    "aws_iam_role": 3,
    "aws_iam_role_policy": 3,
    "aws_cloudwatch_log_group": 3,
    "aws_apigatewayv2_api": 1,
    "aws_apigatewayv2_integration": 1,
    "aws_apigatewayv2_route": 9,
    "aws_apigatewayv2_stage": 1,
    "aws_lambda_permission": 1,
    "aws_scheduler_schedule": 2,
    "aws_sqs_queue": 1,
    "aws_sns_topic": 1,
    "aws_cloudwatch_metric_alarm": 11,
    "aws_cloudwatch_log_metric_filter": 2,
    "aws_kms_key": 1,
    "aws_s3_object": 2,  # one package per function: api.zip, refresh.zip
}

_MOCK_PROVIDER = f"""
mock_provider "aws" {{
  override_data {{
    target = data.aws_caller_identity.current
    values = {{ account_id = "{_ACCOUNT}" }}
  }}
  override_data {{
    target = data.aws_region.current
    values = {{ name = "{_REGION}" }}
  }}
  override_data {{
    target = data.aws_partition.current
    values = {{ partition = "aws" }}
  }}
}}

variables {{
  aws_region           = "{_REGION}"
  api_package_file     = "tests/fixtures/fake-api.zip"
  refresh_package_file = "tests/fixtures/fake-refresh.zip"
}}
"""


def expected_glue_tables(contract: dict) -> dict:
    """The Glue tables the contract implies, computed here in Python, independently of the HCL."""
    out = {}
    sections = [(contract["lake_tables"], _LAKE_URI), (contract["score_tables"], _SCORES_URI)]
    for tables, base in sections:
        for name, spec in tables.items():
            location = f"{base}/{name}/"
            projection = {}
            if spec["partition_keys"]:
                template = location + "/".join(f"{k['name']}=${{{k['name']}}}" for k in spec["partition_keys"]) + "/"
                projection = {"projection.enabled": "true", "storage.location.template": template}
                for k in spec["partition_keys"]:
                    projection |= {
                        f"projection.{k['name']}.type": "date",
                        f"projection.{k['name']}.format": "yyyy-MM-dd",
                        f"projection.{k['name']}.range": "2009-01-01,NOW",
                        f"projection.{k['name']}.interval": "1",
                        f"projection.{k['name']}.interval.unit": "DAYS",
                    }
            out[name] = {
                "columns": [{"name": c["name"], "type": c["type"], "comment": c["comment"]} for c in spec["columns"]],
                "partition_keys": [
                    {"name": k["name"], "type": k["type"], "comment": k["comment"]} for k in spec["partition_keys"]
                ],
                "location": location,
                "serde": _PARQUET_SERDE,
                "projection": projection,
            }
    return out


def contract_test_file(expected: dict) -> str:
    """A .tftest.hcl asserting that the planned Glue tables equal ``expected`` (compared as normalised JSON)."""
    literal = json.dumps(expected, indent=2, sort_keys=True).replace("${", "$${")
    return _MOCK_PROVIDER + f"""
run "glue_tables_match_the_contract" {{
  command = plan

  assert {{
    condition = jsonencode({{
      for name, t in aws_glue_catalog_table.contract : name => {{
        columns = [
          for c in t.storage_descriptor[0].columns : {{ name = c.name, type = c.type, comment = c.comment }}
        ]
        partition_keys = [for k in t.partition_keys : {{ name = k.name, type = k.type, comment = k.comment }}]
        location       = t.storage_descriptor[0].location
        serde          = t.storage_descriptor[0].ser_de_info[0].serialization_library
        projection = {{
          for k, v in t.parameters : k => v if startswith(k, "projection.") || k == "storage.location.template"
        }}
      }}
    }}) == jsonencode(jsondecode(<<-EOT
{literal}
EOT
    ))
    error_message = "The planned Glue tables differ from athena/contract.json."
  }}
}}
"""


def _run_contract_check(module: Path, expected: dict, *verbose: str):
    (module / "tests" / "contract_generated.tftest.hcl").write_text(contract_test_file(expected))
    return run_terraform(["test", "-no-color", *verbose, "-filter=tests/contract_generated.tftest.hcl"], module)


def test_terraform_files_are_formatted(terraform_ready: Path) -> None:
    proc = run_terraform(["fmt", "-check", "-recursive", "-diff", "-no-color"], TERRAFORM_DIR)
    assert proc.returncode == 0, f"run `terraform fmt -recursive terraform/`:\n{proc.stdout}{proc.stderr}"


def test_terraform_validate_passes(stack: Path) -> None:
    proc = run_terraform(["validate", "-json", "-no-color"], stack)
    result = json.loads(proc.stdout)
    assert result["valid"], json.dumps(result["diagnostics"], indent=2)
    assert result["warning_count"] == 0, json.dumps(result["diagnostics"], indent=2)


def test_terraform_test_suite_passes_with_a_mocked_provider(stack: Path) -> None:
    proc = run_terraform(["test", "-no-color", "-filter=tests/stack.tftest.hcl"], stack)
    assert proc.returncode == 0, f"terraform test failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    passed = re.search(r"Success! (\d+) passed, 0 failed", proc.stdout)
    assert passed and int(passed.group(1)) >= 10, proc.stdout[-2000:]


def test_glue_tables_equal_the_contract_and_the_plan_lists_every_resource(stack: Path) -> None:
    contract = json.loads(CONTRACT.read_text())
    proc = _run_contract_check(stack, expected_glue_tables(contract), "-verbose")
    assert proc.returncode == 0, f"Glue tables differ from athena/contract.json:\n{proc.stdout[-6000:]}\n{proc.stderr}"

    planned = re.findall(r"^\s*# (aws_[a-z0-9_]+)\.\S.* will be created", proc.stdout, flags=re.M)
    counts = {t: planned.count(t) for t in REQUIRED_RESOURCES}
    missing = {t: (counts[t], n) for t, n in REQUIRED_RESOURCES.items() if counts[t] < n}
    assert not missing, f"resources missing from the plan (planned, required): {missing}"


def test_terraform_reads_the_contract_file_so_they_cannot_disagree(
    tmp_path: Path, terraform_ready: Path
) -> None:
    """Change the contract: the plan follows it, and the original expectations no longer hold."""
    contract = json.loads(CONTRACT.read_text())
    changed = json.loads(json.dumps(contract))
    changed["lake_tables"]["orders"]["columns"].append(
        {"name": "channel", "type": "string", "required": False, "comment": "added by the test"}
    )
    changed["score_tables"]["customer_scores"]["columns"].pop()
    changed_path = tmp_path / "contract.json"
    changed_path.write_text(json.dumps(changed))

    module = copy_stack(tmp_path / "changed", contract=changed_path)
    (module / "tests" / "stack.tftest.hcl").unlink()  # only the generated check runs here
    init_stack(module, terraform_ready)

    stale = _run_contract_check(module, expected_glue_tables(contract))
    assert stale.returncode != 0, "the old contract's columns still matched after the contract changed"
    assert "The planned Glue tables differ from athena/contract.json" in stale.stdout + stale.stderr

    fresh = _run_contract_check(module, expected_glue_tables(changed))
    assert fresh.returncode == 0, fresh.stdout[-4000:] + fresh.stderr


def _terraform_routes() -> dict[tuple[str, str], bool]:
    """The route table of api.tf: (method, path) -> needs a token."""
    text = (TERRAFORM_DIR / "api.tf").read_text()
    base = re.search(r'api_base\s*=\s*"([^"]+)"', text).group(1)
    rows = re.findall(r'"(GET|POST|PUT|PATCH|DELETE) \$\{local\.api_base\}(/[^"]*)"\s*=\s*(true|false)', text)
    # a gateway path variable {name} is the handler's <name>
    return {(m, base + re.sub(r"\{(\w+)\}", r"<\1>", p)): auth == "true" for m, p, auth in rows}


def test_terraform_routes_are_exactly_the_handlers_routes() -> None:
    """Every route the handler serves is in the HTTP API, and no other (needs no terraform)."""
    import handler
    from insights.api.events import PUBLIC_PATHS

    routes = _terraform_routes()
    assert set(routes) == set(handler.api.routes)
    assert {path for (_, path), needs_token in routes.items() if not needs_token} == set(PUBLIC_PATHS)


def _schedule_inputs() -> dict[str, dict[str, str]]:
    """schedules.tf's inputs, as Scheduler delivers them at 03:00 UTC on 2026-11-21 (context placeholder filled)."""
    text = (TERRAFORM_DIR / "schedules.tf").read_text()
    out = {}
    for name, body in re.findall(r"^\s{4}(\w+) = \{.*?input\s*=\s*\{([^}]*)\}", text, flags=re.M | re.S):
        pairs = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', body))
        out[name] = {k: v.replace("<aws.scheduler.scheduled-time>", "2026-11-21T03:00:00Z") for k, v in pairs.items()}
    return out


def test_scheduled_inputs_are_understood_by_the_handler_and_the_refresh() -> None:
    """The payloads Terraform schedules reach the refresh branch with the right action and as_of."""
    from datetime import date

    from insights.api.events import event_kind
    from insights.refresh.wiring import parse_scheduled_event

    inputs = _schedule_inputs()
    assert set(inputs) == {"refresh", "retrain"}
    for action, payload in inputs.items():
        assert event_kind(payload) == "scheduled"
        assert parse_scheduled_event(payload, today=date(2030, 1, 1)) == (action, date(2026, 11, 21))


def test_every_setting_terraform_passes_is_one_the_engine_reads() -> None:
    """The retention and pseudonym variables reach the functions under the names insights/config.py reads."""
    from dataclasses import fields

    from insights.config import Settings

    passed = set(re.findall(r"\bINSIGHTS_([A-Z0-9_]+)\s*=", (TERRAFORM_DIR / "lambda.tf").read_text()))
    assert {"LAKE_RETENTION_DAYS", "SNAPSHOT_RETENTION_DAYS", "PSEUDONYMIZE", "PSEUDONYM_SECRET_PARAMETER",
            "PSEUDONYM_SECRET_ARN"} <= passed
    assert passed <= {f.name.upper() for f in fields(Settings)}
