"""The HTTP surface of the local server + handler: documented responses, undeclared methods, hostile inputs, and the
rule that no error ever carries a stack trace, an internal path or the caller's token."""

from __future__ import annotations

import json

import pytest
from api_events import SECRET
from sec_helpers import AUDIENCE, ISSUER

from insights.cli.tokens import mint_token

ROUTES = ("/demand-insights/segments", "/demand-insights/clv", "/demand-insights/churn",
          "/demand-insights/at-risk-customers", "/demand-insights/forecast", "/demand-insights/price-elasticity",
          "/demand-insights/price-optimization", "/demand-insights/health", "/demand-insights/churn-outlook",
          "/demand-insights/cohorts", "/demand-insights/growth-projection", "/demand-insights/segments/transitions",
          "/demand-insights/exports/customer-scores")
TRACE_MARKERS = ("Traceback", 'File "', "/work/", "site-packages", ".py", "KeyError", "Exception")


@pytest.fixture(scope="module")
def token() -> str:
    return mint_token(SECRET, issuer=ISSUER, audience=AUDIENCE, scopes=("insights:read",))


def _no_trace(text: str) -> None:
    for marker in TRACE_MARKERS:
        assert marker not in text, f"{marker!r} in an error body"


def test_every_documented_operation_documents_its_success_response(http):
    doc = http("GET", "/demand-insights/openapi.json").json()
    for path in ROUTES:
        for method, op in doc["paths"][path].items():
            assert "200" in op["responses"], f"{method.upper()} {path} does not document 200"
            for code in op["responses"]:
                assert code == "200" or code.startswith(("4", "5")), (path, code)


@pytest.mark.parametrize("method", ["TRACE", "DELETE", "PUT", "PATCH", "OPTIONS", "QUERY", "PROPFIND"])
def test_undeclared_methods_get_the_json_error_body(http, token, method):
    reply = http(method, "/demand-insights/segments", token=token)
    assert 400 <= reply.status < 500, reply.text
    assert set(reply.json()["error"]) == {"code", "message", "details"}
    _no_trace(reply.text)


@pytest.mark.parametrize("customer_id", ["'OR'1'='1", "' OR 1=1 --", "../../etc/passwd", "%00",
                                         "C001;DROP%20TABLE", "${jndi:ldap://x}", "{{7*7}}", "A" * 64])
def test_hostile_ids_are_answered_as_unknown_or_refused_never_as_errors(http, token, customer_id):
    reply = http("POST", "/demand-insights/clv", token=token, body={"customer_ids": [customer_id, "C001"]})
    if " " in customer_id:  # ids are printable ASCII without spaces: refused by validation, naming the rule
        assert reply.status == 422 and reply.json()["error"]["details"][0]["rule"] == "string_pattern_mismatch"
        return
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["not_found"] == [customer_id] and [p["customer_id"] for p in body["predictions"]] == ["C001"]


@pytest.mark.parametrize("body", [b"\xff\xfe\x00garbage", b"[" * 5000, b'{"customer_ids": ' + b"[" * 3000,
                                  json.dumps({"customer_ids": ["C1"] * 1001}).encode(),
                                  json.dumps({"customer_ids": ["C1\u0000"]}).encode(),
                                  json.dumps({"customer_ids": ["x" * 65]}).encode(),
                                  json.dumps({"customer_ids": [], "admin": True}).encode()])
def test_malformed_and_hostile_bodies_are_400_or_422_without_a_trace(http, token, body):
    reply = http("POST", "/demand-insights/churn", token=token, body=body)
    assert reply.status in (400, 422), reply.text
    assert set(reply.json()["error"]) == {"code", "message", "details"}
    _no_trace(reply.text)


def test_an_oversized_body_is_refused_before_it_is_read(http, token):
    import http.client as httplib
    from urllib.parse import urlsplit

    parts = urlsplit(http.base)
    conn = httplib.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest("POST", "/demand-insights/churn")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(2 << 20))
    conn.endheaders()  # the 2 MB body is never sent: the server must answer from the headers alone
    reply = conn.getresponse()
    text = reply.read().decode()
    conn.close()
    assert reply.status == 413
    assert json.loads(text)["error"]["code"] == "payload_too_large"
    _no_trace(text)


def test_an_internal_error_is_a_bare_500_with_a_correlation_id(http, token, monkeypatch):
    from insights.api import customers

    def boom(*args, **kwargs):
        raise KeyError("/work/secret/path.npy")

    monkeypatch.setattr(customers, "segments", boom)
    reply = http("GET", "/demand-insights/segments", token=token)
    assert reply.status == 500
    assert reply.json()["error"]["code"] == "internal_error"
    _no_trace(reply.text)
    assert reply.headers.get("X-Correlation-Id")


def test_subnormal_price_and_quantity_are_answered_not_a_500(http, token):
    """Found by the known-ids fuzz round: 5e-324 x 5e-324 underflows to a revenue of 0 (was a ZeroDivisionError)."""
    reply = http("POST", "/demand-insights/price-optimization", token=token,
                 body={"product_id": "P1", "current_price": 5e-324, "current_quantity": 5e-324})
    assert reply.status in (200, 422), reply.text
    _no_trace(reply.text)


NEW_ROUTES = (("POST", "/demand-insights/mcp"), ("POST", "/demand-insights/experiments/sample-size"),
              ("POST", "/demand-insights/experiments/analyze"), ("GET", "/demand-insights/segments/traits"))


@pytest.mark.parametrize(("method", "path"), NEW_ROUTES)
def test_the_issue_14_routes_refuse_bad_tokens_before_reading_anything(http, method, path):
    import time

    import jwt

    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "attacker", "scope": "insights:read"}
    tokens = [None, jwt.encode({**claims, "exp": now - 3600}, SECRET, algorithm="HS256"),
              jwt.encode({**claims, "exp": now + 600}, "", algorithm="none"),
              jwt.encode({**claims, "exp": now + 600}, "another-secret-" + "x" * 40, algorithm="HS256"),
              mint_token(SECRET, issuer=ISSUER, audience=AUDIENCE, scopes=("something:else",))]
    for bad in tokens:
        reply = http(method, path, token=bad, body={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
                     if method == "POST" else None)
        assert reply.status in (401, 403), (path, reply.text)
        assert "tools" not in reply.text and "result" not in reply.text
        _no_trace(reply.text)


@pytest.mark.parametrize("body", [b"\xff\xfe\x00garbage", b"[" * 5000, b'{"jsonrpc": "2.0", "id": ' + b"[" * 3000,
                                  json.dumps({"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"}).encode(),
                                  json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                              "params": {"name": "predict_churn", "arguments": [1, 2]}}).encode(),
                                  json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                              "params": {"name": "get_segments",
                                                         "arguments": {"n_clusters": "1; DROP"}}}).encode(),
                                  json.dumps({"jsonrpc": "1.0", "id": 1, "method": "tools/list"}).encode()])
def test_hostile_json_rpc_bodies_are_protocol_errors_without_a_trace(http, token, body):
    reply = http("POST", "/demand-insights/mcp", token=token, body=body)
    assert reply.status in (200, 400), reply.text
    answer = reply.json()
    assert ("error" in answer) or answer["result"].get("isError"), answer
    _no_trace(reply.text)
