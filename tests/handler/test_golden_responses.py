"""Every route's answer, byte for byte, against answers recorded from the test snapshot (tests/handler/golden/).

A refactor must leave these unchanged; a deliberate change of an answer re-records them with
``GOLDEN_RECORD=1 pytest tests/handler/test_golden_responses.py`` and the diff is reviewed in the commit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from api_events import body_of, headers_of, v1, v2

P = "/demand-insights"
GOLDEN = Path(__file__).parent / "golden" / "responses.json"
RECORD = os.environ.get("GOLDEN_RECORD") == "1"

# name -> (builder, method, path, query, body, scopes); scopes None = no token
CASES: dict[str, tuple[Any, str, str, dict[str, str] | None, Any, tuple[str, ...] | None]] = {
    "segments_auto": (v2, "GET", f"{P}/segments", None, None, ("insights:read",)),
    "segments_k3": (v2, "GET", f"{P}/segments", {"n_clusters": "3"}, None, ("insights:read",)),
    "segments_k11": (v2, "GET", f"{P}/segments", {"n_clusters": "11"}, None, ("insights:read",)),
    "segments_rest": (v1, "GET", f"{P}/segments", {"n_clusters": "5"}, None, ("insights:read",)),
    "clv": (v2, "POST", f"{P}/clv", None, {"customer_ids": ["C002", "C010", "C012", "NOPE"]}, ("insights:read",)),
    "clv_empty": (v2, "POST", f"{P}/clv", None, {"customer_ids": []}, ("insights:read",)),
    "clv_rest": (v1, "POST", f"{P}/clv", None, {"customer_ids": ["C001", "C001", "C007"]}, ("insights:read",)),
    "churn": (v2, "POST", f"{P}/churn", None, {"customer_ids": ["C001", "C005", "C012", "X"]}, ("insights:read",)),
    "churn_extra_field": (v2, "POST", f"{P}/churn", None, {"customer_ids": ["C001"], "x": 1}, ("insights:read",)),
    "at_risk_default": (v2, "GET", f"{P}/at-risk-customers", None, None, ("insights:read",)),
    "at_risk_pii": (v2, "GET", f"{P}/at-risk-customers", {"threshold": "0.6", "limit": "3"}, None,
                    ("insights:read", "customers:pii")),
    "at_risk_by_probability": (v2, "GET", f"{P}/at-risk-customers",
                               {"threshold": "0.2", "order_by": "churn_probability"}, None, ("insights:read",)),
    "at_risk_bad_threshold": (v2, "GET", f"{P}/at-risk-customers", {"threshold": "2"}, None, ("insights:read",)),
    "forecast_model": (v2, "POST", f"{P}/forecast", None, {"product_id": "P1", "forecast_days": 7},
                       ("insights:read",)),
    "forecast_whatif_grid": (v2, "POST", f"{P}/forecast", None,
                             {"product_id": "P1", "forecast_days": 5, "planned_price": 3.9}, ("insights:read",)),
    "forecast_whatif_elasticity": (v2, "POST", f"{P}/forecast", None,
                                   {"product_id": "P4", "forecast_days": 3, "planned_price": 11.0},
                                   ("insights:read",)),
    "forecast_whatif_refused": (v2, "POST", f"{P}/forecast", None,
                                {"product_id": "P2", "forecast_days": 3, "planned_price": 2.0}, ("insights:read",)),
    "forecast_no_history": (v2, "POST", f"{P}/forecast", None, {"product_id": "P3", "forecast_days": 3},
                            ("insights:read",)),
    "forecast_unknown": (v2, "POST", f"{P}/forecast", None, {"product_id": "NOPE", "forecast_days": 3},
                         ("insights:read",)),
    "forecast_91_days": (v2, "POST", f"{P}/forecast", None, {"product_id": "P1", "forecast_days": 91},
                         ("insights:read",)),
    "elasticity": (v2, "POST", f"{P}/price-elasticity", None, {"product_id": "P1"}, ("insights:read",)),
    "elasticity_refused": (v2, "POST", f"{P}/price-elasticity", None, {"product_id": "P2"}, ("insights:read",)),
    "optimization_profit": (v2, "POST", f"{P}/price-optimization", None,
                            {"product_id": "P1", "current_price": 4.0, "current_quantity": 100,
                             "cost_per_unit": 2.0}, ("insights:read",)),
    "optimization_revenue": (v2, "POST", f"{P}/price-optimization", None,
                             {"product_id": "P4", "current_price": 10.0, "current_quantity": 50},
                             ("insights:read",)),
    "elasticity_pooled": (v2, "POST", f"{P}/price-elasticity", None, {"product_id": "P5"}, ("insights:read",)),
    "elasticity_flagged": (v2, "POST", f"{P}/price-elasticity", None, {"product_id": "P6"}, ("insights:read",)),
    "optimization_flagged_holds": (v2, "POST", f"{P}/price-optimization", None,
                                   {"product_id": "P6", "current_price": 1.2, "current_quantity": 30,
                                    "cost_per_unit": 0.5}, ("insights:read",)),
    "optimization_out_of_support": (v2, "POST", f"{P}/price-optimization", None,
                                    {"product_id": "P1", "current_price": 1e9, "current_quantity": 10},
                                    ("insights:read",)),
    "forecast_weekly": (v2, "POST", f"{P}/forecast", None, {"product_id": "P5", "forecast_days": 9},
                        ("insights:read",)),
    "forecast_whatif_out_of_support": (v2, "POST", f"{P}/forecast", None,
                                       {"product_id": "P5", "forecast_days": 3, "planned_price": 20.0},
                                       ("insights:read",)),
    "no_token": (v2, "GET", f"{P}/segments", None, None, None),
    "wrong_scope": (v2, "GET", f"{P}/segments", None, None, ("other:scope",)),
    "unknown_route": (v2, "GET", f"{P}/nothing", None, None, ("insights:read",)),
    "health": (v2, "GET", f"{P}/health", None, None, None),
    "profile": (v2, "GET", f"{P}/customers/C001", None, None, ("insights:read",)),
    "profile_pii": (v1, "GET", f"{P}/customers/C004", None, None, ("insights:read", "customers:pii")),
    "profile_unknown": (v2, "GET", f"{P}/customers/NOPE", None, None, ("insights:read",)),
    "recommendations_customer": (v2, "POST", f"{P}/recommendations", None, {"customer_id": "C001", "limit": 2},
                                 ("insights:read",)),
    "recommendations_product": (v2, "POST", f"{P}/recommendations", None, {"product_id": "P3"}, ("insights:read",)),
    "recommendations_both": (v2, "POST", f"{P}/recommendations", None, {"customer_id": "C001", "product_id": "P3"},
                             ("insights:read",)),
}

VOLATILE = {"age_seconds"}  # grows with the wall clock


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<volatile>" if k in VOLATILE else _stable(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _answer(invoke: Any, token: Any, case: str) -> dict[str, Any]:
    build, method, path, query, body, scopes = CASES[case]
    bearer = None if scopes is None else token(*scopes)
    response = invoke(build(method, path, query=query, body=body, token=bearer))
    headers = headers_of(response)
    return {"status": response["statusCode"], "content_type": headers.get("content-type"),
            "body": _stable(body_of(response))}


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return {} if RECORD else json.loads(GOLDEN.read_text())


def test_the_golden_file_covers_every_case(golden):
    if RECORD:
        pytest.skip("recording")
    assert sorted(golden) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_route_answers_as_recorded(invoke, token, golden, case):
    got = _answer(invoke, token, case)
    if RECORD:
        recorded = json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {}
        recorded[case] = got
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        return
    assert got == golden[case]
