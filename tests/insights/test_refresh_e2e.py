"""The real refresh end to end: sample lake -> DuckDB -> the real customer and product models -> a local
snapshot the API serves. One training run (module-scoped) and one reuse run; kept small because the
model training dominates (tests/insights/test_refresh.py covers the mechanics with fakes)."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from athena.duckdb_engine import DuckDBEngine
from insights.config import Settings
from insights.refresh.pipeline import run_refresh
from insights.refresh.wiring import RecordingMetricsSink
from insights.snapshot.local import LocalSnapshotStore
from insights.snapshot.writer import file_digests

AS_OF = date(2026, 7, 1)

if importlib.util.find_spec("insights.refresh.customers") is None:
    pytest.skip("insights.refresh.customers is not there yet", allow_module_level=True)


def _sides():
    from insights.refresh.customers import CustomerSide
    from insights.refresh.products import ProductSide

    sides = [CustomerSide()]
    if importlib.util.find_spec("insights.refresh.products") is not None:
        sides.append(ProductSide(history_days=400))
    return sides


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from insights.data.sample import SampleSpec, generate, write_sample

    root = tmp_path_factory.mktemp("e2e")
    lake = root / "lake"
    write_sample(lake, generate(SampleSpec(customers=600, products=12, days=420, seed=5, end=date(2026, 6, 30))))
    store = LocalSnapshotStore(root / "snaps")
    metrics = RecordingMetricsSink()
    first = run_refresh(engine=DuckDBEngine.over_lake(lake), store=store, sides=_sides(), as_of=AS_OF,
                        metrics=metrics)
    second = run_refresh(engine=DuckDBEngine.over_lake(lake), store=store, sides=_sides(), as_of=AS_OF)
    return store, first, second, metrics


def test_real_refresh_publishes_every_customer_with_scores(published):
    store, first, _, metrics = published
    snap = store.open(first.version)
    customers = snap.table("customers")
    n = customers.n_rows
    assert n == first.manifest["rows"]["customers"] > 400
    ids = customers["customer_id"]
    assert np.all(ids[:-1] < ids[1:])  # sorted, unique: the API's positions() relies on it
    p = customers["churn_probability"]
    assert np.all((p >= 0) & (p <= 1))
    assert sorted(snap.doc("segments")["solutions"]) == sorted(str(k) for k in range(2, 11))
    assert snap.table("at_risk")["order"].shape == (n,)
    assert first.manifest["models"]["customers"]["decision"] == "trained: no previous snapshot"
    assert any(name.startswith("churn_") for name, *_ in metrics.records)
    parquet = store.root / "scores" / "customer_scores" / "as_of=2026-07-01" / "part-0.parquet"
    assert parquet.stat().st_size > 0


def test_real_refresh_twice_for_the_same_day_reuses_models_and_gives_identical_content(published):
    store, first, second, _ = published
    for side in first.manifest["models"]:
        assert second.manifest["models"][side]["decision"].startswith("reused: 0 day(s) old")
    a = {e["path"]: e["sha256"] for e in file_digests(store.root / "versions" / first.version)}
    b = {e["path"]: e["sha256"] for e in file_digests(store.root / "versions" / second.version)}
    assert a == b
    assert first.manifest["content_sha256"] == second.manifest["content_sha256"]


def test_the_api_serves_the_published_snapshot(published, monkeypatch):
    handler = pytest.importorskip("handler")
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "handler"))
    from api_events import SECRET, FakeContext, body_of, v2

    from insights.api.auth import SCOPE_READ
    from insights.cli.tokens import mint_token

    store, _, second, _ = published
    handler.configure(Settings(snapshots=str(store.root), jwt_secret=SECRET))
    try:
        token = mint_token(SECRET, issuer="demand-insights-local", audience="demand-insights", scopes=(SCOPE_READ,))
        health = handler.lambda_handler(v2("GET", "/demand-insights/health"), FakeContext())
        assert health["statusCode"] == 200 and second.version in str(body_of(health))
        seg = handler.lambda_handler(v2("GET", "/demand-insights/segments", token=token), FakeContext())
        assert seg["statusCode"] == 200, body_of(seg)
        risk = handler.lambda_handler(v2("GET", "/demand-insights/at-risk-customers", token=token), FakeContext())
        assert risk["statusCode"] == 200, body_of(risk)
        forecast = store.open().table("forecast")
        ok = forecast["product_id"][np.asarray(forecast["status"]) != "insufficient_history"]
        if len(ok):
            fc = handler.lambda_handler(v2("POST", "/demand-insights/forecast", token=token,
                                           body={"product_id": str(ok[0]), "forecast_days": 30}), FakeContext())
            assert fc["statusCode"] == 200, body_of(fc)
    finally:
        handler.configure(Settings())
        sys.modules.pop("api_events", None)
