"""Engagement and review inputs of the customer models: the ``customer_engagement`` query and review sentiment.

The query (athena/queries/customer_engagement.sql) returns one row per customer with an engagement event or a
review before the cutoff; a lake without the optional tables returns none, and then nothing here changes the
customer frame: the models train exactly as before. Review sentiment is computed here, in the refresh, never at
request time: each distinct text is scored once (and kept for the process) by VADER (Hutto and Gilbert 2014): the
vaderSentiment package's own analyzer and the lexicon that ships inside it, no download.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from models.features import ENGAGEMENT_COLUMNS

__all__ = ["ENGAGEMENT_QUERY", "SEPARATOR", "has_engagement", "with_engagement", "join_engagement", "analyzer",
           "sentiment", "score_texts"]

ENGAGEMENT_QUERY = "customer_engagement"
SEPARATOR = chr(30)  # joins a customer's review texts in the query's review_texts
_CACHE_LIMIT = 500_000  # distinct texts kept between calls (the training slices share most texts)
_scores: dict[str, float] = {}


@cache
def analyzer() -> Any:
    """VADER's SentimentIntensityAnalyzer, built once (it reads its lexicon files beside its module: build.sh keeps
    that module's source in the refresh package for this)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """The text's VADER compound sentiment in [-1, 1] (0: nothing the lexicon knows)."""
    return round(float(analyzer().polarity_scores(text)["compound"]), 6)


def score_texts(texts: pd.Series) -> np.ndarray:
    """Sentiment of each text (NaN for a missing one), each distinct text scored once."""
    distinct = pd.unique(texts.dropna())
    todo = [t for t in distinct if t not in _scores]
    if len(_scores) + len(todo) > _CACHE_LIMIT:
        _scores.clear()
        todo = list(distinct)
    _scores.update({t: sentiment(str(t)) for t in todo})
    return texts.map(_scores).to_numpy(dtype="float64", na_value=np.nan)


def has_engagement(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` carries the engagement query's columns (the lake has the tables, with rows)."""
    return "days_since_engagement" in frame.columns


def with_engagement(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``review_texts`` replaced by ``review_sentiment`` (the mean over the customer's texts)."""
    if "review_texts" not in frame.columns:
        return frame
    texts = frame["review_texts"].astype("object")
    per_review = texts.where(texts.notna() & (texts != ""), None).str.split(SEPARATOR).explode()
    scores = pd.Series(score_texts(per_review), index=per_review.index)
    out = frame.drop(columns=["review_texts"])
    out["review_sentiment"] = scores.groupby(level=0).mean().reindex(frame.index).round(9)
    return out


def join_engagement(frame: pd.DataFrame, engagement: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (customer_features) left-joined with the query's rows; unchanged when the query has none."""
    if not len(engagement):
        return frame
    columns = ["customer_id", *[c for c in engagement.columns if c in ENGAGEMENT_COLUMNS or c == "review_texts"]]
    return with_engagement(frame.merge(engagement[columns], on="customer_id", how="left", validate="one_to_one"))
