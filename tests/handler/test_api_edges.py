"""The API's edges: strict request types, HEAD, trailing slashes, media types, body encoding and size."""

from __future__ import annotations

import base64
import json

import pytest
from api_events import body_of, headers_of, v1, v2

from insights.api.events import MAX_BODY_BYTES

P = "/demand-insights"
GET_ROUTES = [(f"{P}/segments", {}), (f"{P}/at-risk-customers", {"limit": "2"}), (f"{P}/health", {}),
              (f"{P}/openapi.json", {})]


def _error(r, status):
    assert r["statusCode"] == status, r["body"]
    return body_of(r)["error"]


# -- strict request types --
@pytest.mark.parametrize("value", [True, "7", 7.0, "seven", None])
def test_boolean_forecast_days_is_rejected_with_422(invoke, token, value):
    """Also a string or a float: pydantic's lax mode would have read true as 1 day and "7" as 7."""
    r = invoke(v2("POST", f"{P}/forecast", token=token(), body={"product_id": "P1", "forecast_days": value}))
    err = _error(r, 422)
    assert err["code"] == "validation_error" and err["details"][0]["field"] == "forecast_days"
    assert err["details"][0]["rule"] == "int_type"


@pytest.mark.parametrize(("field", "value"), [("current_price", "4.0"), ("current_price", True),
                                              ("current_quantity", "100"), ("cost_per_unit", False)])
def test_strings_and_booleans_as_prices_are_rejected_with_422(invoke, token, field, value):
    body = {"product_id": "P1", "current_price": 4.0, "current_quantity": 100, field: value}
    err = _error(invoke(v2("POST", f"{P}/price-optimization", token=token(), body=body)), 422)
    assert err["details"][0]["field"] == field and err["details"][0]["rule"] == "float_type"


def test_an_integer_where_a_decimal_is_expected_is_accepted(invoke, token):
    body = {"product_id": "P1", "current_price": 4, "current_quantity": 100, "cost_per_unit": 2}
    assert invoke(v2("POST", f"{P}/price-optimization", token=token(), body=body))["statusCode"] == 200


def test_a_number_as_an_id_is_rejected(invoke, token):
    err = _error(invoke(v2("POST", f"{P}/clv", token=token(), body={"customer_ids": [1]})), 422)
    assert err["details"][0]["rule"] == "string_type"


# -- HEAD --
@pytest.mark.parametrize("build", [v1, v2])
@pytest.mark.parametrize(("path", "query"), GET_ROUTES)
def test_head_on_every_get_route_has_the_get_headers_and_no_body(invoke, token, build, path, query):
    got = invoke(build("GET", path, token=token(), query=query or None))
    head = invoke(build("HEAD", path, token=token(), query=query or None))
    assert head["statusCode"] == got["statusCode"] == 200
    assert head["body"] == "" and not head.get("isBase64Encoded")
    h, g = headers_of(head), headers_of(got)
    assert h["content-type"] == g["content-type"] and h["x-correlation-id"]
    assert int(h["content-length"]) == len(got["body"].encode()) > 0


def test_head_on_segments_has_headers_and_no_body(invoke, token):
    r = invoke(v2("HEAD", f"{P}/segments", token=token()))
    assert r["statusCode"] == 200 and r["body"] == ""
    assert headers_of(r)["content-type"].startswith("application/json")


def test_head_keeps_the_error_status_and_headers_without_the_body(invoke, token):
    r = invoke(v2("HEAD", f"{P}/segments"))  # no token
    assert r["statusCode"] == 401 and r["body"] == "" and headers_of(r)["www-authenticate"].startswith("Bearer")
    r = invoke(v2("HEAD", f"{P}/segments", token=token(), query={"n_clusters": "42"}))
    assert r["statusCode"] == 422 and r["body"] == ""


def test_head_on_a_post_route_is_405(invoke, token):
    r = invoke(v2("HEAD", f"{P}/clv", token=token()))
    assert r["statusCode"] == 405 and r["body"] == "" and headers_of(r)["allow"] == "POST"


# -- trailing slashes --
@pytest.mark.parametrize("build", [v1, v2])
def test_trailing_slash_health_answers(invoke, build):
    r = invoke(build("GET", f"{P}/health/"))
    assert r["statusCode"] == 200 and body_of(r)["status"] == "ok"


def test_trailing_slashes_on_a_protected_route_still_need_the_token(invoke, token):
    assert invoke(v2("GET", f"{P}/segments/"))["statusCode"] == 401
    r = invoke(v2("POST", f"{P}/clv//", token=token(), body={"customer_ids": ["C001"]}))
    assert r["statusCode"] == 200 and body_of(r)["predictions"][0]["customer_id"] == "C001"


def test_unknown_routes_with_a_trailing_slash_are_still_404(invoke, token):
    assert _error(invoke(v2("GET", f"{P}/nothing/", token=token())), 404)["code"] == "route_not_found"
    assert _error(invoke(v2("GET", f"{P}/", token=token())), 404)["code"] == "route_not_found"


# -- media types --
@pytest.mark.parametrize("media_type", ["APPLICATION/JSON", "Application/Json; Charset=UTF-8",
                                        "application/json; charset=utf-8", "application/problem+json",
                                        "application/vnd.api+json"])
@pytest.mark.parametrize("build", [v1, v2])
def test_uppercase_json_media_type_is_accepted(invoke, token, build, media_type):
    event = build("POST", f"{P}/clv", token=token(), body={"customer_ids": ["C001"]})
    headers = event["headers"]
    for name in [n for n in headers if n.lower() == "content-type"]:
        del headers[name]
    headers["Content-Type" if build is v1 else "content-type"] = media_type
    if event.get("multiValueHeaders"):
        event["multiValueHeaders"] = {k: v for k, v in event["multiValueHeaders"].items()
                                      if k.lower() != "content-type"} | {"Content-Type": [media_type]}
    r = invoke(event)
    assert r["statusCode"] == 200, r["body"]
    assert body_of(r)["predictions"][0]["customer_id"] == "C001"


@pytest.mark.parametrize("media_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x",
                                        "application/jsonx", "text/json+xml"])
def test_other_media_types_are_415(invoke, token, media_type):
    event = v2("POST", f"{P}/clv", token=token(), body={"customer_ids": ["C001"]})
    event["headers"]["content-type"] = media_type
    assert _error(invoke(event), 415)["code"] == "unsupported_media_type"


# -- body encoding and size --
def test_a_non_utf8_body_is_400_malformed_request(invoke, token):
    event = v2("POST", f"{P}/clv", token=token())
    event["body"], event["isBase64Encoded"] = base64.b64encode(b'{"customer_ids": ["\xff\xfe"]}').decode(), True
    err = _error(invoke(event), 400)
    assert err["code"] == "malformed_request" and "UTF-8" in err["message"]


def _sized(n: int) -> str:
    """A JSON body of exactly ``n`` bytes."""
    head, tail = '{"customer_ids": ["', '"]}'
    return head + "x" * (n - len(head) - len(tail)) + tail


@pytest.mark.parametrize("build", [v1, v2])
def test_a_2mb_body_is_413_naming_the_limit(invoke, token, build):
    event = build("POST", f"{P}/clv", token=token())
    event["body"] = _sized(2 << 20)
    err = _error(invoke(event), 413)
    assert err["code"] == "payload_too_large"
    assert "1,048,576 bytes" in err["message"] and "2,097,152" in err["message"]
    assert err["details"] == {"max_bytes": MAX_BODY_BYTES, "received_bytes": 2 << 20}


def test_the_limit_counts_decoded_bytes(invoke, token):
    event = v2("POST", f"{P}/clv", token=token())
    event["body"], event["isBase64Encoded"] = base64.b64encode(_sized(MAX_BODY_BYTES + 1).encode()).decode(), True
    assert _error(invoke(event), 413)["details"]["received_bytes"] == MAX_BODY_BYTES + 1
    event = v2("POST", f"{P}/clv", token=token())
    event["body"] = '{"customer_ids": ["' + "é" * (MAX_BODY_BYTES // 2) + '"]}'  # 2 bytes a character in UTF-8
    assert invoke(event)["statusCode"] == 413


def test_a_body_at_the_limit_is_read(invoke, token):
    event = v2("POST", f"{P}/clv", token=token())
    event["body"] = _sized(MAX_BODY_BYTES)
    err = _error(invoke(event), 422)  # read and validated: the one id is too long, not too large a body
    assert err["details"][0]["rule"] == "string_too_long"


def test_auth_comes_before_the_size_limit(invoke):
    event = v2("POST", f"{P}/clv")
    event["body"] = _sized(2 << 20)
    assert _error(invoke(event), 401)["code"] == "missing_token"


def test_a_body_that_is_not_json_at_all_is_400(invoke, token):
    event = v2("POST", f"{P}/churn", token=token(), raw_body="customer_ids=C001")
    assert _error(invoke(event), 400)["code"] == "malformed_request"
    assert json.loads(invoke(v2("GET", f"{P}/health"))["body"])["status"] == "ok"
