"""The customer models with and without the optional reviews and engagement tables.

Without rows in them (no tables, or only rows on or after as_of) the refresh publishes exactly what it published
before the tables existed: the same content hash, no engagement key, no engagement input. With rows, every customer
model gets the engagement features and the documents say so. Review sentiment uses the lexicon of the
vaderSentiment package and agrees with VADER's own analyzer on the sample's texts.
"""

from datetime import date

import pandas as pd
import pytest

from athena.duckdb_engine import DuckDBEngine
from insights.data.lake import write_lake
from insights.data.sample import SampleSpec, generate, write_sample
from insights.data.sample_engagement import REVIEW_TEXTS
from insights.refresh.customers import CustomerSide
from insights.refresh.engagement import sentiment, with_engagement
from insights.refresh.pipeline import run_refresh
from insights.snapshot.local import LocalSnapshotStore
from models.features import ENGAGEMENT_COLUMNS

AS_OF = date(2026, 7, 1)
SPEC = SampleSpec(customers=600, products=8, days=420, seed=5, end=date(2026, 6, 30))


def test_review_sentiment_is_vaders_compound_score_and_follows_the_stars():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    for stars, texts in REVIEW_TEXTS.items():
        for text in texts:
            assert sentiment(text) == round(vader.polarity_scores(text)["compound"], 6)
            assert (sentiment(text) < 0) if stars <= 2 else (sentiment(text) > 0) if stars >= 4 else True, text
    assert sentiment("good") > 0 > sentiment("not good") and sentiment("the parcel came on tuesday") == 0.0
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "review_texts": ["good" + chr(30) + "awful", None, ""]})
    got = with_engagement(frame)["review_sentiment"]
    assert got[0] == pytest.approx((sentiment("good") + sentiment("awful")) / 2)
    assert got[1:].isna().all()


def _refresh(lake, root):
    store = LocalSnapshotStore(root / "snaps")
    result = run_refresh(engine=DuckDBEngine.over_lake(lake), store=store, sides=[CustomerSide()], as_of=AS_OF)
    snap = store.open(result.version)
    return result, snap.doc("customer_models"), snap.doc("quality")


@pytest.fixture(scope="module")
def sample():
    return generate(SPEC)


def test_without_rows_before_as_of_the_refresh_publishes_what_it_did_before(sample, tmp_path):
    plain = generate(SampleSpec(**{**SPEC.__dict__, "engagement": False}))
    write_sample(tmp_path / "plain", plain)
    # the same orders with both tables present, but every row on or after as_of: nothing to learn from
    later = {name: frame.assign(**{ts: pd.Timestamp("2026-07-02")})
             for name, frame, ts in (("reviews", sample.reviews, "review_ts"),
                                     ("engagement", sample.engagement, "event_ts"))}
    write_lake(tmp_path / "later", plain.orders, plain.customers, events=later)
    first, doc, quality = _refresh(tmp_path / "plain", tmp_path / "a")
    second, _, _ = _refresh(tmp_path / "later", tmp_path / "b")
    assert first.manifest["content_sha256"] == second.manifest["content_sha256"]
    assert "engagement" not in doc and "engagement_features" not in quality
    inputs = {f["feature"] for f in doc["churn"]["feature_importance"]}
    assert inputs and not inputs & set(ENGAGEMENT_COLUMNS)


def test_with_rows_every_customer_model_uses_the_engagement_features(sample, tmp_path):
    write_sample(tmp_path / "full", sample)
    result, doc, quality = _refresh(tmp_path / "full", tmp_path / "c")
    facts = doc["engagement"]
    assert facts["used"] and facts["features"] == list(ENGAGEMENT_COLUMNS)
    assert facts["customers_with_events"] > 300 and facts["customers_with_reviews"] > 100
    assert quality["engagement_features"] == facts
    inputs = {f["feature"] for f in doc["churn"]["feature_importance"]}
    assert set(ENGAGEMENT_COLUMNS) <= inputs
    assert set(ENGAGEMENT_COLUMNS) <= set(doc["feature_stats"]) & set(doc["feature_medians"])
