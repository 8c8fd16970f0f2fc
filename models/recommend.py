"""Product recommendations from item-item co-occurrence, and their next-basket backtest metrics.

``ItemCooccurrence`` learns, from a customers x products purchase matrix (1 = the customer bought the product
before the cutoff), each product's ``top_k`` neighbours: the products most often bought by the same customers.
The similarity is the shrunk conditional probability ``sim(i, j) = C_ij / (n_i + shrink)`` (``C_ij`` customers
bought both, ``n_i`` bought i), so it reads as "of the customers who bought i, this share also bought j" and
a pair seen by few customers is pulled towards 0. ``similarity="cosine"`` divides by sqrt(n_i n_j) instead.

A customer's score for product j is the sum, over the products i the customer bought, of ``sim(i, j)``; the
product i contributing most is the reason ("often bought with i"). Products already bought are excluded
unless replenishable: bought again (on another day) by at least ``replenish_rate`` of their buyers, with at
least ``min_buyers`` buyers; such a product scores ``rebuy_weight x its repeat rate`` besides its neighbour
score. Every product also gets ``1e-3 x`` its share of buyers, so a customer with no neighbours is offered
the most popular products and ties break by popularity. Scoring runs in chunks of customers (dense
chunk x products blocks of about 20M floats), so memory stays bounded by the chunk and the top-N kept.

``next_basket_metrics`` scores a recommendation list against the products of each customer's next basket:
recall@k (hits / basket size) and NDCG@k (binary relevance), averaged over customers. numpy and scipy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.basket_metrics import next_basket_metrics

__all__ = ["ItemCooccurrence", "Recommendations", "next_basket_metrics", "popularity_ranking", "popular_items",
           "repeat_counts", "repeat_rates"]

_POPULARITY_TIE = 1e-3  # a popularity term small enough never to outrank a neighbour score of a real pair
_MARK = 1e12  # added to a bought product's candidate score to recognise it after the sparse sum
_CHUNK_CELLS = 20_000_000  # floats in one dense customers x products block while scoring (80 MB)


@dataclass(frozen=True)
class Recommendations:
    """Top-n per customer: product indices (-1 pads), scores, and the product behind each (-1: popularity,
    the product itself: a replenishable rebuy)."""

    items: np.ndarray  # (n_customers, n) int32
    scores: np.ndarray  # (n_customers, n) float32
    because: np.ndarray  # (n_customers, n) int32


def repeat_counts(counts: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(buyers, buyers on two or more days) per product from customers x products purchase-day counts."""
    counts = sp.csr_matrix(counts)
    buyers = np.asarray((counts > 0).sum(axis=0)).ravel().astype(np.int64)
    repeaters = np.asarray((counts > 1).sum(axis=0)).ravel().astype(np.int64)
    return buyers, repeaters


def repeat_rates(counts: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(buyers, repeat rate) per product from customers x products purchase-day counts."""
    buyers, repeaters = repeat_counts(counts)
    rate = np.divide(repeaters, buyers, out=np.zeros(buyers.shape, dtype=np.float64), where=buyers > 0)
    return buyers, rate


def popularity_ranking(buyers: np.ndarray) -> np.ndarray:
    """Product indices by number of buyers, descending (ties by index)."""
    buyers = np.asarray(buyers)
    return np.lexsort((np.arange(buyers.size), -buyers)).astype(np.int32)


def popular_items(counts: sp.spmatrix, buyers: np.ndarray, allowed_again: np.ndarray | None, n: int = 10
                  ) -> np.ndarray:
    """The popularity baseline: per customer the ``n`` products with most buyers, skipping products the customer
    bought unless ``allowed_again`` (None: nothing is skipped). (customers, n) int32, -1 pads."""
    owned = sp.csr_matrix(counts) > 0
    n_items = np.asarray(buyers).size
    n = max(1, min(n, n_items))
    base = np.asarray(buyers, dtype=np.float64) - np.arange(n_items) * 1e-9  # ties by index
    out = np.full((owned.shape[0], n), -1, dtype=np.int32)
    step = max(1, _CHUNK_CELLS // max(1, n_items))
    for start in range(0, owned.shape[0], step):
        dense = np.tile(base, (min(step, owned.shape[0] - start), 1))
        if allowed_again is not None:
            dense[owned[start:start + step].toarray() & ~np.asarray(allowed_again, bool)] = -np.inf
        top = np.argsort(-dense, axis=1, kind="stable")[:, :n]
        ok = np.isfinite(np.take_along_axis(dense, top, axis=1))
        out[start:start + step] = np.where(ok, top, -1)
    return out


class ItemCooccurrence:
    """Item-item co-occurrence recommender (see the module docstring); scikit-learn style.

    Parameters
    ----------
    top_k : neighbours kept per product (the "frequently bought together" list).
    score_k : the first ``score_k`` of them score customers (None: all ``top_k``); fewer neighbours scored better
        on Online Retail and cost less (bench/RESULTS.md, "Recommendations").
    shrink : added to the denominator of the similarity; damps pairs seen by few customers.
    similarity : "confidence" (C_ij / (n_i + shrink)) or "cosine" (C_ij / (sqrt(n_i n_j) + shrink)).
    replenish_rate, min_buyers : the replenishable rule (repeat rate >= replenish_rate and >= min_buyers buyers).
    rebuy_weight : weight of a replenishable product's repeat rate in an owner's score.
    """

    def __init__(self, *, top_k: int = 50, shrink: float = 5.0, similarity: str = "confidence",
                 replenish_rate: float = 0.3, min_buyers: int = 10, rebuy_weight: float = 1.0,
                 score_k: int | None = None) -> None:
        self.top_k = top_k
        self.score_k = score_k
        self.shrink = shrink
        self.similarity = similarity
        self.replenish_rate = replenish_rate
        self.min_buyers = min_buyers
        self.rebuy_weight = rebuy_weight

    def fit(self, counts: sp.spmatrix) -> ItemCooccurrence:
        """Learn neighbours from customers x products purchase-day counts (0 = not bought)."""
        counts = sp.csr_matrix(counts)
        buyers, repeaters = repeat_counts(counts)
        binary = (counts > 0).astype(np.float32)
        co = (binary.T.tocsr() @ binary).tocsr()  # products x products: customers who bought both
        return self.fit_stats(counts.shape[0], buyers, repeaters, co)

    def fit_stats(self, n_customers: int, buyers: np.ndarray, repeaters: np.ndarray,
                  co: sp.spmatrix) -> ItemCooccurrence:
        """Learn neighbours from the statistics :meth:`fit` computes from the purchase matrix, when an engine has
        already aggregated them (the sharded refresh): the customers, per product its buyers and the buyers on
        two or more days, and the products x products counts of customers who bought both (the diagonal is
        ignored; sums of parts are fine: every statistic adds up over customers)."""
        if self.similarity not in ("confidence", "cosine"):
            raise ValueError(f"similarity must be 'confidence' or 'cosine', got {self.similarity!r}")
        if self.top_k < 1 or self.shrink < 0:
            raise ValueError(f"top_k must be >= 1 and shrink >= 0, got {self.top_k} and {self.shrink}")
        self.n_customers_ = int(n_customers)
        self.buyers_ = np.asarray(buyers, dtype=np.int64)
        repeaters = np.asarray(repeaters, dtype=np.int64)
        self.repeat_rate_ = np.divide(repeaters, self.buyers_, out=np.zeros(self.buyers_.shape, dtype=np.float64),
                                      where=self.buyers_ > 0)
        self.replenishable_ = (self.repeat_rate_ >= self.replenish_rate) & (self.buyers_ >= self.min_buyers)
        co = sp.csr_matrix(co, dtype=np.float32)
        co.setdiag(0)
        co.eliminate_zeros()
        co.sort_indices()
        self.neighbors_, self.scores_, self.co_counts_ = _top_neighbours(co, self.buyers_, self.top_k, self.shrink,
                                                                         self.similarity)
        n = self.buyers_.size
        used = self.neighbors_[:, :self.score_k or self.top_k]
        rows = np.repeat(np.arange(n), used.shape[1])
        keep = used.ravel() >= 0
        self.matrix_ = sp.csr_matrix((self.scores_[:, :used.shape[1]].ravel()[keep], (rows[keep], used.ravel()[keep])),
                                     shape=(n, n), dtype=np.float32)
        self.popularity_ = (self.buyers_ / max(1, self.n_customers_)).astype(np.float32)
        return self

    def recommend(self, counts: sp.spmatrix, n: int = 10) -> Recommendations:
        """Top-``n`` products for each row of ``counts`` (customers x the fitted products, purchase-day counts)."""
        counts = sp.csr_matrix(counts)
        owned = (counts > 0).astype(np.float32).tocsr()
        n_items = self.buyers_.size
        n = max(1, min(n, n_items))
        rows = counts.shape[0]
        items = np.full((rows, n), -1, dtype=np.int32)
        scores = np.zeros((rows, n), dtype=np.float32)
        rebuy = (self.rebuy_weight * self.repeat_rate_ * self.replenishable_).astype(np.float64)
        # candidates: the neighbours of what the customer bought, what they bought, and the most popular products
        # (the fill for customers without neighbours): a sparse row each, never a full customers x products block
        popular = popularity_ranking(self.buyers_)[:min(n_items, 2 * n + 10)]
        step = 4096
        for start in range(0, rows, step):
            block = owned[start:start + step]
            m = block.shape[0]
            fill = sp.csr_matrix((np.full(m * popular.size, 1e-30, dtype=np.float32),
                                  np.tile(popular, m), np.arange(0, m * popular.size + 1, popular.size)),
                                 shape=(m, n_items))
            # bought products carry a marker far above any score sum (scores are sums of similarities <= 1)
            cand = (block @ self.matrix_).astype(np.float64) + block.astype(np.float64) * _MARK + fill
            cand = sp.csr_matrix(cand)
            lengths = np.diff(cand.indptr)
            row = np.repeat(np.arange(m), lengths)
            col = cand.indices.astype(np.int64)
            mine = cand.data >= _MARK / 2
            value = cand.data - _MARK * mine + _POPULARITY_TIE * self.popularity_[col]
            value = np.where(mine, np.where(self.replenishable_[col], value + rebuy[col], -np.inf), value)
            width = int(lengths.max()) if m else 0
            pad = np.full((m, max(width, n)), -np.inf)
            pad_col = np.full((m, max(width, n)), -1, dtype=np.int64)
            rank = np.arange(col.size) - np.repeat(cand.indptr[:-1], lengths)
            pad[row, rank], pad_col[row, rank] = value, col
            top = np.argpartition(-pad, n - 1, axis=1)[:, :n] if pad.shape[1] > n else \
                np.tile(np.arange(pad.shape[1]), (m, 1))
            vals, cols = np.take_along_axis(pad, top, axis=1), np.take_along_axis(pad_col, top, axis=1)
            order = np.lexsort((cols, -vals), axis=1)
            vals, cols = np.take_along_axis(vals, order, axis=1), np.take_along_axis(cols, order, axis=1)
            ok = np.isfinite(vals) & (cols >= 0)
            items[start:start + step] = np.where(ok, cols, -1)
            scores[start:start + step] = np.where(ok, vals, 0.0)
        return Recommendations(items, scores, self._because(owned, items))

    def _because(self, owned: sp.csr_matrix, items: np.ndarray) -> np.ndarray:
        """The bought product contributing most to each recommended (customer, product); -1 when none does."""
        used = self.score_k or self.top_k
        lookup = _SimLookup(self.neighbors_[:, :used], self.scores_[:, :used])
        because = np.full(items.shape, -1, dtype=np.int32)
        rows, width = items.shape
        per = np.diff(owned.indptr)
        step = max(1, 2_000_000 // max(1, int(per.mean() * width) if rows else 1))
        for start in range(0, rows, step):
            stop = min(rows, start + step)
            counts = per[start:stop]
            who = np.flatnonzero(counts > 0)  # customers of the chunk with a purchase: one group of entries each
            if who.size == 0:
                continue
            lo, hi = owned.indptr[start], owned.indptr[stop]
            bought = owned.indices[lo:hi].astype(np.int64)  # entries: (customer, bought product), by customer
            group = np.repeat(np.arange(who.size), counts[who])
            target = items[start + who][group]  # (entries, width)
            sim = np.where(target >= 0, lookup(bought[:, None], np.maximum(target, 0)), 0.0)
            sim = np.where(bought[:, None] == target, np.inf, sim)  # a replenishable rebuy: the product itself
            starts = np.concatenate([[0], np.cumsum(counts[who])[:-1]])
            best = np.maximum.reduceat(sim, starts, axis=0)  # (customers, width)
            entry = np.where(sim == best[group], np.arange(bought.size)[:, None], bought.size)
            first = np.minimum.reduceat(entry, starts, axis=0)  # the first entry reaching the maximum
            because[start + who] = np.where(best > 0, bought[np.minimum(first, bought.size - 1)], -1)
        return because


class _SimLookup:
    """sim(i, j) from the neighbour lists: a dense products x products table when it is small (<= 64 MB),
    otherwise a sorted search over the (i, j) pairs; 0 for a pair that is not a neighbour."""

    def __init__(self, neighbors: np.ndarray, scores: np.ndarray) -> None:
        n = neighbors.shape[0]
        rows = np.repeat(np.arange(n, dtype=np.int64), neighbors.shape[1])
        cols = neighbors.ravel().astype(np.int64)
        valid = cols >= 0
        self.n, self.dense = n, None
        if n * n <= 16_000_000:
            self.dense = np.zeros((n, n), dtype=np.float32)
            self.dense[rows[valid], cols[valid]] = scores.ravel()[valid]
        else:
            keys = rows[valid] * n + cols[valid]
            order = np.argsort(keys, kind="stable")
            self.keys, self.sims = keys[order], scores.ravel()[valid][order]

    def __call__(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        if self.dense is not None:
            return self.dense[i, j]
        if self.keys.size == 0:
            return np.zeros(np.broadcast(i, j).shape, dtype=np.float32)
        key = i * self.n + j
        pos = np.clip(np.searchsorted(self.keys, key), 0, self.keys.size - 1)
        return np.where(self.keys[pos] == key, self.sims[pos], 0.0)


def _top_neighbours(co: sp.csr_matrix, buyers: np.ndarray, top_k: int, shrink: float,
                    similarity: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of the co-occurrence matrix: the ``top_k`` most similar columns, their similarity and count
    (ties by column); dense blocks of rows, so memory stays about ``_CHUNK_CELLS`` floats."""
    n = co.shape[0]
    k = max(1, min(top_k, max(1, n - 1)))
    buyers = buyers.astype(np.float64)
    rows = np.repeat(np.arange(n), np.diff(co.indptr))
    if similarity == "confidence":
        denom = buyers[rows] + shrink
    else:
        denom = np.sqrt(buyers[rows] * buyers[co.indices]) + shrink
    sim = sp.csr_matrix((co.data / np.maximum(denom, 1e-12), co.indices, co.indptr), shape=co.shape)
    neighbours = np.full((n, k), -1, dtype=np.int32)
    sims = np.zeros((n, k), dtype=np.float32)
    counts = np.zeros((n, k), dtype=np.int32)
    step = max(1, _CHUNK_CELLS // max(1, n))
    for start in range(0, n, step):
        block = sim[start:start + step].toarray()
        top = np.argpartition(-block, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (block.shape[0], 1))
        vals = np.take_along_axis(block, top, axis=1)
        order = np.lexsort((top, -vals), axis=1)
        top, vals = np.take_along_axis(top, order, axis=1), np.take_along_axis(vals, order, axis=1)
        both = np.take_along_axis(co[start:start + step].toarray(), top, axis=1)
        ok = vals > 0
        neighbours[start:start + step] = np.where(ok, top, -1)[:, :k]
        sims[start:start + step] = np.where(ok, vals, 0.0)[:, :k]
        counts[start:start + step] = np.where(ok, both, 0)[:, :k]
    return neighbours, sims, counts
