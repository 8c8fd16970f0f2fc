"""The real refresh end to end: sample lake -> DuckDB -> the real customer and product models -> a local
snapshot the API serves. One training run (module-scoped) and one reuse run; kept small because the
model training dominates (tests/insights/test_refresh.py covers the mechanics with fakes)."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from athena.duckdb_engine import DuckDBEngine
from insights.config import Settings
from insights.refresh.customers import CustomerSide
from insights.refresh.pipeline import run_refresh
from insights.refresh.products import ProductSide
from insights.refresh.wiring import RecordingMetricsSink
from insights.snapshot.local import LocalSnapshotStore
from insights.snapshot.writer import file_digests

AS_OF = date(2026, 7, 1)
RUNS: dict = {}  # the published fixture's engines and model-load counts, for the tests that inspect them



class CountingEngine:
    """The DuckDB engine, recording each query with the stage it ran in (the observer tells it the stage)."""

    def __init__(self, inner: DuckDBEngine) -> None:
        self.inner, self.stage, self.calls = inner, "", []

    def query(self, name, params=None):
        self.calls.append((self.stage, name, tuple(sorted((params or {}).items()))))
        return self.inner.query(name, params)

    def release_memory(self) -> None:
        self.inner.release_memory()

    # the pipeline's Observer
    def stage_started(self, stage, steps):
        self.stage = stage

    def stage_advanced(self, stage, note=""):
        pass

    def stage_finished(self, report):
        pass


def _sides(loads: Counter | None = None):
    sides = [CustomerSide(), ProductSide(history_days=400)]
    if loads is not None:
        for side in sides:
            real = side.load
            side.load = lambda folder, real=real, name=side.name: (loads.update([name]), real(folder))[1]
    return sides


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from insights.data.sample import SampleSpec, generate, write_sample

    root = tmp_path_factory.mktemp("e2e")
    lake = root / "lake"
    write_sample(lake, generate(SampleSpec(customers=600, products=12, days=420, seed=5, end=date(2026, 6, 30))))
    store = LocalSnapshotStore(root / "snaps")
    metrics = RecordingMetricsSink()
    engines, loads = [CountingEngine(DuckDBEngine.over_lake(lake)) for _ in range(2)], [Counter(), Counter()]
    first = run_refresh(engine=engines[0], store=store, sides=_sides(loads[0]), as_of=AS_OF, metrics=metrics,
                        observer=engines[0])
    second = run_refresh(engine=engines[1], store=store, sides=_sides(loads[1]), as_of=AS_OF, observer=engines[1])
    RUNS.update(engines=engines, loads=loads)
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


def test_no_query_runs_twice_in_a_refresh(published):
    train_run, reuse_run = RUNS["engines"]
    for engine in (train_run, reuse_run):
        repeated = [call for call, n in Counter(c[1:] for c in engine.calls).items() if n > 1]
        assert repeated == []
    extract = [(name, dict(params)) for stage, name, params in train_run.calls if stage == "extract"]
    assert extract == [("lake_summary", {"cutoff": "2026-07-01"}), ("customer_features", {"cutoff": "2026-07-01"}),
                       ("customer_categories", {"cutoff": "2026-07-01"}),  # the traits' category affinity
                       ("customer_engagement", {"cutoff": "2026-07-01"}),  # the sample's reviews and engagement
                       ("daily_sales", {"start": "2025-05-27", "end": "2026-07-01"})]
    # training queries only what the extract stage does not hold: past cutoffs and labels, never as_of's features
    trained = [(name, dict(params)) for stage, name, params in train_run.calls if stage == "train"]
    assert trained and ("customer_features", {"cutoff": "2026-07-01"}) not in trained
    assert {name for name, _ in trained} <= {"customer_features", "customer_labels", "customer_engagement"}
    # a reuse day runs the five extract queries and, once the customers are scored, the derived documents'
    # lake aggregates (insights/refresh/derived.py), and nothing else
    assert [(stage, name) for stage, name, _ in reuse_run.calls] == [
        ("extract", "lake_summary"), ("extract", "customer_features"), ("extract", "customer_categories"),
        ("extract", "customer_engagement"), ("extract", "daily_sales"), ("score", "customer_cohorts"),
        ("score", "customer_cohorts"),
        ("score", "customer_activity_monthly")]


def test_stored_models_load_once_a_refresh(published):
    store, first, second, _ = published
    train_loads, reuse_loads = RUNS["loads"]
    assert second.manifest["models"]["customers"]["decision"].startswith("reused")
    assert train_loads == Counter({"customers": 1, "products": 1})  # the saved artifacts, read back to score
    assert reuse_loads == Counter({"customers": 1, "products": 1})  # the stored ones, read once
