"""Every error code the API sends: its status, when it happens and what the caller should do.

docs/api.md's error table and each route's OpenAPI responses are written from this catalogue (one example per code
the route can answer, and a ``code`` enum per status); tests/handler/test_error_catalogue.py derives the codes the
app can emit from the code (the error tree, the authenticator, app.py) and fails if one is missing here, in the
docs or in the OpenAPI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from insights.api.events import MAX_BODY_BYTES

__all__ = ["ErrorCode", "ERROR_CODES", "AUTH", "BODY", "ALWAYS", "error_responses", "finish_openapi"]


@dataclass(frozen=True)
class ErrorCode:
    status: int
    code: str
    when: str
    fix: str


ERROR_CODES: dict[str, ErrorCode] = {e.code: e for e in (
    ErrorCode(400, "malformed_request", "the body is not JSON, not UTF-8 text or nested too deeply (the local "
              "server also sends it for an unreadable Content-Length)", "send one UTF-8 JSON object"),
    ErrorCode(401, "missing_token", "no Authorization header", "send `Authorization: Bearer <JWT>`"),
    ErrorCode(401, "invalid_request", "the Authorization header is not `Bearer <token>`",
              "send exactly `Bearer <token>`, one space, no other scheme"),
    ErrorCode(401, "invalid_token", "the token's signature, algorithm, issuer, audience, exp/nbf, key id or a "
              "required claim is wrong, or it is over 8 KB; `WWW-Authenticate` says which",
              "get a new token from the issuer; do not retry the same one"),
    ErrorCode(403, "insufficient_scope", "the token lacks the `insights:read` scope",
              "ask the issuer for a token with `insights:read`"),
    ErrorCode(404, "not_found", "the product or customer is not in the live snapshot; `details.product_id` or "
              "`details.customer_id`", "check the id; a new product or customer appears after the next daily refresh"),
    ErrorCode(404, "route_not_found", "no route has this path (after auth)",
              "check the path against /demand-insights/openapi.json"),
    ErrorCode(405, "method_not_allowed", "the path exists but not with this method; `Allow` lists its methods",
              "use a method from the `Allow` header"),
    ErrorCode(413, "payload_too_large", f"the body is over {MAX_BODY_BYTES:,} bytes (1 MiB); `details.max_bytes`, "
              "`details.received_bytes`", "send fewer ids (at most 1000 a request: ~70 KB)"),
    ErrorCode(415, "unsupported_media_type", "a body sent with a Content-Type other than application/json or "
              "another `+json` type", "send `Content-Type: application/json`"),
    ErrorCode(422, "validation_error", "a query parameter or body field breaks its schema: missing, of another "
              "type (numbers must be JSON numbers: no strings or booleans), out of range, or an unknown field; "
              "`details`: [{field, in, rule, message, limit}]", "fix the fields named; do not retry unchanged"),
    ErrorCode(422, "invalid_value", "a value the schema accepts but the model cannot use (for example pricing on "
              "a positive elasticity)", "do not retry unchanged; the message says what is wrong"),
    ErrorCode(422, "price_out_of_support", "current_price (or a what-if planned_price) lies outside the prices the "
              "product sold at, widened by the range margin (10%): demand there would be extrapolated; "
              "`details`: field, price, observed_min, observed_max, allowed_min, allowed_max",
              "send a price inside allowed_min..allowed_max (the product's observed range); check the currency "
              "and the unit"),
    ErrorCode(422, "insufficient_data", "too little data to answer: a product without usable history or price "
              "variation, a segment count the snapshot lacks; `details.missing` names what",
              "do not retry unchanged; ask another product or k, or wait for more data"),
    ErrorCode(500, "internal_error", "a bug in the API; the message carries no detail",
              "retry once; quote the `X-Correlation-Id` header to the operator"),
    ErrorCode(503, "snapshot_unavailable", "no snapshot published yet, or the live one lacks the table the route "
              "needs or failed its integrity check; `details.reason` (no_snapshot, store_unreachable, "
              "snapshot_unreadable, missing_table, missing_document)",
              "retry after `Retry-After` seconds; the operator runs the refresh"),
    ErrorCode(503, "auth_not_configured", "the deployment has no key material for the token's algorithm",
              "retry after `Retry-After`; the operator sets the INSIGHTS_JWT_* settings"),
)}

AUTH = ("missing_token", "invalid_request", "invalid_token", "insufficient_scope", "auth_not_configured")
BODY = ("malformed_request", "unsupported_media_type", "payload_too_large", "validation_error")
ALWAYS = ("snapshot_unavailable", "internal_error")  # every route reads the snapshot; any route can fail
PATH_LEVEL = ("route_not_found", "method_not_allowed")  # answered for no operation: components.responses


_DOC_ONLY = ConfigDict(defer_build=True)  # only the OpenAPI reads these: no validator built at import (cold start)


class FieldProblem(BaseModel):
    """One broken rule of a validation_error."""

    model_config = _DOC_ONLY

    field: str = Field(description="the field, dotted for nested ones (customer_ids.3)")
    in_: Literal["query", "body"] = Field(alias="in")
    rule: str = Field(description="pydantic's error type: missing, int_type, less_than_equal, extra_forbidden...")
    message: str
    limit: dict[str, Any] | None = Field(default=None, description="the bound broken: {le: 90}, {max_length: 64}")


def _error_model(status: int) -> type[BaseModel]:
    codes: Any = Literal[tuple(e.code for e in ERROR_CODES.values() if e.status == status)]  # built at import
    detail = create_model(
        f"Error{status}Detail", __config__=_DOC_ONLY,
        __doc__=f"A {status} error: the code says which, the message says it in words.",
        code=(codes, Field(description="machine-readable: see docs/api.md, Errors")),
        message=(str, Field(description="for people; never a stack trace, a path or the token")),
        details=(list[FieldProblem] | dict[str, Any] | None,
                 Field(description="validation_error: the broken rules; others: an object or null")))
    return create_model(f"Error{status}", __config__=_DOC_ONLY, __doc__=f"The error body of a {status} answer.",
                        error=(detail, ...))


_MODELS = {status: _error_model(status) for status in sorted({e.status for e in ERROR_CODES.values()})}


def error_responses(*codes: str) -> dict[int, dict[str, Any]]:
    """OpenAPI responses for ``codes``, one per status, each code an example (summary: when; description: fix)."""
    out: dict[int, dict[str, Any]] = {}
    for code in dict.fromkeys(codes):
        err = ERROR_CODES[code]
        entry = out.setdefault(err.status, {"description": "", "content": {"application/json": {
            "model": _MODELS[err.status], "examples": {}}}})
        entry["description"] += ("; " if entry["description"] else "") + f"`{code}`: {err.when}"
        entry["content"]["application/json"]["examples"][code] = {
            "summary": err.when, "description": f"What to do: {err.fix}.",
            "value": {"error": {"code": code, "message": err.when, "details": None}}}
    return dict(sorted(out.items()))


def finish_openapi(doc: dict[str, Any]) -> dict[str, Any]:
    """What the routes cannot declare: the path-level errors, no generic 422 where nothing is validated, and no
    schema of Powertools' own error bodies (the API never sends them)."""
    for item in doc.get("paths", {}).values():
        for op in item.values():
            generic = op.get("responses", {}).get("422", {}).get("content", {}).get("application/json", {})
            if "HTTPValidationError" in str(generic.get("schema", "")):
                del op["responses"]["422"]  # Powertools adds it to every operation; ours has the error body
            op["responses"] = dict(sorted(op.get("responses", {}).items()))
    components = doc.setdefault("components", {})
    responses = components.setdefault("responses", {})
    for code in PATH_LEVEL:
        ((status, spec),) = error_responses(code).items()
        media = spec["content"]["application/json"]
        del media["model"]
        media["schema"] = {"$ref": f"#/components/schemas/Error{status}"}
        responses["".join(w.title() for w in code.split("_"))] = spec
    schemas = components.setdefault("schemas", {})
    for status, model in _MODELS.items():  # Error405 is used by no operation: publish every status's body
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in {**schema.pop("$defs", {}), f"Error{status}": schema}.items():
            schemas.setdefault(name, sub)
    used = json.dumps(doc.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f"/{name}\"" not in used:
            schemas.pop(name, None)
    return doc
