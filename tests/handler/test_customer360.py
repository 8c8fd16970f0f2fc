"""GET customers/{customer_id} and POST recommendations through the real handler, on the test snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from api_events import body_of, headers_of, v1, v2
from snapshot_factory import write_snapshot

P = "/demand-insights"


def _ok(response: dict[str, Any]) -> Any:
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def test_the_profile_agrees_with_the_churn_and_clv_answers(invoke, token):
    profile = _ok(invoke(v2("GET", f"{P}/customers/C003", token=token())))
    churn = _ok(invoke(v2("POST", f"{P}/churn", token=token(), body={"customer_ids": ["C003"]})))["predictions"][0]
    clv = _ok(invoke(v2("POST", f"{P}/clv", token=token(), body={"customer_ids": ["C003"]})))["predictions"][0]
    assert profile["churn"]["churn_probability"] == churn["churn_probability"]
    assert profile["churn"]["risk_level"] == churn["risk_level"]
    assert profile["churn"]["reasons"] == churn["churn_factors"]
    for field in ("predicted_clv", "clv_interval", "clv_segment", "clv_method", "simple_clv"):
        assert profile["clv"][field] == clv[field]
    for field in ("predicted_orders", "next_order_date", "purchase_probability_30d", "predicted_spend_30d"):
        assert profile["purchases"][field] == clv[field]
    # the category split adds up to the 30-day spend (to the cent per line)
    spend = sum(c["predicted_spend"] for c in profile["category_spend_30d"])
    assert spend == pytest.approx(clv["predicted_spend_30d"], abs=0.011)
    assert [c["category"] for c in profile["category_spend_30d"]] == ["home", "toys"]


def test_the_profile_holds_rfm_segment_recommendations_and_the_next_action(invoke, token):
    profile = _ok(invoke(v2("GET", f"{P}/customers/C004", token=token())))
    assert profile["rfm"] == {"recency_days": 40, "frequency": 4, "monetary_total": 350.0, "r_score": 4,
                              "f_score": 1, "m_score": 3}
    assert profile["segment"] == {"name": "New Customers", "segment_id": 3, "k": 4}
    assert [p["product_id"] for p in profile["recommended_products"]] == ["P3", "P1", "P5"]
    assert profile["recommended_products"][0]["reason"] == "often bought with P2, which this customer bought"
    action = profile["next_best_action"]
    assert action["action"] == "win_back" and action["products"] == ["P3", "P1"]
    assert "Critical churn risk (85%)" in action["reason"]
    assert profile["currency"] == "USD" and profile["as_of"] == "2026-11-01"


def test_email_only_with_the_pii_scope(invoke, token):
    assert "email" not in _ok(invoke(v2("GET", f"{P}/customers/C001", token=token())))
    assert _ok(invoke(v2("GET", f"{P}/customers/C001", token=token.pii())))["email"] == "c1@example.com"
    assert _ok(invoke(v1("GET", f"{P}/customers/C004", token=token.pii())))["email"] is None  # unknown email


def test_an_unknown_customer_is_404(invoke, token):
    response = invoke(v2("GET", f"{P}/customers/NOPE", token=token()))
    assert response["statusCode"] == 404
    assert body_of(response)["error"] == {"code": "not_found", "message": "customer 'NOPE' is not in the current "
                                          "snapshot", "details": {"customer_id": "NOPE"}}


def test_the_profile_needs_a_token_and_answers_head_and_a_trailing_slash(invoke, token):
    assert invoke(v2("GET", f"{P}/customers/C001"))["statusCode"] == 401
    assert _ok(invoke(v2("GET", f"{P}/customers/C001/", token=token())))["customer_id"] == "C001"
    head = invoke(v2("HEAD", f"{P}/customers/C001", token=token()))
    assert head["statusCode"] == 200 and head["body"] == ""
    assert int(headers_of(head)["content-length"]) > 0
    assert invoke(v2("POST", f"{P}/customers/C001", token=token(), body={}))["statusCode"] == 405


@pytest.fixture
def odd_ids(settings, snapshot_root: Path) -> None:
    """Republish the test snapshot with C012 renamed to an id holding a space and a slash."""
    def rename(parts: dict[str, Any]) -> None:
        for table in ("customers", "recommendations"):
            ids = parts["tables"][table]["customer_id"].astype("<U16")
            ids[ids == "C012"] = "Z a/b"
            parts["tables"][table]["customer_id"] = ids
        parts["tables"]["at_risk"]["order"] = np.asarray(parts["tables"]["at_risk"]["order"])

    write_snapshot(settings.snapshots, version="20261102T040000Z-2026-11-02-def5678", as_of="2026-11-02",
                   mutate=rename)


def test_ids_with_a_space_or_a_slash_are_percent_decoded(api, invoke, token, odd_ids):
    api.configure(api.runtime.settings)  # read the republished latest
    got = _ok(invoke(v2("GET", f"{P}/customers/Z%20a%2Fb", token=token())))
    assert got["customer_id"] == "Z a/b" and got["rfm"]["frequency"] == 12
    assert _ok(invoke(v2("GET", f"{P}/customers/Z a%2Fb", token=token())))["customer_id"] == "Z a/b"


def test_recommendations_for_a_customer_and_for_a_product(invoke, token):
    mine = _ok(invoke(v2("POST", f"{P}/recommendations", token=token(), body={"customer_id": "C012"})))
    assert mine["kind"] == "customer" and mine["count"] == 3 and mine["stored_per_subject"] == 3
    assert [r["reason"] for r in mine["recommendations"]][0] == "popular: bought by 8 customers"
    together = _ok(invoke(v2("POST", f"{P}/recommendations", token=token(), body={"product_id": "P3", "limit": 1})))
    assert together["recommendations"] == [{"product_id": "P2", "score": 0.7, "category": "home",
                                            "because_product_id": "P3",
                                            "reason": "4 of the 5 customers who bought P3 also bought it"}]
    assert together["backtest"]["recall_at_k"] == 0.2 and together["backtest"]["popularity_recall_at_k"] == 0.1


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"customer_id": "C001", "product_id": "P1"}, 422, "invalid_value"),
    ({}, 422, "invalid_value"),
    ({"customer_id": "C001", "limit": 51}, 422, "validation_error"),
    ({"customer_id": "C001", "limit": 0}, 422, "validation_error"),
    ({"customer_id": "NOPE"}, 404, "not_found"),
    ({"product_id": "NOPE"}, 404, "not_found"),
])
def test_bad_recommendation_requests(invoke, token, body, status, code):
    response = invoke(v2("POST", f"{P}/recommendations", token=token(), body=body))
    assert response["statusCode"] == status and body_of(response)["error"]["code"] == code


def test_each_at_risk_row_carries_its_next_best_action(invoke, token):
    rows = _ok(invoke(v2("GET", f"{P}/at-risk-customers", token=token(), query={"threshold": "0"})))
    actions = {r["customer_id"]: r["next_best_action"]["action"] for r in rows["at_risk_customers"]}
    assert actions["C004"] == "win_back" and actions["C008"] == "do_nothing" and actions["C007"] == "vip_care"


def test_an_erased_customer_leaves_the_recommendations_table_too(snapshot_root, tmp_path):
    from snapshot_factory import VERSION

    from insights.snapshot.erasure import rewrite_version
    from insights.snapshot.reader import load_local_version

    snapshot = load_local_version(snapshot_root / "versions" / VERSION)
    done = rewrite_version(snapshot, ["C001"], [], tmp_path / "build", models=None, erasure_note={})
    assert done.rows["recommendations"] == 1 and done.rows["customers"] == 1
    rewritten = load_local_version(tmp_path / "build")
    assert "C001" not in np.asarray(rewritten.table("recommendations")["customer_id"]).astype(str).tolist()
    assert rewritten.table("recommendations").positions(["C002"])[0] == 0
