"""Typed answers: every route's 200 is a response type in the OpenAPI, every field described, and the services'
dicts are exactly their types (no key dropped on the way, none missing)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from api_events import body_of, v2
from pydantic import TypeAdapter
from snapshot_factory import build_snapshot
from typing_extensions import is_typeddict

from insights.api import (
    customer360_responses,
    customer_responses,
    customers,
    experiment_responses,
    lifecycle,
    lifecycle_responses,
    mcp_responses,
    overview,
    overview_responses,
    product_responses,
    products,
    responses,
    trait_responses,
)
from insights.api.events import DASHBOARD

P = "/demand-insights"


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    from api_events import FakeContext

    import handler

    return body_of(handler.lambda_handler(v2("GET", f"{P}/openapi.json"), FakeContext()))


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in doc["paths"].items() for method, op in item.items()]


def _refs(schema: Any) -> set[str]:
    text = json.dumps(schema)
    return {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}


def test_openapi_documents_every_200_with_its_model(openapi):
    import handler

    ops = _operations(openapi)
    # every route but the document itself and the dashboard's page and files (HTML, JS, CSS: not JSON answers)
    documented = {(m, re.sub(r"<(\w+)>", r"{\1}", path)) for m, path in handler.api.routes
                  if not path.endswith("/openapi.json") and path != DASHBOARD and not path.startswith(DASHBOARD + "/")}
    assert {(m, path) for m, path, _ in ops} == documented
    for method, path, op in ops:
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        (name,) = _refs(schema)
        model = next((getattr(m, name) for m in (customer_responses, product_responses, responses, overview_responses,
                                                 mcp_responses, experiment_responses, trait_responses,
                                                 lifecycle_responses, customer360_responses)
                      if hasattr(m, name)), None)
        assert model is not None and is_typeddict(model), (method, path, name)
        published = openapi["components"]["schemas"][name]
        assert set(published["properties"]) == set(model.__annotations__), name
        assert set(published.get("required", [])) == set(model.__required_keys__), name
        assert published["properties"] != {} and published.get("type") == "object"


def test_every_field_of_every_answer_is_described(openapi):
    schemas = openapi["components"]["schemas"]
    seen: set[str] = set()
    todo = [name for _, _, op in _operations(openapi) for name in _refs(op["responses"]["200"])]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for field, spec in schemas[name]["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no description"
            todo.extend(_refs(spec))
    assert {"ClvPrediction", "ChurnFactor", "ForecastDriver", "WhatIfModelGrid", "Guardrails", "SnapshotStatus"} <= seen


def test_fields_absent_by_design_are_optional_and_the_rest_required(openapi):
    schemas = openapi["components"]["schemas"]
    assert "email" not in schemas["AtRiskCustomer"]["required"]
    assert "what_if" not in schemas["ForecastResponse"]["required"]
    assert {"customer_id", "churn_probability", "value_at_risk"} <= set(schemas["AtRiskCustomer"]["required"])
    assert set(schemas["ClvPrediction"]["required"]) == set(schemas["ClvPrediction"]["properties"])


SNAPSHOT = build_snapshot()
IDS = ["C002", "C010", "C012", "C001", "NOPE"]
SERVICE_CASES = {
    "segments_auto": (customer_responses.SegmentsResponse, lambda: customers.segments(SNAPSHOT)),
    "segments_k3": (customer_responses.SegmentsResponse, lambda: customers.segments(SNAPSHOT, n_clusters=3)),
    "clv": (customer_responses.ClvResponse, lambda: customers.clv(SNAPSHOT, IDS)),
    "churn": (customer_responses.ChurnResponse, lambda: customers.churn(SNAPSHOT, IDS)),
    "at_risk": (customer_responses.AtRiskResponse, lambda: customers.at_risk_customers(
        SNAPSHOT, threshold=0.2, limit=5, with_pii=False)),
    "at_risk_pii": (customer_responses.AtRiskResponse, lambda: customers.at_risk_customers(
        SNAPSHOT, threshold=0.2, limit=5, with_pii=True, order_by="churn_probability")),
    "overview": (overview_responses.OverviewResponse, lambda: overview.overview(SNAPSHOT)),
    "forecast": (product_responses.ForecastResponse,
                 lambda: products.forecast(SNAPSHOT, product_id="P1", forecast_days=7)),
    "forecast_grid": (product_responses.ForecastResponse, lambda: products.forecast(
        SNAPSHOT, product_id="P1", forecast_days=5, planned_price=3.9)),
    "forecast_elasticity": (product_responses.ForecastResponse, lambda: products.forecast(
        SNAPSHOT, product_id="P4", forecast_days=3, planned_price=11.0)),
    "churn_outlook": (lifecycle_responses.ChurnOutlookResponse, lambda: lifecycle.churn_outlook(SNAPSHOT)),
    "cohorts": (lifecycle_responses.CohortsResponse, lambda: lifecycle.cohorts(SNAPSHOT)),
    "growth": (lifecycle_responses.GrowthProjectionResponse, lambda: lifecycle.growth_projection(SNAPSHOT)),
    "growth_segments": (lifecycle_responses.GrowthProjectionResponse, lambda: lifecycle.growth_projection(
        SNAPSHOT, months=6, by="segment")),
    "transitions": (lifecycle_responses.TransitionsResponse, lambda: lifecycle.segment_transitions(SNAPSHOT)),
    "cohorts_payback": (lifecycle_responses.CohortsResponse, lambda: lifecycle.cohorts(
        SNAPSHOT, period="week", metric="ltv", acquisition_cost=12.5)),
    "elasticity": (product_responses.ElasticityResponse, lambda: products.price_elasticity(SNAPSHOT, product_id="P1")),
    "elasticity_pooled": (product_responses.ElasticityResponse,
                          lambda: products.price_elasticity(SNAPSHOT, product_id="P5")),
    "elasticity_flagged": (product_responses.ElasticityResponse,
                           lambda: products.price_elasticity(SNAPSHOT, product_id="P6")),
    "forecast_weekly": (product_responses.ForecastResponse,
                        lambda: products.forecast(SNAPSHOT, product_id="P5", forecast_days=9, planned_price=6.5)),
    "optimization_flagged": (product_responses.PriceOptimizationResponse, lambda: products.price_optimization(
        SNAPSHOT, product_id="P6", current_price=1.2, current_quantity=30, cost_per_unit=0.5, max_change=0.2,
        range_margin=0.1)),
    "optimization_profit": (product_responses.PriceOptimizationResponse, lambda: products.price_optimization(
        SNAPSHOT, product_id="P1", current_price=4.0, current_quantity=100, cost_per_unit=2.0, max_change=0.2,
        range_margin=0.1)),
    "optimization_revenue": (product_responses.PriceOptimizationResponse, lambda: products.price_optimization(
        SNAPSHOT, product_id="P4", current_price=10.0, current_quantity=50, cost_per_unit=None, max_change=0.2,
        range_margin=0.1)),
}


@pytest.mark.parametrize("case", sorted(SERVICE_CASES))
def test_every_service_answer_is_exactly_its_model(case):
    """A key the model lacks would be dropped from the answer; this fails first, naming it."""
    model, answer = SERVICE_CASES[case]
    raw = json.loads(json.dumps(answer()))
    adapter = TypeAdapter(model)
    assert adapter.dump_python(adapter.validate_python(raw), mode="json") == raw


def _answered(case: str) -> dict[str, Any]:
    model, answer = SERVICE_CASES[case]
    adapter = TypeAdapter(model)
    out: dict[str, Any] = adapter.dump_python(adapter.validate_python(answer()), mode="json")
    return out


def test_absent_fields_stay_absent_and_nulls_stay_null():
    assert all("email" not in row for row in _answered("at_risk")["at_risk_customers"])
    pii = _answered("at_risk_pii")["at_risk_customers"]
    assert all("email" in row for row in pii)
    assert None in [row["email"] for row in pii]  # unknown email: null, not absent
    assert "what_if" not in _answered("forecast") and _answered("forecast_grid")["what_if"]["method"] == \
        "model_price_grid"


def test_undeclared_keys_never_leave_the_api(invoke, token, monkeypatch):
    real = customers.segments

    def leaky(*args: Any, **kwargs: Any) -> dict[str, Any]:
        out = real(*args, **kwargs)
        out["segments"][0]["internal_note"] = "not for clients"
        return {**out, "debug": {"sql": "select *"}}

    monkeypatch.setattr(customers, "segments", leaky)
    body = body_of(invoke(v2("GET", f"{P}/segments", token=token())))
    assert "debug" not in body and "internal_note" not in body["segments"][0]


def test_an_answer_that_breaks_its_model_is_a_500_not_a_client_error(invoke, token, monkeypatch):
    monkeypatch.setattr(customers, "segments", lambda *_a, **_k: {"segments": "not a list"})
    r = invoke(v2("GET", f"{P}/segments", token=token()))
    assert r["statusCode"] == 500 and body_of(r)["error"]["code"] == "internal_error"
    assert "segments" not in body_of(r)["error"]["message"]
