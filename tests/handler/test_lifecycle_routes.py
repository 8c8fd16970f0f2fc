"""The customer-base routes through the real lambda_handler, on the hand-checkable 12-customer test snapshot."""

from __future__ import annotations

import math

import numpy as np
import pytest
from api_events import body_of, v2
from snapshot_factory import customer_columns

P = "/demand-insights"


def test_churn_outlook_sums_the_calibrated_probabilities_and_values(invoke, token):
    assert invoke(v2("GET", f"{P}/churn-outlook"))["statusCode"] == 401
    r = invoke(v2("GET", f"{P}/churn-outlook", token=token()))
    assert r["statusCode"] == 200, body_of(r)
    body = body_of(r)
    overall = body["overall"]
    assert overall["customers"] == 12
    assert [(lvl["risk_level"], lvl["customers"]) for lvl in overall["risk_levels"]] == [
        ("Low", 3), ("Medium", 2), ("High", 4), ("Critical", 3)]
    d30, d90 = overall["horizons"]
    # 0.95 + 0.10 + 0.70 + 0.85 + 0.30 + 0.62 + 0.05 + 0.99 + 0.50 + 0.75 + 0.20 + 0.65
    assert (d90["days"], d90["expected_customers_lost"]) == (90, 6.66)
    # 95 + 90 + 280 + 680 + 15 + 124 + 60 + 9.9 + 150 + 600 + 12 + 0 (probability x CLV)
    assert d90["revenue_at_risk"] == 2115.9
    p = customer_columns()["churn_probability"]
    sd = math.sqrt(float((p * (1 - p)).sum()))
    assert d90["customers_lost_interval"] == {"lower": round(6.66 - 1.959964 * sd, 2),
                                              "upper": round(6.66 + 1.959964 * sd, 2)}
    p30 = 1 - (1 - p) ** (30 / 90)  # constant hazard over the shorter horizon
    assert d30["expected_customers_lost"] == round(float(p30.sum()), 2) < 6.66
    assert body["currency"] == "USD" and body["as_of"] == "2026-11-01"
    # by segment: the parts add up to the whole, largest 90-day revenue at risk first
    segs = body["by_segment"]
    assert sum(s["customers"] for s in segs) == 12
    assert sum(s["horizons"][1]["revenue_at_risk"] for s in segs) == pytest.approx(2115.9)
    risks = [s["horizons"][1]["revenue_at_risk"] for s in segs]
    assert risks == sorted(risks, reverse=True)


def test_churn_outlook_agrees_with_the_at_risk_answer(invoke, token):
    outlook = body_of(invoke(v2("GET", f"{P}/churn-outlook", token=token())))
    at_risk = body_of(invoke(v2("GET", f"{P}/at-risk-customers", token=token(),
                                query={"threshold": "0", "limit": "1000"})))
    assert at_risk["currency"] == outlook["currency"]
    total = sum(row["value_at_risk"] for row in at_risk["at_risk_customers"])
    assert outlook["overall"]["horizons"][1]["revenue_at_risk"] == pytest.approx(total, abs=0.01)
    critical = sum(row["risk_level"] == "Critical" for row in at_risk["at_risk_customers"])
    assert outlook["overall"]["risk_levels"][3]["customers"] == critical
    assert np.isclose(outlook["overall"]["mean_churn_probability"],
                      np.mean([row["churn_probability"] for row in at_risk["at_risk_customers"]]), atol=1e-4)


def test_cohorts_by_month_give_retention_and_the_weighted_curve(invoke, token):
    r = invoke(v2("GET", f"{P}/cohorts", token=token()))
    assert r["statusCode"] == 200, body_of(r)
    body = body_of(r)
    assert (body["period"], body["metric"], body["last_complete_period"]) == ("month", "retention", "2026-10")
    assert [(c["cohort"], c["customers"], c["values"]) for c in body["cohorts"]] == [
        ("2026-08", 10, [1.0, 0.4, 0.3]), ("2026-09", 4, [1.0, 0.25]), ("2026-10", 5, [1.0])]
    assert body["curve"]["values"] == [1.0, round(5 / 14, 6), 0.3]  # (4 + 1) / (10 + 4) at one month
    assert body["curve"]["cohorts"] == [3, 2, 1]
    assert body["payback"] is None and "payback_period" not in body["cohorts"][0]


def test_cohort_ltv_and_payback_period_for_an_acquisition_cost(invoke, token):
    body = body_of(invoke(v2("GET", f"{P}/cohorts", token=token(),
                             query={"metric": "ltv", "acquisition_cost": "60"})))
    assert [c["values"] for c in body["cohorts"]] == [[50.0, 66.0, 81.0], [25.0, 40.0], [50.0]]
    assert [c["payback_period"] for c in body["cohorts"]] == [1, None, None]
    # the average cumulative value: 850 / 19 = 44.74, 820 / 14 = 58.57, 81 -> reaches 60 two months in
    assert body["curve"]["values"] == [44.74, 58.57, 81.0]
    assert body["payback"] == {"acquisition_cost": 60.0, "periods": 2, "cohorts_paid_back": 1, "cohorts": 3}
    revenue = body_of(invoke(v2("GET", f"{P}/cohorts", token=token(), query={"metric": "revenue"})))
    assert revenue["cohorts"][0]["values"] == [500.0, 160.0, 150.0]


def test_weekly_cohorts_start_on_mondays(invoke, token):
    body = body_of(invoke(v2("GET", f"{P}/cohorts", token=token(), query={"period": "week"})))
    assert body["last_complete_period"] == "2026-10-19"  # as_of 2026-11-01 lies in the week of Mon 10-26
    assert [(c["cohort"], c["values"]) for c in body["cohorts"]] == [
        ("2026-10-12", [1.0, round(1 / 3, 6)]), ("2026-10-19", [1.0])]


@pytest.mark.parametrize("query", [{"period": "year"}, {"metric": "profit"}, {"acquisition_cost": "-1"},
                                   {"acquisition_cost": "nan"}, {"acquisition_cost": "ten"}])
def test_cohorts_refuse_bad_parameters_with_422(invoke, token, query):
    r = invoke(v2("GET", f"{P}/cohorts", token=token(), query=query))
    assert r["statusCode"] == 422 and body_of(r)["error"]["code"] == "validation_error"


def test_growth_projection_follows_the_measured_rates(invoke, token):
    r = invoke(v2("GET", f"{P}/growth-projection", token=token(), query={"months": "6"}))
    assert r["statusCode"] == 200, body_of(r)
    body = body_of(r)
    assert body["start"] == {"month": "2026-10", "active_customers": 100}
    rates = [0.1, 0.15, 10 / 105]  # (100 + 10 - 100) / 100, (100 + 20 - 105) / 100, (105 + 5 - 100) / 105
    assert body["rates"]["monthly_churn_rates"] == [round(x, 6) for x in rates]
    r_bar, a_bar = sum(rates) / 3, (10 + 20 + 5) / 3
    expected, x = [], 100.0
    for _ in range(6):
        x = x * (1 - r_bar) + a_bar
        expected.append(round(x, 1))
    assert [m["active_customers"] for m in body["projection"]] == expected
    assert [m["month"] for m in body["projection"]] == ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03",
                                                        "2027-04"]
    assert all(m["lower"] <= m["active_customers"] <= m["upper"] for m in body["projection"])
    assert body["projection"][-1]["upper"] - body["projection"][-1]["lower"] > 0  # the months varied
    assert body["interval_level"] == 0.8 and any("bootstrap" in a for a in body["assumptions"])
    assert "by_segment" not in body


def test_growth_projection_by_segment_adds_up_to_the_whole(invoke, token):
    body = body_of(invoke(v2("GET", f"{P}/growth-projection", token=token(),
                             query={"months": "24", "by": "segment"})))
    assert len(body["projection"]) == 24
    segs = body["by_segment"]
    # active now: the 9 customers with a purchase in the last 90 days (recency 10, 20, ..., 90)
    assert sum(s["active_customers_now"] for s in segs) == 9
    for k in (0, 23):
        assert sum(s["projection"][k]["active_customers"] for s in segs) == \
            pytest.approx(body["projection"][k]["active_customers"], abs=0.2)


@pytest.mark.parametrize("query", [{"months": "5"}, {"months": "25"}, {"by": "country"}, {"months": "x"}])
def test_growth_projection_refuses_bad_parameters_with_422(invoke, token, query):
    r = invoke(v2("GET", f"{P}/growth-projection", token=token(), query=query))
    assert r["statusCode"] == 422 and body_of(r)["error"]["code"] == "validation_error"


def test_segment_transitions_count_the_moves_since_the_previous_version(invoke, token):
    r = invoke(v2("GET", f"{P}/segments/transitions", token=token()))
    assert r["statusCode"] == 200, body_of(r)
    body = body_of(r)
    assert body["available"] is True and body["note"] is None
    assert (body["previous_version"], body["previous_as_of"]) == ("20261001T040000Z-2026-10-01-0000000", "2026-10-01")
    assert body["transitions"] == [
        {"from_segment": "Loyal Customers", "to_segment": "Champions", "customers": 2},  # C001 and C005
        {"from_segment": "Champions", "to_segment": "New Customers", "customers": 1},  # C004
        {"from_segment": "New Customers", "to_segment": "Potential Loyalists", "customers": 1},  # C003
        {"from_segment": "Potential Loyalists", "to_segment": "Loyal Customers", "customers": 1},  # C002
    ]
    assert (body["compared_customers"], body["moved_customers"], body["customers_no_longer_scored"]) == (10, 5, 1)
    assert body["stayed"] == [{"segment": "Loyal Customers", "customers": 2}, {"segment": "Champions", "customers": 1},
                              {"segment": "New Customers", "customers": 1},
                              {"segment": "Potential Loyalists", "customers": 1}]
    assert body["new_customers"] == [{"segment": "New Customers", "customers": 1},
                                     {"segment": "Potential Loyalists", "customers": 1}]  # C012, C011


def test_segment_transitions_on_the_first_snapshot_say_so_with_a_200(invoke, token, settings):
    from snapshot_factory import write_snapshot

    import handler

    def first(parts):
        parts["docs"]["segment_transitions"] = {"available": False, "note": "no previous snapshot with an as_of "
                                                "before 2026-11-02 to compare with"}

    write_snapshot(settings.snapshots, version="20261102T040000Z-2026-11-02-abc1235", as_of="2026-11-02",
                   mutate=first)
    handler.configure(settings)
    body = body_of(invoke(v2("GET", f"{P}/segments/transitions", token=token())))
    assert body["available"] is False and "no previous snapshot" in body["note"]
    assert body["transitions"] == [] and body["moved_customers"] == 0 and body["as_of"] == "2026-11-02"


def test_growth_projection_on_a_young_lake_is_a_422_naming_the_missing_history(invoke, token, settings):
    from snapshot_factory import write_snapshot

    import handler

    def young(parts):
        parts["docs"]["growth"] = {"available": False, "note": "1 month(s) of measured churn before 2026-11-02; the "
                                   "projection needs at least 3 complete months of history",
                                   "measured": {"months": ["2026-09", "2026-10"], "active_customers": [5, 9],
                                                "new_customers": [5, 4]}}

    write_snapshot(settings.snapshots, version="20261102T040000Z-2026-11-02-abc1236", as_of="2026-11-02",
                   mutate=young)
    handler.configure(settings)
    r = invoke(v2("GET", f"{P}/growth-projection", token=token()))
    assert r["statusCode"] == 422 and body_of(r)["error"]["code"] == "insufficient_data"
    assert "at least 3 complete months" in body_of(r)["error"]["message"]
