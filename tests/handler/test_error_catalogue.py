"""Every error code the API can send is in the catalogue, in docs/api.md and in the OpenAPI.

The codes are derived from the code, not listed by hand: every class of the error tree mapped through the app's one
mapping, the codes the authenticator raises, and every literal ``error_response(status, "code", ...)`` of the API
and the local server.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from api_events import FakeContext, body_of, v2

import insights.errors
from insights.api import app as app_module
from insights.api import auth, events
from insights.api.error_codes import AUTH, BODY, ERROR_CODES
from insights.cli import server

ROOT = Path(__file__).resolve().parents[2]
EMITTING_MODULES = (app_module, events, server)


def _error_classes(root: type = insights.errors.InsightError) -> list[type]:
    return [root] + [c for sub in root.__subclasses__() for c in _error_classes(sub)]


def _instance(cls: type) -> insights.errors.InsightError:
    if issubclass(cls, insights.errors.AuthError):
        return cls(401, "invalid_token", "x")
    if issubclass(cls, insights.errors.InsufficientData):
        return cls("x", missing="x")
    return cls("x")


def emitted_codes() -> dict[str, int]:
    """{code: status} of every error answer the API (and its local server) can send."""
    import handler

    out: dict[str, int] = {}
    for cls in _error_classes():
        answer = handler.api._error_dict(_instance(cls))
        out[body_of(answer)["error"]["code"]] = answer["statusCode"]
    for status, code in re.findall(r'AuthError\(\s*(\d{3}),\s*"([a-z_]+)"', inspect.getsource(auth)):
        out[code] = int(status)
    for module in EMITTING_MODULES:
        for status, code in re.findall(r'error_response\(\s*(\d{3}),\s*"([a-z_]+)"', inspect.getsource(module)):
            out[code] = int(status)
    return out


def documented_codes() -> dict[str, int]:
    """{code: status} from the Errors table of docs/api.md: | status | `code` | when | what to do |."""
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("## Errors", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|(.+)\|(.+)\|$", section, flags=re.M)
    assert rows, "docs/api.md has no error table"
    for _, code, when, fix in rows:
        assert when.strip() and fix.strip(), f"docs/api.md: {code} needs when and what to do"
    return {code: int(status) for status, code, _, _ in rows}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    import handler

    return body_of(handler.lambda_handler(v2("GET", "/demand-insights/openapi.json"), FakeContext()))


def _codes_in(responses: dict[str, Any]) -> dict[str, int]:
    """{code: status} of the examples of OpenAPI responses (keyed by status, or by name with an Error<status> body)."""
    out = {}
    for key, spec in responses.items():
        media = spec.get("content", {}).get("application/json", {})
        status = int(key) if key.isdigit() else int(media["schema"]["$ref"].rsplit("Error", 1)[1])
        for code in media.get("examples", {}):
            out[code] = status
    return out


def test_the_derivation_finds_the_codes_of_every_layer():
    codes = emitted_codes()
    assert {"not_found", "insufficient_data", "invalid_value", "snapshot_unavailable", "auth_not_configured",
            "internal_error", "missing_token", "invalid_request", "insufficient_scope", "malformed_request",
            "unsupported_media_type", "route_not_found", "method_not_allowed", "validation_error",
            "payload_too_large"} <= set(codes)


def test_errors_of_other_processes_reaching_the_api_are_internal_errors():
    codes = emitted_codes()
    for name in ("import_failed", "publish_conflict", "config_error", "data_access_failed", "insight_error"):
        assert name not in codes


def test_the_catalogue_is_exactly_what_the_api_can_send():
    assert {c: e.status for c, e in ERROR_CODES.items()} == emitted_codes()


def test_docs_api_md_lists_every_code_the_api_can_send():
    documented, emitted = documented_codes(), emitted_codes()
    assert not set(emitted) - set(documented), f"missing from docs/api.md: {sorted(set(emitted) - set(documented))}"
    assert not set(documented) - set(emitted), f"documented but never sent: {sorted(set(documented) - set(emitted))}"
    assert documented == emitted, "a code is documented with another status than the API sends"


def test_the_openapi_lists_every_code_the_api_can_send(openapi):
    listed: dict[str, int] = _codes_in(openapi["components"].get("responses", {}))
    for item in openapi["paths"].values():
        for op in item.values():
            listed.update(_codes_in(op["responses"]))
    emitted = emitted_codes()
    assert not set(emitted) - set(listed), f"missing from the OpenAPI: {sorted(set(emitted) - set(listed))}"
    assert all(listed[c] == s for c, s in emitted.items())


def test_each_operation_lists_the_codes_its_shape_implies(openapi):
    for path, item in openapi["paths"].items():
        for method, op in item.items():
            codes = set(_codes_in(op["responses"]))
            expected = {"internal_error"}
            if "experiments" not in op.get("tags", []):  # the experiment calculator reads no snapshot
                expected.add("snapshot_unavailable")
            if op.get("security"):
                expected |= set(AUTH)
            if op.get("requestBody"):
                expected |= set(BODY)
            if op.get("parameters"):
                expected.add("validation_error")
            assert expected <= codes, f"{method.upper()} {path} lacks {sorted(expected - codes)}"


def test_each_status_schema_enumerates_its_codes(openapi):
    schemas = openapi["components"]["schemas"]
    for code, err in ERROR_CODES.items():
        spec = schemas[f"Error{err.status}Detail"]["properties"]["code"]
        assert code in spec.get("enum", [spec.get("const")])
