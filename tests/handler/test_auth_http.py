"""Auth through the real handler: 401 with WWW-Authenticate, 403 for scope, PII gating, no token echoed."""

from __future__ import annotations

import io

import pytest
from api_events import body_of, headers_of, load_event, v1, v2, with_token

from insights.config import Settings

P = "/demand-insights"


@pytest.mark.parametrize("build", [v1, v2], ids=["rest-v1", "http-v2"])
def test_missing_token_is_401_with_a_bearer_challenge_and_no_data(invoke, build):
    r = invoke(build("POST", f"{P}/churn", body={"customer_ids": ["C001"]}))
    assert r["statusCode"] == 401
    assert headers_of(r)["www-authenticate"] == 'Bearer realm="demand-insights"'
    assert body_of(r)["error"]["code"] == "missing_token"
    assert "C001" not in r["body"] and "churn_probability" not in r["body"]


def test_invalid_token_is_401_and_the_token_is_never_echoed(invoke, token):
    bad = token() + "tampered"
    r = invoke(v2("GET", f"{P}/segments", token=bad))
    assert r["statusCode"] == 401
    assert 'error="invalid_token"' in headers_of(r)["www-authenticate"]
    assert bad not in r["body"] and bad not in str(r["headers"])


def test_token_signed_with_another_secret_is_401(invoke, token):
    r = invoke(v2("GET", f"{P}/segments", token=token(secret="not-the-api-secret-" + "z" * 40)))
    assert r["statusCode"] == 401


def test_expired_token_is_rejected_with_401(invoke, token):
    r = invoke(v2("GET", f"{P}/segments", token=token(ttl_s=-300)))
    assert r["statusCode"] == 401 and "expired" in body_of(r)["error"]["message"]


def test_wrong_audience_is_401(invoke, token):
    assert invoke(v2("GET", f"{P}/segments", token=token(audience="other-api")))["statusCode"] == 401


def test_token_without_insights_read_is_403(invoke, token):
    r = invoke(v2("GET", f"{P}/segments", token=token("customers:pii")))
    assert r["statusCode"] == 403
    assert body_of(r)["error"]["code"] == "insufficient_scope"
    assert 'scope="insights:read"' in headers_of(r)["www-authenticate"]


def test_token_in_the_query_string_is_not_accepted(invoke, token):
    r = invoke(v2("GET", f"{P}/segments", query={"access_token": token()}))
    assert r["statusCode"] == 401


def test_auth_runs_before_validation(invoke):
    r = invoke(v2("POST", f"{P}/forecast", body={"product_id": "", "forecast_days": 1000}))
    assert r["statusCode"] == 401


def test_unknown_routes_need_a_token_too(invoke, token):
    assert invoke(v2("GET", f"{P}/admin"))["statusCode"] == 401
    assert invoke(v2("GET", f"{P}/admin", token=token()))["statusCode"] == 404


def test_emails_need_the_pii_scope(invoke, token):
    plain = body_of(invoke(v2("GET", f"{P}/at-risk-customers", query={"threshold": "0"}, token=token())))
    pii = body_of(invoke(v2("GET", f"{P}/at-risk-customers", query={"threshold": "0"}, token=token.pii())))
    assert all("email" not in c for c in plain["at_risk_customers"])
    assert all("email" in c for c in pii["at_risk_customers"])
    assert "@example.com" not in str(plain) and "@example.com" in str(pii)


def test_lambda_without_key_material_answers_503_and_logs_why(api, invoke, token, snapshot_root):
    api.configure(Settings(snapshots=str(snapshot_root)))  # no secret, no JWKS: never a dev-secret fallback
    stream = io.StringIO()
    previous = api.logger.registered_handler.setStream(stream)
    try:
        r = invoke(with_token(load_event("apigw_v2_get_segments"), token()))
    finally:
        api.logger.registered_handler.setStream(previous)
    assert r["statusCode"] == 503 and body_of(r)["error"]["code"] == "auth_not_configured"
    assert "INSIGHTS_JWT_SECRET" in stream.getvalue()
    assert not (snapshot_root / ".dev-jwt-secret").exists()
    assert invoke(v2("GET", f"{P}/health"))["statusCode"] == 200
