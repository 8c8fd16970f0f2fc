"""RFM scores and K-Means segmentation: hand-computed scores, four points, stable names, determinism."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from models.segment_names import SEGMENT_PROTOTYPES, mean_recency, name_solution
from models.segmentation import RFMSegmenter, rfm_scores


def _population(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    freq = rng.geometric(0.3, n)
    return pd.DataFrame({"recency_days": rng.integers(0, 365, n), "frequency": freq,
                         "monetary_total": freq * rng.lognormal(4, 0.7, n)})


def test_rfm_scores_are_hand_computed_quintiles():
    r, f, m = rfm_scores(np.arange(1, 11), [1] * 10, np.arange(10, 0, -1))
    # ceil(5 * rank / 10): ranks 1..10 -> 1,1,2,2,3,3,4,4,5,5; recency is reversed (fewer days is better)
    assert r.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert f.tolist() == [3] * 10  # all tied: average rank 5.5 -> ceil(2.75) = 3
    assert m.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert r.dtype == np.int8


def test_rfm_scores_give_ties_equal_scores():
    _, f, _ = rfm_scores([1, 2, 3, 4, 5], [1, 1, 2, 5, 9], [1, 2, 3, 4, 5])
    # ranks 1.5, 1.5, 3, 4, 5 of 5 -> ceil(1.5), ceil(1.5), 3, 4, 5
    assert f.tolist() == [2, 2, 3, 4, 5]


def test_rfm_scores_reject_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        rfm_scores([1, 2], [1], [1, 2])
    with pytest.raises(ValueError, match="finite"):
        rfm_scores([1, np.nan], [1, 1], [1, 2])


def test_kmeans_on_four_points_finds_the_two_groups_and_names_them():
    X = pd.DataFrame({"recency_days": [1, 2, 300, 310], "frequency": [20, 22, 1, 1],
                      "monetary_total": [5000.0, 5200.0, 20.0, 25.0]})
    seg = RFMSegmenter(n_clusters=2, random_state=0).fit(X)
    assert seg.ks_ == [2, 3]  # 4 distinct points: k at most 3
    assert seg.predict(X).tolist() == [0, 0, 1, 1]  # the valuable group gets id 0
    # centres at +-1 standardized on every axis: closest distinct prototypes are Champions and Lost
    assert seg.segment_names() == ["Champions", "Lost"]
    prof = seg.profiles(X)
    assert [p["count"] for p in prof] == [2, 2] and [p["percentage"] for p in prof] == [50.0, 50.0]
    assert prof[0]["avg_recency"] == 1.5 and prof[0]["avg_frequency"] == 21.0 and prof[0]["avg_monetary"] == 5100.0
    assert prof[0]["description"] == SEGMENT_PROTOTYPES["Champions"][1]


def test_a_permutation_of_cluster_labels_does_not_rename_segments():
    X = _population()
    seg = RFMSegmenter(random_state=0).fit(X)
    Z = seg.transform(X)
    for k in seg.ks_:
        sol = seg.solutions_[k]
        base = np.asarray(sol.names)[sol.segment_of_label[sol.kmeans.predict(Z)]]
        perm = np.random.default_rng(k).permutation(k)
        km = copy.deepcopy(sol.kmeans)
        km.cluster_centers_ = sol.kmeans.cluster_centers_[perm]
        km.labels_ = np.argsort(perm)[sol.kmeans.labels_]
        permuted = name_solution(km, sol.silhouette, mean_recency(X["recency_days"].to_numpy(float), km.predict(Z), k))
        again = np.asarray(permuted.names)[permuted.segment_of_label[km.predict(Z)]]
        assert (again == base).all()
        assert permuted.names == sol.names


def test_fit_is_deterministic_and_names_are_unique_for_every_k():
    X = _population()
    a = RFMSegmenter(random_state=3).fit(X)
    b = RFMSegmenter(random_state=3).fit(X.copy())
    assert a.k_ == b.k_ and a.elbow_ == b.elbow_
    for k in a.ks_:
        assert a.segment_names(k) == b.segment_names(k)
        assert len(set(a.segment_names(k))) == k
        np.testing.assert_array_equal(a.predict(X, k), b.predict(X, k))


def test_auto_k_is_the_best_silhouette_between_4_and_8_and_the_elbow_covers_every_k():
    seg = RFMSegmenter(random_state=0).fit(_population())
    assert [e["k"] for e in seg.elbow_] == list(range(2, 11))
    inertia = [e["inertia"] for e in seg.elbow_]
    assert inertia == sorted(inertia, reverse=True)
    in_range = [e for e in seg.elbow_ if 4 <= e["k"] <= 8]
    assert 4 <= seg.k_ <= 8 and round(seg.silhouette_, 6) == max(e["silhouette"] for e in in_range)
    # the global silhouette optimum here is a k below 4, too coarse to act on: reported, not chosen
    best = max(seg.elbow_, key=lambda e: e["silhouette"])["k"]
    assert best < 4
    assert RFMSegmenter(n_clusters=3, random_state=0).fit(_population()).k_ == 3  # any k on request
    assert RFMSegmenter(auto_k=(2, 10), random_state=0).fit(_population()).k_ == best


def test_few_distinct_customers_get_the_largest_feasible_k_below_the_range():
    X = pd.DataFrame({"recency_days": [1, 2, 300, 310], "frequency": [20, 22, 1, 1],
                      "monetary_total": [5000.0, 5200.0, 20.0, 25.0]})
    assert RFMSegmenter(random_state=0).fit(X).k_ == 3


@pytest.mark.parametrize("seed", range(6))
def test_segment_names_agree_with_their_rfm_profiles_for_every_k(seed):
    X = _population(600, seed)
    seg = RFMSegmenter(random_state=seed, fit_sample_size=300).fit(X).align_names(X)  # fitted on a sample
    for k in seg.ks_:
        prof = {p["segment"]: p for p in seg.profiles(X, k) if p["count"]}
        worst_recency = max(p["avg_recency"] for p in prof.values())
        if "Lost" in prof:
            assert prof["Lost"]["avg_recency"] == worst_recency, (k, prof)
        if "Champions" in prof:
            sol = seg.solutions_[k]
            assert seg.segment_names(k).index("Champions") == int(np.argmax(sol.centers.sum(axis=1)))
        for worse, better in (("Hibernating", "About to Sleep"), ("Lost", "Hibernating")):
            if worse in prof and better in prof:
                assert prof[worse]["avg_recency"] >= prof[better]["avg_recency"], (k, worse, better)


def test_segmenter_validates_input():
    with pytest.raises(ValueError, match="lacks columns"):
        RFMSegmenter().fit(pd.DataFrame({"recency_days": [1]}))
    with pytest.raises(ValueError, match="distinct RFM profiles"):
        RFMSegmenter().fit(np.ones((10, 3)))
    with pytest.raises(ValueError, match="outside the feasible range"):
        RFMSegmenter(n_clusters=12).fit(_population())
    seg = RFMSegmenter(k_max=3, random_state=0).fit(_population())
    with pytest.raises(ValueError, match="was not fitted"):
        seg.predict(_population(), k=5)


def test_above_fit_sample_size_kmeans_fits_a_seeded_sample_and_still_assigns_everyone():
    X = _population(6000, 5)
    full = RFMSegmenter(n_clusters=4, random_state=0, fit_sample_size=None).fit(X)
    a = RFMSegmenter(n_clusters=4, random_state=0, fit_sample_size=2000).fit(X)
    b = RFMSegmenter(n_clusters=4, random_state=0, fit_sample_size=2000).fit(X.copy())
    assert full.n_fit_ == 6000 and a.n_fit_ == 2000
    np.testing.assert_array_equal(a.predict(X), b.predict(X))  # deterministic
    assert a.predict(X).shape == (6000,)
    assert sum(p["count"] for p in a.profiles(X)) == 6000
    # same standardization (everyone), centres close to the full fit's, same names
    np.testing.assert_array_equal(a.center_, full.center_)
    assert a.segment_names() == full.segment_names()
    np.testing.assert_allclose(a.solutions_[4].centers, full.solutions_[4].centers, atol=0.15)
