"""Fixtures for the API tests: a published snapshot folder, the configured handler, tokens."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from api_events import SECRET, FakeContext  # noqa: E402
from snapshot_factory import write_snapshot  # noqa: E402

from insights.api.auth import SCOPE_PII, SCOPE_READ
from insights.cli.tokens import mint_token  # noqa: E402
from insights.config import Settings  # noqa: E402


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # the test snapshot is frozen at 2026-11-01: freshness limits wide enough that its health stays "ok" whatever
    # today's date (tests/handler/test_freshness.py sets real limits)
    return Settings(snapshots=str(tmp_path / "snapshots"), jwt_secret=SECRET, snapshot_recheck_s=60.0,
                    max_data_lag_days=100_000, refresh_interval_hours=1e9)


@pytest.fixture
def snapshot_root(settings: Settings) -> Path:
    write_snapshot(settings.snapshots)
    return Path(settings.snapshots)


@pytest.fixture
def api(settings: Settings, snapshot_root: Path):
    """The real handler module, configured on the published test snapshot."""
    import handler

    handler.configure(settings)
    yield handler
    handler.configure(Settings(snapshots=settings.snapshots))


@pytest.fixture
def token():
    def make(*scopes: str, secret: str = SECRET, **overrides: Any) -> str:
        claims_scopes = scopes or (SCOPE_READ,)
        return mint_token(secret, issuer=overrides.pop("issuer", "demand-insights-local"),
                          audience=overrides.pop("audience", "demand-insights"), scopes=claims_scopes, **overrides)

    make.pii = lambda: make(SCOPE_READ, SCOPE_PII)
    return make


@pytest.fixture
def invoke(api):
    def call(event: dict[str, Any]) -> dict[str, Any]:
        return api.lambda_handler(event, FakeContext())

    return call


@pytest.fixture
def server(api):
    """The local HTTP server (python -m insights serve's) over the test API on 127.0.0.1; yields its route base URL."""
    import threading

    from insights.cli.server import make_server

    srv = make_server("127.0.0.1", 0, api.lambda_handler)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/demand-insights"
    srv.shutdown()
    srv.server_close()
