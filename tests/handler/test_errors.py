"""Every error path: one body shape, the field and rule named, no stack trace, 503 without a snapshot."""

from __future__ import annotations

import json
import shutil

import pytest
from api_events import body_of, headers_of, v1, v2

P = "/demand-insights"


def _error(r, status):
    assert r["statusCode"] == status, r["body"]
    body = body_of(r)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert "Traceback" not in r["body"] and ".py" not in r["body"]
    assert headers_of(r)["x-correlation-id"]
    return body["error"]


@pytest.mark.parametrize(("method", "path", "kwargs", "field", "rule"), [
    ("GET", "segments", {"query": {"n_clusters": "1"}}, "n_clusters", "greater_than_equal"),
    ("GET", "segments", {"query": {"n_clusters": "11"}}, "n_clusters", "less_than_equal"),
    ("GET", "segments", {"query": {"n_clusters": "five"}}, "n_clusters", "int_parsing"),
    ("GET", "at-risk-customers", {"query": {"threshold": "1.5"}}, "threshold", "less_than_equal"),
    ("GET", "at-risk-customers", {"query": {"threshold": "-0.1"}}, "threshold", "greater_than_equal"),
    ("GET", "at-risk-customers", {"query": {"limit": "0"}}, "limit", "greater_than_equal"),
    ("GET", "at-risk-customers", {"query": {"limit": "1001"}}, "limit", "less_than_equal"),
    ("POST", "forecast", {"body": {"product_id": "P1", "forecast_days": 0}}, "forecast_days", "greater_than_equal"),
    ("POST", "forecast", {"body": {"product_id": "P1", "forecast_days": 91}}, "forecast_days", "less_than_equal"),
    ("POST", "forecast", {"body": {"forecast_days": 7}}, "product_id", "missing"),
    ("POST", "forecast", {"body": {"product_id": "P1", "forecast_days": 7, "planned_price": -1}}, "planned_price",
     "greater_than"),
    ("POST", "forecast", {"body": {"product_id": "P1", "forecast_days": 7, "days": 3}}, "days", "extra_forbidden"),
    ("POST", "clv", {"body": {"customer_ids": []}}, "customer_ids", "too_short"),
    ("POST", "churn", {"body": {"customer_ids": [f"C{i}" for i in range(1001)]}}, "customer_ids", "too_long"),
    ("POST", "churn", {"body": {"customer_ids": "C001"}}, "customer_ids", "list_type"),
    ("POST", "price-elasticity", {"body": {"product_id": ""}}, "product_id", "string_too_short"),
    ("POST", "price-optimization", {"body": {"product_id": "P1", "current_price": 0, "current_quantity": 5}},
     "current_price", "greater_than"),
    ("POST", "price-optimization", {"body": {"product_id": "P1", "current_price": 4, "current_quantity": 5,
                                             "cost_per_unit": -1}}, "cost_per_unit", "greater_than_equal"),
])
def test_validation_errors_are_422_naming_the_field_and_rule(invoke, token, method, path, kwargs, field, rule):
    err = _error(invoke(v2(method, f"{P}/{path}", token=token(), **kwargs)), 422)
    assert err["code"] == "validation_error"
    assert field in err["message"]
    assert any(d["field"].split(".")[0] == field and d["rule"] == rule for d in err["details"]), err["details"]


def test_validation_detail_states_the_limit(invoke, token):
    err = _error(invoke(v2("POST", f"{P}/forecast", token=token(), body={"product_id": "P1", "forecast_days": 91})),
                 422)
    assert err["details"][0]["limit"] == {"le": 90}


def test_malformed_json_body_is_400(invoke, token):
    err = _error(invoke(v2("POST", f"{P}/clv", token=token(), raw_body='{"customer_ids": [')), 400)
    assert err["code"] == "malformed_request"


def test_validation_also_runs_on_rest_api_events(invoke, token):
    err = _error(invoke(v1("POST", f"{P}/clv", token=token(), body={"customer_ids": []})), 422)
    assert err["details"][0]["field"] == "customer_ids"


def test_unknown_single_product_is_404(invoke, token):
    err = _error(invoke(v2("POST", f"{P}/forecast", token=token(), body={"product_id": "NOPE", "forecast_days": 7})),
                 404)
    assert err["code"] == "not_found" and err["details"]["product_id"] == "NOPE"
    err = _error(invoke(v2("POST", f"{P}/price-elasticity", token=token(), body={"product_id": "NOPE"})), 404)
    assert err["code"] == "not_found"


def test_product_with_insufficient_history_is_422_insufficient_data(invoke, token):
    err = _error(invoke(v2("POST", f"{P}/forecast", token=token(), body={"product_id": "P3", "forecast_days": 7})),
                 422)
    assert err["code"] == "insufficient_data" and err["details"]["missing"] == "sales_history"


def test_refused_elasticity_is_422_and_says_why(invoke, token):
    err = _error(invoke(v2("POST", f"{P}/price-elasticity", token=token(), body={"product_id": "P2"})), 422)
    assert err["code"] == "insufficient_data" and "price never changed" in err["message"]


def test_unknown_route_is_404_in_the_error_shape(invoke, token):
    err = _error(invoke(v2("GET", f"{P}/nothing-here", token=token())), 404)
    assert err["code"] == "route_not_found"


@pytest.mark.parametrize("build", [v1, v2])
def test_a_known_path_with_another_method_is_405_naming_the_allowed_ones(invoke, token, build):
    r = invoke(build("GET", f"{P}/forecast", token=token()))
    err = _error(r, 405)
    assert err["code"] == "method_not_allowed" and err["details"] == {"allowed": ["POST"]}
    assert headers_of(r)["allow"] == "POST"
    r = invoke(build("DELETE", f"{P}/segments", token=token()))
    assert _error(r, 405)["details"] == {"allowed": ["GET", "HEAD"]} and headers_of(r)["allow"] == "GET, HEAD"


def test_no_snapshot_is_503_with_retry_after_and_an_operator_hint(invoke, token, snapshot_root):
    shutil.rmtree(snapshot_root)
    for event in (v2("GET", f"{P}/segments", token=token()), v2("GET", f"{P}/health"),
                  v1("POST", f"{P}/churn", token=token(), body={"customer_ids": ["C001"]})):
        r = invoke(event)
        err = _error(r, 503)
        assert err["code"] == "snapshot_unavailable"
        assert "python -m insights refresh" in err["message"]
        assert int(headers_of(r)["retry-after"]) > 0


def test_an_unexpected_exception_is_a_500_without_a_trace(api, invoke, token, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("secret internal detail /var/task/insights/customers.py line 42")

    monkeypatch.setattr("insights.api.customers.segments", boom)
    r = invoke(v2("GET", f"{P}/segments", token=token()))
    err = _error(r, 500)
    assert err["code"] == "internal_error"
    assert "secret internal detail" not in r["body"]


def test_error_bodies_are_json_with_content_type(invoke, token):
    r = invoke(v2("POST", f"{P}/forecast", token=token(), body={"product_id": "NOPE", "forecast_days": 7}))
    assert headers_of(r)["content-type"].startswith("application/json")
    json.loads(r["body"])


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_non_finite_numbers_are_rejected(invoke, token, value):
    err = _error(invoke(v2("GET", f"{P}/at-risk-customers", query={"threshold": value}, token=token())), 422)
    assert err["details"][0]["field"] == "threshold"
    body = {"product_id": "P1", "current_price": value, "current_quantity": 5}
    raw = json.dumps(body).replace(f'"{value}"', "NaN" if value == "nan" else "Infinity")
    err = _error(invoke(v2("POST", f"{P}/price-optimization", token=token(), raw_body=raw)), 422)
    assert err["details"][0]["field"] == "current_price"


def test_a_body_that_is_not_json_content_is_415(invoke, token):
    event = v2("POST", f"{P}/clv", token=token(), body={"customer_ids": ["C001"]})
    event["headers"]["content-type"] = "text/plain"
    err = _error(invoke(event), 415)
    assert err["code"] == "unsupported_media_type"


def test_a_form_encoded_body_is_415_not_a_confusing_422(invoke, token):
    # what `curl -d '{...}'` sends when the caller forgets Content-Type: application/json
    event = v2("POST", f"{P}/forecast", token=token(), body={"product_id": "P1", "forecast_days": 3})
    event["headers"]["content-type"] = "application/x-www-form-urlencoded"
    err = _error(invoke(event), 415)
    assert err["code"] == "unsupported_media_type"
    assert "application/json" in err["message"]


def test_a_snapshot_without_the_product_side_answers_503_for_products_only(api, invoke, token, settings, tmp_path):
    from snapshot_factory import write_snapshot

    from insights.config import Settings

    def drop_products(parts):
        del parts["tables"]["elasticity"], parts["tables"]["forecast"], parts["docs"]["forecast_meta"]

    root = tmp_path / "partial"
    write_snapshot(root, mutate=drop_products)
    api.configure(Settings(snapshots=str(root), jwt_secret=settings.jwt_secret))
    r = invoke(v2("POST", f"{P}/price-elasticity", token=token(), body={"product_id": "P1"}))
    err = _error(r, 503)
    assert err["details"]["reason"] == "missing_table" and "elasticity" in err["message"]
    assert headers_of(r)["retry-after"] == "3600"
    assert invoke(v2("GET", f"{P}/segments", token=token()))["statusCode"] == 200
