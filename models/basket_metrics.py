"""Next-basket metrics of a recommendation list: recall@k, NDCG@k and hit rate (models.recommend's backtest).

numpy and scipy only.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["next_basket_metrics"]


def next_basket_metrics(recommended: np.ndarray, truth: sp.spmatrix, k: int = 10) -> dict[str, float]:
    """Mean recall@k, NDCG@k and hit rate of ``recommended`` (customers x >= k indices, -1 pads) against
    ``truth`` (customers x products, nonzero = in the customer's next basket); customers without a basket are
    left out. Returns {"recall_at_k", "ndcg_at_k", "hit_rate", "n_customers", "k"}."""
    truth = sp.csr_matrix(truth)
    size = np.diff(truth.indptr)
    rows = np.flatnonzero(size > 0)
    if rows.size == 0:
        return {"recall_at_k": float("nan"), "ndcg_at_k": float("nan"), "hit_rate": float("nan"),
                "n_customers": 0, "k": k}
    top = np.asarray(recommended)[rows, :k]
    sub = truth[rows]
    hits = np.zeros(top.shape, dtype=bool)
    for slot in range(top.shape[1]):
        cols = top[:, slot]
        ok = cols >= 0
        vals = np.zeros(rows.size, dtype=bool)
        if ok.any():
            vals[ok] = np.asarray(sub[np.flatnonzero(ok), cols[ok]]).ravel() != 0
        hits[:, slot] = vals
    n_true = size[rows]
    discount = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))
    dcg = (hits * discount).sum(axis=1)
    ideal = np.cumsum(discount)[np.minimum(n_true, top.shape[1]) - 1]
    return {"recall_at_k": float(np.mean(hits.sum(axis=1) / n_true)), "ndcg_at_k": float(np.mean(dcg / ideal)),
            "hit_rate": float(np.mean(hits.any(axis=1))), "n_customers": int(rows.size), "k": int(k)}
