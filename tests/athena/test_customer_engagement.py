"""customer_engagement on a tiny hand-made lake with reviews and engagement events: hand-checked values, the cutoff
(rows on the cutoff day or later change nothing) and a lake without the two tables (no rows, no error)."""

import math

import pandas as pd
import pytest
from athena_tiny_lake import CUTOFF

from athena.duckdb_engine import DuckDBEngine
from insights.data.lake import write_lake

ENGAGEMENT = [
    # customer_id, event_kind, event_ts (UTC)
    ("c1", "session", "2024-02-29 23:59"),      # the last minute before the cutoff day: 1 day ago, in the 30 days
    ("c1", "email_open", "2024-02-15 08:00"),   # in the 30 days (on or after 2024-01-31)
    ("c1", "email_click", "2024-02-15 08:01"),
    ("c1", "email_open", "2024-01-10 08:00"),   # in the 60 days before those 30 ([2023-12-02, 2024-01-31))
    ("c1", "session", "2023-11-01 12:00"),      # older than 90 days: in the lifetime counts only
    ("c2", "email_open", "2024-01-20 09:00"),   # c2 engaged only in the previous 60 days: trend -1
    ("c2", "session", "2024-03-01 00:00"),      # on the cutoff day: never a feature
    ("c9", "session", "2024-05-01 10:00"),      # only after the cutoff: no row at all
]
REVIEWS = [
    # customer_id, product_id, rating, review_text, review_ts
    ("c1", "p1", 5, "Great, I love it", "2023-12-01 10:00"),
    ("c1", "p2", 4, "good", "2024-01-05 10:00"),
    ("c1", "p3", 2, "Disappointing", "2024-02-20 10:00"),       # the newest: last rating 2, trend 2 - 4.5
    ("c1", "p3", 1, "awful", "2024-03-02 10:00"),               # after the cutoff
    ("c5", "p3", 3, None, "2024-02-06 16:00"),                  # a rating without text; no engagement events
    ("c2", "p1", 9, "out of range", "2024-01-02 10:00"),        # not a 1-5 rating: ignored
]


def _frames(engagement=ENGAGEMENT, reviews=REVIEWS):
    ev = pd.DataFrame(engagement, columns=["customer_id", "event_kind", "event_ts"])
    rv = pd.DataFrame(reviews, columns=["customer_id", "product_id", "rating", "review_text", "review_ts"])
    return {"engagement": ev, "reviews": rv}


@pytest.fixture(scope="module")
def engaged_lake(tmp_path_factory, tiny_orders, tiny_customers):
    lake = tmp_path_factory.mktemp("engaged") / "lake"
    write_lake(lake, tiny_orders, tiny_customers, events=_frames())
    return lake


def _query(lake, cutoff=CUTOFF) -> pd.DataFrame:
    return DuckDBEngine.over_lake(lake).query("customer_engagement", {"cutoff": cutoff}).set_index("customer_id")


def test_customer_engagement_hand_checked_values(engaged_lake):
    got = _query(engaged_lake)
    assert list(got.index) == ["c1", "c2", "c5"]
    c1 = got.loc["c1"]
    assert (c1.days_since_engagement, c1.engagement_30d, c1.engagement_90d) == (1, 3, 4)
    assert c1.engagement_trend == pytest.approx((3 / 30 - 1 / 60) / (3 / 30 + 1 / 60))
    assert c1.email_click_rate == pytest.approx(0.5)
    assert (c1.review_count, c1.mean_rating, c1.last_rating) == (3, pytest.approx(11 / 3), 2.0)
    assert c1.rating_trend == pytest.approx(2 - 4.5)
    assert c1.review_texts.split(chr(30)) == ["Great, I love it", "good", "Disappointing"]
    c2 = got.loc["c2"]
    assert (c2.days_since_engagement, c2.engagement_30d, c2.engagement_90d, c2.engagement_trend) == (41, 0, 1, -1.0)
    assert c2.email_click_rate == 0.0 and c2.review_count == 0 and math.isnan(c2.mean_rating)
    c5 = got.loc["c5"]
    assert pd.isna(c5.days_since_engagement) and c5.engagement_30d == 0 and c5.engagement_trend == 0.0
    assert (c5.review_count, c5.last_rating) == (1, 3.0) and math.isnan(c5.rating_trend)
    assert c5.review_texts is None or pd.isna(c5.review_texts)


def test_rows_on_or_after_the_cutoff_change_nothing(tmp_path, engaged_lake, tiny_orders, tiny_customers):
    later = _frames(ENGAGEMENT + [("c1", "email_click", "2024-03-01 00:00"), ("c5", "session", "2024-06-01 09:00")],
                    REVIEWS + [("c2", "p1", 1, "terrible", "2024-03-01 00:00")])
    lake = tmp_path / "later"
    write_lake(lake, tiny_orders, tiny_customers, events=later)
    pd.testing.assert_frame_equal(_query(lake), _query(engaged_lake))


def test_a_lake_without_the_tables_gives_no_rows(tiny_lake):
    got = _query(tiny_lake)
    assert got.empty and "review_texts" in got.columns
