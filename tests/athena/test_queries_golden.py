"""Golden results: the shared SQL on DuckDB over the tiny lake against an independent pandas computation."""

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from athena_reference import customer_features, customer_labels, daily_sales, lake_summary
from athena_tiny_lake import CUTOFF, HORIZON, ORDERS, orders_frame

from athena.duckdb_engine import DuckDBEngine
from insights.data.lake import write_lake

FEATURE_COLUMNS = [
    "customer_id", "email", "recency_days", "frequency", "monetary_total", "customer_age_days", "avg_order_value",
    "mean_days_between_orders", "std_days_between_orders", "orders_30d", "orders_90d", "orders_180d", "orders_365d",
    "spend_30d", "spend_90d", "spend_180d", "spend_365d", "distinct_products", "return_rate", "spend_trend",
    "first_order_value", "first_order_lines", "last_order_value", "max_order_value", "first_order_date",
    "last_order_date",
]


def _as_date(value):
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else pd.Timestamp(value).date()


def assert_same_columns(actual: pd.DataFrame, expected: pd.DataFrame, dates=()):
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected), (actual, expected)
    for col in expected.columns:
        got, want = list(actual[col]), list(expected[col])
        if col in dates:
            got, want = [_as_date(v) for v in got], [_as_date(v) for v in want]
            assert got == want, col
        elif pd.api.types.is_numeric_dtype(expected[col]) and col != "customer_id":
            np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=1e-12, atol=1e-12,
                                       equal_nan=True, err_msg=col)
        else:
            assert [None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v
                    for v in got] == [None if v is None or (isinstance(v, float) and math.isnan(v)) else v
                                      for v in want], col


@pytest.mark.parametrize("cutoff", [CUTOFF, "2024-02-06", "2024-02-07", "2024-05-31", "2023-12-16"])
def test_customer_features_match_the_reference_column_by_column(duck, tiny_orders, tiny_customers, cutoff):
    actual = duck.query("customer_features", {"cutoff": cutoff})
    expected = customer_features(tiny_orders, tiny_customers, cutoff)
    assert list(actual.columns) == FEATURE_COLUMNS
    assert_same_columns(actual, expected[FEATURE_COLUMNS], dates=("first_order_date", "last_order_date"))


def test_customer_features_hand_checked_values(duck):
    f = duck.query("customer_features", {"cutoff": CUTOFF}).set_index("customer_id")
    # Who is a customer: c4 only returned, c3 and c7 never bought before the cutoff; guest lines belong to no one.
    assert list(f.index) == ["c1", "c2", "c5", "c6"]
    c1 = f.loc["c1"]
    assert c1["frequency"] == 3  # o1, o2, o3; the return-only order r1 is not a purchase
    assert c1["monetary_total"] == pytest.approx(25.0)  # 10 + 10 + 5 - 10 (return) + 10
    assert c1["recency_days"] == 1  # 2024-02-29 23:59 -> cutoff 2024-03-01
    assert c1["customer_age_days"] == (date(2024, 3, 1) - date(2023, 6, 1)).days  # directory sign-up date
    assert c1["mean_days_between_orders"] == pytest.approx(29.5)  # gaps 40 and 19
    assert c1["std_days_between_orders"] == pytest.approx(math.sqrt(220.5))
    assert c1["return_rate"] == pytest.approx(1 / 8)
    assert (c1["spend_30d"], c1["spend_90d"], c1["spend_trend"]) == (pytest.approx(5.0), pytest.approx(25.0), 1.0)
    assert c1["email"] == "a@example.com" and c1["distinct_products"] == 3
    c2 = f.loc["c2"]
    assert c2["frequency"] == 1  # o5 at 00:00 on the cutoff day is excluded
    assert c2["customer_age_days"] == (date(2024, 3, 1) - date(2023, 12, 15)).days  # first order before sign-up
    c5 = f.loc["c5"]
    # 23:30 -> 00:30 next day: one calendar day (Trino's date_diff on timestamps would say 0)
    assert c5["mean_days_between_orders"] == pytest.approx(((date(2024, 2, 5) - date(2023, 10, 1)).days + 1) / 2)
    assert c5["frequency"] == 4 and c5["recency_days"] == 24
    assert c5["spend_trend"] == pytest.approx((13.0 - 27.0) / 40.0)  # last 90 days vs the 90 before
    c6 = f.loc["c6"]
    assert pd.isna(c6["email"]) and c6["customer_age_days"] == 2  # not in the directory; leap day
    assert pd.isna(c6["mean_days_between_orders"]) and pd.isna(c6["std_days_between_orders"])


@pytest.mark.parametrize("cutoff,horizon", [(CUTOFF, HORIZON), ("2024-02-06", 30), (CUTOFF, 1), ("2024-04-15", 90)])
def test_customer_labels_match_the_reference(duck, tiny_orders, cutoff, horizon):
    actual = duck.query("customer_labels", {"cutoff": cutoff, "horizon_days": horizon})
    assert_same_columns(actual, customer_labels(tiny_orders, cutoff, horizon))


def test_customer_labels_hand_checked_values(duck):
    labels = duck.query("customer_labels", {"cutoff": CUTOFF, "horizon_days": HORIZON}).set_index("customer_id")
    assert list(labels.index) == ["c1", "c2", "c5", "c6"]  # c4 (returns only) is not known before the cutoff
    assert labels.loc["c2"].tolist() == [2, pytest.approx(12.0 + 10.0 - 8.0), 1]  # o5 on the cutoff day counts
    assert labels.loc["c6"].tolist() == [0, pytest.approx(-10.0), 0]  # a return is spend, not an order
    one_day = duck.query("customer_labels", {"cutoff": CUTOFF, "horizon_days": 1}).set_index("customer_id")
    assert one_day.loc["c2", "future_orders"] == 1  # [cutoff, cutoff + 1): only the cutoff day


@pytest.mark.parametrize("start,end", [("2024-02-01", "2024-03-02"), ("2023-01-01", "2025-01-01"),
                                       ("2024-02-06", "2024-02-07")])
def test_daily_sales_match_the_reference(duck, tiny_orders, start, end):
    actual = duck.query("daily_sales", {"start": start, "end": end})
    assert_same_columns(actual, daily_sales(tiny_orders, start, end), dates=("sale_date",))


def test_daily_sales_count_guest_demand_and_exclude_returns(duck):
    sales = duck.query("daily_sales", {"start": "2024-02-01", "end": "2024-03-02"})
    sales["sale_date"] = sales["sale_date"].map(_as_date)
    by_key = sales.set_index(["product_id", "sale_date"])
    assert by_key.loc[("p1", date(2024, 2, 20)), "quantity"] == 5  # the guest line
    assert ("p2", date(2024, 2, 12)) not in by_key.index and ("p2", date(2024, 2, 1)) not in by_key.index
    p3 = by_key.loc[("p3", date(2024, 2, 6))]
    assert (p3["quantity"], p3["revenue"], p3["price"]) == (1, pytest.approx(3.0), pytest.approx(3.0))
    assert by_key.loc[("p1", date(2024, 3, 1)), "quantity"] == 3  # end is exclusive, start inclusive


def test_lake_summary_matches_the_reference(duck, tiny_orders):
    for cutoff in (CUTOFF, "2025-01-01"):
        row = duck.query("lake_summary", {"cutoff": cutoff}).iloc[0].to_dict()
        want = lake_summary(tiny_orders, cutoff)
        assert {k: (_as_date(v) if k.endswith("_date") else int(v)) for k, v in row.items()} == want
    assert lake_summary(tiny_orders, CUTOFF)["customers"] == 5  # c1, c2, c4, c5, c6: guests are not customers


def test_answers_as_of_a_cutoff_ignore_orders_added_later(tmp_path, tiny_orders, tiny_customers, duck):
    later = [
        ("n1", "c1", "2024-03-01 00:00", "p1", 50, 5.0, "toys"),    # on the cutoff day
        ("n2", "c4", "2024-03-02 10:00", "p2", 1, 10.0, "books"),   # c4's first purchase, after the cutoff
        ("n3", "c9", "2024-06-01 10:00", "p9", 1, 1.0, None),       # a new customer and product
        ("n4", "c5", "2024-03-05 10:00", "p3", -2, 2.5, None),      # a late return of an earlier purchase
        ("n5", None, "2024-03-10 10:00", "p1", 9, 5.0, "toys"),
    ]
    grown = tmp_path / "grown"
    write_lake(grown, orders_frame(ORDERS + later), tiny_customers)
    grown_engine = DuckDBEngine.over_lake(grown)
    for name, params in [("customer_features", {"cutoff": CUTOFF}), ("lake_summary", {"cutoff": CUTOFF}),
                         ("daily_sales", {"start": "2023-01-01", "end": CUTOFF})]:
        pd.testing.assert_frame_equal(duck.query(name, params), grown_engine.query(name, params), obj=name)
    assert not DuckDBEngine.over_lake(grown).query("customer_labels", {"cutoff": CUTOFF, "horizon_days": 60}).equals(
        duck.query("customer_labels", {"cutoff": CUTOFF, "horizon_days": 60}))  # the new rows are visible


def test_customer_cohorts_hand_checked_by_month(duck):
    rows = duck.query("customer_cohorts", {"period": "month", "start": "2023-11-01", "end": "2024-05-01"})
    got = [(_as_date(c).isoformat(), _as_date(p).isoformat(), n, round(r, 6))
           for c, p, n, r in rows.itertuples(index=False)]
    assert got == [
        # c5's cohort (2023-10) starts before start: left out. c2: o4 in Dec; o5 (Mar) and o6 (Apr, 10 - 8)
        ("2023-12-01", "2023-12-01", 1, 40.0), ("2023-12-01", "2024-03-01", 1, 12.0),
        ("2023-12-01", "2024-04-01", 1, 2.0),
        # c1: o1 in Jan (2 x 5 + 10); Feb: o2 5, the return r1 -10, o3 10
        ("2024-01-01", "2024-01-01", 1, 20.0), ("2024-01-01", "2024-02-01", 1, 5.0),
        # c6: bought in Feb; in Mar only a return: revenue, but not active. c4 (only a return) has no cohort
        ("2024-02-01", "2024-02-01", 1, 5.0), ("2024-02-01", "2024-03-01", 0, -10.0),
    ]  # c3 (May) is after end: the month holding as_of is never counted


def test_customer_cohorts_by_iso_week_start_on_mondays(duck):
    rows = duck.query("customer_cohorts", {"period": "week", "start": "2024-01-01", "end": "2024-03-04"})
    weeks = {(_as_date(c), _as_date(p)) for c, p, *_ in rows.itertuples(index=False)}
    assert all(c.weekday() == 0 and p.weekday() == 0 for c, p in weeks)
    # c5's Mon 2024-02-05 23:30 and Tue 00:30 orders share a week; c5's cohort is 2023-10 (before start)
    assert (date(2024, 1, 1), date(2024, 2, 5)) in weeks  # c1's o2 on Sat 2024-02-10 -> week of Mon 02-05


def test_customer_activity_monthly_hand_checked(duck):
    rows = duck.query("customer_activity_monthly", {"start": "2023-11-01", "end": "2024-05-01"})
    got = [(_as_date(m).isoformat(), a, n) for m, a, n in rows.itertuples(index=False)]
    # buyer months: c5 Oct and Feb, c2 Dec, Mar and Apr (o6 holds a purchase line), c1 Jan and Feb, c6 Feb (its
    # March holds only a return). Active = a purchase in the month or the two before; new = first purchase month.
    assert got == [
        ("2023-11-01", 1, 0),  # c5 (October) is still active; a month without purchases is still a row
        ("2023-12-01", 2, 1), ("2024-01-01", 2, 1), ("2024-02-01", 4, 1), ("2024-03-01", 4, 0),
        ("2024-04-01", 4, 0),
    ]  # May (c3) is at or after end: never counted


def test_daily_sales_promo_share_and_list_price_on_the_tiny_lake(duck):
    sales = duck.query("daily_sales", {"start": "2024-02-01", "end": "2024-03-02"})
    sales["sale_date"] = sales["sale_date"].map(_as_date)
    by_key = sales.set_index(["product_id", "sale_date"])
    guest = by_key.loc[("p1", date(2024, 2, 20))]  # 5.00 against a list price of 6.00: on promotion by price
    assert (guest["promo_share"], guest["list_price"]) == (1.0, 6.0)
    flagged = by_key.loc[("p1", date(2024, 2, 6))]  # flagged by the source at its list price
    assert (flagged["promo_share"], flagged["list_price"]) == (1.0, 5.0)
    assert by_key.loc[("p3", date(2024, 2, 5)), "promo_share"] == 0.0  # at list price, not flagged
    rounding = by_key.loc[("p3", date(2024, 2, 6))]  # 0.33% below the list price: not a promotion
    assert (rounding["promo_share"], rounding["list_price"]) == (0.0, 3.01)
    unknown = by_key.loc[("p1", date(2024, 2, 10))]  # neither column known: 0 and null
    assert unknown["promo_share"] == 0.0 and pd.isna(unknown["list_price"])
    flag_only = by_key.loc[("p1", date(2024, 2, 28))]
    assert flag_only["promo_share"] == 1.0 and pd.isna(flag_only["list_price"])


def test_daily_sales_promo_share_is_units_weighted(tmp_path):
    rows = [("a", None, "2024-02-01 10:00", "p1", 3, 4.0, "toys"),   # 20% off: 3 units on promotion
            ("b", None, "2024-02-01 11:00", "p1", 1, 5.0, "toys")]   # at list price
    frame = orders_frame(rows)
    frame["list_price"] = pd.array([5.0, 5.0], dtype="Float64")
    write_lake(tmp_path / "lake", frame)
    day = DuckDBEngine.over_lake(tmp_path / "lake").query("daily_sales", {"start": "2024-02-01", "end": "2024-02-02"})
    assert day["promo_share"].tolist() == [0.75] and day["list_price"].tolist() == [5.0]


def test_daily_sales_runs_on_an_old_lake_without_the_promotion_columns(tmp_path, tiny_orders):
    """A lake written before list_price and on_promotion existed: promo_share 0, list_price null."""
    old = tiny_orders.drop(columns=["list_price", "on_promotion"])
    folder = tmp_path / "old" / "orders" / "order_date=2024-02-20"
    folder.mkdir(parents=True)
    old[old["order_id"] == "o7"].assign(order_ts=lambda f: f["order_ts"].dt.tz_localize(None)).to_parquet(
        folder / "part-0.parquet", index=False)
    sales = DuckDBEngine.over_lake(tmp_path / "old").query("daily_sales", {"start": "2024-02-01", "end": "2024-03-02"})
    assert sales[["product_id", "quantity", "promo_share"]].values.tolist() == [["p1", 5, 0.0]]
    assert sales["list_price"].isna().all()
