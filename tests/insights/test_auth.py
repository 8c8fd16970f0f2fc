"""JWT rules of insights.api.auth: signatures, algorithms, claims, scopes, key sources, the dev secret and `token`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import threading
import time
from argparse import Namespace
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from insights.api.auth import MAX_TOKEN_BYTES, SCOPE_READ, Authenticator, authenticator_from_settings, www_authenticate
from insights.cli.serve import token_command
from insights.cli.tokens import dev_secret, mint_token
from insights.config import Settings
from insights.errors import AuthError, AuthNotConfigured, ConfigError

SECRET = "unit-test-secret-" + "s" * 40
ISS, AUD = "https://issuer.example.com/", "demand-insights"


def _auth(**kw):
    kw.setdefault("algorithms", ["HS256"])
    kw.setdefault("secret", lambda: SECRET)
    return Authenticator(issuer=ISS, audience=AUD, leeway_s=30, **kw)


def _claims(**over):
    now = int(time.time())
    claims = {"iss": ISS, "aud": AUD, "sub": "storefront-1", "scope": SCOPE_READ, "iat": now, "nbf": now,
              "exp": now + 600}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _hs(secret=SECRET, **over):
    return jwt.encode(_claims(**over), secret, algorithm="HS256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _reject(auth, header, status=401):
    with pytest.raises(AuthError) as info:
        auth.authenticate(header)
    assert info.value.status == status
    token = header.split(" ", 1)[-1] if header else ""
    if len(token) > 8:
        assert token not in info.value.message and token not in www_authenticate(info.value)
    return info.value


def test_a_valid_hs256_token_gives_the_principal_and_its_scopes():
    p = _auth().authenticate(f"Bearer {_hs(scope='insights:read customers:pii')}")
    assert p.subject == "storefront-1" and p.scopes == {"insights:read", "customers:pii"}


def test_scopes_are_read_from_scp_lists_too():
    p = _auth().authenticate(f"Bearer {_hs(scope=None, scp=['insights:read'])}")
    assert p.has(SCOPE_READ)


def test_missing_header_is_401_with_a_bare_bearer_challenge():
    err = _reject(_auth(), None)
    assert err.code == "missing_token" and www_authenticate(err) == 'Bearer realm="demand-insights"'


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc.def.ghi", "Bearer a b"])
def test_a_header_that_is_not_bearer_token_is_rejected(header):
    _reject(_auth(), header)


def test_expired_token_is_rejected_with_401():
    err = _reject(_auth(), f"Bearer {_hs(exp=int(time.time()) - 120)}")
    assert "expired" in err.message and 'error="invalid_token"' in www_authenticate(err)


def test_token_expired_within_the_leeway_is_accepted():
    _auth().authenticate(f"Bearer {_hs(exp=int(time.time()) - 10)}")


def test_token_not_yet_valid_is_rejected_beyond_the_leeway():
    err = _reject(_auth(), f"Bearer {_hs(nbf=int(time.time()) + 300)}")
    assert "not valid yet" in err.message
    _auth().authenticate(f"Bearer {_hs(nbf=int(time.time()) + 10)}")


@pytest.mark.parametrize(("claim", "value", "word"), [("iss", "https://evil.example.com/", "issuer"),
                                                      ("aud", "someone-else", "audience")])
def test_wrong_issuer_or_audience_is_rejected(claim, value, word):
    assert word in _reject(_auth(), f"Bearer {_hs(**{claim: value})}").message


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "sub"])
def test_a_token_missing_a_required_claim_is_rejected(claim):
    assert claim in _reject(_auth(), f"Bearer {_hs(**{claim: None})}").message


def test_bad_signature_is_rejected():
    _reject(_auth(), f"Bearer {_hs(secret='another-secret-' + 'x' * 40)}")


def test_alg_none_is_rejected_even_if_the_claims_are_fine():
    token = f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(_claims()).encode())}."
    _reject(_auth(algorithms=["HS256", "RS256"]), f"Bearer {token}")


def test_none_cannot_be_put_on_the_allow_list():
    with pytest.raises(ValueError, match="none"):
        _auth(algorithms=["none"])


@pytest.mark.parametrize("header", ["Bearer garbage", "Bearer a.b.c", "Bearer " + _hs()[:-20]])
def test_garbage_and_truncated_tokens_are_rejected(header):
    _reject(_auth(), header)


def test_an_oversized_token_is_rejected_before_parsing():
    assert "too large" in _reject(_auth(), "Bearer " + "a" * MAX_TOKEN_BYTES).message


def test_an_algorithm_off_the_allow_list_is_rejected():
    token = jwt.encode(_claims(), SECRET * 2, algorithm="HS512")
    _reject(_auth(algorithms=["HS256"]), f"Bearer {token}")


def test_missing_scope_is_403_insufficient_scope():
    auth = _auth()
    p = auth.authenticate(f"Bearer {_hs(scope='something:else')}")
    with pytest.raises(AuthError) as info:
        auth.require(p, SCOPE_READ)
    assert info.value.status == 403 and 'error="insufficient_scope"' in www_authenticate(info.value)


def test_no_secret_configured_is_an_operator_error_not_a_401():
    with pytest.raises(AuthNotConfigured):
        _auth(secret=lambda: None).authenticate(f"Bearer {_hs()}")


# -- asymmetric keys through a JWKS endpoint on 127.0.0.1 --

@pytest.fixture(scope="module")
def keys():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    rsa_jwk.update(kid="rsa-1", use="sig", alg="RS256")
    ec_jwk.update(kid="ec-1", use="sig", alg="ES256")
    return {"rsa": rsa_key, "ec": ec_key, "jwks": {"keys": [rsa_jwk, ec_jwk]}}


@pytest.fixture(scope="module")
def jwks_url(keys):
    body = json.dumps(keys["jwks"]).encode()
    hits = []

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = HTTPServer(("127.0.0.1", 0), H)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", hits
    server.shutdown()
    server.server_close()


def _jwks_auth(url, algorithms=("RS256", "ES256")):
    settings = Settings(jwt_jwks_url=url, jwt_issuer=ISS, jwt_audience=AUD, jwt_algorithms=",".join(algorithms))
    return authenticator_from_settings(settings)


def test_rs256_and_es256_tokens_verify_through_the_jwks_url_with_cached_keys(keys, jwks_url):
    url, hits = jwks_url
    auth = _jwks_auth(url)
    before = len(hits)
    rs = jwt.encode(_claims(), keys["rsa"], algorithm="RS256", headers={"kid": "rsa-1"})
    es = jwt.encode(_claims(), keys["ec"], algorithm="ES256", headers={"kid": "ec-1"})
    for _ in range(3):
        assert auth.authenticate(f"Bearer {rs}").subject == "storefront-1"
        assert auth.authenticate(f"Bearer {es}").has(SCOPE_READ)
    assert len(hits) - before == 1  # the key set was fetched once and cached


def test_unknown_kid_is_rejected(keys, jwks_url):
    token = jwt.encode(_claims(), keys["rsa"], algorithm="RS256", headers={"kid": "rotated-away"})
    assert "signing key" in _reject(_jwks_auth(jwks_url[0]), f"Bearer {token}").message


def test_hs256_signed_with_the_rsa_public_key_is_rejected(keys, jwks_url):
    """The classic key-confusion attack: the public key used as an HMAC secret never verifies."""
    public_pem = keys["rsa"].public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': 'rsa-1'}).encode())}." \
                    f"{_b64(json.dumps(_claims()).encode())}"
    sig = _b64(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    forged = f"Bearer {signing_input}.{sig}"
    _reject(_jwks_auth(jwks_url[0]), forged)  # HS256 is not on the asymmetric allow-list
    mixed = _jwks_auth(jwks_url[0], algorithms=("RS256", "HS256"))
    with pytest.raises(AuthNotConfigured):  # HS256 is only ever checked against a configured secret
        mixed.authenticate(forged)
    mixed._secret = lambda: SECRET
    _reject(mixed, forged)


def test_a_rs256_token_is_rejected_when_only_hs256_is_allowed(keys):
    token = jwt.encode(_claims(), keys["rsa"], algorithm="RS256", headers={"kid": "rsa-1"})
    _reject(_auth(algorithms=["HS256"]), f"Bearer {token}")


# -- secrets from SSM Parameter Store and Secrets Manager (moto) --

@pytest.fixture
def aws(monkeypatch):
    moto = pytest.importorskip("moto")
    for k, v in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(k, v)
    with moto.mock_aws():
        yield


def test_hs256_secret_from_ssm_parameter_is_read_once_and_cached(aws):
    import boto3

    ssm = boto3.client("ssm", region_name="us-east-1")
    name = f"/demand-insights/jwt-secret-{time.time_ns()}"
    ssm.put_parameter(Name=name, Value=SECRET, Type="SecureString")
    auth = authenticator_from_settings(Settings(jwt_secret_parameter=name, jwt_issuer=ISS, jwt_audience=AUD))
    assert auth.authenticate(f"Bearer {_hs()}").subject == "storefront-1"
    ssm.delete_parameter(Name=name)
    assert auth.authenticate(f"Bearer {_hs()}").subject == "storefront-1"  # served from the cache


def test_hs256_secret_from_secrets_manager(aws):
    import boto3

    sm = boto3.client("secretsmanager", region_name="us-east-1")
    arn = sm.create_secret(Name=f"demand-insights-jwt-{time.time_ns()}", SecretString=SECRET)["ARN"]
    auth = authenticator_from_settings(Settings(jwt_secret_arn=arn, jwt_issuer=ISS, jwt_audience=AUD))
    assert auth.authenticate(f"Bearer {_hs()}").has(SCOPE_READ)


def test_an_unreadable_secret_is_auth_not_configured(aws):
    auth = authenticator_from_settings(Settings(jwt_secret_parameter="/does/not/exist", jwt_issuer=ISS,
                                                jwt_audience=AUD))
    with pytest.raises(AuthNotConfigured):
        auth.authenticate(f"Bearer {_hs()}")


# -- local: the per-machine dev secret and `python -m insights token` --

def test_dev_secret_is_created_once_with_mode_600(tmp_path):
    first = dev_secret(tmp_path / "snaps")
    path = tmp_path / "snaps" / ".dev-jwt-secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) >= 40 and dev_secret(tmp_path / "snaps") == first


def test_dev_secret_refuses_s3_locations():
    with pytest.raises(ConfigError, match="INSIGHTS_JWT_SECRET"):
        dev_secret("s3://bucket/prefix")


def test_token_command_prints_only_a_token_the_api_accepts(tmp_path, capsys):
    settings = Settings(snapshots=str(tmp_path))
    args = Namespace(scope=["insights:read", "customers:pii"], ttl=120, subject="me")
    assert token_command(args, settings) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    token = out.strip()
    auth = Authenticator(algorithms=["HS256"], issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                         secret=lambda: dev_secret(tmp_path))
    p = auth.authenticate(f"Bearer {token}")
    assert p.subject == "me" and p.scopes == {"insights:read", "customers:pii"}
    assert p.claims["exp"] - p.claims["iat"] == 120


def test_token_command_uses_the_configured_secret_when_set(tmp_path, capsys):
    settings = Settings(snapshots=str(tmp_path), jwt_secret=SECRET)
    assert token_command(Namespace(scope=None, ttl=60, subject="x"), settings) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"], audience=settings.jwt_audience)
    assert claims["scope"] == SCOPE_READ
    assert not (tmp_path / ".dev-jwt-secret").exists()


def test_mint_token_sets_the_time_claims():
    token = mint_token(SECRET, issuer=ISS, audience=AUD, ttl_s=60, now=1_000_000)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUD, options={"verify_exp": False,
                                                                                  "verify_nbf": False,
                                                                                  "verify_iat": False})
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (1_000_000, 1_000_000, 1_000_060)
