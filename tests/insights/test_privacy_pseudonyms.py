"""Pseudonymous ids (INSIGHTS_PSEUDONYMIZE): an import writes HMAC pseudonyms and no email, so no stored file of
the lake or the snapshots holds a store id; the API still answers by the store's ids and echoes them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from privacy_kit import AS_OF, SECRET, Customers, call, files_holding, local_files, sample_lake

from athena.duckdb_engine import DuckDBEngine
from insights.config import Settings, load_settings
from insights.data.importer import import_files
from insights.pseudonym import Pseudonymizer, pseudonymizer_from_settings
from insights.refresh.privacy import forget
from insights.refresh.wiring import refresh
from insights.snapshot.local import LocalSnapshotStore

KEY = "pseudonym-test-key-" + "x" * 24


def test_the_pseudonym_is_a_keyed_hash_and_is_stable():
    one, other = Pseudonymizer(KEY), Pseudonymizer(KEY[::-1])
    assert one.pseudonym("C0001") == one.pseudonym("C0001") != other.pseudonym("C0001")
    assert one.pseudonym("C0001").startswith("ps_") and len(one.pseudonym("C0001")) == 35
    assert one.pseudonym(one.pseudonym("C0001")) == one.pseudonym("C0001")  # never hashed twice
    settings = load_settings({"INSIGHTS_PSEUDONYMIZE": "true", "INSIGHTS_PSEUDONYM_SECRET": KEY})
    assert settings.pseudonymize and not settings.emails_kept
    assert pseudonymizer_from_settings(settings).pseudonym("C0001") == one.pseudonym("C0001")  # type: ignore[union-attr]
    assert pseudonymizer_from_settings(Settings()) is None


@pytest.fixture
def pseudonymized(tmp_path):
    source = sample_lake(tmp_path / "source", customers=120, days=150)
    orders, people = pd.read_parquet(source / "orders"), pd.read_parquet(source / "customers")
    orders.drop(columns=["order_date"]).to_csv(tmp_path / "orders.csv", index=False)
    people.to_csv(tmp_path / "customers.csv", index=False)
    settings = Settings(lake=str(tmp_path / "lake"), snapshots=str(tmp_path / "snaps"), jwt_secret=SECRET,
                        pseudonymize=True, pseudonym_secret=KEY, snapshot_recheck_s=0.0, max_data_lag_days=100_000,
                        refresh_interval_hours=1e9)
    import_files(tmp_path / "orders.csv", lake=settings.lake, customers_file=tmp_path / "customers.csv",
                 pseudonyms=pseudonymizer_from_settings(settings), keep_emails=settings.emails_kept)
    refresh(settings, as_of=AS_OF, engine=DuckDBEngine.over_lake(settings.lake),
            store=LocalSnapshotStore(settings.snapshots), sides=[Customers()])
    ids = sorted(set(orders["customer_id"].dropna()))
    return settings, ids, list(people["email"].dropna())


def test_no_stored_file_holds_a_store_id_or_an_email(pseudonymized):
    settings, ids, emails = pseudonymized
    stored = local_files(Path(settings.lake), Path(settings.snapshots))
    assert len(ids) > 50 and len(stored) > 50
    assert files_holding(stored, *ids, *emails) == []


def test_the_routes_answer_by_the_store_id_and_forget_takes_it(pseudonymized):
    import handler

    settings, ids, _ = pseudonymized
    handler.configure(settings)
    try:
        scored = [i for i in ids if i in set(_store_ids(settings, ids))][:3]
        for route in ("churn", "clv"):
            status, answer = call(handler, "POST", route, body={"customer_ids": [*scored, "NOPE"]})
            assert status == 200 and [p["customer_id"] for p in answer["predictions"]] == scored
            assert answer["not_found"] == ["NOPE"]
        status, profile = call(handler, "GET", f"customers/{scored[1]}")
        assert status == 200 and profile["customer_id"] == scored[1], profile
        assert "ps_" not in json.dumps(profile)  # no pseudonym anywhere in the answer
        _, risky = call(handler, "GET", "at-risk-customers", query={"threshold": "0", "limit": "5"})
        assert all(r["customer_id"].startswith("ps_") and r["email"] is None for r in risky["at_risk_customers"])

        forget(settings, [scored[0]])  # the store's id: its pseudonym is what goes
        gone = Pseudonymizer(KEY).pseudonym(scored[0])
        assert files_holding(local_files(Path(settings.lake), Path(settings.snapshots)), gone) == []
        _, churn = call(handler, "POST", "churn", body={"customer_ids": scored[:2]})
        assert churn["not_found"] == [scored[0]] and churn["predictions"][0]["customer_id"] == scored[1]
    finally:
        handler.configure(Settings())


def _store_ids(settings: Settings, ids: list[str]) -> list[str]:
    """The store ids whose pseudonym the live snapshot scored."""
    p = Pseudonymizer(KEY)
    held = set(LocalSnapshotStore(settings.snapshots).open().table("customers")["customer_id"])
    return [i for i in ids if p.pseudonym(i) in held]


def test_the_sample_command_stores_pseudonyms_too(tmp_path, monkeypatch, capsys):
    from insights.cli.main import main

    monkeypatch.setenv("INSIGHTS_PSEUDONYMIZE", "true")
    monkeypatch.setenv("INSIGHTS_PSEUDONYM_SECRET", KEY)
    assert main(["sample", "--customers", "30", "--days", "40", "--products", "2", "--lake", str(tmp_path / "l")]) == 0
    stored = local_files(tmp_path / "l")
    assert files_holding(stored, "C00000", "@example") == []
    assert files_holding(stored, Pseudonymizer(KEY).pseudonym("C0000001"))
