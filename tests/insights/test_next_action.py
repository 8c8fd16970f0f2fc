"""The next best action policy: one case per rule of the documented table, first match wins."""

import pytest

from insights.api.next_action import CustomerState, next_best_action


def _state(**kw) -> CustomerState:
    base = {"segment": "Loyal Customers", "risk_level": "Low", "churn_probability": 0.1, "clv_segment": "Medium",
            "predicted_clv": 300.0, "frequency": 5, "recency_days": 12, "products": ("P7", "P8", "P9"),
            "cross_sell": ("P8", "P9")}
    return CustomerState(**{**base, **kw})


@pytest.mark.parametrize(("overrides", "action", "products", "words"), [
    ({"risk_level": "Critical", "churn_probability": 0.9, "clv_segment": "High"}, "win_back", ["P7", "P8"],
     "Critical churn risk (90%) and High predicted value (300.00 EUR)"),
    ({"risk_level": "High", "churn_probability": 0.65}, "win_back", ["P7", "P8"], "send a win-back offer"),
    ({"risk_level": "High", "churn_probability": 0.65, "clv_segment": "Low"}, "do_nothing", [],
     "would likely cost more than the value at risk"),
    ({"clv_segment": "High", "risk_level": "Medium"}, "vip_care", [], "personal service"),
    ({"frequency": 1}, "nurture_second_order", ["P7", "P8"], "one order so far, last ordered 12 days ago"),
    # a first order yesterday with a high risk: a new customer to nurture, not one to win back
    ({"frequency": 1, "recency_days": 1, "risk_level": "High", "churn_probability": 0.5}, "nurture_second_order",
     ["P7", "P8"], "a new customer with one order so far, last ordered 1 day ago, and a High churn risk (50%): "
                   "many first-time buyers never order again"),
    ({"frequency": 1, "recency_days": 45, "risk_level": "High", "churn_probability": 0.6}, "win_back", ["P7", "P8"],
     "send a win-back offer"),
    ({}, "cross_sell", ["P8", "P9"], "offer P8 and P9, often bought with"),
    ({"cross_sell": ()}, "do_nothing", [], "buying as expected"),
])
def test_each_rule_of_the_policy(overrides, action, products, words):
    got = next_best_action(_state(**overrides), "EUR")
    assert got["action"] == action and got["products"] == products
    assert words in got["reason"]
    assert got["label"]


def test_without_recommendations_no_product_is_named():
    got = next_best_action(_state(risk_level="Critical", products=(), cross_sell=()))
    assert got["action"] == "win_back" and got["products"] == [] and "featuring" not in got["reason"]
