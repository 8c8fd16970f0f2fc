"""The recommendation side of the refresh over a fake engine: compact frame, backtest, tables the schema accepts."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from insights.refresh.recommendations import UNCATEGORIZED, RecommendationSide
from insights.snapshot.schema import check_table

AS_OF = date(2026, 11, 1)


class FakeEngine:
    """customer_products / product_categories rows: 30 customers buy bread+butter(+jam); 10 buy a lamp alone."""

    def __init__(self) -> None:
        rows = []
        for c in range(30):
            cid = f"C{c:02d}"
            rows += [(cid, "BREAD", 3, 2, 9.0, 1), (cid, "BUTTER", 1, 1, 4.0, 0)]
            if c % 2:
                rows.append((cid, "JAM", 1, 0, 5.0, 1 if c % 4 == 1 else 0))
        rows += [(f"L{c}", "LAMP", 1, 1, 40.0, 0) for c in range(10)]
        self.pairs = pd.DataFrame(rows, columns=["customer_id", "product_id", "purchase_days", "days_before_split",
                                                 "spend", "in_next_basket"])
        self.cats = pd.DataFrame({"product_id": ["BREAD", "BUTTER", "JAM", "LAMP"],
                                  "category": ["food", "food", "food", None]})

    def query(self, name, params=None):
        assert params["cutoff"] == AS_OF.isoformat()
        if name == "customer_products":
            assert params["split"] == "2026-09-02"
            return self.pairs.copy()
        return self.cats.copy()


@pytest.fixture(scope="module")
def scored():
    side = RecommendationSide(min_customers=5)
    frame = side.extract(FakeEngine(), AS_OF)
    assert side.gate(frame) is None
    models = side.train(None, AS_OF, frame)
    return frame, models, side.score(models, frame, AS_OF)


def test_the_frame_is_integer_coded_with_the_ids_kept(scored):
    frame, _, _ = scored
    assert frame["cust"].dtype == np.int32 and list(frame.attrs["product_ids"]) == ["BREAD", "BUTTER", "JAM", "LAMP"]
    assert list(frame.attrs["product_category"]) == ["food", "food", "food", UNCATEGORIZED]


def test_tables_match_their_declaration_and_exclude_bought_products(scored):
    _, _, out = scored
    for name, columns in out.tables.items():
        check_table(name, columns)
    recs, products = out.tables["recommendations"], out.tables["rec_products"]
    ids = list(recs["customer_id"])
    assert ids == sorted(ids)
    bread, butter, jam, lamp = range(4)
    assert products["replenishable"].tolist() == [1, 0, 0, 0]  # bread: bought again by all its 30 buyers
    even = ids.index("C00")  # bought bread and butter: jam first (often bought with them), never butter again
    row = recs["rec_product"][even].tolist()
    assert row[0] in (jam, bread) and butter not in row and jam in row
    assert recs["rec_because"][even][row.index(jam)] in (bread, butter)
    lamp_buyer = ids.index("L0")
    assert lamp not in recs["rec_product"][lamp_buyer].tolist()


def test_category_shares_split_the_spend(scored):
    _, _, out = scored
    recs = out.tables["recommendations"]
    assert out.docs["recommendation_meta"]["categories"] == ["food", UNCATEGORIZED]
    assert recs["category_share"].sum(axis=1) == pytest.approx(np.ones(len(recs["customer_id"])), abs=1e-6)


def test_the_backtest_is_measured_and_kept_with_the_models(scored):
    _, models, out = scored
    bt = models["backtest"]
    assert bt["split"] == "2026-09-02" and bt["eligible_customers"] == 30  # the lamp buyers have no next basket
    assert 0 <= bt["model"]["recall_at_k"] <= 1 and "popularity" in bt and "relative_lift" in bt
    assert out.docs["recommendation_meta"]["backtest"] == bt
    assert "rec_model_recall_at_k" in out.quality
