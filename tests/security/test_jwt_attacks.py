"""JWT attacks against the real API: each is sent through the local HTTP server (HTTP API payload 2.0) and as a REST
API (payload 1.0) event, and each must be rejected with 401/403, the one error body, no data and no echo of the token.

The API accepts HS256 (shared secret) *and* RS256/ES256 (JWKS) here, the widest allow-list a deployment may use.
Positive controls (valid tokens of every algorithm get data) make sure a rejection is about the attack.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from api_events import SECRET, v1
from cryptography.hazmat.primitives import serialization
from sec_helpers import AUDIENCE, ISSUER, Reply, b64url

AT_RISK = "/demand-insights/at-risk-customers"
TRANSPORTS = ("http", "rest")
LEAK_MARKERS = ("@example.com", "C001", "C004", "churn_probability", "predicted_clv", "value_at_risk",
                "Traceback", 'File "', "segments")


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "storefront-1", "scope": "insights:read customers:pii",
            "iat": now, "nbf": now, "exp": now + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs(secret: str = SECRET, alg: str = "HS256", headers: dict[str, Any] | None = None, **kw: Any) -> str:
    return jwt.encode(claims(**kw), secret, algorithm=alg, headers=headers)


def rs(keys, key: str = "rsa", kid: str = "rsa-1", alg: str = "RS256", headers: dict[str, Any] | None = None,
       **kw: Any) -> str:
    return jwt.encode(claims(**kw), keys[key], algorithm=alg, headers={"kid": kid, **(headers or {})})


def es(keys, kid: str = "ec-1", **kw: Any) -> str:
    return jwt.encode(claims(**kw), keys["ec"], algorithm="ES256", headers={"kid": kid})


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: str = "") -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}.{signature}"


@pytest.fixture(params=TRANSPORTS)
def send(request, http, invoke):
    """send(authorization=..., path=..., query=...) -> Reply, over the chosen transport."""
    transport = request.param

    def call(authorization: str | None, *, path: str = AT_RISK, query: str = "threshold=0&limit=1000",
             extra_headers: dict[str, str] | None = None) -> Reply:
        headers = dict(extra_headers or {})
        if authorization is not None:
            headers["Authorization"] = authorization
        if transport == "http":
            return http("GET", f"{path}?{query}" if query else path, headers=headers)
        event = v1("GET", path, query=dict(p.split("=", 1) for p in query.split("&")) if query else None)
        event["headers"] = {k: v for k, v in event["headers"].items() if k.lower() != "authorization"}
        event["multiValueHeaders"] = {k: v for k, v in (event.get("multiValueHeaders") or {}).items()
                                      if k.lower() != "authorization"}
        event["headers"].update(headers)
        event["multiValueHeaders"].update({k: [v] for k, v in headers.items()})
        raw = invoke(event)
        # API Gateway (REST) sends both maps; a route's own error answer carries its headers in multiValueHeaders
        multi = {k: str(v[-1]) for k, v in (raw.get("multiValueHeaders") or {}).items() if v}
        return Reply(raw["statusCode"], {**multi, **{k: str(v) for k, v in (raw.get("headers") or {}).items()}},
                     raw["body"])

    call.transport = transport
    return call


def assert_rejected(reply: Reply, *, status: int = 401, secret_parts: tuple[str, ...] = ()) -> dict[str, Any]:
    """401/403 with exactly the error body, a bearer challenge, a correlation id, no data and no echo."""
    assert reply.status == status, reply.text
    body = reply.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    for marker in LEAK_MARKERS:
        assert marker not in reply.text, f"{marker!r} leaked into a {reply.status} body"
    headers = {k.lower(): v for k, v in reply.headers.items()}
    assert headers.get("www-authenticate", "").startswith("Bearer realm="), headers
    assert headers.get("x-correlation-id")
    everything = reply.text + json.dumps(headers)
    for part in secret_parts:
        if len(part) >= 8:
            assert part not in everything, "the token (or part of it) was echoed back"
    return body


def token_parts(token: str) -> tuple[str, ...]:
    return (token, *[p for p in token.split(".") if p])


# ------------------------------------------------------------------------------------ positive controls

def test_valid_tokens_of_every_allowed_algorithm_get_data(send, keys):
    for token in (hs(), rs(keys), es(keys)):
        reply = send(f"Bearer {token}")
        assert reply.status == 200, reply.text
        assert reply.json()["at_risk_customers"], "the control must return customers or the rejections prove nothing"


# ------------------------------------------------------------------------------------ attacks

@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_rejected(send, alg):
    token = unsigned({"alg": alg, "typ": "JWT"}, claims())
    body = assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))
    assert body["error"]["code"] == "invalid_token"


def test_alg_none_with_a_leftover_signature_is_rejected(send):
    token = unsigned({"alg": "none"}, claims(), signature=b64url(b"x" * 32))
    assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))


@pytest.mark.parametrize("encoding", ["pem", "der", "jwk"])
def test_hs256_signed_with_the_rs_public_key_is_rejected(send, keys, encoding):
    """Key confusion: the attacker HMACs with the public key, hoping it is used as the HS256 secret."""
    public = keys["rsa"].public_key()
    key = {"pem": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
           "der": public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
           "jwk": json.dumps(keys["jwks"]["keys"][0]).encode()}[encoding]
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    payload = b64url(json.dumps(claims()).encode())
    sig = b64url(hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    token = f"{header}.{payload}.{sig}"
    assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))


@pytest.mark.parametrize("signer", ["hs256", "rs256", "es256"])
def test_expired_token_is_rejected_with_401(send, keys, signer):
    past = int(time.time()) - 3600
    kw = {"iat": past - 600, "nbf": past - 600, "exp": past}
    token = {"hs256": lambda: hs(**kw), "rs256": lambda: rs(keys, **kw), "es256": lambda: es(keys, **kw)}[signer]()
    body = assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))
    assert "expired" in body["error"]["message"]


def test_token_expired_just_beyond_the_leeway_is_rejected(send):
    now = int(time.time())
    token = hs(iat=now - 600, nbf=now - 600, exp=now - 45)  # leeway is 30 s
    assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))


@pytest.mark.parametrize("signer", ["hs256", "rs256"])
def test_not_yet_valid_token_is_rejected(send, keys, signer):
    future = int(time.time()) + 3600
    kw = {"nbf": future, "exp": future + 600}
    token = hs(**kw) if signer == "hs256" else rs(keys, **kw)
    body = assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))
    assert "not valid yet" in body["error"]["message"]


@pytest.mark.parametrize("issuer", ["https://evil.example", "", "demand-insights-local ", "DEMAND-INSIGHTS-LOCAL"])
def test_wrong_issuer_is_rejected(send, keys, issuer):
    for token in (hs(iss=issuer), rs(keys, iss=issuer)):
        assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))


@pytest.mark.parametrize("audience", ["another-api", ["another-api"], "demand-insights-admin", ""])
def test_wrong_audience_is_rejected(send, keys, audience):
    for token in (hs(aud=audience), rs(keys, aud=audience)):
        assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))


def test_missing_time_and_identity_claims_are_rejected(send):
    for missing in ("exp", "iss", "aud", "sub"):
        payload = claims()
        payload.pop(missing)
        token = jwt.encode(payload, SECRET, algorithm="HS256")
        assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))


def test_bad_signature_is_rejected(send, keys):
    good = hs(scope="insights:read")
    header, payload, sig = good.split(".")
    escalated = b64url(json.dumps(claims(scope="insights:read customers:pii", sub="admin")).encode())
    flipped = sig[:-4] + ("AAAA" if not sig.endswith("AAAA") else "BBBB")
    forged = [f"{header}.{escalated}.{sig}",                       # payload changed, old signature
              f"{header}.{payload}.{flipped}",                      # signature bytes changed
              hs(secret="not-the-secret-" + "x" * 40),              # signed with another secret
              f"{header}.{payload}.{b64url(hmac.new(b'', f'{header}.{payload}'.encode(), hashlib.sha256).digest())}",
              f"{header}.{payload}.",                               # signature stripped
              rs(keys, key="attacker")]                             # attacker's key, issuer's kid
    for token in forged:
        assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))


def test_unknown_kid_is_rejected(send, keys):
    for token in (rs(keys, key="attacker", kid="attacker-1"), rs(keys, kid="rotated-away"),
                  rs(keys, kid="ec-1"), rs(keys, kid="../../../../etc/passwd"), rs(keys, kid="' OR 1=1 --")):
        body = assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))
        assert body["error"]["code"] == "invalid_token"


def test_keys_named_by_the_token_itself_are_never_fetched(send, keys, jwks):
    """jku / x5u / jwk headers pointing at the attacker's own key are ignored: only the configured JWKS counts."""
    hits_before = list(jwks["hits"])
    attacker_jwk = keys["attacker_jwks"]["keys"][0]
    for extra in ({"jku": jwks["attacker_url"]}, {"x5u": jwks["attacker_url"]}, {"jwk": attacker_jwk}):
        token = rs(keys, key="attacker", kid="attacker-1", headers=extra)
        assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))
    assert "/attacker/jwks.json" not in jwks["hits"][len(hits_before):]


def test_an_algorithm_off_the_allow_list_is_rejected(send, keys):
    for token in (hs(alg="HS512"), hs(alg="HS384"), rs(keys, alg="RS512"), rs(keys, alg="PS256")):
        assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))


def test_a_header_algorithm_that_does_not_match_the_key_is_rejected(send, keys):
    """An ES256 signature presented as RS256 (and the reverse) never verifies."""
    es_token = es(keys)
    h, p, s = es_token.split(".")
    relabeled = f"{b64url(json.dumps({'alg': 'RS256', 'kid': 'ec-1'}).encode())}.{p}.{s}"
    rs_token = rs(keys)
    h2, p2, s2 = rs_token.split(".")
    relabeled2 = f"{b64url(json.dumps({'alg': 'ES256', 'kid': 'rsa-1'}).encode())}.{p2}.{s2}"
    for token in (relabeled, relabeled2):
        assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))


@pytest.mark.parametrize("scope", ["", "insights:write", "insights:reader", "insights", "customers:pii",
                                   "INSIGHTS:READ", "insights:read,customers:pii"])
def test_missing_scope_is_403_with_no_data(send, keys, scope):
    for token in (hs(scope=scope), rs(keys, scope=scope)):
        body = assert_rejected(send(f"Bearer {token}"), status=403, secret_parts=token_parts(token))
        assert body["error"]["code"] == "insufficient_scope"


def test_pii_request_without_the_pii_scope_gets_no_email(send, keys):
    """A customers:pii-shaped request (at-risk with every customer) by a token without that scope: no email."""
    for token in (hs(scope="insights:read"), rs(keys, scope="insights:read")):
        reply = send(f"Bearer {token}")
        assert reply.status == 200
        customers = reply.json()["at_risk_customers"]
        assert customers and all("email" not in c for c in customers)
        assert "@" not in reply.text
    with_pii = send(f"Bearer {hs(scope='insights:read customers:pii')}")
    assert any((c.get("email") or "").endswith("@example.com") for c in with_pii.json()["at_risk_customers"]), \
        "control: the pii scope must show emails, or the check above proves nothing"


def test_pii_scope_smuggled_in_unverified_claims_is_ignored(send):
    """scope in the header, or pii in a second claim of an otherwise valid token without it: still no email."""
    token = jwt.encode(claims(scope="insights:read", roles=["customers:pii"], permissions="customers:pii"),
                       SECRET, algorithm="HS256", headers={"scope": "customers:pii"})
    reply = send(f"Bearer {token}")
    assert reply.status == 200 and "@" not in reply.text


EXPORT = "/demand-insights/exports/customer-scores"


@pytest.mark.parametrize("scope", ["insights:read", "insights:read customers:pii", "insights:read customers:exports",
                                   "insights:read customers:export:all", "customers:export"])
def test_the_export_needs_its_own_scope_beside_read(send, keys, scope):
    """No export link without customers:export, and customers:export alone (no insights:read) is not enough."""
    for token in (hs(scope=scope), rs(keys, scope=scope)):
        body = assert_rejected(send(f"Bearer {token}", path=EXPORT, query="format=csv"), status=403,
                               secret_parts=token_parts(token))
        assert body["error"]["code"] == "insufficient_scope"


def test_export_scope_smuggled_in_unverified_claims_is_ignored(send):
    token = jwt.encode(claims(scope="insights:read", roles=["customers:export"], permissions="customers:export"),
                       SECRET, algorithm="HS256", headers={"scope": "customers:export"})
    reply = send(f"Bearer {token}", path=EXPORT, query="format=csv")
    assert reply.status == 403 and "url" not in reply.text


@pytest.mark.parametrize("value", [
    "truncated-half", "truncated-tail", "abc", "a.b.c", "....", "e30.e30.e30", "eyJhbGciOiJIUzI1NiJ9",
    "%%%.%%%.%%%", "ä.ö.ü", "null", '{"alg":"none"}', "Bearer-nested", "two-tokens"])
def test_truncated_and_garbage_tokens_are_rejected(send, value):
    good = hs()
    token = {"truncated-half": good[: len(good) // 2], "truncated-tail": good[:-7],
             "Bearer-nested": f"Bearer {good}", "two-tokens": f"{good} {good}"}.get(value, value)
    if send.transport == "http" and not token.isascii():
        pytest.skip("HTTP headers are Latin-1 on the wire; the event transport covers non-ASCII")
    assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(good))


@pytest.mark.parametrize("authorization", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc.def.ghi",
                                           "Digest username=admin", "bearer"])
def test_malformed_authorization_headers_are_rejected(send, authorization):
    assert_rejected(send(authorization))


@pytest.mark.parametrize("size", [8_193, 60_000])
def test_an_oversized_token_is_rejected(send, size):
    token = "A" * size
    body = assert_rejected(send(f"Bearer {token}"))
    assert len(body["error"]["message"]) < 200


def test_a_valid_token_with_an_oversized_header_is_rejected(send):
    token = hs(headers={"pad": "x" * 12_000})
    assert len(token) > 8_192
    assert_rejected(send(f"Bearer {token}"), secret_parts=token_parts(token))


@pytest.mark.parametrize("name", ["access_token", "token", "jwt", "id_token", "authorization"])
def test_a_token_in_the_query_string_instead_of_the_header_is_rejected(send, name):
    token = hs()
    value = f"Bearer%20{token}" if name == "authorization" else token
    body = assert_rejected(send(None, query=f"threshold=0&limit=1000&{name}={value}"),
                           secret_parts=token_parts(token))
    assert body["error"]["code"] == "missing_token"


def test_a_token_in_a_cookie_or_another_header_is_not_accepted(send):
    token = hs()
    for headers in ({"Cookie": f"access_token={token}"}, {"X-Access-Token": token}, {"X-Api-Key": token},
                    {"Proxy-Authorization": f"Bearer {token}"}):
        assert_rejected(send(None, extra_headers=headers), secret_parts=token_parts(token))


def test_rejections_never_write_the_token_to_the_logs(send, capfd, caplog):
    tokens = [hs(secret="wrong-secret-" + "y" * 40), hs(iss="https://evil.example"), hs(scope="nothing")]
    capfd.readouterr()
    caplog.clear()
    with caplog.at_level("DEBUG"):
        for token in tokens:
            assert send(f"Bearer {token}").status in (401, 403)
    out, err = capfd.readouterr()
    records = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    logs = out + err + records
    assert "request rejected" in logs, "the rejection should be logged"
    for token in tokens:
        for part in token_parts(token):
            assert part not in logs
