"""insights.api.customers: the API's customer answers over a small hand-checked snapshot."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))
from snapshot_factory import build_snapshot, snapshot_parts  # noqa: E402

from insights.api import customers  # noqa: E402
from insights.errors import InsufficientData, InvalidRequest  # noqa: E402
from insights.snapshot.reader import Snapshot  # noqa: E402


@pytest.fixture(scope="module")
def snap():
    return build_snapshot()


def test_segments_default_to_the_automatic_k(snap):
    out = customers.segments(snap)
    assert out["n_clusters"] == 4 and out["auto_k"] == 4
    assert [s["count"] for s in out["segments"]] == [3, 3, 3, 3]
    assert out["total_customers"] == 12 and out["silhouette_score"] == 0.34


@pytest.mark.parametrize("k", range(2, 11))
def test_every_precomputed_k_is_served(snap, k):
    out = customers.segments(snap, n_clusters=k)
    assert out["n_clusters"] == k and len(out["segments"]) == k
    assert sum(s["count"] for s in out["segments"]) == 12


def test_a_k_missing_from_the_snapshot_is_insufficient_data():
    p = snapshot_parts()
    del p["docs"]["segments"]["solutions"]["9"]
    snap = Snapshot.from_memory(p["version"], p["manifest"], p["tables"], p["docs"], keys=p["keys"])
    with pytest.raises(InsufficientData) as info:
        customers.segments(snap, n_clusters=9)
    assert info.value.missing == "segments.solutions.9"


def test_segments_rejects_k_outside_2_to_10(snap):
    with pytest.raises(InvalidRequest, match="n_clusters"):
        customers.segments(snap, n_clusters=11)


def test_clv_answers_known_ids_in_request_order_and_lists_the_rest(snap):
    out = customers.clv(snap, ["C010", "ZZZ", "C002", "C010", "AAA"])
    assert [p["customer_id"] for p in out["predictions"]] == ["C010", "C002"]
    assert out["not_found"] == ["ZZZ", "AAA"]
    c010 = out["predictions"][0]
    assert c010["predicted_clv"] == 800.0 and c010["clv_segment"] == "High"
    assert c010["simple_clv"] == 720.0 and c010["purchase_probability_30d"] == 0.25
    assert out["segments"]["avg_clv"] == 850.0 and out["segments"]["by_segment"] == {"High": 2}
    assert out["horizon_days"] == 365


def test_clv_missing_next_order_date_is_null(snap):
    assert customers.clv(snap, ["C012"])["predictions"][0]["next_order_date"] is None


def test_clv_with_only_unknown_ids_is_an_empty_answer_not_an_error(snap):
    out = customers.clv(snap, ["nobody"])
    assert out["predictions"] == [] and out["not_found"] == ["nobody"] and out["segments"]["avg_clv"] is None


def test_churn_reports_probability_level_factors_and_summary(snap):
    out = customers.churn(snap, ["C001", "C002", "C012"])
    by_id = {p["customer_id"]: p for p in out["predictions"]}
    assert by_id["C001"]["risk_level"] == "Critical" and by_id["C002"]["risk_level"] == "Low"
    assert by_id["C001"]["churn_factors"][0] == {
        "feature": "recency_days", "contribution": 0.9, "direction": "increases_risk", "strength": "moderate",
        "description": "10 days since the last order; a typical customer's last order was 30 days ago."}
    # a High customer none of whose own features raises the risk: the shop's base rate explains it
    assert [f["feature"] for f in by_id["C012"]["churn_factors"]] == ["base_rate"]
    assert "within 90 days" in by_id["C012"]["churn_factors"][0]["description"]
    assert out["summary"] == {"total_customers": 3, "at_risk_count": 2, "at_risk_percentage": 66.67,
                              "at_risk_levels": ["High", "Critical"]}
    assert out["horizon_days"] == 90


def test_at_risk_orders_by_value_at_risk_and_filters_by_threshold(snap):
    out = customers.at_risk_customers(snap, threshold=0.6, limit=100, with_pii=False)
    ids = [c["customer_id"] for c in out["at_risk_customers"]]
    assert ids == ["C004", "C010", "C003", "C006", "C001", "C008", "C012"]
    assert out["count"] == out["total_above_threshold"] == 7
    values = [c["value_at_risk"] for c in out["at_risk_customers"]]
    assert values == sorted(values, reverse=True)
    assert all(c["churn_probability"] >= 0.6 for c in out["at_risk_customers"])
    assert set(out["at_risk_customers"][0]) == {"customer_id", "churn_probability", "risk_level", "recency_days",
                                                "frequency", "monetary_total", "predicted_clv", "value_at_risk",
                                                "reasons", "next_best_action"}
    assert all(r["reasons"] and r["reasons"][0]["direction"] == "increases_risk" for r in out["at_risk_customers"])
    assert out["currency"] == "USD" and out["horizon_days"] == 90


def test_at_risk_limit_and_pii(snap):
    out = customers.at_risk_customers(snap, threshold=0.0, limit=2, with_pii=True)
    assert [(c["customer_id"], c["email"]) for c in out["at_risk_customers"]] == [("C004", None),
                                                                                ("C010", "c10@example.com")]
    assert out["total_above_threshold"] == 12


def test_at_risk_threshold_one_keeps_only_certain_churners(snap):
    assert customers.at_risk_customers(snap, threshold=1.0, limit=10, with_pii=False)["count"] == 0


def test_at_risk_chunked_scan_matches_a_brute_force_filter():
    rng = np.random.default_rng(7)
    n = 30_000
    prob = rng.random(n)
    order = rng.permutation(n).astype(np.int32)
    for threshold, limit in [(0.5, 10), (0.999, 1000), (0.0, 1000), (0.9999, 5)]:
        rows = customers._first_matching(order, prob, threshold, limit)
        expected = order[prob[order] >= threshold][:limit]
        np.testing.assert_array_equal(rows, expected)


def test_at_risk_can_be_ordered_by_churn_probability(snap):
    out = customers.at_risk_customers(snap, threshold=0.6, limit=3, with_pii=False, order_by="churn_probability")
    assert [c["customer_id"] for c in out["at_risk_customers"]] == ["C008", "C001", "C004"]
    assert out["order_by"] == "churn_probability" and out["total_above_threshold"] == 7


def test_probability_order_matches_a_full_sort_with_ties_by_id():
    rng = np.random.default_rng(3)
    prob = np.round(rng.random(20_000), 2)  # many ties
    for threshold, limit in [(0.0, 1000), (0.5, 37), (0.99, 1000), (1.0, 5)]:
        rows = customers._top_probability(prob, threshold, limit)
        idx = np.flatnonzero(prob >= threshold)
        expected = idx[np.lexsort((idx, -prob[idx]))][:limit]
        np.testing.assert_array_equal(rows, expected)


def test_unknown_order_is_an_invalid_request(snap):
    with pytest.raises(InvalidRequest, match="order_by"):
        customers.at_risk_customers(snap, threshold=0.5, limit=3, with_pii=False, order_by="email")


def test_the_churn_answer_words_a_two_order_customer_gap_from_the_stored_order_count():
    snap = build_snapshot()
    table = dict(snap.table("customers"))
    table["churn_factor_3"] = np.array(["recency_over_gap"] * len(table["customer_id"]))
    table["churn_contrib_3"] = np.full(len(table["customer_id"]), 0.4)
    table["churn_value_3"] = np.asarray(table["recency_days"], dtype=float) / 3.0  # recency over a 3-day gap
    rows = np.array([1, 2])  # C002 has two orders, C003 three (the factory's frequency is 1..12)
    two, three = ([r for r in reasons if r["feature"] == "recency_over_gap"][0]["description"]
                  for reasons in customers.churn_reasons(snap, table, rows))
    assert "their two orders so far were 3 days apart" in two and "usually" not in two
    assert "usually orders every 3 days" in three
