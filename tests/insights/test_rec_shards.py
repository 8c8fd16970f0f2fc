"""The recommendations in the sharded refresh: the engine's product statistics are the model's own, a shard's
rows are coded as the single run codes them, and a shard is scored in chunks that never split a customer."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from athena.duckdb_engine import DuckDBEngine
from insights.refresh.rec_backtest import MODEL_PARAMS, build_matrices
from insights.refresh.rec_shards import fit_context, part_frame, population_stats
from insights.refresh.recommendations import RecommendationSide, _category, customer_rows
from insights.refresh.shard_parts import key_chunks
from models.recommend import ItemCooccurrence, repeat_counts

AS_OF = date(2026, 7, 1)


def _stats(engine):
    return population_stats(engine, AS_OF, engine.query("product_categories", {"cutoff": AS_OF.isoformat()}), _category)


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    from insights.data.sample import SampleSpec, generate, write_sample

    lake = tmp_path_factory.mktemp("recs") / "lake"
    write_sample(lake, generate(SampleSpec(customers=300, products=12, days=200, seed=3, end=date(2026, 6, 30))))
    return DuckDBEngine.over_lake(lake)


def test_the_engines_product_statistics_equal_what_the_model_counts_from_every_customers_rows(duck):
    frame = RecommendationSide().extract(duck, AS_OF)  # the single run's frame: every customer's products
    counts = build_matrices(frame)
    stats = _stats(duck)
    assert list(stats["product_ids"]) == list(frame.attrs["product_ids"])
    assert list(stats["product_category"]) == list(frame.attrs["product_category"])
    assert stats["n_customers"] == len(frame.attrs["customer_ids"]) > 100
    buyers, repeaters = repeat_counts(counts)
    np.testing.assert_array_equal(stats["buyers"], buyers)
    np.testing.assert_array_equal(stats["repeaters"], repeaters)
    assert repeaters.sum() > 0  # the check means something: some products were bought again
    binary = (counts > 0).astype(np.float64)
    co = (binary.T @ binary).toarray()
    np.fill_diagonal(co, 0)
    np.testing.assert_array_equal(stats["co"].toarray(), co)
    whole, merged = ItemCooccurrence(**MODEL_PARAMS).fit(counts), fit_context(MODEL_PARAMS, stats)["model"]
    for name in ("neighbors_", "scores_", "co_counts_", "repeat_rate_", "replenishable_", "popularity_"):
        np.testing.assert_array_equal(getattr(merged, name), getattr(whole, name), err_msg=name)


def test_a_shards_rows_score_as_the_same_customers_do_in_the_whole_frame(duck):
    rows = duck.query("customer_products", {"cutoff": AS_OF.isoformat(), "split": "2026-05-02"})
    context = fit_context(MODEL_PARAMS, _stats(duck))
    whole = customer_rows(context["model"], part_frame(rows, context))
    some = sorted(set(rows["customer_id"]))[::3]  # a "shard": every third customer, rows in another order
    shard = rows[rows["customer_id"].isin(some)].iloc[::-1]
    part = customer_rows(context["model"], part_frame(shard, context))
    at = np.searchsorted(whole["customer_id"], part["customer_id"])
    assert list(part["customer_id"]) == some
    for col, values in part.items():
        np.testing.assert_array_equal(values, np.asarray(whole[col])[at], err_msg=col)


def test_a_shard_with_a_product_the_population_lacks_is_refused(duck):
    context = fit_context(MODEL_PARAMS, _stats(duck))
    rows = pd.DataFrame({"customer_id": ["C1"], "product_id": ["no-such-product"], "purchase_days": [1],
                         "days_before_split": [1], "spend": [1.0], "in_next_basket": [0]})
    with pytest.raises(ValueError, match="do not have"):
        part_frame(rows, context)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
def test_chunks_never_split_a_key_and_cover_every_row_once(size):
    keys = np.array(list("aaabbbbcddddeff"))
    bounds = key_chunks(keys, size)
    assert [a for a, _ in bounds] == [0, *[b for _, b in bounds[:-1]]] and bounds[-1][1] == keys.size
    for a, b in bounds:
        assert b - a >= min(size, keys.size - a)  # at least ``size`` rows, except the last chunk
        assert a == 0 or keys[a] != keys[a - 1]  # a chunk starts where a key starts
    assert key_chunks(np.array([], dtype=str), 3) == []
