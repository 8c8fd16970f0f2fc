"""The sample's reviews and engagement events: the planted effect on churn is there, the orders do not change, and
``--no-engagement`` gives a lake without the two tables."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from athena.duckdb_engine import DuckDBEngine
from insights.data.sample import SampleSpec, generate, write_sample
from insights.data.sample_engagement import ENGAGEMENT

SPEC = SampleSpec(customers=3000, products=20, days=500, seed=7, end=date(2026, 6, 30))


@pytest.fixture(scope="module")
def sample():
    return generate(SPEC)


def _days(values, start) -> np.ndarray:
    return (np.asarray(pd.to_datetime(values).to_numpy(), dtype="datetime64[D]")
            - np.datetime64(start, "D")).astype(np.int64)


def test_leaving_customers_engage_less_in_the_weeks_before_they_drop_out(sample):
    truth, start = sample.truth, date.fromisoformat(sample.truth.meta["start"])
    churn = _days(truth.customers["churn_date"].astype("datetime64[s]"), start)
    index = {c: i for i, c in enumerate(truth.customers["customer_id"])}
    who = sample.engagement["customer_id"].map(index).to_numpy()
    day = _days(sample.engagement["event_ts"], start)
    d = ENGAGEMENT["decline_days"]
    acquired = _days(truth.customers["acquisition_date"].astype("datetime64[s]"), start)
    # customers who drop out inside the period, active for the 240 days before: events a day in the d days
    # before the dropout against the 180 days before those
    leaving = (churn - np.maximum(acquired, 0) >= 240) & (churn < SPEC.days)
    rel = day - churn[who]
    last = np.bincount(who[(rel >= -d) & (rel < 0)], minlength=len(churn))[leaving].sum() / d
    before = np.bincount(who[(rel >= -d - 180) & (rel < -d)], minlength=len(churn))[leaving].sum() / 180
    assert leaving.sum() > 200
    assert last / before == pytest.approx(ENGAGEMENT["decline_factor"], abs=0.08)


def test_lines_bought_before_dropping_out_are_rated_lower(sample):
    truth, start = sample.truth, date.fromisoformat(sample.truth.meta["start"])
    churn = pd.Series(_days(truth.customers["churn_date"].astype("datetime64[s]"), start),
                      index=truth.customers["customer_id"])
    r = sample.reviews
    assert r["rating"].between(1, 5).all() and len(r) > 500
    bought_day = _days(r["review_ts"], start)  # reviews come a few days after the purchase: close enough here
    late = bought_day >= churn.reindex(r["customer_id"]).to_numpy() - ENGAGEMENT["decline_days"] + 10
    assert r["rating"][late].mean() < r["rating"][~late].mean() - 1.0
    assert sample.truth.meta["engagement"]["counts"] == {"events": len(sample.engagement), "reviews": len(r)}


def test_no_engagement_keeps_the_orders_and_writes_no_tables(sample, tmp_path):
    plain = generate(SampleSpec(**{**SPEC.__dict__, "engagement": False}))
    pd.testing.assert_frame_equal(plain.orders, sample.orders)
    assert plain.reviews is None and plain.engagement is None and "engagement" not in plain.truth.meta
    write_sample(tmp_path / "plain", plain)
    write_sample(tmp_path / "full", sample)
    assert not (tmp_path / "plain" / "reviews").exists() and not (tmp_path / "plain" / "engagement").exists()
    con = DuckDBEngine.over_lake(tmp_path / "full").connection
    assert con.execute("SELECT count(*) FROM engagement").fetchone()[0] == len(sample.engagement)
    assert con.execute("SELECT count(*) FROM reviews WHERE review_date <> CAST(review_ts AS DATE)").fetchone()[0] == 0
    assert DuckDBEngine.over_lake(tmp_path / "plain").connection.execute(
        "SELECT count(*) FROM reviews").fetchone()[0] == 0
