"""Behavioural traits (insights/snapshot/traits.py) and their answers (insights/api/traits.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights.snapshot.traits import trait_columns, traits_document


def _frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"customer_id": [f"C{i:03d}" for i in range(n)], "frequency": [5] * n,
            "mean_days_between_orders": [10.0] * n, "std_days_between_orders": [2.0] * n,
            "customer_age_days": [400.0] * n, "return_rate": [0.0] * n,
            "top_category": ["toys"] * n, "top_category_share": [0.5] * n}
    return pd.DataFrame({**base, **cols})


def _traits(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    n = len(frame)
    return trait_columns(frame, np.arange(n, dtype=float) * 10.0, np.ones(n))


def test_labels_follow_the_documented_bands_and_strength_is_depth_inside_the_band():
    t = _traits(_frame(customer_age_days=[0.0, 45.0, 89.0, 227.5, 365.0, 730.0, 2000.0]))
    assert list(t["tenure_label"]) == ["new", "new", "new", "developing", "established", "established",
                                       "established"]
    np.testing.assert_allclose(t["tenure_strength"], [1.0, 0.5, 1 / 90, 1.0, 0.0, 1.0, 1.0])
    c = _traits(_frame(std_days_between_orders=[0.0, 2.5, 7.5, 10.0, 30.0], frequency=[5, 5, 5, 5, 2]))
    assert list(c["cadence_label"]) == ["clockwork", "clockwork", "regular", "irregular", "too_few_orders"]
    assert np.isnan(c["cadence_strength"][-1]) and c["cadence_strength"][0] == 1.0
    r = _traits(_frame(return_rate=[0.0, 0.05, 0.1, 0.5]))
    assert list(r["returns_label"]) == ["never_returns", "occasional_returner", "frequent_returner",
                                        "frequent_returner"]
    np.testing.assert_allclose(r["returns_strength"], [1.0, 1.0, 0.0, 1.0], atol=1e-9)
    a = _traits(_frame(top_category_share=[0.25, 0.55, 1.0], top_category=["toys", "books", "home"]))
    assert list(a["category_affinity_label"]) == ["explorer", "mixed", "specialist"]
    assert list(a["affinity_category"]) == ["toys", "books", "home"] and a["category_affinity_strength"][2] == 1.0
    d = _traits(_frame(promo_unit_share=[0.0, 0.35, 0.75, 1.0, np.nan]))
    assert list(d["discount_sensitivity_label"]) == ["full_price", "opportunist", "deal_seeker", "deal_seeker",
                                                     "unknown"]
    np.testing.assert_allclose(d["discount_sensitivity_strength"], [1.0, 1.0, 0.5, 1.0, np.nan])


def test_a_lake_without_categories_leaves_affinity_unknown():
    t = _traits(_frame(top_category=["uncategorized"] * 3, top_category_share=[1.0, 1.0, 1.0]))
    assert set(t["category_affinity_label"]) == {"unknown"} and np.isnan(t["category_affinity_strength"]).all()


def test_the_document_counts_every_customer_once_per_axis_and_ranks_archetypes_by_size():
    frame = _frame(customer_age_days=[10.0, 20.0, 400.0, 500.0, 600.0], return_rate=[0.0, 0.0, 0.0, 0.2, 0.0])
    traits = trait_columns(frame, np.array([10.0, 20.0, 30.0, 40.0, 50.0]), np.ones(5))
    doc = traits_document(traits)
    for axis in doc["axes"].values():
        assert sum(d["customers"] for d in axis["distribution"]) == 5
    top = doc["archetypes"][0]
    assert top["customers"] == 2 and top["traits"]["tenure"] in ("new", "established")
    assert sum(a["customers"] for a in doc["archetypes"]) == 5 and doc["n_combinations"] == 3
    established = next(a for a in doc["archetypes"] if a["traits"]["tenure"] == "established" and
                       a["traits"]["returns"] == "never_returns")
    assert established["avg_clv"] == pytest.approx(40.0) and established["total_clv"] == pytest.approx(80.0)
    assert doc["unavailable"] == {"discount_sensitivity": "no order line carries promotion fields (on_promotion, "
                                                          "list_price)"}


def test_customer_traits_answers_one_customer_and_404s_an_unknown_one():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))
    from snapshot_factory import build_snapshot

    from insights.api.traits import customer_traits
    from insights.errors import NotFound

    snapshot = build_snapshot()
    answer = customer_traits(snapshot, "C001")
    assert set(answer["traits"]) == {"category_affinity", "cadence", "tenure", "returns", "discount_sensitivity"}
    assert answer["archetype"] == " / ".join(answer["traits"][a]["label"] for a in answer["traits"])
    with pytest.raises(NotFound):
        customer_traits(snapshot, "NOPE")


def test_an_erasure_drops_the_customers_traits_and_recounts_the_document(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))
    from snapshot_factory import build_snapshot

    from insights.snapshot.erasure import rewrite_version
    from insights.snapshot.reader import load_local_version

    before = build_snapshot()
    build = tmp_path / "build"
    build.mkdir()
    result = rewrite_version(before, ["C001"], [], build, models=None, erasure_note={"requested": "test"})
    after = load_local_version(build)
    assert result.rows["customer_traits"] == 1 and "traits" in result.docs
    assert "C001" not in list(after.table("customer_traits")["customer_id"])
    doc = after.doc("traits")
    assert doc["n_customers"] == before.doc("traits")["n_customers"] - 1
    assert sum(a["customers"] for a in doc["axes"]["tenure"]["distribution"]) == doc["n_customers"]


@pytest.mark.parametrize("few", [1, 3, 64])
def test_label_codes_equal_numpy_unique_however_many_labels(few):
    from insights.snapshot.traits import _codes

    rng = np.random.default_rng(4)
    keys = rng.choice(["specialist", "mixed", "explorer", "unknown", "a", "zz", ""], 5_000)
    uniq, inverse = _codes(keys, few=few)
    want_uniq, want_inverse = np.unique(keys, return_inverse=True)
    assert list(uniq) == list(want_uniq) and np.array_equal(inverse, want_inverse)
    empty_uniq, empty_inverse = _codes(np.array([], dtype=str))
    assert empty_uniq.size == 0 and empty_inverse.size == 0
