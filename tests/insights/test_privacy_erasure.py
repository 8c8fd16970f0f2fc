"""Erasure on the sample lake with a local store: `forget` removes a customer from every file of the lake, the
score tables and every kept snapshot version, while the API keeps answering; the next refresh retrains."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from privacy_kit import AS_OF, SECRET, Customers, call, files_holding, local_files, sample_lake

from athena.duckdb_engine import DuckDBEngine
from insights.config import Settings
from insights.refresh.privacy import forget
from insights.refresh.wiring import refresh
from insights.snapshot.local import LocalSnapshotStore


def _settings(root: Path) -> Settings:
    return Settings(lake=str(root / "lake"), snapshots=str(root / "snaps"), jwt_secret=SECRET, snapshot_recheck_s=0.0,
                    max_data_lag_days=100_000, refresh_interval_hours=1e9)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy")
    lake = sample_lake(root / "lake")
    settings = _settings(root)
    store = LocalSnapshotStore(settings.snapshots)
    for as_of in (AS_OF - timedelta(days=1), AS_OF):  # two kept versions, the newer one live
        refresh(settings, as_of=as_of, engine=DuckDBEngine.over_lake(lake), store=store, sides=[Customers()])
    people = pd.read_parquet(lake / "customers")
    orders = pd.read_parquet(lake / "orders")
    buyers = orders[orders["order_ts"] < pd.Timestamp(AS_OF)].groupby("customer_id").size()
    with_email = people.dropna(subset=["email"]).set_index("customer_id")["email"]
    chosen = [c for c in buyers[buyers >= 2].index if c in with_email.index][:2]
    return root, [(c, with_email[c]) for c in chosen]


@pytest.fixture
def world(built, tmp_path):
    """A fresh copy of the module's lake and two published versions, for one test to erase from."""
    root, chosen = built
    for name in ("lake", "snaps"):
        shutil.copytree(root / name, tmp_path / name)
    settings = _settings(tmp_path)
    return settings, LocalSnapshotStore(settings.snapshots), tmp_path / "lake", chosen


@pytest.fixture
def api(world):
    import handler

    handler.configure(world[0])
    yield handler
    handler.configure(Settings(snapshots=world[0].snapshots))


def test_forget_leaves_no_byte_of_the_customer_and_the_api_never_fails(world, api):
    settings, store, lake, [(gone, email), (kept, _)] = world
    status, before = call(api, "GET", "segments")
    assert status == 200 and files_holding(local_files(lake, Path(settings.snapshots)), gone, email)
    answers: list[int] = []
    stop = threading.Event()

    def reader() -> None:  # a storefront asking all along: never an error, before, during and after
        while not stop.is_set():
            for method, path, body in (("POST", "churn", {"customer_ids": [gone, kept]}), ("GET", "segments", None),
                                       ("POST", "clv", {"customer_ids": [kept]})):
                answers.append(call(api, method, path, body=body)[0])
            stop.wait(0.02)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        audit = forget(settings, [gone])
    finally:
        stop.set()
        thread.join()
    assert answers and set(answers) == {200}

    assert files_holding(local_files(lake, Path(settings.snapshots)), gone, email) == []
    assert [v["action"] for v in audit["versions"]] == ["rewritten", "rewritten"]
    assert audit["lake"]["orders"]["rows"] >= 2 and audit["lake"]["customers"]["rows"] == 1
    assert audit["scores"]["customer_scores"]["rows"] == 2  # one row in each as_of partition
    assert len(store.versions()) == 2 and store.latest_version() == audit["versions"][-1]["new_version"]

    status, churn = call(api, "POST", "churn", body={"customer_ids": [gone, kept]})
    assert status == 200 and churn["not_found"] == [gone] and [p["customer_id"] for p in churn["predictions"]] == [kept]
    _, after = call(api, "GET", "segments")
    assert after["total_customers"] == before["total_customers"] - 1
    _, risky = call(api, "GET", "at-risk-customers", query={"threshold": "0", "limit": "1000"})
    ids = [r["customer_id"] for r in risky["at_risk_customers"]]
    assert gone not in ids and len(ids) == len(set(ids)) == after["total_customers"]
    values = [r["value_at_risk"] for r in risky["at_risk_customers"]]
    assert values == sorted(values, reverse=True)  # the remapped at_risk order still ranks the survivors

    side = Customers()
    result = refresh(settings, as_of=AS_OF + timedelta(days=1), engine=DuckDBEngine.over_lake(lake), store=store,
                     sides=[side])
    assert result.manifest["models"]["customers"]["decision"].startswith("trained: customers were erased")
    assert files_holding(local_files(lake, Path(settings.snapshots)), gone, email) == []


def test_a_version_whose_documents_name_the_customer_is_purged_and_latest_moves_back(world):
    settings, store, _, [(gone, _), _] = world
    old, live = store.versions()
    doc = Path(settings.snapshots) / "versions" / live / "docs" / "customer_models.json"
    doc.write_text(doc.read_text()[:-1] + f', "note": "{gone}"}}')  # a document no recompute can clean
    manifest = store.manifest(live)
    from insights.snapshot.writer import file_digests

    manifest["files"] = file_digests(doc.parents[1])
    (doc.parents[1] / "manifest.json").write_text(json.dumps(manifest))
    audit = forget(settings, [gone])
    assert [v["action"] for v in audit["versions"]] == ["rewritten", "purged"]
    assert store.versions() == [audit["versions"][0]["new_version"]]
    assert store.latest_version() == audit["versions"][0]["new_version"]
    assert files_holding(local_files(Path(settings.snapshots)), gone) == []


def test_the_audit_record_counts_and_hashes_but_names_no_one(world):
    settings, _, _, [(gone, email), _] = world
    audit = forget(settings, [gone, gone + "-unknown"])
    record = (Path(settings.snapshots) / audit["record"]).read_text()
    assert gone not in record and email not in record
    assert audit["customers"] == 2 and len(audit["id_hash"]["hashes"]) == 2
    assert all(k in audit for k in ("at", "lake", "scores", "versions"))


def test_forget_on_the_command_line(world, capsys):
    from insights.cli.main import main

    settings, _, lake, [(gone, _), _] = world
    code = main(["forget", gone, "--lake", str(lake), "--snapshots", settings.snapshots])
    out = capsys.readouterr().out
    assert code == 0 and "forgot 1 customer(s)" in out and "rewritten as" in out and gone not in out
    assert main(["forget", "--lake", str(lake)]) == 2  # no id: one usage line, no traceback
    assert "error:" in capsys.readouterr().err


def test_a_request_whose_version_vanishes_under_it_is_answered_from_the_new_one(world, api):
    settings, store, _, [(gone, _), (kept, _)] = world
    api.configure(replace(settings, snapshot_recheck_s=3600.0))  # a warm container that will not re-check soon
    assert call(api, "POST", "churn", body={"customer_ids": [kept]})[0] == 200  # loads the live version
    forget(settings, [gone])  # replaces it: the columns clv reads are not loaded yet and now gone
    status, answer = call(api, "POST", "clv", body={"customer_ids": [gone, kept]})
    assert status == 200 and answer["not_found"] == [gone]


def test_retention_drops_old_order_partitions_and_old_versions_but_never_the_live_one(world):
    from insights.refresh.privacy import after_refresh, before_refresh

    settings, store, lake, _ = world
    old, live = store.versions()
    days = sorted(p.name for p in (lake / "orders").iterdir())
    done = before_refresh(replace(settings, lake_retention_days=60), store, today=AS_OF)
    left = sorted(p.name for p in (lake / "orders").iterdir() if any(p.iterdir()))
    assert done["retention"]["partitions"] == len(days) - len(left) > 0
    assert min(left) >= f"order_date={AS_OF - timedelta(days=60)}"
    for table, column in (("reviews", "review_date"), ("engagement", "event_date")):  # the optional tables age too
        kept = sorted(p.name for p in (lake / table).iterdir() if any(p.iterdir()))
        assert kept and min(kept) >= f"{column}={AS_OF - timedelta(days=60)}"
        assert done["retention"]["tables"][table]["partitions"] > 0
    scores = Path(settings.snapshots) / "scores" / "customer_scores"
    assert len(list(scores.iterdir())) == 2
    assert after_refresh(replace(settings, snapshot_retention_days=1), store, today=AS_OF + timedelta(days=1)) == [old]
    assert store.versions() == [live] and store.latest_version() == live
    assert [p.name for p in scores.iterdir()] == [f"as_of={AS_OF}"]
    assert after_refresh(replace(settings, snapshot_retention_days=1), store, today=AS_OF + timedelta(days=30)) == []


def test_every_declared_table_holding_customer_ids_says_so_for_erasure():
    """A table added to schema.py with a customer_id column must declare it, or erasure would not reach it."""
    from insights.snapshot.erasure import AGGREGATES
    from insights.snapshot.schema import DOCUMENTS, TABLES

    for table in TABLES.values():
        if table.column("customer_id") is not None:
            assert table.customer_column == "customer_id", table.name
        for col in table.columns:
            assert col.rows_of is None or col.rows_of in TABLES, (table.name, col.name)
    assert {d.name for d in DOCUMENTS.values() if d.aggregates} <= set(AGGREGATES)


def test_copies_beside_the_score_tables_are_erased_too(world):
    """A bulk export (CSV and Parquet with emails) under scores/ loses the customer's rows like the tables."""
    settings, _, _, [(gone, email), (kept, kept_email)] = world
    # the refresh's own export copies (insights/refresh/exports.py) are there already; add two more by hand
    folder = Path(settings.snapshots) / "scores" / "exports" / "by_hand"
    folder.mkdir(parents=True)
    frame = pd.DataFrame({"customer_id": [gone, kept], "email": [email, kept_email], "predicted_clv": [1.5, 2.5]})
    frame.to_csv(folder / "scores.csv", index=False)
    frame.to_parquet(folder / "scores.parquet", index=False)
    refresh_copies = sorted(p.relative_to(settings.snapshots).as_posix()
                            for p in (Path(settings.snapshots) / "scores" / "exports").rglob("customer_scores*.*"))
    assert refresh_copies, "the refresh wrote its export copies"
    audit = forget(settings, [gone])
    assert set(audit["scores"]["exports"]["files"]) == {"scores/exports/by_hand/scores.csv",
                                                        "scores/exports/by_hand/scores.parquet", *refresh_copies}
    assert files_holding(local_files(Path(settings.snapshots)), gone, email) == []
    assert pd.read_csv(folder / "scores.csv").to_dict("list") == {"customer_id": [kept], "email": [kept_email],
                                                                   "predicted_clv": [2.5]}
    assert pd.read_parquet(folder / "scores.parquet")["customer_id"].tolist() == [kept]
