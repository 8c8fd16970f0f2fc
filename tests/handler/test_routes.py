"""Every route answered through the real lambda_handler, from real HTTP API (2.0) and REST API (1.0) payloads."""

from __future__ import annotations

import io

import pytest
from api_events import body_of, headers_of, load_event, v1, v2, with_token

P = "/demand-insights"


def test_v2_segments_event_returns_the_requested_solution(invoke, token):
    r = invoke(with_token(load_event("apigw_v2_get_segments"), token()))
    assert r["statusCode"] == 200
    body = body_of(r)
    assert body["n_clusters"] == 5 and len(body["segments"]) == 5
    assert body["total_customers"] == 12 and body["auto_k"] == 4
    assert {"segment", "count", "percentage", "avg_recency", "avg_frequency", "avg_monetary", "description"} \
        <= set(body["segments"][0])


def test_segments_without_n_clusters_uses_the_automatic_k(invoke, token):
    body = body_of(invoke(v2("GET", f"{P}/segments", token=token())))
    assert body["n_clusters"] == 4 and len(body["segments"]) == 4
    assert body["silhouette_score"] == pytest.approx(0.34)
    assert [e["k"] for e in body["elbow"]] == list(range(2, 11))


def test_v2_forecast_event_slices_the_stored_forecast(invoke, token):
    r = invoke(with_token(load_event("apigw_v2_post_forecast"), token()))
    assert r["statusCode"] == 200
    body = body_of(r)
    assert body["forecast_days"] == 30 and len(body["forecast"]) == 30
    assert body["forecast"][0] == {"date": "2026-11-01", "predicted_quantity": 10.0, "confidence_lower": 7.0,
                                   "confidence_upper": 13.0, "confidence_lower_wide": 4.0,
                                   "confidence_upper_wide": 16.0, "trading_day": True}
    assert body["forecast"][29]["date"] == "2026-11-30"
    assert [d["driver"] for d in body["drivers"]] == ["recent_sales", "day_of_week"]  # the product's own drivers
    assert body["drivers"][0]["description"] == \
        "Recent sales raise the forecast by about 3.0 units a day on average over the 30 days."
    assert body["method_note"].startswith("the demand model (lightgbm)") and "feature_importance" not in body
    assert body["grain_note"].startswith("sells most days")  # no empty note for a product sold every day
    assert body["interval_level"] == 0.8 and body["wide_interval_level"] == 0.95 and body["status"] == "ok"


def test_v2_base64_churn_event_answers_known_ids_and_lists_unknown(invoke, token):
    r = invoke(with_token(load_event("apigw_v2_post_churn_base64"), token()))
    assert r["statusCode"] == 200
    body = body_of(r)
    assert [p["customer_id"] for p in body["predictions"]] == ["C001"]
    assert body["predictions"][0]["churn_probability"] == 0.95
    assert body["predictions"][0]["risk_level"] == "Critical"
    assert body["not_found"] == ["X999"]
    assert body["summary"] == {"total_customers": 1, "at_risk_count": 1, "at_risk_percentage": 100.0,
                               "at_risk_levels": ["High", "Critical"]}


def test_v1_rest_clv_event_is_served_by_the_rest_resolver(invoke, token):
    r = invoke(with_token(load_event("apigw_v1_post_clv"), token()))
    assert r["statusCode"] == 200
    body = body_of(r)
    assert [p["customer_id"] for p in body["predictions"]] == ["C002", "C010"]
    assert body["not_found"] == ["NOPE-1"]
    assert body["segments"]["avg_clv"] == 850.0
    assert headers_of(r)["x-correlation-id"] == "7a2f3e4d-5c6b-4a79-9887-b6c5d4e3f2a1"


def test_v1_rest_at_risk_event_without_pii_scope_has_no_emails(invoke, token):
    r = invoke(with_token(load_event("apigw_v1_get_at_risk"), token()))
    assert r["statusCode"] == 200
    body = body_of(r)
    # churn >= 0.6, by value at risk: C004 (680), C010 (600), C003 (280), C006 (124), C001 (95), C008, C012
    assert [c["customer_id"] for c in body["at_risk_customers"]] == ["C004", "C010", "C003"]
    assert body["count"] == 3 and body["total_above_threshold"] == 7 and body["threshold"] == 0.6
    assert all("email" not in c for c in body["at_risk_customers"])


def test_at_risk_with_pii_scope_includes_emails(invoke, token):
    r = invoke(v2("GET", f"{P}/at-risk-customers", query={"threshold": "0.6", "limit": "2"}, token=token.pii()))
    rows = body_of(r)["at_risk_customers"]
    assert [(c["customer_id"], c["email"]) for c in rows] == [("C004", None), ("C010", "c10@example.com")]


@pytest.mark.parametrize("build", [v1, v2], ids=["rest-v1", "http-v2"])
def test_price_elasticity_on_both_payload_versions(invoke, token, build):
    r = invoke(build("POST", f"{P}/price-elasticity", body={"product_id": "P1"}, token=token()))
    assert r["statusCode"] == 200
    body = body_of(r)
    assert body["elasticity_coefficient"] == -1.5 and body["r_squared"] == 0.85
    assert body["elasticity_type"] == "Elastic"
    assert body["price_range"] == {"min": 3.0, "max": 5.0, "mean": 4.0}
    assert body["confidence_interval"] == {"lower": -1.9, "upper": -1.1, "level": 0.95}


def test_price_optimization_calls_the_pricing_model(invoke, token):
    pytest.importorskip("models.pricing")
    r = invoke(v2("POST", f"{P}/price-optimization", token=token(),
                  body={"product_id": "P1", "current_price": 4.0, "current_quantity": 100, "cost_per_unit": 2.0}))
    assert r["statusCode"] == 200
    body = body_of(r)
    assert body["product_id"] == "P1" and body["current_price"] == 4.0
    # elastic demand (-1.5) and a 50% margin: the profit optimum c*e/(1+e) = 6.0 is capped by the 20% step
    assert body["optimal_price"] == pytest.approx(4.8)
    assert {"price_change_pct", "recommendation", "estimated_impact"} <= set(body)


def test_health_needs_no_token_and_reports_the_snapshot(invoke):
    r = invoke(v2("GET", f"{P}/health"))
    assert r["statusCode"] == 200
    body = body_of(r)
    assert body["status"] == "ok"
    assert body["snapshot"]["version"] == "20261101T040000Z-2026-11-01-abc1234"
    assert body["snapshot"]["as_of"] == "2026-11-01" and body["snapshot"]["age_seconds"] > 0
    assert set(body) == {"status", "reasons", "snapshot", "recheck_seconds", "store_error"}  # nothing else: public


def test_openapi_document_lists_every_route_with_bearer_security(invoke):
    r = invoke(v2("GET", f"{P}/openapi.json"))
    assert r["statusCode"] == 200
    doc = body_of(r)
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, method in [("segments", "get"), ("forecast", "post"), ("price-elasticity", "post"),
                         ("price-optimization", "post"), ("clv", "post"), ("churn", "post"),
                         ("at-risk-customers", "get"), ("health", "get")]:
        assert method in paths[f"{P}/{path}"], path
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert paths[f"{P}/segments"]["get"]["security"] == [{"bearerAuth": []}]
    params = {p["name"]: p for p in paths[f"{P}/at-risk-customers"]["get"]["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 1000 and params["threshold"]["schema"]["maximum"] == 1.0


def test_openapi_is_also_served_over_the_rest_api(invoke):
    r = invoke(v1("GET", f"{P}/openapi.json"))
    assert r["statusCode"] == 200 and f"{P}/churn" in body_of(r)["paths"]


def test_every_response_carries_a_correlation_id_from_the_caller_or_the_request(invoke, token):
    r = invoke(with_token(load_event("apigw_v2_post_forecast"), token()))
    assert headers_of(r)["x-correlation-id"] == "checkout-7f3a9c2e-0001"
    r = invoke(with_token(load_event("apigw_v2_get_segments"), token()))
    assert headers_of(r)["x-correlation-id"] == "CrJ8kgZ2IAMEMYw="


def test_correlation_id_appears_in_the_structured_log(api, invoke, token):
    stream = io.StringIO()
    previous = api.logger.registered_handler.setStream(stream)
    try:
        invoke(with_token(load_event("apigw_v2_post_forecast"), token()))
    finally:
        api.logger.registered_handler.setStream(previous)
    lines = [ln for ln in stream.getvalue().splitlines() if '"message":"request"' in ln]
    assert lines and '"correlation_id":"checkout-7f3a9c2e-0001"' in lines[-1]
    assert '"route":"POST /demand-insights/forecast"' in lines[-1] and '"status":200' in lines[-1]


def test_per_route_latency_metric_is_emitted(invoke, token, capfd, monkeypatch):
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    invoke(v2("GET", f"{P}/segments", token=token()))
    emf = [ln for ln in capfd.readouterr().out.splitlines() if '"Latency"' in ln]
    assert emf and '"route":"GET /demand-insights/segments"' in emf[-1]


def test_a_named_http_api_stage_is_routed_and_authorized_like_default(invoke, token):
    event = v2("GET", f"{P}/health")
    event["requestContext"]["stage"] = "prod"
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/prod{P}/health"
    assert invoke(event)["statusCode"] == 200  # still public
    event = v2("GET", f"{P}/segments")
    event["requestContext"]["stage"] = "prod"
    event["rawPath"] = f"/prod{P}/segments"
    assert invoke(event)["statusCode"] == 401  # still protected
    assert invoke(with_token(event, token()))["statusCode"] == 200


def test_at_risk_order_by_is_validated_and_applied(invoke, token):
    r = invoke(v2("GET", f"{P}/at-risk-customers", query={"order_by": "churn_probability", "limit": "2"},
                  token=token()))
    assert [c["customer_id"] for c in body_of(r)["at_risk_customers"]] == ["C008", "C001"]
    r = invoke(v2("GET", f"{P}/at-risk-customers", query={"order_by": "email"}, token=token()))
    assert r["statusCode"] == 422 and body_of(r)["error"]["details"][0]["field"] == "order_by"


def test_quality_serves_the_model_cards_of_the_live_snapshot(invoke, token):
    assert invoke(v2("GET", f"{P}/quality"))["statusCode"] == 401
    r = invoke(v2("GET", f"{P}/quality", token=token()))
    assert r["statusCode"] == 200
    body = body_of(r)
    assert {"as_of", "version", "families", "available"} <= set(body)
    assert invoke(v2("GET", f"{P}/quality", token=token(), query={"family": "nope"}))["statusCode"] == 422
