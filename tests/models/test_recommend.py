"""models.recommend on hand-made baskets: neighbours, exclusion of bought products, reasons, backtest metrics."""

import numpy as np
import pytest
import scipy.sparse as sp

from models.recommend import ItemCooccurrence, next_basket_metrics, popular_items, repeat_rates


def _counts(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    dense = np.zeros((len(rows), n_items))
    for r, items in enumerate(rows):
        for i in items:
            dense[r, i] += 1
    return sp.csr_matrix(dense)


# products: 0 bread (bought again by most), 1 butter, 2 jam (always with butter), 3 a lamp (once, alone)
HISTORY = [[0, 0, 1, 2], [0, 0, 1, 2], [0, 0, 1, 2], [0, 1], [3], [0, 0, 2]]


def test_neighbours_are_shrunk_conditional_probabilities():
    model = ItemCooccurrence(shrink=0.0, min_buyers=1).fit(_counts(HISTORY, 4))
    # of the 4 butter buyers, 3 bought jam: sim(butter -> jam) = 3 / 4
    row = list(model.neighbors_[1])
    assert model.scores_[1][row.index(2)] == pytest.approx(0.75)
    assert model.co_counts_[1][row.index(2)] == 3
    shrunk = ItemCooccurrence(shrink=4.0, min_buyers=1).fit(_counts(HISTORY, 4))
    assert shrunk.scores_[1][list(shrunk.neighbors_[1]).index(2)] == pytest.approx(3 / 8)


def test_repeat_rates_decide_what_is_replenishable():
    buyers, rate = repeat_rates(_counts(HISTORY, 4))
    assert buyers.tolist() == [5, 4, 4, 1] and rate.tolist() == pytest.approx([0.8, 0.0, 0.0, 0.0])
    model = ItemCooccurrence(replenish_rate=0.3, min_buyers=3).fit(_counts(HISTORY, 4))
    assert model.replenishable_.tolist() == [True, False, False, False]


def test_bought_products_are_excluded_unless_replenishable_and_the_reason_is_named():
    model = ItemCooccurrence(shrink=0.0, replenish_rate=0.3, min_buyers=3).fit(_counts(HISTORY, 4))
    # a customer who bought butter and bread: bread may recur (1.0 from butter + its 0.8 repeat rate), then jam
    # (0.8 from bread + 0.75 from butter), the lamp last; butter never
    recs = model.recommend(_counts([[0, 1]], 4), n=3)
    assert recs.items[0].tolist() == [0, 2, 3]
    assert recs.scores[0][:2].tolist() == pytest.approx([1.8, 1.55], abs=1e-3)  # + 1e-3 x popularity
    assert recs.because[0].tolist() == [0, 0, -1]  # bread: a rebuy of itself; jam: bread's 0.8 beats butter's
    # a customer with nothing in common gets the popular products, with no reason product
    cold = model.recommend(_counts([[3]], 4), n=2)
    assert cold.items[0].tolist() == [0, 1] and cold.because[0].tolist() == [-1, -1]


def test_backtest_metrics_on_a_known_answer():
    truth = _counts([[2], [1, 3], []], 4)  # the third customer has no next basket: left out
    recommended = np.array([[2, 0, 1], [0, 1, 3], [0, 1, 2]])
    m = next_basket_metrics(recommended, truth, k=3)
    # recall: 1/1 and 2/2 -> 1.0; NDCG: 1.0 and (1/log2(3) + 1/log2(4)) / (1 + 1/log2(3))
    second = (1 / np.log2(3) + 1 / np.log2(4)) / (1 + 1 / np.log2(3))
    assert m["recall_at_k"] == pytest.approx(1.0) and m["n_customers"] == 2
    assert m["ndcg_at_k"] == pytest.approx((1.0 + second) / 2)
    miss = next_basket_metrics(np.array([[0, 1, -1], [3, 2, -1], [0, 0, 0]]), truth, k=3)
    assert miss["recall_at_k"] == pytest.approx(0.25) and miss["hit_rate"] == pytest.approx(0.5)


def test_the_popularity_baseline_skips_bought_products_unless_allowed():
    buyers = np.array([5, 4, 4, 1])
    owned = _counts([[0, 1]], 4)
    assert popular_items(owned, buyers, None, 2).tolist() == [[0, 1]]
    assert popular_items(owned, buyers, np.array([True, False, False, False]), 2).tolist() == [[0, 2]]
