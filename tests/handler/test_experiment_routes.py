"""POST experiments/sample-size and experiments/analyze through the real handler: answers, 422s, the token."""

from __future__ import annotations

from api_events import body_of, v2

P = "/demand-insights"
RATES = {"arms": [{"name": "A", "visitors": 1000, "conversions": 50},
                  {"name": "B", "visitors": 1000, "conversions": 70}]}


def test_sample_size_answers_for_a_rate_and_for_a_mean(invoke, token):
    rate = invoke(v2("POST", f"{P}/experiments/sample-size", token=token(),
                     body={"baseline_rate": 0.5, "minimum_detectable_effect": 0.25, "mde_type": "absolute",
                           "power": 0.9}))
    assert rate["statusCode"] == 200 and body_of(rate)["sample_size_per_arm"] == {"control": 77, "treatment": 77}
    mean = invoke(v2("POST", f"{P}/experiments/sample-size", token=token(),
                     body={"baseline_mean": 40.0, "baseline_sd": 12.0, "minimum_detectable_effect": 0.05}))
    answer = body_of(mean)
    assert mean["statusCode"] == 200 and answer["metric"] == "mean" and answer["absolute_effect"] == 2.0


def test_analyze_answers_each_arm_against_the_control(invoke, token):
    answer = invoke(v2("POST", f"{P}/experiments/analyze", token=token(), body={**RATES, "control": "A"}))
    body = body_of(answer)
    assert answer["statusCode"] == 200 and [a["name"] for a in body["arms"]] == ["A", "B"]
    (row,) = body["comparisons"]
    assert row["arm"] == "B" and 0.5 < row["probability_beats_control"] < 1
    assert body["test"] == "two_proportion_z" and row["difference"] == 0.02


def test_bad_experiments_are_422_naming_the_problem(invoke, token):
    cases = [
        ("sample-size", {"minimum_detectable_effect": 0.1}),  # no baseline
        ("sample-size", {"baseline_rate": 0.1, "baseline_mean": 3.0, "baseline_sd": 1.0,
                         "minimum_detectable_effect": 0.1}),  # both metrics
        ("sample-size", {"baseline_rate": 0.1, "minimum_detectable_effect": "0.1"}),  # strict numbers
        ("analyze", {"arms": [{"name": "A", "visitors": 10, "conversions": 11},
                              {"name": "B", "visitors": 10, "conversions": 1}]}),
        ("analyze", {**RATES, "control": "Z"}),
        ("analyze", {"arms": [{"name": "A", "visitors": 10, "conversions": 1},
                              {"name": "B", "n": 10, "mean": 1.0, "sd": 1.0}]}),  # mixed kinds
        ("analyze", {"arms": [{"name": "A", "visitors": 10, "conversions": 1}]}),  # one arm
    ]
    for route, body in cases:
        answer = invoke(v2("POST", f"{P}/experiments/{route}", token=token(), body=body))
        assert answer["statusCode"] == 422, (route, body, answer["body"])
        assert body_of(answer)["error"]["code"] == "validation_error", (route, body)
    too_big = invoke(v2("POST", f"{P}/experiments/sample-size", token=token(),
                        body={"baseline_rate": 0.8, "minimum_detectable_effect": 0.5}))
    assert too_big["statusCode"] == 422 and body_of(too_big)["error"]["code"] == "invalid_value"


def test_experiments_need_a_token(invoke):
    answer = invoke(v2("POST", f"{P}/experiments/analyze", body=RATES))
    assert answer["statusCode"] == 401 and body_of(answer)["error"]["code"] == "missing_token"

