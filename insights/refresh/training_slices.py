"""The time splits the customer models train on: a plan of cutoffs per target, and the queries at each cutoff.

Label window per target: the horizon H when the history before ``as_of`` covers at least
``MIN_FEATURE_DAYS + 2H`` days ("full_label_window"); otherwise the longest whole number of weeks h with
``MIN_FEATURE_DAYS + 2h`` days ("short_history"), and predictions are extrapolated to H by rate (spend and
orders x H/h; P(no purchase) ^ (H/h)). Below ``MIN_LABEL_DAYS`` the gate refuses with ``InsufficientData``.
Training slices have features as of ``as_of - 2h - 14i`` and labels in ``[cutoff, cutoff + h)``; the
validation slice has features as of ``as_of - h``. No query reads an order on or after ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from athena.engine import QueryEngine
from insights.errors import InsufficientData
from insights.refresh.engagement import ENGAGEMENT_QUERY, join_engagement, with_engagement
from models.features import SEASON_COLUMNS, feature_matrix, fit_bgnbd, fit_gamma_gamma, with_bgnbd_features, with_season

__all__ = ["Plan", "plan_for", "Slices", "MIN_FEATURE_DAYS", "MIN_LABEL_DAYS", "TRAIN_SLICES", "SLICE_STEP_DAYS",
           "MAX_SLICE_ROWS"]

MIN_FEATURE_DAYS = 30  # history every training cutoff must have behind it
MIN_LABEL_DAYS = 28  # shortest label window worth learning from
TRAIN_SLICES = 6  # training cutoffs per target, SLICE_STEP_DAYS apart (more rows, more seasons)
SLICE_STEP_DAYS = 14
# With history to spare, older cutoffs every SEASON_STEP_DAYS back to a year before the newest one, so the
# training windows cover every season (bounded by the TRAIN_ROWS budget: none at scale).
SEASON_SLICES = 13
SEASON_STEP_DAYS = 28
SEASON_MIN_SPAN_DAYS = 300  # the season features are used only when the training cutoffs span this much
MAX_SLICE_ROWS = 100_000  # customers kept per past slice: a seeded uniform sample


@dataclass(frozen=True)
class Plan:
    target: str
    horizon_days: int
    label_window_days: int
    path: str
    slices: int = TRAIN_SLICES
    season_slices: int = 0

    @property
    def scale(self) -> float:
        return self.horizon_days / self.label_window_days

    def cutoffs(self, as_of: date, first: date) -> tuple[list[date], date]:
        """Training cutoffs (newest first) and the validation cutoff."""
        h = self.label_window_days
        val_cut = as_of - timedelta(days=h)
        cuts = [val_cut - timedelta(days=h + SLICE_STEP_DAYS * i) for i in range(self.slices)]
        cuts = [c for c in cuts if (c - first).days >= MIN_FEATURE_DAYS] or cuts[:1]
        older = cuts[-1] - timedelta(days=SEASON_STEP_DAYS)
        season = [older - timedelta(days=SEASON_STEP_DAYS * i) for i in range(self.season_slices)]
        season = [c for c in season if (cuts[0] - c).days <= 364 and (c - first).days >= MIN_FEATURE_DAYS]
        # the older cutoffs only where they reach round the year (else they add cost, not seasons)
        if season and (cuts[0] - season[-1]).days >= SEASON_MIN_SPAN_DAYS:
            cuts += season
        return cuts, val_cut

    def seasonal(self, as_of: date, first: date) -> bool:
        """Whether the training cutoffs span enough of a year for the season features."""
        cuts, _ = self.cutoffs(as_of, first)
        return (cuts[0] - cuts[-1]).days >= SEASON_MIN_SPAN_DAYS

    def describe(self, as_of: date, first: date) -> dict[str, Any]:
        cuts, val_cut = self.cutoffs(as_of, first)
        return {"horizon_days": self.horizon_days, "label_window_days": self.label_window_days,
                "path": self.path, "scale": self.scale, "train_cutoffs": [c.isoformat() for c in cuts],
                "validation_cutoff": val_cut.isoformat(), "season_features": self.seasonal(as_of, first)}


def plan_for(target: str, horizon: int, span: int, slices: int = TRAIN_SLICES, season_slices: int = 0) -> Plan:
    if span >= MIN_FEATURE_DAYS + 2 * horizon:
        return Plan(target, horizon, horizon, "full_label_window", slices, season_slices)
    window = (span - MIN_FEATURE_DAYS) // 2 // 7 * 7
    if window < MIN_LABEL_DAYS:
        raise InsufficientData(
            f"{span} days of order history; the {target} model needs at least "
            f"{MIN_FEATURE_DAYS + 2 * MIN_LABEL_DAYS} ({MIN_FEATURE_DAYS} of features and two "
            f"{MIN_LABEL_DAYS}-day label windows)", missing="history",
            required=MIN_FEATURE_DAYS + 2 * MIN_LABEL_DAYS, available=span)
    return Plan(target, horizon, min(window, horizon), "short_history", slices, season_slices)


class Slices:
    """Feature and label queries at cutoffs, each run once per training.

    With ``engagement`` (the lake has the optional reviews/engagement tables) each past cutoff's features are
    joined with ``customer_engagement`` at that cutoff, and the model inputs have the engagement columns.
    """

    def __init__(self, engine: QueryEngine, random_state: int = 0, engagement: bool = False) -> None:
        self._engine = engine
        self._random_state = random_state
        self.engagement = engagement
        self._features: dict[date, pd.DataFrame] = {}
        self._labels: dict[tuple[date, int], pd.DataFrame] = {}
        self._inputs: dict[tuple[date, int], pd.DataFrame] = {}
        self._bgnbd: dict[date, Any] = {}

    def seed(self, cutoff: date, frame: pd.DataFrame) -> pd.DataFrame:
        """Hold ``frame`` (customer_features as of ``cutoff``, already fetched) unsampled: it is not queried again."""
        self._features[cutoff] = with_engagement(frame.sort_values("customer_id", kind="stable")
                                                 .reset_index(drop=True))
        return self._features[cutoff]

    def features(self, cutoff: date, *, sample: bool = True) -> pd.DataFrame:
        """``customer_features`` as of ``cutoff``, sorted by customer; with ``sample`` (past slices) at most
        :data:`MAX_SLICE_ROWS` customers, a uniform sample seeded by random_state and the cutoff."""
        if cutoff not in self._features:
            frame = self._engine.query("customer_features", {"cutoff": cutoff.isoformat()})
            frame = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
            if sample and len(frame) > MAX_SLICE_ROWS:
                rng = np.random.default_rng([self._random_state, cutoff.toordinal()])
                keep = np.sort(rng.choice(len(frame), MAX_SLICE_ROWS, replace=False))
                frame = frame.iloc[keep].reset_index(drop=True)
            if self.engagement:
                frame = join_engagement(frame, self._engine.query(ENGAGEMENT_QUERY, {"cutoff": cutoff.isoformat()}))
            self._features[cutoff] = frame
        return self._features[cutoff]

    def labels(self, cutoff: date, window: int) -> pd.DataFrame:
        """``customer_labels`` of every customer (not kept: at 1M customers each is ~100 MB of strings)."""
        frame = self._engine.query("customer_labels", {"cutoff": cutoff.isoformat(), "horizon_days": window})
        return frame.set_index("customer_id")

    def aligned_labels(self, cutoff: date, window: int) -> pd.DataFrame:
        """Labels of the (possibly sampled) slice's customers, in its row order; kept per (cutoff, window)."""
        key = (cutoff, window)
        if key not in self._labels:
            self._labels[key] = self.labels(cutoff, window).reindex(self.features(cutoff)["customer_id"])
        return self._labels[key]

    def inputs(self, cutoff: date, window: int) -> pd.DataFrame:
        """Model inputs as of ``cutoff``: features plus BG/NBD summaries over ``window`` days."""
        key = (cutoff, window)
        if key not in self._inputs:
            feats = self.features(cutoff)
            if cutoff not in self._bgnbd:
                self._bgnbd[cutoff] = (fit_bgnbd(feats, random_state=self._random_state),
                                       fit_gamma_gamma(feats, random_state=self._random_state))
            base = feature_matrix(feats, engagement=self.engagement)
            self._inputs[key] = with_season(with_bgnbd_features(feats, base, window,
                                                                *self._bgnbd[cutoff]), cutoff, window)
        return self._inputs[key]

    def seasonal(self, as_of: date, plan: Plan, first: date) -> dict[str, Any]:
        """Year-over-year seasonal shift of churn's level between the calibration window and the scored one.

        The calibrator learns churn's level on the validation window ``[as_of - h, as_of)``; the scored window
        ``[as_of, as_of + h)`` may sit in another season. The same two windows 52 weeks earlier measure the
        change: ``churn_logit_shift`` = logit(churn rate then in the scored window's season) - logit(churn
        rate then in the validation window's season), added to the calibrated log-odds. Needs a year of
        history before last year's validation window and a window under half a year (otherwise 0).
        Spend is not adjusted: on the sample lake last year's spend ratios did not predict this year's.
        """
        h = plan.label_window_days
        val_cut = as_of - timedelta(days=h)
        year = timedelta(days=364)  # 52 weeks: same weekdays
        if h >= 182 or plan.path != "full_label_window":
            return {"applied": False, "churn_logit_shift": 0.0, "reason": "window of half a year or more, or short"}
        if (val_cut - year - first).days < MIN_FEATURE_DAYS:
            return {"applied": False, "churn_logit_shift": 0.0, "reason": "under a year of history"}
        then_scored = _churn_rate(self.labels(as_of - year, h))
        then_val = _churn_rate(self.labels(val_cut - year, h))
        return {"applied": True, "reference_cutoff": (as_of - year).isoformat(),
                "churn_rate_then_scored_window": then_scored, "churn_rate_then_validation_window": then_val,
                "churn_logit_shift": _logit(then_scored) - _logit(then_val)}

    def one(self, cutoff: date, window: int, target: str) -> tuple[pd.DataFrame, np.ndarray]:
        labels = self.aligned_labels(cutoff, window)
        if target == "churn":
            y = 1 - labels["purchased"].fillna(0).to_numpy(dtype="int64")
        else:
            y = labels[target].fillna(0).to_numpy(dtype="float64").round(9)  # see feature_matrix
        return self.inputs(cutoff, window), y

    def training_set(self, as_of: date, plan: Plan, first: date, target: str, min_customers: int):
        h = plan.label_window_days
        cuts, val_cut = plan.cutoffs(as_of, first)
        parts = [self.one(c, h, target) for c in cuts]
        X = pd.concat([p[0] for p in parts], ignore_index=True)
        y = np.concatenate([p[1] for p in parts])
        X_val, y_val = self.one(val_cut, h, target)
        if not plan.seasonal(as_of, first):
            X, X_val = X.drop(columns=list(SEASON_COLUMNS)), X_val.drop(columns=list(SEASON_COLUMNS))
        if len(X) < min_customers:
            raise InsufficientData(
                f"{len(X)} customer rows in the {plan.target} training window(s) before {cuts[0]}; at least "
                f"{min_customers} are needed", missing="customers in the training window",
                required=min_customers, available=len(X))
        if target == "churn" and len(np.unique(y)) < 2:
            what = "churned" if y[0] == 0 else "came back"
            raise InsufficientData(
                f"no customer {what} in the {plan.target} training window(s) ({h} days from {cuts[-1]}): "
                "a single label class", missing=f"{plan.target} label classes", required=2, available=1)
        return X, y, X_val, y_val


def _churn_rate(labels: pd.DataFrame) -> float:
    return 1.0 - float(labels["purchased"].mean())


def _logit(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)
    return float(np.log(p / (1 - p)))
