"""Fixtures for the security and reliability tests: keys, a JWKS endpoint and the real API over HTTP, all on 127.0.0.1.

The API is the real ``handler.lambda_handler`` behind the real local server adapter (insights.cli.server), configured
with the most permissive allow-list a deployment may use (HS256 with a shared secret *and* RS256/ES256 through a
JWKS URL), so key-confusion attacks have the widest surface to try.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

HANDLER_TESTS = Path(__file__).resolve().parents[1] / "handler"
if str(HANDLER_TESTS) not in sys.path:
    sys.path.insert(0, str(HANDLER_TESTS))

from api_events import SECRET, FakeContext  # noqa: E402
from sec_helpers import ALLOWED, AUDIENCE, ISSUER, Reply  # noqa: E402
from snapshot_factory import write_snapshot  # noqa: E402

from insights.api.auth import Authenticator  # noqa: E402
from insights.config import Settings  # noqa: E402


@pytest.fixture(scope="session")
def keys() -> dict[str, Any]:
    """The issuer's RSA and EC keys (published in the JWKS) and an attacker's RSA key (never published)."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    rsa_jwk.update(kid="rsa-1", use="sig", alg="RS256")
    ec_jwk.update(kid="ec-1", use="sig", alg="ES256")
    attacker_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    attacker_jwk.update(kid="rsa-1", use="sig", alg="RS256")
    return {"rsa": rsa_key, "ec": ec_key, "attacker": attacker, "jwks": {"keys": [rsa_jwk, ec_jwk]},
            "attacker_jwks": {"keys": [attacker_jwk]}}


def _json_server(documents: dict[str, Any]) -> tuple[HTTPServer, list[str]]:
    hits: list[str] = []

    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            doc = documents.get(self.path)
            body = json.dumps(doc).encode() if doc is not None else b"{}"
            self.send_response(200 if doc is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, hits


@pytest.fixture(scope="session")
def jwks(keys) -> Iterator[dict[str, Any]]:
    """The issuer's JWKS and an attacker's JWKS, served on 127.0.0.1 (stopped at the end of the session)."""
    server, hits = _json_server({"/jwks.json": keys["jwks"], "/attacker/jwks.json": keys["attacker_jwks"]})
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield {"url": f"{base}/jwks.json", "attacker_url": f"{base}/attacker/jwks.json", "hits": hits}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(snapshots=str(tmp_path_factory.mktemp("sec") / "snapshots"), jwt_secret=SECRET, jwt_issuer=ISSUER,
                    jwt_audience=AUDIENCE, jwt_algorithms=",".join(ALLOWED), snapshot_recheck_s=60.0)


@pytest.fixture(scope="module")
def snapshot_root(settings: Settings) -> Path:
    write_snapshot(settings.snapshots)
    return Path(settings.snapshots)


@pytest.fixture(scope="module")
def api(settings: Settings, snapshot_root: Path, jwks):
    """The real handler module on the test snapshot, accepting HS256 (shared secret) and RS256/ES256 (JWKS)."""
    import handler

    auth = Authenticator(algorithms=ALLOWED, issuer=ISSUER, audience=AUDIENCE, leeway_s=30,
                         secret=lambda: SECRET, jwks_client=jwt.PyJWKClient(jwks["url"], cache_keys=True))
    handler.configure(settings, authenticator=auth)
    yield handler
    handler.configure(Settings(snapshots=settings.snapshots))


@pytest.fixture(scope="module")
def invoke(api):
    """Call the Lambda entry point directly with an event (API Gateway payload 1.0 or 2.0)."""
    def call(event: dict[str, Any]) -> dict[str, Any]:
        return api.lambda_handler(event, FakeContext())

    return call


@pytest.fixture(scope="module")
def http(api) -> Iterator[Any]:
    """``http(method, path, ...)`` against the real local server (insights.cli.server) on 127.0.0.1."""
    from insights.cli.server import make_server

    srv = make_server("127.0.0.1", 0, api.lambda_handler)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"

    def call(method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None,
             token: str | None = None) -> Reply:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return Reply(resp.status, dict(resp.headers), resp.read().decode())
        except urllib.error.HTTPError as err:
            return Reply(err.code, dict(err.headers), err.read().decode())

    call.base = base
    yield call
    srv.shutdown()
    srv.server_close()
