"""Churn reasons in plain words: every model feature has a sentence with the customer's value and a reference."""

from __future__ import annotations

import math
import re

import pytest

from insights.api.reasons import TEMPLATES, base_rate_reason, describe_factor, strength
from models.features import BGNBD_COLUMNS, ENGAGEMENT_COLUMNS, FEATURE_NAMES

SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")


@pytest.mark.parametrize("feature", FEATURE_NAMES + BGNBD_COLUMNS + ENGAGEMENT_COLUMNS)
@pytest.mark.parametrize("value", [0.0, 0.4, 3.0, 74.0, math.nan])
def test_every_feature_reads_as_a_sentence_without_model_names(feature, value):
    assert feature in TEMPLATES
    reason = describe_factor(feature, 0.8, value, typical=21.0, recency_days=74.0, window_days=90, currency="GBP")
    text = reason["description"]
    assert not SNAKE.search(text), text
    assert (text[0].isupper() or text[0].isdigit()) and text.endswith(".")
    assert reason["feature"] == feature and reason["direction"] == "increases_risk"


def test_an_overdue_customer_is_described_with_their_own_usual_gap():
    reason = describe_factor("recency_over_gap", 1.4, 74 / 21, typical=1.0, recency_days=74.0, window_days=90,
                             currency="USD")
    assert reason["description"] == ("74 days since the last order; this customer usually orders every 21 days "
                                     "(3.5 times the usual gap).")
    assert reason["strength"] == "strong"
    daily = describe_factor("recency_over_gap", 0.3, 373.0, typical=1.0, recency_days=373.0, window_days=90,
                            currency="GBP")  # Online Retail 17850: many orders in its first days
    assert "usually orders every day (373.0 times" in daily["description"]


def test_money_is_stated_in_the_snapshot_currency_and_against_the_typical_customer():
    reason = describe_factor("monetary_total", -0.5, 1234.5, typical=310.0, recency_days=5.0, window_days=90,
                             currency="GBP")
    assert reason["description"] == "Spent 1,234.50 GBP in total; a typical customer 310.00 GBP."
    assert reason["direction"] == "decreases_risk" and reason["strength"] == "moderate"


def test_strength_bands_follow_the_log_odds():
    assert [strength(c) for c in (0.05, -0.3, 0.99, -1.0, 2.5)] == ["slight", "moderate", "moderate", "strong",
                                                                     "strong"]


def test_the_base_rate_explains_a_high_risk_that_no_own_feature_raises():
    reason = base_rate_reason(0.72, 90)
    assert reason["direction"] == "increases_risk" and "within 90 days" in reason["description"]
    assert "72%" in reason["description"] and not SNAKE.search(reason["description"])


def test_two_orders_are_one_gap_not_a_habit():
    # a customer with two orders 3 days apart, 58 days ago: "usually orders every 3 days" would overstate it
    overdue = describe_factor("recency_over_gap", 0.05, 58 / 3, typical=1.0, recency_days=58.0, window_days=90,
                              currency="USD", orders=2)
    assert overdue["description"] == ("58 days since the last order; their two orders so far were 3 days apart "
                                      "(19.3 times that gap).")
    gap = describe_factor("mean_days_between_orders", 0.1, 3.0, typical=21.0, recency_days=58.0, window_days=90,
                          currency="USD", orders=2)
    assert gap["description"].startswith("Their two orders so far were 3 days apart;")
    assert "usually" not in gap["description"]
    for feature in ("std_days_between_orders", "gap_cv"):
        spread = describe_factor(feature, 0.1, 0.0, typical=5.0, recency_days=58.0, window_days=90, currency="USD",
                                 orders=2)
        assert spread["description"] == "Too few orders to tell how regular they are."
    # three orders: a usual gap exists
    many = describe_factor("recency_over_gap", 0.05, 58 / 3, typical=1.0, recency_days=58.0, window_days=90,
                           currency="USD", orders=3)
    assert "usually orders every 3 days" in many["description"]


def test_engagement_and_review_reasons_speak_the_shop_owners_language():
    def text(feature, value, typical=None):
        return describe_factor(feature, 0.8, value, typical=typical, recency_days=30.0, window_days=90,
                               currency="GBP")["description"]

    assert text("days_since_engagement", 45.0, 6.0) == ("Has not opened an email or visited in 45 days; a typical "
                                                       "customer's last was 6 days ago.")
    assert text("days_since_engagement", math.nan) == "No visit or email interaction on record."
    assert text("last_rating", 2.0) == "Recent review rated 2 of 5."
    assert text("rating_trend", -2.5) == "The most recent rating is 2.5 stars below their earlier ones."
    assert text("review_sentiment", -0.6, 0.5).startswith("Their reviews read negative")
    assert text("email_click_rate", math.nan) == "Has not opened any email."


def test_a_reason_that_only_repeats_another_is_left_out():
    from insights.api.reasons import without_repeats

    def reason(feature, value):
        return describe_factor(feature, 0.2, value, typical=1.0, recency_days=14.0, window_days=90, currency="USD")

    never = reason("days_since_engagement", math.nan)
    assert never["description"] == "No visit or email interaction on record."
    zero = reason("engagement_90d", 0.0)
    span = reason("active_span_days", 0.0)
    assert without_repeats([zero, span, never], days_since_engagement=math.nan) == [span, never]
    # a customer last seen 40 days ago: "0 visits in the last 90 days" is news, "0 in the last 30" is not
    seen, zero_30 = reason("days_since_engagement", 40.0), reason("engagement_30d", 0.0)
    assert without_repeats([zero, zero_30, seen], days_since_engagement=40.0) == [zero, seen]
    assert without_repeats([zero, seen], days_since_engagement=189.0) == [seen]
    assert without_repeats([zero, span], days_since_engagement=None) == [zero, span]
    assert span["description"].startswith("All their orders so far were placed on one day;")
