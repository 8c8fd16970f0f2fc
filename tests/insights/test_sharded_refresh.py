"""The sharded refresh on a small lake: the same published content as the single run, whatever the shard count;
a shard that fails or goes missing blocks publishing and leaves ``latest`` where it was.

One training run (the single refresh, module-scoped); the sharded runs reuse its models, so each costs a scoring.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from athena.duckdb_engine import DuckDBEngine
from insights.cli.main import main
from insights.errors import ShardsIncomplete
from insights.refresh import sharded as sharded_module
from insights.refresh.customers import CustomerSide
from insights.refresh.pipeline import run_refresh
from insights.refresh.products import ProductSide
from insights.refresh.recommendations import RecommendationSide
from insights.refresh.shard_local import map_shards, run_sharded_refresh
from insights.refresh.shard_work import LocalWork
from insights.refresh.sharded import new_run_id, plan_run, publish_run
from insights.snapshot.local import LocalSnapshotStore

AS_OF = date(2026, 7, 1)


def _sides():
    # products with 60 days of history: the forecaster is not trained (fallback rates), which keeps this fast;
    # customers and recommendations are sharded; the product side is not: it exercises the "scored whole in the
    # reduce step" path; the three families, as the CLI's settings name them (the 16-shard CLI run compares)
    return [CustomerSide(), ProductSide(history_days=60), RecommendationSide()]


def content_hash(version: str) -> str:
    return version.rsplit("-", 1)[-1]  # sha256 over the tables and documents (snapshot.md)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    from insights.data.sample import SampleSpec, generate, write_sample

    path = tmp_path_factory.mktemp("sharded") / "lake"
    write_sample(path, generate(SampleSpec(customers=600, products=8, days=420, seed=5, end=date(2026, 6, 30))))
    return path


@pytest.fixture(scope="module")
def single(lake, tmp_path_factory):
    """The unsharded refresh: it trains the models every later run reuses."""
    store = LocalSnapshotStore(tmp_path_factory.mktemp("snaps") / "snapshots")
    result = run_refresh(engine=DuckDBEngine.over_lake(lake), store=store, sides=_sides(), as_of=AS_OF)
    assert result.manifest["sides"] == {"customers": "ok", "products": "ok", "recommendations": "ok"}
    return store, result


def _sharded(lake, store, shards, tmp_path, **kw):
    return run_sharded_refresh(shards=shards, work_root=str(tmp_path / "work"), engine=DuckDBEngine.over_lake(lake),
                               store=store, sides=kw.pop("sides", None) or _sides(), as_of=AS_OF, **kw)


@pytest.mark.parametrize(("shards", "workers"), [(1, 1), (7, 2)])
def test_the_sharded_refresh_publishes_the_content_of_the_single_run(lake, single, tmp_path, monkeypatch, shards,
                                                                     workers):
    store, reference = single
    monkeypatch.setattr(sharded_module, "SCORE_CHUNK_ROWS", 100)  # in-process (1 worker): each shard scored in chunks
    result = _sharded(lake, store, shards, tmp_path, workers=workers)
    assert result.moved and store.latest_version() == result.version
    assert content_hash(result.version) == content_hash(reference.version)
    assert result.manifest["rows"] == reference.manifest["rows"]
    sharded = result.manifest["sharded"]
    assert (sharded["shards"], sharded["sides"]) == (shards, {"customers": "sharded", "products": "whole",
                                                          "recommendations": "sharded"})
    assert sorted(sharded["tasks"]) == sorted(f"{side}/{k}" for side in ("customers", "recommendations")
                                              for k in range(shards))
    assert sum(t["rows_in"] for name, t in sharded["tasks"].items()
               if name.startswith("customers/")) == result.manifest["rows"]["customers"]
    assert 0 < sharded["map_wall_seconds"] <= sum(t["seconds"] for t in sharded["tasks"].values()) + 5
    timing = sharded["reduce_seconds"]  # where the single publish process spends its time, per side
    assert set(timing["customers"]) == set(timing["recommendations"]) == {"merge", "finish", "write"}
    assert set(timing["products"]) == {"score whole", "write"}
    assert all(s >= 0 for steps in timing.values() for s in steps.values())
    assert [s.stage for s in result.stages] == ["extract", "check", "train", "map", "score", "publish"]
    mapped = result.stages[3]  # the map as a stage of the report, from the tasks' done markers
    assert mapped.rows == sum(t["rows_in"] for t in sharded["tasks"].values())
    assert mapped.seconds == sharded["map_wall_seconds"] and mapped.notes[0].startswith(f"customers: {shards} tasks")
    assert not any((tmp_path / "work").iterdir())  # the run's work area is gone once published


class Recording:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def stage_started(self, stage, steps):
        self.events.append(("started", f"{stage}:{steps}"))

    def stage_advanced(self, stage, note=""):
        self.events.append(("advanced", f"{stage}:{note}"))

    def stage_finished(self, report):
        self.events.append(("finished", f"{report.stage}:{report.status}"))


@pytest.mark.parametrize("workers", [1, 2])
def test_the_observer_sees_the_map_advance_task_by_task(lake, single, tmp_path, workers):
    store, _ = single
    observer = Recording()
    _sharded(lake, store, 3, tmp_path, workers=workers, observer=observer)
    mapped = [e for e in observer.events if e[1].startswith("map:")]
    assert mapped[0] == ("started", "map:6") and mapped[-1] == ("finished", "map:ok")
    assert sorted(n for kind, n in mapped if kind == "advanced") == sorted(
        f"map:{side}/{k}" for side in ("customers", "recommendations") for k in range(3))
    stages = [n.split(":")[0] for kind, n in observer.events if kind == "started"]
    assert stages == ["extract", "check", "train", "map", "score", "publish"]


def test_the_cli_runs_sixteen_shards_with_the_same_content(lake, single, tmp_path, monkeypatch, capsys):
    store, reference = single
    monkeypatch.setenv("INSIGHTS_SALES_HISTORY_DAYS", "60")
    monkeypatch.setenv("INSIGHTS_SHARD_WORK", str(tmp_path / "work"))
    code = main(["refresh", "--lake", str(lake), "--snapshots", str(store.root), "--as-of", AS_OF.isoformat(),
                 "--shards", "16"])
    out = capsys.readouterr().out
    assert code == 0, out
    version = store.latest_version()
    assert content_hash(version) == content_hash(reference.version) and f"latest -> {version}" in out
    assert json.loads((store.root / "versions" / version / "manifest.json").read_text())["sharded"]["shards"] == 16


class FailingCustomers(CustomerSide):
    """Customers whose scoring fails on the shard holding one given customer."""

    def score_part(self, models, context, part, as_of):
        if "C0000001" in set(part["customer_id"]):
            raise RuntimeError("shard worker ran out of memory")
        return super().score_part(models, context, part, as_of)


def test_a_failing_shard_blocks_publishing_and_latest_stays(lake, single, tmp_path):
    store, _ = single
    before, versions = store.latest_version(), store.versions()
    sides = [FailingCustomers(), ProductSide(history_days=60), RecommendationSide()]
    assert "C0000001" in set(DuckDBEngine.over_lake(lake).query("customer_features", {"cutoff": "2026-07-01"})
                           ["customer_id"])
    with pytest.raises(ShardsIncomplete, match="customers shard .*: not scored") as caught:
        _sharded(lake, store, 5, tmp_path, sides=sides)
    assert "shard worker ran out of memory" in " ".join(caught.value.__notes__)
    assert store.latest_version() == before and store.versions() == versions


def test_the_reduce_step_checks_every_shard_itself(lake, single, tmp_path):
    """Step Functions under moto reports a failed child as null in a succeeded map: only the reduce step's
    own check stands between a missing shard and a published snapshot."""
    store, _ = single
    before = store.latest_version()
    run_id = new_run_id(AS_OF)
    work = LocalWork(tmp_path / "work" / run_id)
    plan = plan_run(work=work, shards=4, engine=DuckDBEngine.over_lake(lake), store=store, sides=_sides(),
                    as_of=AS_OF)
    assert sorted((i["side"], i["shard"]) for i in plan["items"]) == [
        (side, k) for side in ("customers", "recommendations") for k in range(4)]
    assert map_shards(str(tmp_path / "work"), run_id, _sides(), plan["items"]) == {}
    (work.root / "done" / "customers" / "shard=2.json").unlink()  # a child that "succeeded" with nothing
    with pytest.raises(ShardsIncomplete, match="customers shard 2: not scored"):
        publish_run(work=work, store=store, sides=_sides())
    marker = json.loads((work.root / "done" / "customers" / "shard=1.json").read_text())
    (work.root / "done" / "customers" / "shard=2.json").write_text(json.dumps({**marker, "shard": 2}))
    with pytest.raises(ShardsIncomplete, match="customers shard 2: scored other files than the plan's"):
        publish_run(work=work, store=store, sides=_sides())
    assert store.latest_version() == before
