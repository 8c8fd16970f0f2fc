"""Naming RFM segments: the named prototypes, and the matching of cluster centres to them under the constraints
a reader takes for granted ("Lost" has the worst recency, "Champions" the best profile overall, "Hibernating"
slept longer than "About to Sleep")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans

__all__ = ["SEGMENT_PROTOTYPES", "Solution", "name_solution", "repair_recency_order", "mean_recency"]

#: name -> (prototype (recency, frequency, monetary) in standardized units, recency negated; description)
SEGMENT_PROTOTYPES: dict[str, tuple[tuple[float, float, float], str]] = {
    "Champions": ((1.0, 1.2, 1.2), "Bought recently, buy often and spend the most."),
    "Loyal Customers": ((0.5, 0.8, 0.7), "Buy regularly and spend well; respond to loyalty offers."),
    "Potential Loyalists": ((0.8, 0.2, 0.2), "Recent customers with average frequency who could become loyal."),
    "New Customers": ((1.2, -0.8, -0.6), "Bought for the first time recently."),
    "Promising": ((0.6, -0.6, -0.4), "Recent shoppers who have not spent much yet."),
    "Need Attention": ((0.0, 0.0, 0.0), "Average recency, frequency and spend; slipping without a nudge."),
    "About to Sleep": ((-0.5, -0.5, -0.4), "Below-average recency, frequency and spend; reactivate them soon."),
    "At Risk": ((-0.7, 0.5, 0.5), "Used to buy often and spend well, but not for a while."),
    "Can't Lose Them": ((-1.0, 1.2, 1.2), "Among the biggest, most frequent buyers, but gone quiet for long."),
    "Hibernating": ((-0.9, -0.6, -0.5), "Last bought long ago, with few orders and low spend."),
    "Lost": ((-1.4, -0.9, -0.9), "Lowest recency, frequency and spend: most likely gone."),
}


@dataclass(frozen=True)
class Solution:
    """One fitted k: the K-Means model, which segment each cluster label is, and the segments' names."""

    kmeans: KMeans
    segment_of_label: np.ndarray  # cluster label -> segment id
    names: tuple[str, ...]  # by segment id
    centers: np.ndarray  # by segment id, standardized "higher is better" axes
    inertia: float
    silhouette: float


# "Lost" names only the segment whose customers have the worst (largest) mean recency in days, and in each
# (worse, better) pair the first name's segment has the larger mean recency whenever both are used.
_RECENCY_ORDER = (("Lost", "Hibernating"), ("Hibernating", "About to Sleep"), ("Can't Lose Them", "At Risk"))
_FORBIDDEN = 1e6


def name_solution(km: KMeans, silhouette: float, recency_days: np.ndarray) -> Solution:
    """Order segments and name them from the cluster centres only (independent of label numbering).

    ``recency_days`` is the mean recency in days of each cluster label's members: what a reader compares.
    "Champions" fits only the best profile overall and "Lost" only the worst mean recency.
    """
    centers = km.cluster_centers_ * np.array([-1.0, 1.0, 1.0])  # recency: fewer days is better
    names = list(SEGMENT_PROTOTYPES)
    protos = np.array([SEGMENT_PROTOTYPES[n][0] for n in names])
    cost = ((centers[:, None, :] - protos[None, :, :]) ** 2).sum(axis=2)
    overall = centers.sum(axis=1)
    labels = np.arange(len(centers))
    cost[labels != int(np.argmax(overall)), names.index("Champions")] += _FORBIDDEN
    cost[labels != int(np.argmax(recency_days)), names.index("Lost")] += _FORBIDDEN
    rows, cols = linear_sum_assignment(cost)
    name_of_label = {int(r): names[c] for r, c in zip(rows, cols, strict=True)}
    repair_recency_order(name_of_label, recency_days)
    # Most valuable first; the name breaks exact ties, so the order never depends on label numbers.
    order = sorted(range(km.n_clusters), key=lambda lab: (-round(float(overall[lab]), 9), name_of_label[lab]))
    segment_of_label = np.empty(km.n_clusters, dtype=np.int64)
    for sid, lab in enumerate(order):
        segment_of_label[lab] = sid
    return Solution(kmeans=km, segment_of_label=segment_of_label,
                     names=tuple(name_of_label[lab] for lab in order),
                     centers=centers[order], inertia=float(km.inertia_), silhouette=silhouette)


def repair_recency_order(name_of: dict[int, str], recency_days: np.ndarray) -> None:
    """Swap the names of segments whose mean recency contradicts what the names say (in place)."""
    if "Lost" in name_of.values():  # Lost goes to the worst recency, whoever had it
        worst = int(np.argmax(recency_days))
        lost = next(k for k, n in name_of.items() if n == "Lost")
        name_of[lost], name_of[worst] = name_of[worst], "Lost"
    for _ in range(len(_RECENCY_ORDER) + 1):  # each swap fixes one pair; a few passes settle chains
        label_of = {n: k for k, n in name_of.items()}
        bad = [(w, b) for w, b in _RECENCY_ORDER
               if w in label_of and b in label_of and recency_days[label_of[w]] < recency_days[label_of[b]]]
        if not bad:
            return
        worse, better = bad[0]
        name_of[label_of[worse]], name_of[label_of[better]] = better, worse


def mean_recency(recency: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    counts = np.bincount(labels, minlength=k)
    sums = np.bincount(labels, weights=recency, minlength=k)
    return np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)
