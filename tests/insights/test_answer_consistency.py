"""Numbers that agree, as properties over every customer of a real refreshed snapshot (issue 13, item 2).

A sample lake goes through the real refresh once (module-scoped); then every customer is asked for through the
same service functions the routes call, and the answers are checked against each other: a customer with no
chance of ordering has no predicted spend, the risk level never falls as the probability rises, every reason
reads as words, and the segment names follow their RFM profiles.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest

from athena.duckdb_engine import DuckDBEngine
from insights.api import customers
from insights.refresh.customers import CustomerSide
from insights.refresh.pipeline import run_refresh
from insights.snapshot.local import LocalSnapshotStore

SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
LEVELS = ["Low", "Medium", "High", "Critical"]


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    from insights.data.sample import SampleSpec, generate, write_sample

    root = tmp_path_factory.mktemp("consistency")
    write_sample(root / "lake", generate(SampleSpec(customers=700, products=6, days=480, seed=11,
                                                    end=date(2026, 5, 31))))
    store = LocalSnapshotStore(root / "snaps")
    run_refresh(engine=DuckDBEngine.over_lake(root / "lake"), store=store, sides=[CustomerSide()],
                as_of=date(2026, 6, 1))
    return store.open()


@pytest.fixture(scope="module")
def everyone(snap):
    ids = [str(i) for i in snap.table("customers")["customer_id"]]
    return ids, customers.churn(snap, ids), customers.clv(snap, ids)


def test_no_chance_of_an_order_means_no_predicted_spend_and_spend_follows_the_chance(everyone):
    ids, _, clv = everyone
    rows = clv["predictions"]
    assert len(rows) == len(ids) and not clv["not_found"]
    p = np.array([r["purchase_probability_30d"] for r in rows])
    spend = np.array([r["predicted_spend_30d"] for r in rows])
    assert np.all(spend[p == 0] == 0)
    assert np.all((spend > 0) <= (p > 0))  # spend without a chance of an order would contradict itself
    assert np.all(spend >= 0) and np.all((p >= 0) & (p <= 1))
    order = np.argsort(p, kind="stable")
    # spend is p x a positive per-customer amount: rank agreement, not equality (amounts differ by customer)
    assert np.corrcoef(p[order], spend[order])[0, 1] > 0.3


def test_the_risk_level_never_falls_as_the_probability_rises(everyone):
    _, churn, _ = everyone
    pairs = sorted((r["churn_probability"], LEVELS.index(r["risk_level"])) for r in churn["predictions"])
    levels = [lv for _, lv in pairs]
    assert levels == sorted(levels)
    assert {r["risk_level"] for r in churn["predictions"]} - set(LEVELS) == set()


def test_every_reason_of_every_customer_is_words_and_high_risk_is_explained_by_risk(everyone):
    _, churn, _ = everyone
    for row in churn["predictions"]:
        assert row["churn_factors"], row["customer_id"]
        for factor in row["churn_factors"]:
            text = factor["description"]
            assert text and not SNAKE.search(text), (row["customer_id"], text)
        if row["risk_level"] in ("High", "Critical"):
            assert any(f["direction"] == "increases_risk" for f in row["churn_factors"]), row


def test_segment_names_follow_their_rfm_profiles(snap):
    answer = customers.segments(snap)
    segs = [s for s in answer["segments"] if s["count"] > 0]
    assert 4 <= answer["n_clusters"] <= 8
    by_name = {s["segment"]: s for s in segs}
    if "Lost" in by_name:
        assert by_name["Lost"]["avg_recency"] == max(s["avg_recency"] for s in segs)
    if "Champions" in by_name:  # the best overall: the most orders or the most spend of all segments
        champions = by_name["Champions"]
        assert (champions["avg_monetary"] == max(s["avg_monetary"] for s in segs)
                or champions["avg_frequency"] == max(s["avg_frequency"] for s in segs)), segs
    assert len(by_name) == len(segs)  # no two segments share a name


def test_the_churn_outlook_adds_up_the_churn_and_at_risk_answers_of_every_customer(snap, everyone):
    from insights.api import lifecycle

    ids, churn, _ = everyone
    outlook = lifecycle.churn_outlook(snap)
    overall = outlook["overall"]
    assert overall["customers"] == len(ids)
    probs = np.array([r["churn_probability"] for r in churn["predictions"]])  # rounded to 4 digits
    assert overall["horizons"][-1]["expected_customers_lost"] == pytest.approx(probs.sum(), abs=0.0001 * len(ids))
    levels = [r["risk_level"] for r in churn["predictions"]]
    assert [lvl["customers"] for lvl in overall["risk_levels"]] == [levels.count(lvl) for lvl in LEVELS]
    at_risk = customers.at_risk_customers(snap, threshold=0.0, limit=len(ids), with_pii=False)
    assert at_risk["currency"] == outlook["currency"]
    value = sum(r["value_at_risk"] for r in at_risk["at_risk_customers"])
    assert overall["horizons"][-1]["revenue_at_risk"] == pytest.approx(value, abs=0.005 * len(ids))


def test_the_outlook_and_the_overview_count_the_same_active_customers(snap, everyone):
    from insights.api import lifecycle
    from insights.api.overview import overview

    outlook, front = lifecycle.churn_outlook(snap), overview(snap)
    assert outlook["model_horizon_days"] == front["active_days"]
    assert outlook["overall"]["active_customers"] == front["active_customers"]
    assert outlook["overall"]["lapsed_customers"] == front["customers"] - front["active_customers"]
    lapsed = outlook["overall"]["lapsed_customers"]
    assert f"{lapsed:,} have not ordered in the last 90 days" in outlook["summary"]
    at_90 = outlook["overall"]["horizons"][-1]
    assert at_90["expected_active_customers_lost"] <= outlook["overall"]["active_customers"]
