"""The derived documents' refresh-side rules: which version transitions compare with; churn outlook sums."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))
from snapshot_factory import customer_columns, write_snapshot  # noqa: E402

from insights.refresh.churn_outlook import churn_outlook_doc
from insights.refresh.transitions import previous_segments, transitions_doc
from insights.snapshot.local import LocalSnapshotStore


def test_transitions_compare_with_the_newest_earlier_as_of_never_the_same_day(tmp_path):
    write_snapshot(tmp_path, version="20261001T040000Z-2026-10-01-aaaaaaa", as_of="2026-10-01")
    write_snapshot(tmp_path, version="20261015T040000Z-2026-10-15-bbbbbbb", as_of="2026-10-15")
    write_snapshot(tmp_path, version="20261101T040000Z-2026-11-01-ccccccc", as_of="2026-11-01")
    store = LocalSnapshotStore(tmp_path)
    snap, note = previous_segments(store, "2026-11-01")  # a re-run of 11-01 compares with 10-15, not itself
    assert snap is not None and snap.version == "20261015T040000Z-2026-10-15-bbbbbbb" and note == ""
    doc = transitions_doc(customer_columns(), snap)
    assert doc["available"] and doc["moved_customers"] == 0 and doc["compared_customers"] == 12
    none, note = previous_segments(store, "2026-10-01")
    assert none is None and "no previous snapshot" in note
    assert transitions_doc(customer_columns(), None, note) == {"available": False, "note": note}


def test_an_unreadable_previous_version_gives_a_note_not_a_failure(tmp_path):
    folder = write_snapshot(tmp_path, version="20261001T040000Z-2026-10-01-aaaaaaa", as_of="2026-10-01")
    (folder / "tables" / "customers" / "segment.npy").write_bytes(b"damaged")
    snap, note = previous_segments(LocalSnapshotStore(tmp_path), "2026-11-01")
    assert snap is None and "could not be read" in note


def test_churn_outlook_segments_add_up_and_shorter_horizons_lose_fewer():
    cols = customer_columns()
    doc = churn_outlook_doc(cols, model_horizon_days=90)
    overall = doc["overall"]["horizons"]
    assert overall[1]["expected_customers_lost"] == round(float(cols["churn_probability"].sum()), 2)
    assert overall[0]["expected_customers_lost"] < overall[1]["expected_customers_lost"]
    for h in (0, 1):
        assert np.isclose(sum(s["horizons"][h]["revenue_at_risk"] for s in doc["by_segment"]),
                          overall[h]["revenue_at_risk"], atol=0.05)


def test_the_handler_tests_derived_documents_are_what_the_refresh_computes():
    import json
    import os

    from snapshot_factory import DERIVED, compute_derived_docs

    fresh = json.loads(json.dumps(compute_derived_docs()))
    if os.environ.get("GOLDEN_RECORD") == "1":
        DERIVED.write_text(json.dumps(fresh, indent=1, sort_keys=True) + "\n")
    assert fresh == json.loads(DERIVED.read_text()), "stale tests/handler/derived_docs.json (GOLDEN_RECORD=1)"


def test_export_copies_written_in_slices_equal_one_piece(tmp_path, monkeypatch):
    import pandas as pd

    from insights.refresh import exports

    cols = customer_columns()
    whole = exports.write_exports(tmp_path / "whole", cols, "2026-11-01")
    monkeypatch.setattr(exports, "CHUNK_ROWS", 5)  # 12 customers: slices of 5, 5 and 2
    sliced = exports.write_exports(tmp_path / "sliced", cols, "2026-11-01")
    assert whole == sliced and whole["customer_scores"]["rows"] == 12
    docs = whole["customer_scores"]
    for rel in (docs["files"]["csv"], docs["pii_files"]["csv"]):
        assert (tmp_path / "whole" / rel).read_text() == (tmp_path / "sliced" / rel).read_text()
    a = pd.read_parquet(tmp_path / "whole" / docs["pii_files"]["parquet"])
    b = pd.read_parquet(tmp_path / "sliced" / docs["pii_files"]["parquet"])
    pd.testing.assert_frame_equal(a, b)
    assert a["customer_id"].tolist() == cols["customer_id"].tolist()
    assert pd.isna(a["email"].iloc[3]) and a["email"].iloc[0] == "c1@example.com"  # no email: null
    plain = pd.read_csv(tmp_path / "whole" / docs["files"]["csv"])
    assert "email" not in plain.columns and plain["predicted_clv"].tolist() == cols["predicted_clv"].tolist()


def test_a_lake_without_purchases_in_the_window_gives_empty_documents_not_errors():
    from datetime import date

    import pandas as pd

    from insights.refresh.cohorts import cohorts_doc
    from insights.refresh.growth import growth_doc

    class Empty:
        def query(self, name, params=None):
            columns = {"customer_cohorts": ["cohort", "period_start", "active_customers", "revenue"],
                       "customer_activity_monthly": ["month_start", "active_customers", "new_customers"]}[name]
            frame = pd.DataFrame({c: pd.Series(dtype="int64") for c in columns})
            for c in columns[:2]:
                frame[c] = pd.to_datetime(frame[c])
            return frame

    cohorts = cohorts_doc(Empty(), date(2026, 11, 1))
    assert cohorts["month"]["cohorts"] == [] and cohorts["week"]["curve"]["retention"] == []
    growth = growth_doc(Empty(), date(2026, 11, 1), customer_columns(), model_horizon_days=90)
    assert growth["available"] is False and "at least 3" in growth["note"]


def test_churn_outlook_counts_customers_already_lapsed_apart_from_the_active_ones():
    cols = customer_columns()
    doc = churn_outlook_doc(cols, model_horizon_days=90)
    overall = doc["overall"]
    lapsed = np.asarray(cols["recency_days"], dtype=float) >= 90  # active: an order in the last 90 days
    assert 0 < lapsed.sum() < len(lapsed), "the fixture needs both kinds"
    assert overall["lapsed_customers"] == int(lapsed.sum())
    assert overall["active_customers"] + overall["lapsed_customers"] == overall["customers"]
    at_90 = overall["horizons"][1]
    p = np.asarray(cols["churn_probability"], dtype=float)
    assert at_90["expected_active_customers_lost"] == round(float(p[~lapsed].sum()), 2)
    assert at_90["expected_active_customers_lost"] < at_90["expected_customers_lost"]
    assert sum(s["lapsed_customers"] for s in doc["by_segment"]) == overall["lapsed_customers"]
