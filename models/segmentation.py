"""RFM segmentation: quintile scores and K-Means on log-standardized recency, frequency and monetary value.

Segment names come from each cluster's RFM profile relative to the population: the cluster centres (in
standardized log space, recency negated so that "higher is better" on every axis) are matched one-to-one
to named prototypes by minimum total squared distance (the Hungarian algorithm), under the constraints a
reader takes for granted: "Lost" names only the segment with the worst recency, "Champions" only the best
profile overall, and a "Hibernating" segment has a worse recency than an "About to Sleep" one. The matching
depends on the set of centres only, so relabelling the clusters cannot rename a segment, and names are
unique. Segment ids order segments from most to least valuable profile (sum of the three standardized axes).

The automatic k is the best silhouette within a range a business can act on (4 to 8 segments by default:
two segments help nobody); every k in ``[k_min, k_max]`` is fitted and can be asked for.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from models.segment_names import SEGMENT_PROTOTYPES, Solution, mean_recency, name_solution, repair_recency_order

__all__ = ["RFMSegmenter", "rfm_scores", "SEGMENT_PROTOTYPES"]

def rfm_scores(recency, frequency, monetary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quintile scores 1-5 (5 = best) for recency (lower is better), frequency and monetary value.

    score = ceil(5 x rank / n) with average ranks for ties, so equal values get equal scores and
    each score holds about a fifth of the customers.

    Parameters
    ----------
    recency, frequency, monetary : array-like of shape (n,)

    Returns
    -------
    r, f, m : ndarray of int8, shape (n,)
    """
    arrays = [np.asarray(a, dtype="float64") for a in (recency, frequency, monetary)]
    n = arrays[0].shape[0]
    if any(a.shape != (n,) for a in arrays):
        raise ValueError("recency, frequency and monetary must be 1-D arrays of equal length")
    if any(not np.isfinite(a).all() for a in arrays):
        raise ValueError("RFM values must be finite")

    def score(values: np.ndarray) -> np.ndarray:
        if n == 0:
            return np.zeros(0, dtype=np.int8)
        ranks = pd.Series(values).rank(method="average").to_numpy()
        return np.clip(np.ceil(np.round(5.0 * ranks / n, 9)), 1, 5).astype(np.int8)

    r, f, m = (score(a) for a in arrays)
    return (6 - r).astype(np.int8), f, m


class RFMSegmenter(BaseEstimator):
    """K-Means on log-standardized RFM with named, stably ordered segments for every k in a range.

    Parameters
    ----------
    n_clusters : int or None
        The k to use by default; None picks the k with the best silhouette score within ``auto_k``.
    k_min, k_max : int
        Every k in ``[k_min, k_max]`` is fitted (capped by the number of distinct customers - 1) so
        that any of them can be served without refitting.
    auto_k : tuple of int
        The range the automatic k is chosen in (4..8: segment counts a shop can run campaigns for); when
        the data support fewer clusters, the largest feasible k below the range.
    n_init : int
        K-Means restarts per k.
    silhouette_sample_size : int or None
        Customers sampled (seeded) for the silhouette score above this size; None uses everyone.
    fit_sample_size : int or None
        Above this many customers K-Means is fitted on a seeded uniform sample of that size (the
        standardization still uses everyone; every customer is then assigned by :meth:`predict`). Three
        dimensions and at most 11 centres: 20k points (~2k per cluster) pin the centres down far below their
        spread (standard error ~0.02 standardized units), and the fit no longer grows with the population.
        None fits on everyone.
    random_state : int or None

    Attributes
    ----------
    center_, scale_ : ndarray of shape (3,)
        Standardization of log1p(recency), log1p(frequency), log1p(max(monetary, 0)).
    k_ : int
        The default k (``n_clusters`` or the best silhouette).
    ks_ : list of int
        The fitted k values.
    elbow_ : list of dict
        ``{"k", "inertia", "silhouette"}`` per fitted k, for the elbow plot beside the silhouette.
    silhouette_ : float
        Silhouette score at ``k_``.
    """

    def __init__(self, *, n_clusters: int | None = None, k_min: int = 2, k_max: int = 10,
                 auto_k: tuple[int, int] = (4, 8), n_init: int = 10, silhouette_sample_size: int | None = 5000,
                 fit_sample_size: int | None = 20_000, random_state: int | None = None):
        self.n_clusters = n_clusters
        self.k_min = k_min
        self.k_max = k_max
        self.auto_k = auto_k
        self.n_init = n_init
        self.silhouette_sample_size = silhouette_sample_size
        self.fit_sample_size = fit_sample_size
        self.random_state = random_state

    def fit(self, X, y=None) -> RFMSegmenter:
        """Fit K-Means for every k and name the segments.

        Parameters
        ----------
        X : DataFrame with recency_days, frequency, monetary_total, or array of shape (n, 3) in that order.
        """
        raw = _rfm_array(X)
        if self.k_min < 2 or self.k_max < self.k_min:
            raise ValueError(f"need 2 <= k_min <= k_max, got k_min={self.k_min}, k_max={self.k_max}")
        if not 2 <= self.auto_k[0] <= self.auto_k[1]:
            raise ValueError(f"auto_k must be a range (lo, hi) with 2 <= lo <= hi, got {self.auto_k}")
        logged = _log_rfm(raw)
        self.center_ = logged.mean(axis=0)
        scale = logged.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        Z = (logged - self.center_) / self.scale_
        if self.fit_sample_size and Z.shape[0] > self.fit_sample_size:
            seed = 0 if self.random_state is None else self.random_state
            keep = np.sort(np.random.default_rng(seed).choice(Z.shape[0], self.fit_sample_size, replace=False))
            Z = Z[keep]
            raw = raw[keep]
        fit_raw = raw
        self.n_fit_ = int(Z.shape[0])
        n_distinct = np.unique(Z, axis=0).shape[0]
        k_max = min(self.k_max, n_distinct - 1, len(SEGMENT_PROTOTYPES))
        if k_max < self.k_min:
            raise ValueError(f"need at least {self.k_min + 1} distinct RFM profiles, got {n_distinct}")
        if self.n_clusters is not None and not self.k_min <= self.n_clusters <= k_max:
            raise ValueError(f"n_clusters={self.n_clusters} outside the feasible range {self.k_min}..{k_max}")
        self.solutions_: dict[int, Solution] = {}
        for k in range(self.k_min, k_max + 1):
            # One OpenMP thread: on a busy host K-Means' spinning workers cost 100x on small data.
            with threadpool_limits(limits=1, user_api="openmp"):
                km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(Z)
            sample = self.silhouette_sample_size if self.silhouette_sample_size and Z.shape[0] > \
                self.silhouette_sample_size else None
            sil = float(silhouette_score(Z, km.labels_, sample_size=sample, random_state=self.random_state))
            self.solutions_[k] = name_solution(km, sil, mean_recency(fit_raw[:, 0], km.labels_, k))
        self.ks_ = sorted(self.solutions_)
        self.elbow_ = [{"k": k, "inertia": round(self.solutions_[k].inertia, 6),
                        "silhouette": round(self.solutions_[k].silhouette, 6)} for k in self.ks_]
        if self.n_clusters is not None:
            self.k_ = int(self.n_clusters)
        else:  # best silhouette inside the business range; ties go to the smaller k
            lo, hi = self.auto_k
            candidates = [k for k in self.ks_ if lo <= k <= hi] or [max(self.ks_)]
            self.k_ = max(candidates, key=lambda k: (round(self.solutions_[k].silhouette, 12), -k))
        self.silhouette_ = self.solutions_[self.k_].silhouette
        return self

    def transform(self, X) -> np.ndarray:
        """Standardized log RFM, shape (n, 3), recency not negated (the space K-Means works in)."""
        check_is_fitted(self)
        return (_log_rfm(_rfm_array(X)) - self.center_) / self.scale_

    def predict(self, X, k: int | None = None) -> np.ndarray:
        """Segment id (0 = most valuable profile) of each customer for ``k`` (default ``k_``)."""
        sol = self._solution(k)
        with threadpool_limits(limits=1, user_api="openmp"):
            labels = sol.kmeans.predict(self.transform(X))
        return sol.segment_of_label[labels].astype(np.int8)

    def align_names(self, X) -> RFMSegmenter:
        """Re-check every solution's names against the mean recency of ``X``'s segments (the scored population).

        Fitting names segments on the fitted sample; a rescoring day's population can differ a little, and a
        published "Lost" must still be the segment with the worst mean recency. Only names are swapped.
        """
        raw = _rfm_array(X)
        for k, sol in self.solutions_.items():
            ids = self.predict(raw, k)
            name_of = dict(enumerate(sol.names))
            repair_recency_order(name_of, mean_recency(raw[:, 0], ids.astype(np.int64), k))
            if tuple(name_of[i] for i in range(k)) != sol.names:
                self.solutions_[k] = replace(sol, names=tuple(name_of[i] for i in range(k)))
        return self

    def segment_names(self, k: int | None = None) -> list[str]:
        """Segment names by segment id for ``k`` (default ``k_``)."""
        return list(self._solution(k).names)

    def profiles(self, X, k: int | None = None) -> list[dict[str, Any]]:
        """Per segment: segment_id, segment, description, count, percentage, avg_recency/frequency/monetary."""
        raw = _rfm_array(X)
        ids = self.predict(raw, k)
        names = self.segment_names(k)
        n = max(raw.shape[0], 1)
        out = []
        for sid, name in enumerate(names):
            rows = raw[ids == sid]
            count = int(rows.shape[0])
            means = rows.mean(axis=0) if count else np.full(3, np.nan)
            out.append({
                "segment_id": sid, "segment": name, "description": SEGMENT_PROTOTYPES[name][1],
                "count": count, "percentage": round(100.0 * count / n, 2),
                "avg_recency": _round(means[0]), "avg_frequency": _round(means[1]), "avg_monetary": _round(means[2]),
            })
        return out

    def _solution(self, k: int | None) -> Solution:
        check_is_fitted(self)
        k = self.k_ if k is None else int(k)
        if k not in self.solutions_:
            raise ValueError(f"k={k} was not fitted; fitted: {self.ks_}")
        return self.solutions_[k]


def _round(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 2)


def _rfm_array(X) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        missing = [c for c in ("recency_days", "frequency", "monetary_total") if c not in X.columns]
        if missing:
            raise ValueError(f"RFM frame lacks columns: {', '.join(missing)}")
        X = X[["recency_days", "frequency", "monetary_total"]].to_numpy(dtype="float64")
    arr = np.asarray(X, dtype="float64")
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"expected RFM of shape (n, 3), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("RFM values must be finite")
    return arr


def _log_rfm(raw: np.ndarray) -> np.ndarray:
    """log1p of recency, frequency and non-negative monetary value (net spend can be negative after returns)."""
    return np.log1p(np.clip(raw, 0.0, None))
