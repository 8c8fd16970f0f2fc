"""The refresh pipeline's mechanics with small fake model sides over a real DuckDB lake.

The sides are fakes (deterministic formulas) so these tests pin the stages, gates, train-or-reuse rule,
publish, failure handling, metrics and the scheduled-event entry point; tests/insights/test_refresh_e2e.py
runs the real customer and product models.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from aws_lambda_powertools import Logger

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))
from snapshot_factory import complete  # noqa: E402

from athena.duckdb_engine import DuckDBEngine
from athena.engine import DataAccessError
from insights.cli.main import build_parser
from insights.cli.refresh import TqdmObserver, refresh_command
from insights.config import Settings
from insights.data.lake import write_lake
from insights.errors import DataAccessFailed, InsufficientData, InvalidRequest
from insights.refresh import wiring as refresh_mod
from insights.refresh.analyst import customer_scores_frame, product_forecasts_frame
from insights.refresh.pipeline import run_refresh
from insights.refresh.side import SideOutput
from insights.refresh.stages import RefreshPolicy, StageReport
from insights.refresh.wiring import RecordingMetricsSink, parse_scheduled_event, run_scheduled
from insights.snapshot import local as store_mod
from insights.snapshot.local import LocalSnapshotStore
from insights.snapshot.s3 import S3SnapshotStore
from insights.snapshot.writer import file_digests

# Powertools binds a logger's stream when the logger is first created: create the handler's and the refresh's
# loggers now, at collection, so they write to pytest's session-wide capture rather than to one test's capsys
# stream (closed after that test, which would break every later test that logs).
handler = pytest.importorskip("handler")
Logger(service="demand-insights-refresh")

AS_OF = date(2025, 7, 1)
EVENTS = Path(__file__).resolve().parents[1] / "events"


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    """~300 customers, 12 products, Jan 2025 to Aug 2025 (lines after AS_OF exist and must stay unseen)."""
    rng = np.random.default_rng(7)
    n = 3000
    days = rng.integers(0, 240, n)
    ts = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(days, unit="D") + pd.to_timedelta(
        rng.integers(0, 86400, n), unit="s")
    orders = pd.DataFrame({
        "order_id": [f"o{i // 2:05d}" for i in range(n)],
        "customer_id": [f"c{c:04d}" for c in rng.integers(0, 300, n)],
        "order_ts": ts,
        "product_id": [f"p{p:02d}" for p in rng.integers(0, 12, n)],
        "quantity": rng.integers(1, 5, n),
        "unit_price": rng.choice([2.5, 3.0, 4.0], n),
    })
    path = tmp_path_factory.mktemp("lake") / "lake"
    write_lake(path, orders)
    return path


# ------------------------------------------------------------------------------------------ fakes

class FakeCustomers:
    name = "customers"

    def code_version(self):
        return "fake-customers-1"

    def __init__(self, *, min_customers: int = 10, shift: float = 0.0):
        self.min_customers, self.shift, self.trained = min_customers, shift, 0

    def extract(self, engine, as_of):
        return engine.query("customer_features", {"cutoff": as_of.isoformat()})

    def gate(self, frame):
        return None if len(frame) >= self.min_customers else f"{len(frame)} customers < {self.min_customers}"

    def drift_features(self, frame):
        return {"recency_days": frame["recency_days"].to_numpy(float) + self.shift,
                "monetary_total": frame["monetary_total"].to_numpy(float)}

    def train(self, engine, as_of, frame):
        self.trained += 1
        return {"scale": 100.0, "as_of": as_of.isoformat()}

    def save(self, models, folder):
        (folder / "model.json").write_text(json.dumps(models, sort_keys=True))

    def load(self, folder):
        return json.loads((folder / "model.json").read_text())

    def describe(self, models):
        return {"model": "fake", "holdout": {"roc_auc": 0.75}}

    def score(self, models, frame, as_of):
        f = frame.sort_values("customer_id")
        n = len(f)
        churn = 1.0 - np.exp(-f["recency_days"].to_numpy(float) / models["scale"])
        clv = f["monetary_total"].to_numpy(float)
        cols = {
            "customer_id": f["customer_id"].to_numpy(str), "segment": np.full(n, "Regulars"),
            "r_score": np.full(n, 3, np.int8), "f_score": np.full(n, 2, np.int8), "m_score": np.full(n, 4, np.int8),
            "churn_probability": churn, "risk_level": np.where(churn > 0.5, "High", "Low"),
            "predicted_clv": clv, "clv_segment": np.full(n, "Medium"), "value_at_risk": churn * clv,
            "next_order_date": np.where(churn > 0.9, "", (as_of + timedelta(days=10)).isoformat()),
            "spend_30d": clv / 12, "purchase_probability_30d": 1 - churn,
        }
        return SideOutput(tables={"customers": complete("customers", cols)}, table_keys={"customers": "customer_id"},
                          docs={"segments": {"auto_k": 2}},
                          scores={"customer_scores": customer_scores_frame(cols)}, quality={"churn_roc_auc": 0.75})


class FakeProducts:
    name = "products"

    def code_version(self):
        return "fake-products-1"

    def extract(self, engine, as_of):
        return engine.query("daily_sales", {"start": (as_of - timedelta(days=365)).isoformat(),
                                            "end": as_of.isoformat()})

    def gate(self, frame):
        return None if len(frame) else "no sales"

    def drift_features(self, frame):
        return {"quantity": frame["quantity"].to_numpy(float)}

    def train(self, engine, as_of, frame):
        return {"level": 0.8}

    def save(self, models, folder):
        (folder / "model.json").write_text(json.dumps(models))

    def load(self, folder):
        return json.loads((folder / "model.json").read_text())

    def describe(self, models):
        return {"model": "fake-mean"}

    def score(self, models, frame, as_of):
        mean = frame.groupby("product_id")["quantity"].mean().sort_index()
        ids = mean.index.to_numpy(str)
        pred = np.repeat(mean.to_numpy(float)[:, None], 90, axis=1)
        pred[-1] = np.nan  # the last product has too little history: no forecast
        status = np.where(np.arange(len(ids)) == len(ids) - 1, "insufficient_history", "ok")
        cols = {"product_id": ids, "method": np.full(len(ids), "model"), "status": status,
                "predicted_quantity": pred, "confidence_lower": pred * 0.5, "confidence_upper": pred * 1.5}
        return SideOutput(tables={"forecast": complete("forecast", cols)}, table_keys={"forecast": "product_id"},
                          docs={"forecast_meta": {"level": models["level"]}},
                          scores={"product_forecasts": product_forecasts_frame(cols, as_of.isoformat())})


class Failing:
    """Wraps a side or an engine and raises from one method."""

    def __init__(self, inner, method, exc):
        self.inner, self.method, self.exc = inner, method, exc

    def __getattr__(self, name):
        if name == self.method:
            def boom(*a, **kw):
                raise self.exc
            return boom
        return getattr(self.inner, name)


def refresh(lake, store, *, sides=None, as_of=AS_OF, **kw):
    return run_refresh(engine=DuckDBEngine.over_lake(lake), store=store,
                       sides=sides if sides is not None else [FakeCustomers(), FakeProducts()], as_of=as_of, **kw)


def content(store: LocalSnapshotStore, version: str) -> dict[str, str]:
    """sha256 of every file of a version except its manifest (created_at, timings and decisions differ)."""
    return {e["path"]: e["sha256"] for e in file_digests(store.root / "versions" / version)}


# -------------------------------------------------------------------------------------------- tests

def test_refresh_publishes_a_complete_snapshot_into_a_local_folder(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    metrics = RecordingMetricsSink()
    result = refresh(lake, store, metrics=metrics)
    assert store.latest_version() == result.version == result.latest
    assert [s.stage for s in result.stages] == ["extract", "check", "train", "score", "publish"]
    snap = store.open()
    m = snap.manifest
    assert m["as_of"] == "2025-07-01" and m["trigger"] == "manual" and m["previous_version"] is None
    assert m["rows"]["customers"] == snap.table("customers").n_rows == 300
    assert m["table_keys"] == {"customers": "customer_id", "forecast": "product_id"}
    assert m["models"]["customers"]["decision"] == "trained: no previous snapshot"
    assert m["models"]["customers"]["metadata"]["holdout"]["roc_auc"] == 0.75
    assert set(m["stage_seconds"]) == {"extract", "check", "train", "score"}
    assert m["lake"]["last_date"] < "2025-07-01"  # the as_of day and later are never read
    listed = {e["path"]: e for e in m["files"]}
    assert "models/customers/drift_reference.json" in listed and "tables/forecast/predicted_quantity.npy" in listed
    assert snap.table("forecast")["predicted_quantity"].shape == (12, 90)
    names = [r[0] for r in metrics.records]
    assert names.count("StageDuration") == 5 and "RefreshSucceeded" in names and "churn_roc_auc" in names
    assert not [p for p in (tmp_path / "snaps" / "versions").iterdir() if p.name.startswith(".")]


def test_scores_are_written_as_parquet_with_the_contract_columns_and_types(lake, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    store = LocalSnapshotStore(tmp_path / "snaps")
    refresh(lake, store)
    cust = pq.read_table(tmp_path / "snaps/scores/customer_scores/as_of=2025-07-01/part-0.parquet")
    from athena.contract import score_tables

    assert cust.column_names == score_tables()["customer_scores"].column_names
    assert str(cust.schema.field("next_order_date").type) == "date32[day]"
    assert str(cust.schema.field("r_score").type) == "int32"
    assert cust.num_rows == 300
    fc = pq.read_table(tmp_path / "snaps/scores/product_forecasts/as_of=2025-07-01/part-0.parquet")
    assert fc.num_rows == 11 * 90  # the product without a forecast has no rows
    assert str(fc.schema.field("date").type) == "date32[day]"
    assert fc.column("date").to_pylist()[0] == date(2025, 7, 1)


def test_same_as_of_twice_gives_identical_content_and_reuses_the_models(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    sides = [FakeCustomers(), FakeProducts()]
    first = refresh(lake, store, sides=sides)
    parquet = tmp_path / "snaps/scores/customer_scores/as_of=2025-07-01/part-0.parquet"
    before = parquet.read_bytes()
    second = refresh(lake, store, sides=sides)
    assert sides[0].trained == 1
    assert second.manifest["models"]["customers"]["decision"].startswith("reused: 0 day(s) old")
    a, b = content(store, first.version), content(store, second.version)
    assert a == b
    assert parquet.read_bytes() == before
    assert first.version.split("-", 1)[1] == second.version.split("-", 1)[1]  # same as_of and content hash


def test_forced_retrain_is_deterministic_too(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    first = refresh(lake, store)
    second = refresh(lake, store, force_retrain=True)
    assert second.manifest["models"]["products"]["decision"] == "trained: retrain requested"
    a, b = content(store, first.version), content(store, second.version)
    assert a == b


def test_models_older_than_the_limit_are_retrained_younger_ones_reused(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    policy = RefreshPolicy(retrain_after_days=30)
    refresh(lake, store, policy=policy)
    later = refresh(lake, store, policy=policy, as_of=AS_OF + timedelta(days=20))
    assert later.manifest["models"]["customers"]["decision"].startswith("reused: 20 day(s) old")
    assert later.manifest["models"]["customers"]["trained_as_of"] == "2025-07-01"
    old = refresh(lake, store, policy=policy, as_of=AS_OF + timedelta(days=31))
    assert old.manifest["models"]["customers"]["decision"] == "trained: stored models are 31 days old (> 30)"


def test_a_backfill_before_the_models_training_date_retrains(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    refresh(lake, store)
    back = refresh(lake, store, as_of=AS_OF - timedelta(days=10))
    assert "after this as_of" in back.manifest["models"]["customers"]["decision"]


def test_feature_drift_beyond_the_threshold_triggers_a_retrain(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    refresh(lake, store)
    drifted = refresh(lake, store, sides=[FakeCustomers(shift=60.0), FakeProducts()],
                      as_of=AS_OF + timedelta(days=1))
    decision = drifted.manifest["models"]["customers"]["decision"]
    assert decision.startswith("trained: drift: PSI") and "recency_days" in decision
    assert drifted.manifest["models"]["products"]["decision"].startswith("reused")


def test_unreadable_stored_models_are_retrained_not_fatal(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    first = refresh(lake, store)
    (store.root / "versions" / first.version / "models" / "customers" / "model.json").write_text("{broken")
    second = refresh(lake, store)
    assert second.manifest["models"]["customers"]["decision"].startswith("trained: stored models unreadable")


def test_changed_model_code_triggers_a_retrain(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    old, new = FakeCustomers(), FakeCustomers()
    old.code_version = lambda: "aaa"
    new.code_version = lambda: "bbb"
    first = refresh(lake, store, sides=[old, FakeProducts()])
    assert first.manifest["models"]["customers"]["code_version"] == "aaa"
    second = refresh(lake, store, sides=[new, FakeProducts()])
    assert second.manifest["models"]["customers"]["decision"] == "trained: model code changed (aaa -> bbb)"
    assert second.manifest["models"]["products"]["decision"].startswith("reused")


def test_reused_models_that_no_longer_score_are_retrained_once(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    refresh(lake, store)

    class Picky(FakeCustomers):
        def score(self, models, frame, as_of):
            if "seasonal" not in models:
                raise KeyError("seasonal")
            return super().score(models, frame, as_of)

        def train(self, engine, as_of, frame):
            return {**super().train(engine, as_of, frame), "seasonal": 1.0}

    picky = Picky()
    result = refresh(lake, store, sides=[picky, FakeProducts()])
    decision = result.manifest["models"]["customers"]["decision"]
    assert decision == "trained: reused models failed to score (KeyError: 'seasonal')" and picky.trained == 1
    assert store.open().table("customers").n_rows == 300
    broken = Failing(FakeCustomers(), "score", ValueError("a genuine scoring bug"))
    with pytest.raises(ValueError, match="genuine"):  # freshly trained models that fail to score: the run fails
        refresh(lake, store, sides=[broken], force_retrain=True)


@pytest.mark.parametrize("where", [
    "engine.query", "customers.extract", "customers.gate", "customers.drift_features", "customers.train",
    "products.save", "customers.load", "products.score", "build.scores", "store.publish", "store.pointer",
])
def test_a_failure_at_any_stage_raises_and_leaves_latest_live(lake, tmp_path, monkeypatch, where):
    store = LocalSnapshotStore(tmp_path / "snaps")
    good = refresh(lake, store).version
    before = sorted(p.name for p in (store.root / "versions").iterdir())
    engine = DuckDBEngine.over_lake(lake)
    sides = [FakeCustomers(), FakeProducts()]
    target, _, method = where.partition(".")
    error = RuntimeError(f"injected at {where}")
    if target == "engine":
        engine = Failing(engine, "query", DataAccessError("athena THROTTLED", state="THROTTLED", retryable=True))
        error = DataAccessFailed
    elif target in ("customers", "products"):
        i = 0 if target == "customers" else 1
        sides[i] = Failing(sides[i], method, error)
    elif where == "build.scores":
        monkeypatch.setattr("insights.refresh.pipeline.write_score_table",
                            lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")))
    elif where == "store.publish":
        calls = {"n": 0}
        real = store_mod._move_or_copy

        def flaky(src, dest):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError("injected in the middle of publishing")
            return real(src, dest)

        monkeypatch.setattr(store_mod, "_move_or_copy", flaky)
    elif where == "store.pointer":
        monkeypatch.setattr(store, "_swap_latest", lambda update: (_ for _ in ()).throw(OSError("lock lost")))
    metrics = RecordingMetricsSink()
    with pytest.raises(Exception) as info:
        run_refresh(engine=engine, store=store, sides=sides, as_of=AS_OF + timedelta(days=1), metrics=metrics,
                    force_retrain=True)
    if isinstance(error, type):
        assert isinstance(info.value, error)
    assert any("nothing was published" in n and good in n for n in getattr(info.value, "__notes__", []))
    assert store.latest_version() == good
    assert store.open().table("customers").n_rows == 300
    assert ("RefreshFailed", 1, "Count", {"trigger": "manual"}) in metrics.records
    after = sorted(p.name for p in (store.root / "versions").iterdir())
    if where != "store.pointer":  # a complete but unpointed version may remain only if the pointer move failed
        assert after == before


def test_a_side_without_enough_data_is_skipped_with_a_note(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    result = refresh(lake, store, sides=[FakeCustomers(min_customers=10_000), FakeProducts()])
    check = next(s for s in result.stages if s.stage == "check")
    assert any("customers skipped: 300 customers < 10000" in n for n in check.notes)
    assert result.manifest["sides"] == {"customers": "skipped", "products": "ok"}
    assert set(store.open().tables) == {"forecast"}


def test_a_side_whose_training_finds_too_little_data_is_skipped(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    short = InsufficientData("churn labels need 90 days after the calibration cutoff", missing="history")
    result = refresh(lake, store, sides=[Failing(FakeCustomers(), "train", short), FakeProducts()])
    assert result.manifest["sides"] == {"customers": "skipped", "products": "ok"}
    assert any("customers skipped: churn labels" in n for n in result.manifest["check_notes"])
    assert not any(e["path"].startswith("models/customers") for e in result.manifest["files"])
    with pytest.raises(InsufficientData, match="no model family could be trained"):
        refresh(lake, store, sides=[Failing(FakeCustomers(), "train", short)], force_retrain=True)
    assert store.latest_version() == result.version


def test_nothing_is_published_when_no_side_has_enough_data(lake, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    with pytest.raises(InsufficientData):
        refresh(lake, store, sides=[FakeCustomers(min_customers=10_000)])
    with pytest.raises(InsufficientData, match="0 order lines"):
        refresh(lake, store, as_of=date(2024, 1, 1))
    assert store.latest_version() is None and store.versions() == []


def test_refresh_into_s3_under_moto_then_reuses_models_from_s3(lake, tmp_path, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(k, "testing")
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="insights")
        store = S3SnapshotStore(client, "insights", "snapshots", cache_dir=tmp_path / "cache")
        first = refresh(lake, store)
        assert store.latest_version() == first.version
        assert store.open().table("customers").n_rows == 300
        keys = {o["Key"] for o in client.list_objects_v2(Bucket="insights")["Contents"]}
        assert "snapshots/scores/product_forecasts/as_of=2025-07-01/part-0.parquet" in keys
        second = refresh(lake, store, as_of=AS_OF + timedelta(days=1))
        assert second.manifest["models"]["customers"]["decision"].startswith("reused")
        assert store.versions() == [first.version, second.version]


# -------------------------------------------------------------------------------- scheduled events

def test_eventbridge_rule_event_takes_as_of_from_its_time():
    event = json.loads((EVENTS / "eventbridge_rule_scheduled.json").read_text())
    assert parse_scheduled_event(event) == ("refresh", date(2026, 11, 21))
    event["detail"] = {"action": "retrain", "as_of": "2026-10-01"}
    assert parse_scheduled_event(event) == ("retrain", date(2026, 10, 1))


def test_scheduler_payloads_are_parsed_and_validated():
    assert parse_scheduled_event({"action": "refresh"}, today=date(2026, 1, 2)) == ("refresh", date(2026, 1, 2))
    assert parse_scheduled_event({"action": "retrain", "scheduled_time": "2026-03-04T05:00:00Z"}) == \
        ("retrain", date(2026, 3, 4))
    with pytest.raises(InvalidRequest, match="unknown scheduled action"):
        parse_scheduled_event({"action": "drop-tables"})
    with pytest.raises(InvalidRequest, match="not a date"):
        parse_scheduled_event({"action": "refresh", "as_of": "2026-13-01"})


def _fake_sides(monkeypatch):
    monkeypatch.setattr(refresh_mod, "sides_from_settings", lambda settings: [FakeCustomers(), FakeProducts()])


@pytest.mark.parametrize("fixture", ["eventbridge_rule_scheduled.json", "eventbridge_scheduler_refresh.json"])
def test_scheduled_payloads_run_the_refresh_through_the_lambda_handler(lake, tmp_path, monkeypatch, capsys, caplog,
                                                                        fixture):
    sys_path_handler = Path(__file__).resolve().parents[1] / "handler"
    monkeypatch.syspath_prepend(str(sys_path_handler))
    from api_events import FakeContext

    _fake_sides(monkeypatch)
    # delivered on time: the rule's `time` is now (a replayed one is a backfill: test_time_forward.py)
    monkeypatch.setattr(refresh_mod, "utc_now", lambda: datetime(2026, 11, 21, 4, 0, 5, tzinfo=UTC))
    event = json.loads((EVENTS / fixture).read_text())
    settings = Settings(lake=str(lake), snapshots=str(tmp_path / "snaps"))
    handler.configure(settings)
    try:
        out = handler.lambda_handler(event, FakeContext())
    finally:
        handler.configure(Settings())
    assert out["status"] == "published" and out["as_of"] == "2026-11-21"
    assert LocalSnapshotStore(tmp_path / "snaps").latest_version() == out["version"]
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    # one structured record per stage (Powertools renders the extra keys as JSON fields in Lambda)
    stage_logs = [r for r in caplog.records if r.getMessage() == "stage finished"]
    assert [r.stage for r in stage_logs] == ["extract", "check", "train", "score", "publish"]
    assert all(r.as_of == "2026-11-21" and r.seconds >= 0 for r in stage_logs)
    namespaces = {ns["Namespace"] for m in emf for ns in m["_aws"]["CloudWatchMetrics"]}
    assert "DemandInsights" in namespaces
    assert any("StageDuration" in m and m.get("stage") == "publish" for m in emf)


def test_a_failing_scheduled_refresh_raises_so_the_lambda_reports_an_error(lake, tmp_path, monkeypatch):
    _fake_sides(monkeypatch)
    store = LocalSnapshotStore(tmp_path / "snaps")
    settings = Settings(lake=str(lake), snapshots=str(tmp_path / "snaps"))
    engine = Failing(DuckDBEngine.over_lake(lake), "query", DataAccessError("FAILED: HIVE_BAD_DATA", state="FAILED"))
    with pytest.raises(DataAccessFailed):
        run_scheduled({"action": "refresh", "as_of": "2025-07-01"}, settings, engine=engine, store=store,
                      metrics=RecordingMetricsSink())
    assert store.latest_version() is None


def test_cli_prints_the_stage_table_and_the_version(lake, tmp_path, monkeypatch, capsys):
    _fake_sides(monkeypatch)
    args = build_parser().parse_args(["refresh", "--lake", str(lake), "--snapshots", str(tmp_path / "snaps"),
                                      "--as-of", "2025-07-01"])
    assert refresh_command(args, Settings()) == 0
    out = capsys.readouterr()
    for stage in ("extract", "check", "train", "score", "publish", "total"):
        assert stage in out.out
    assert "snapshot 20" in out.out and "as_of 2025-07-01" in out.out
    assert "extract" not in out.err  # progress bars only on a terminal
    args = replace_ns(args, lake=str(tmp_path / "nowhere"))
    assert refresh_command(args, Settings()) == 2
    assert "no lake at" in capsys.readouterr().err


def test_the_progress_bars_show_one_line_per_stage():
    import io

    stream = io.StringIO()
    observer = TqdmObserver(stream)
    observer.stage_started("extract", 2)
    observer.stage_advanced("extract", "lake_summary")
    observer.stage_finished(StageReport("extract", seconds=0.5))
    assert "extract" in stream.getvalue() and "0.5 s" in stream.getvalue()


def replace_ns(ns: argparse.Namespace, **kw) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(ns), **kw})


def test_policy_reads_settings():
    p = RefreshPolicy.from_settings(replace(Settings(), retrain_after_days=7, drift_threshold=0.5))
    assert (p.retrain_after_days, p.drift_threshold) == (7, 0.5)


# ------------------------------------------------------------------------------ drift and Athena retries

def test_psi_is_near_zero_for_the_same_population_and_large_for_a_shift():
    from insights.refresh.drift import psi, reference_bins

    rng = np.random.default_rng(0)
    ref = reference_bins(rng.gamma(2.0, 30.0, 5000))
    assert psi(ref, rng.gamma(2.0, 30.0, 5000)) < 0.02
    assert psi(ref, rng.gamma(2.0, 30.0, 5000) + 40) > 0.2
    with_missing = np.append(rng.gamma(2.0, 30.0, 4000), np.full(1000, np.nan))
    assert psi(ref, with_missing) > 0.2  # a feature that went missing for a fifth of rows is drift too


def test_athena_throttling_is_retried_then_the_refresh_fails_and_publishes_nothing(lake, tmp_path):
    from athena.athena_engine import AthenaEngine

    class ThrottledCursor:
        query_id = "q-1"

        def execute(self, sql, params):
            raise RuntimeError("An error occurred (ThrottlingException): Rate exceeded")

        def close(self):
            pass

    class Connection:
        attempts = 0

        def cursor(self, on_poll=None):
            Connection.attempts += 1
            return ThrottledCursor()

    store = LocalSnapshotStore(tmp_path / "snaps")
    good = refresh(lake, store).version
    sleeps: list[float] = []
    engine = AthenaEngine(Connection(), max_retries=3, backoff_s=2.0, sleep=sleeps.append)
    with pytest.raises(DataAccessFailed) as info:
        run_refresh(engine=engine, store=store, sides=[FakeCustomers()], as_of=AS_OF + timedelta(days=1))
    assert info.value.details["state"] == "THROTTLED" and Connection.attempts == 4 and sleeps == [2.0, 4.0, 8.0]
    assert any("stage 'extract' failed" in n for n in info.value.__notes__)
    assert store.latest_version() == good


def test_the_local_engine_releases_duckdb_memory_after_the_queries(lake, tmp_path):
    engine = refresh_mod.engine_from_settings(Settings(lake=str(lake)))
    calls = []
    real = engine.release_memory
    engine.release_memory = lambda: (calls.append(1), real())
    run_refresh(engine=engine, store=LocalSnapshotStore(tmp_path / "snaps"), sides=[FakeCustomers()], as_of=AS_OF)
    assert calls == [1, 1]  # after the extract queries, and after the derived documents' lake aggregates
    limit = engine.connection.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "").upper() in ("64.0MB", "64MB", "61.0MIB", "61MIB")


def test_the_engine_follows_the_lake_setting(tmp_path, monkeypatch):
    from athena.athena_engine import AthenaEngine

    monkeypatch.setattr(AthenaEngine, "from_settings", classmethod(lambda cls, s: ("athena", s.athena_workgroup)))
    assert refresh_mod.engine_from_settings(Settings(lake="s3://lake/prefix", athena_workgroup="wg")) == \
        ("athena", "wg")
    with pytest.raises(DataAccessFailed, match="no lake at"):
        refresh_mod.engine_from_settings(Settings(lake=str(tmp_path / "missing")))


def test_a_lake_that_ends_before_as_of_is_noted_and_reported(lake, tmp_path):
    metrics = RecordingMetricsSink()
    result = refresh(lake, LocalSnapshotStore(tmp_path / "snaps"), as_of=date(2025, 10, 1), metrics=metrics)
    last = result.manifest["lake"]["last_date"]
    lag = (date(2025, 10, 1) - date.fromisoformat(last)).days - 1
    assert lag > 0 and f"lake ends {last}: no orders in the last {lag} day(s) before as_of" in \
        result.manifest["check_notes"]
    assert ("DataLagDays", lag, "Count", {}) in metrics.records


def test_the_currency_comes_from_the_setting_else_the_imported_lake_else_usd(lake, tmp_path, monkeypatch):
    _fake_sides(monkeypatch)
    as_of = date(2025, 7, 1)
    plain = refresh_mod.refresh(Settings(lake=str(lake), snapshots=str(tmp_path / "a")), as_of=as_of)
    assert plain.manifest["currency"] == "USD"
    imported = tmp_path / "imported"
    shutil.copytree(lake, imported)
    (imported / "_import_report.json").write_text(json.dumps({"currency": "gbp"}))
    assert refresh_mod.refresh(Settings(lake=str(imported), snapshots=str(tmp_path / "b")),
                               as_of=as_of).manifest["currency"] == "GBP"
    assert refresh_mod.refresh(Settings(lake=str(imported), snapshots=str(tmp_path / "c"), currency="EUR"),
                               as_of=as_of).manifest["currency"] == "EUR"
