import datetime as dt

import numpy as np
import pandas as pd
import pytest

from insights.refresh.products import (
    WHATIF_MULTIPLIERS,
    ProductModels,
    ProductSide,
    fit_product_models,
    score_products,
)
from insights.snapshot.reader import Snapshot

AS_OF = dt.date(2024, 10, 1)
START = AS_OF - dt.timedelta(days=240)
FAST = dict(n_estimators=60, learning_rate=0.15, max_depth=4, max_train_rows=8_000, early_stopping_rounds=10,
            n_jobs=1)


def daily_sales():
    rng = np.random.default_rng(0)
    dates = pd.date_range(START, AS_OF - dt.timedelta(days=1), freq="D")
    weekly = np.array([1.2, 1.1, 1.0, 1.0, 1.1, 0.5, 0.6])[dates.day_of_week]
    rows = []
    for p in range(6):  # regular sellers with price moves
        price = 5.0 + p + np.where(rng.random(dates.size) < 0.2, -1.0, 0.0)
        q = rng.poisson(8 * weekly * (price / (5.0 + p)) ** -1.5)
        rows += [(d.date(), f"R{p}", int(x), x * pr, pr) for d, x, pr in zip(dates, q, price, strict=True) if x > 0]
    q = rng.poisson(0.04, dates.size) * 3  # intermittent: a handful of sale days
    rows += [(d.date(), "SPARSE", int(x), x * 2.0, 2.0) for d, x in zip(dates, q, strict=True) if x > 0]
    rows += [(dates[-5].date(), "ONCE", 4, 40.0, 10.0)]  # a single sale: nothing to go on
    rows += [(d.date(), "NEW", 3, 9.0, 3.0) for d in dates[-12:]]  # launched 12 days ago
    frame = pd.DataFrame(rows, columns=["sale_date", "product_id", "quantity", "revenue", "price"])
    frame["category"] = "c"
    return frame.sort_values(["product_id", "sale_date"]).reset_index(drop=True)


class FakeEngine:
    """Answers daily_sales from a frame, honouring [start, end)."""

    def __init__(self, frame):
        self.frame, self.calls = frame, []

    def query(self, name, params=None):
        self.calls.append((name, dict(params or {})))
        assert name == "daily_sales"
        d = pd.to_datetime(self.frame["sale_date"]).dt.date
        keep = (d >= dt.date.fromisoformat(params["start"])) & (d < dt.date.fromisoformat(params["end"]))
        return self.frame.loc[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def sales():
    return daily_sales()


@pytest.fixture(scope="module")
def models(sales):
    return fit_product_models(sales, AS_OF, horizon_days=90, **FAST)


@pytest.fixture(scope="module")
def scores(models, sales):
    return score_products(models, sales, AS_OF)


def test_the_side_queries_daily_sales_before_as_of_once_and_trains_on_that_frame(sales):
    engine = FakeEngine(sales)
    side = ProductSide(horizon_days=30, history_days=200, params=FAST)
    m = side.train(engine, AS_OF, side.extract(engine, AS_OF))
    assert engine.calls == [("daily_sales", {"start": "2024-03-15", "end": "2024-10-01"})]
    assert m.forecaster is not None and m.metadata["forecast"]["trained_on"]["end"] == "2024-10-01"


def test_forecast_table_matches_the_snapshot_contract(scores, sales):
    f = scores.tables["forecast"]
    ids = sorted(sales["product_id"].unique())
    assert list(f["product_id"]) == ids and f["product_id"].dtype.kind == "U"
    for col in ("method", "status"):
        assert f[col].dtype.kind == "U"
    for col in ("predicted_quantity", "confidence_lower", "confidence_upper"):
        assert f[col].shape == (len(ids), 90)
    assert f["whatif_quantity"].shape == (len(ids), len(WHATIF_MULTIPLIERS), 90)
    assert f["reference_price"].dtype == np.float64 and f["last_price"].shape == (len(ids),)


def test_statuses_flag_model_fallback_and_insufficient_history(scores):
    f = scores.tables["forecast"]
    by_id = dict(zip(f["product_id"], zip(f["status"], f["method"], strict=True), strict=True))
    assert all(by_id[f"R{p}"] == ("ok", "model") for p in range(6))
    assert by_id["SPARSE"] == ("fallback", "tsb") and by_id["NEW"] == ("fallback", "tsb")
    assert by_id["ONCE"] == ("insufficient_history", "none")
    once = list(f["product_id"]).index("ONCE")
    assert np.isnan(f["predicted_quantity"][once]).all()


def test_forecasts_are_non_negative_with_ordered_bounds(scores):
    f = scores.tables["forecast"]
    ok = f["status"] != "insufficient_history"
    p, lo, hi = (f[c][ok] for c in ("predicted_quantity", "confidence_lower", "confidence_upper"))
    assert np.all(lo >= 0) and np.all(lo <= p + 1e-5) and np.all(p <= hi + 1e-5)
    wlo, whi = f["confidence_lower_wide"][ok], f["confidence_upper_wide"][ok]  # the 95% band, model and TSB
    assert np.all(wlo >= 0) and np.all(wlo <= lo + 1e-5) and np.all(hi <= whi + 1e-5) and np.any(whi > hi)
    model = f["method"] == "model"
    assert np.all(np.diff(f["whatif_quantity"][model].sum(axis=2), axis=1) <= 1e-3)
    one = list(WHATIF_MULTIPLIERS).index(1.0)
    np.testing.assert_allclose(f["whatif_quantity"][model][:, one], f["predicted_quantity"][model], rtol=1e-5)


def test_elasticity_table_recovers_the_sign_and_refuses_without_variation(scores):
    e = scores.tables["elasticity"]
    rows = {pid: i for i, pid in enumerate(e["product_id"])}
    for p in range(6):
        i = rows[f"R{p}"]
        assert e["answer_status"][i] == "answered" and e["converged"][i] == 1  # six alike: pooled toward "c"
        assert e["ci_lower"][i] <= -1.5 <= e["ci_upper"][i] and e["elasticity_coefficient"][i] < -0.8
        assert e["grain"][i] == "daily" and e["usable_for_pricing"][i] == 1
    for pid in ("NEW", "SPARSE"):  # the price never changed: the only refusal, said in words
        assert e["answer_status"][rows[pid]] == "refused" and e["reason"][rows[pid]].startswith("no price variation")
    assert e["n_observations"].dtype == np.int32 and e["reference_quantity"][rows["NEW"]] > 0


def test_forecast_meta_document(scores):
    meta = scores.docs["forecast_meta"]
    assert meta["level"] == 0.8 and meta["model"] == "xgboost" and "direct" in meta["method"]
    assert {d["feature"] for d in meta["feature_importance"]} >= {"price", "dow", "lag_7"}
    assert 0 <= meta["holdout"]["coverage"] <= 1 and meta["holdout"]["wape"] > 0
    assert meta["wide_level"] == 0.95 and meta["holdout"]["coverage"] <= meta["holdout"]["coverage_wide"] <= 1
    daily = meta["holdout_by_grain"]["daily"]  # coverage per grain, on each product's trading days
    assert 0 <= daily["coverage"] <= 1 and daily["products"] == 6 and daily["n"] > 0
    assert meta["counts"] == {"ok": 6, "fallback": 2, "insufficient_history": 1}
    assert meta["whatif_price_multipliers"] == list(WHATIF_MULTIPLIERS)


def test_the_tables_load_into_a_snapshot_and_answer_by_product(scores):
    snap = Snapshot.from_memory("v1", {"as_of": AS_OF.isoformat()}, scores.tables, scores.docs,
                                keys={"forecast": "product_id", "elasticity": "product_id"})
    pos = snap.table("forecast").positions(["R3", "NOPE"])
    assert pos[0] >= 0 and pos[1] == -1


def test_save_load_and_rescore_later_are_deterministic(models, scores, sales, tmp_path):
    models.save(tmp_path / "pm")
    loaded = ProductModels.load(tmp_path / "pm")
    again = score_products(loaded, sales, AS_OF)
    np.testing.assert_allclose(again.tables["forecast"]["predicted_quantity"],
                               scores.tables["forecast"]["predicted_quantity"], rtol=1e-5)
    np.testing.assert_allclose(again.tables["forecast"]["confidence_upper_wide"],
                               scores.tables["forecast"]["confidence_upper_wide"], rtol=1e-5)
    assert loaded.metadata["forecast"]["holdout"] == models.metadata["forecast"]["holdout"]
    assert "feature_summary" in loaded.metadata["forecast"] and "versions" in loaded.metadata["forecast"]
    later = score_products(loaded, sales, AS_OF + dt.timedelta(days=7))  # model reused a week later
    assert later.tables["forecast"]["predicted_quantity"].shape[1] == 90


def test_too_little_history_for_the_model_falls_back_everywhere(sales):
    short = sales[pd.to_datetime(sales["sale_date"]).dt.date >= AS_OF - dt.timedelta(days=40)]
    m = fit_product_models(short, AS_OF, horizon_days=90, **FAST)
    assert m.forecaster is None and "fallback" in m.metadata["forecast"]["skipped"]
    s = score_products(m, short, AS_OF)
    assert set(s.tables["forecast"]["status"]) <= {"fallback", "insufficient_history"}


def test_no_sales_gives_empty_tables():
    empty = daily_sales().iloc[:0]
    m = fit_product_models(empty, AS_OF)
    s = score_products(m, empty, AS_OF)
    assert s.tables["forecast"]["predicted_quantity"].shape == (0, 90)
    assert s.tables["elasticity"]["product_id"].size == 0


def test_a_model_saved_before_the_95_percent_band_rescores_with_that_band_missing(models, sales, tmp_path):
    import json

    models.save(tmp_path / "pm")
    state_file = tmp_path / "pm" / "forecaster" / "forecaster.json"
    state = json.loads(state_file.read_text())
    for key in ("conformal_wide", "quantiles"):
        state.pop(key)
    state_file.write_text(json.dumps(state))
    f = score_products(ProductModels.load(tmp_path / "pm"), sales, AS_OF).tables["forecast"]
    model, tsb = f["method"] == "model", f["method"] == "tsb"
    assert np.isnan(f["confidence_upper_wide"][model]).all() and np.isfinite(f["confidence_upper"][model]).all()
    assert np.isfinite(f["confidence_upper_wide"][tsb]).all()
