"""GET segments/traits through the real handler."""

from __future__ import annotations

from api_events import body_of, v2

P = "/demand-insights"


def test_segment_traits_answers_each_axis_and_the_archetypes(invoke, token):
    answer = invoke(v2("GET", f"{P}/segments/traits", token=token()))
    body = body_of(answer)
    assert answer["statusCode"] == 200 and set(body["axes"]) == {"category_affinity", "cadence", "tenure", "returns",
                                                              "discount_sensitivity"}
    assert sum(d["customers"] for d in body["axes"]["tenure"]["distribution"]) == body["total_customers"]
    assert body["archetypes"] and body["unavailable"] == {}  # the test snapshot measures every axis


def test_segment_traits_needs_a_token(invoke):
    assert invoke(v2("GET", f"{P}/segments/traits"))["statusCode"] == 401
