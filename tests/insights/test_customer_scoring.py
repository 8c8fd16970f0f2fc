"""Customer scoring end to end on small synthetic lakes: columns, order, docs, gates, paths, leaks, storage."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from customer_synth import directory, synthetic_orders  # noqa: E402

from athena.duckdb_engine import DuckDBEngine  # noqa: E402
from insights.data.lake import write_lake  # noqa: E402
from insights.errors import InsufficientData  # noqa: E402
from insights.refresh.customer_training import CustomerModels, train_customer_models
from insights.refresh.customers import CUSTOMER_COLUMNS, consistent_spend, score_customers
from models.churn import RISK_LEVELS

AS_OF = dt.date(2024, 1, 1)  # the synthetic history spans 2023-01-03 .. 2024-02-06
CLV_H, CHURN_H = 120, 60


def _engine(tmp_path_factory, name: str, orders: pd.DataFrame) -> DuckDBEngine:
    lake = tmp_path_factory.mktemp(name) / "lake"
    write_lake(lake, orders, directory(orders))
    return DuckDBEngine.over_lake(lake, threads=1)


def _features(engine: DuckDBEngine, as_of: dt.date = AS_OF) -> pd.DataFrame:
    return engine.query("customer_features", {"cutoff": as_of.isoformat()})


def _score(engine: DuckDBEngine, as_of: dt.date = AS_OF, **kw):
    features = _features(engine, as_of)
    models = train_customer_models(engine, as_of, features, clv_horizon_days=CLV_H, churn_horizon_days=CHURN_H, **kw)
    return models, features, score_customers(models, features, as_of)


def _free_orders() -> pd.DataFrame:
    """A customer whose every line was free (zero price): still a customer, with zero spend."""
    return pd.DataFrame({"order_id": ["free-1", "free-1", "free-2"], "customer_id": ["zz-free"] * 3,
                         "order_ts": pd.to_datetime(["2023-06-01 10:00", "2023-06-01 10:00", "2023-09-01 10:00"],
                                                    utc=True),
                         "product_id": ["p0", "p1", "p0"], "quantity": [1, 2, 1], "unit_price": [0.0, 0.0, 0.0]})


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return pd.concat([synthetic_orders(300, seed=7), _free_orders()], ignore_index=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, orders):
    engine = _engine(tmp_path_factory, "base", orders)
    return _score(engine)


def test_scores_have_exactly_the_snapshot_columns_sorted_by_customer(trained):
    _, features, scores = trained
    cols = scores.columns
    assert tuple(cols) == CUSTOMER_COLUMNS
    n = len(features)
    assert all(v.shape == (n,) for v in cols.values())
    assert (cols["customer_id"][:-1] < cols["customer_id"][1:]).all()
    for name in ("customer_id", "email", "segment", "risk_level", "clv_segment", "clv_method", "next_order_date",
                 "churn_factor_1"):
        assert cols[name].dtype.kind == "U", name
    assert cols["next_order_date"].dtype == np.dtype("<U10")
    assert all(cols[f"segment_k{k}"].dtype == np.int8 for k in range(2, 11))
    assert cols["email"][0].endswith("@example.com")
    assert set(cols["risk_level"]) <= {"Low", "Medium", "High", "Critical"}
    assert set(cols["clv_segment"]) == {"Low", "Medium", "High"}
    for name in ("r_score", "f_score", "m_score"):
        assert cols[name].min() == 1 and cols[name].max() == 5
    p = cols["churn_probability"]
    assert ((p >= 0) & (p <= 1)).all() and p.std() > 0
    np.testing.assert_allclose(cols["value_at_risk"], p * cols["predicted_clv"])
    assert (cols["predicted_clv"] >= 0).all() and (cols["predicted_orders"] >= 0).all()
    dates = cols["next_order_date"][cols["next_order_date"] != ""]
    assert len(dates) and all(AS_OF.isoformat() < d <= (AS_OF + dt.timedelta(CLV_H)).isoformat() for d in dates)


def test_at_risk_order_is_value_at_risk_descending_ties_by_customer_id(trained):
    _, _, scores = trained
    order = scores.at_risk_order
    assert order.dtype == np.int32 and sorted(order.tolist()) == list(range(scores.n_customers))
    var = scores.columns["value_at_risk"][order]
    assert (np.diff(var) <= 0).all()
    ties = np.flatnonzero(np.diff(var) == 0)
    assert all(order[i] < order[i + 1] for i in ties)


def test_segment_docs_hold_every_k_with_counts_matching_the_columns(trained):
    _, _, scores = trained
    doc = scores.docs["segments"]
    assert sorted(int(k) for k in doc["solutions"]) == list(range(2, 11))
    assert [e["k"] for e in doc["elbow"]] == list(range(2, 11))
    auto = doc["solutions"][str(doc["auto_k"])]
    assert 4 <= doc["auto_k"] <= 8  # a number of segments a shop can act on
    assert auto["silhouette"] == max(s["silhouette"] for k, s in doc["solutions"].items() if 4 <= int(k) <= 8)
    for k, sol in doc["solutions"].items():
        ids = scores.columns[f"segment_k{k}"]
        names = [s["segment"] for s in sol["segments"]]
        assert len(set(names)) == len(names) == int(k)
        assert [s["count"] for s in sol["segments"]] == np.bincount(ids, minlength=int(k)).tolist()
        assert abs(sum(s["percentage"] for s in sol["segments"]) - 100) < 0.1
    auto_names = [s["segment"] for s in auto["segments"]]
    assert (np.asarray(auto_names)[scores.columns[f"segment_k{doc['auto_k']}"]] == scores.columns["segment"]).all()
    json.dumps(scores.docs, allow_nan=False)


def test_model_metadata_records_paths_metrics_and_drift_stats(trained):
    models, _, scores = trained
    meta = models.metadata
    assert meta["churn"]["path"] == "full_label_window" and meta["churn"]["label_window_days"] == CHURN_H
    assert meta["churn"]["candidates"]["chosen"] in ("plain", "bgnbd_prior")
    assert meta["churn"]["seasonal"]["applied"] is False  # about a year of history: no earlier season
    assert meta["clv"]["model"] in ("random_forest", "lightgbm")
    assert set(meta["clv"]["holdout"]) == {"random_forest", "lightgbm"}
    holdout = meta["churn"]["holdout"]["calibrated"]
    assert {"roc_auc", "pr_auc", "brier", "log_loss", "ece"} <= set(holdout)
    assert holdout["roc_auc"] > 0.6
    assert meta["churn"]["validation_cutoff"] == (AS_OF - dt.timedelta(CHURN_H)).isoformat()
    assert max(meta["churn"]["train_cutoffs"]) == (AS_OF - dt.timedelta(2 * CHURN_H)).isoformat()
    assert meta["feature_stats"]["recency_days"]["std"] > 0
    doc = scores.docs["customer_models"]
    assert doc["risk_thresholds"] == {"Low": 0.0, "Medium": 0.3, "High": 0.5, "Critical": 0.7}
    assert doc["clv_segment_thresholds"]["High"] >= doc["clv_segment_thresholds"]["Medium"]
    json.dumps(meta, allow_nan=False)


def test_saved_models_rescore_identically(trained, tmp_path):
    models, features, scores = trained
    models.save(tmp_path / "m")
    again = score_customers(CustomerModels.load(tmp_path / "m"), features, AS_OF)
    for name, col in scores.columns.items():
        np.testing.assert_array_equal(again.columns[name], col, err_msg=name)
    np.testing.assert_array_equal(again.at_risk_order, scores.at_risk_order)
    assert json.loads((tmp_path / "m" / "metadata.json").read_text())["version"] == models.metadata["version"]


def test_later_orders_change_nothing_as_of_the_cutoff_and_training_is_deterministic(tmp_path_factory, orders,
                                                                                       trained):
    _, features, scores = trained
    later = synthetic_orders(300, seed=99, start=AS_OF.isoformat(), days=60)
    later = later[later["order_ts"].dt.date >= AS_OF]
    assert len(later)
    engine = _engine(tmp_path_factory, "appended", pd.concat([orders, later], ignore_index=True))
    models2, features2, scores2 = _score(engine)
    pd.testing.assert_frame_equal(features2, features)
    for name, col in scores.columns.items():
        np.testing.assert_array_equal(scores2.columns[name], col, err_msg=name)
    np.testing.assert_array_equal(scores2.at_risk_order, scores.at_risk_order)
    assert scores2.docs == scores.docs


def test_short_history_takes_the_shorter_label_window_and_says_so(tmp_path_factory):
    orders = synthetic_orders(300, seed=3, days=150, churn_days=80)
    engine = _engine(tmp_path_factory, "short", orders)
    as_of = dt.date(2023, 5, 31)  # ~148 days of history: < 30 + 2 x 60
    models, _, scores = _score(engine, as_of)
    churn = models.metadata["churn"]
    assert churn["path"] == "short_history"
    assert churn["label_window_days"] < CHURN_H and churn["label_window_days"] % 7 == 0
    assert churn["scale"] == pytest.approx(CHURN_H / churn["label_window_days"])
    assert models.metadata["clv"]["path"] == "short_history"
    assert scores.docs["customer_models"]["churn"]["path"] == "short_history"
    assert np.isfinite(scores.columns["churn_probability"]).all()


def test_too_few_customers_is_insufficient_data(tmp_path_factory):
    engine = _engine(tmp_path_factory, "few", synthetic_orders(20, seed=1))
    with pytest.raises(InsufficientData) as err:
        train_customer_models(engine, AS_OF, _features(engine))
    assert err.value.missing == "customers" and err.value.available < 50


def test_too_short_history_is_insufficient_data(tmp_path_factory):
    engine = _engine(tmp_path_factory, "brief", synthetic_orders(200, seed=2, days=70))
    with pytest.raises(InsufficientData) as err:
        train_customer_models(engine, dt.date(2023, 3, 10), _features(engine, dt.date(2023, 3, 10)))
    assert err.value.missing == "history" and err.value.required == 86


def test_single_label_class_is_insufficient_data(tmp_path_factory):
    # everyone buys every few days and nobody leaves: no churned customer to learn from
    engine = _engine(tmp_path_factory, "loyal", synthetic_orders(80, seed=5, churn_days=0, rate_scale=1.0))
    with pytest.raises(InsufficientData) as err:
        train_customer_models(engine, AS_OF, _features(engine), clv_horizon_days=CLV_H, churn_horizon_days=CHURN_H)
    assert err.value.missing == "churn label classes"


def test_large_populations_train_on_bounded_seeded_samples_and_still_score_everyone(tmp_path_factory, orders,
                                                                                    monkeypatch):
    import insights.refresh.customer_training as training
    import insights.refresh.training_slices as slices

    monkeypatch.setattr(slices, "MAX_SLICE_ROWS", 120)
    monkeypatch.setattr(training, "MAX_SLICE_ROWS", 120)
    monkeypatch.setattr(training, "TRAIN_ROWS", 200)
    engine = _engine(tmp_path_factory, "sampled", orders)
    models, features, scores = _score(engine)
    sampling = models.metadata["sampling"]
    assert sampling["max_slice_rows"] == 120 and sampling["train_slices"] == 2
    for target in ("churn", "purchase_30d", "clv"):
        assert sampling["train_rows"][target] <= 2 * 120 and sampling["validation_rows"][target] <= 120
        assert len(models.metadata[target]["train_cutoffs"]) <= 2
    assert sampling["train_rows"]["churn"] == 2 * 120  # the slices really were cut down to the cap
    assert scores.n_customers == len(features)  # scoring is never sampled
    models2, _, scores2 = _score(engine)
    assert models2.metadata == models.metadata  # same data + random_state -> the same sample and models
    for name, col in scores.columns.items():
        np.testing.assert_array_equal(scores2.columns[name], col, err_msg=name)


def test_the_numbers_agree_with_each_other_for_every_customer(trained):
    _, features, scores = trained
    c = scores.columns
    p, spend = c["purchase_probability_30d"], c["spend_30d"]
    aov = features.sort_values("customer_id")["avg_order_value"].to_numpy(float)
    typical = np.median(aov[aov > 0])
    aov = np.where(aov > 0, aov, typical)
    assert np.all(spend[p == 0] == 0)  # no purchase expected: no spend expected
    assert np.all(spend <= 4 * aov * p + 1e-9) and np.all(spend >= p * aov - 1e-9)
    order = np.argsort(c["churn_probability"], kind="stable")
    levels = [RISK_LEVELS.index(x) for x in c["risk_level"][order]]
    assert levels == sorted(levels)  # the risk level never falls as the probability rises
    high = np.isin(c["risk_level"], ["High", "Critical"])
    has_up = (c["churn_contrib_1"] > 0) | (c["churn_contrib_2"] > 0) | (c["churn_contrib_3"] > 0)
    # a High/Critical customer's first reason raises the risk whenever any of their features does
    assert np.all(c["churn_contrib_1"][high & has_up] > 0)
    named = c["churn_factor_1"] != ""
    # each reason carries the customer's own value; missing only where the feature itself can be (one order:
    # no gap between orders yet)
    nullable = ("mean_days_between_orders", "std_days_between_orders", "recency_over_gap")
    assert np.all(np.isfinite(c["churn_value_1"][named]) | np.isin(c["churn_factor_1"][named], nullable))


def test_consistent_spend_is_probability_times_a_bounded_spend_given_a_purchase():
    got = consistent_spend(np.array([106.68, 50.0, 10.0, 300.0]), np.array([0.0, 0.5, 0.5, 0.5]),
                           np.array([40.0, 40.0, 40.0, -5.0]))
    # p=0 -> 0; 50/0.5 = 100 within [40, 160] -> 50; 10/0.5 = 20 < 40 -> 0.5 x 40; AOV <= 0 -> median 40
    np.testing.assert_allclose(got, [0.0, 50.0, 20.0, 0.5 * 160.0])


def test_a_customer_whose_only_orders_were_free_is_scored_with_zero_spend(trained):
    _, features, scores = trained
    row = features.set_index("customer_id").loc["zz-free"]
    assert row["frequency"] == 2 and row["monetary_total"] == 0.0
    cols = scores.columns
    i = int(np.flatnonzero(cols["customer_id"] == "zz-free")[0])
    assert 0.0 <= cols["churn_probability"][i] <= 1.0 and np.isfinite(cols["predicted_clv"][i])
    assert cols["clv_lower"][i] <= cols["predicted_clv"][i] <= cols["clv_upper"][i]


def test_every_customer_gets_a_clv_interval_around_the_prediction(trained):
    models, _, scores = trained
    c = scores.columns
    assert np.isfinite(c["clv_lower"]).all() and np.isfinite(c["clv_upper"]).all()
    assert ((c["clv_lower"] >= 0) & (c["clv_lower"] <= c["predicted_clv"] + 1e-9)).all()
    assert (c["clv_upper"] >= c["predicted_clv"] - 1e-9).all()
    interval = models.metadata["clv"]["interval"]
    assert interval["level"] == 0.8 and 0.6 <= interval["cross_fitted_coverage"] <= 0.95


def test_the_quality_card_holds_ours_and_the_anchor_on_the_same_validation_slice(trained):
    models, _, scores = trained
    doc = scores.docs["quality"]
    assert set(doc["families"]) == {"clv", "churn"}
    clv, churn = doc["families"]["clv"], doc["families"]["churn"]
    assert clv["baseline"] == churn["baseline"] == "BG/NBD + Gamma-Gamma"
    assert clv["validation"]["cutoff"] == models.metadata["clv"]["validation_cutoff"]
    for block in (clv["metrics"]["model"], clv["metrics"]["baseline"]):
        assert {"rmse", "mae", "normalized_gini", "spearman", "decile_mape"} <= set(block)
    assert clv["vs_baseline"]["rmse_ratio"] == pytest.approx(
        clv["metrics"]["model"]["rmse"] / clv["metrics"]["baseline"]["rmse"], rel=1e-5)
    assert len(clv["calibration_by_decile"]["model"]) == 10
    for block in (churn["metrics"]["model"], churn["metrics"]["baseline"]):
        assert {"roc_auc", "pr_auc", "brier", "ece"} <= set(block)
    assert churn["metrics"]["model"] == pytest.approx(models.metadata["churn"]["holdout"]["calibrated"], abs=1e-6)
    assert all(g["passed"] for g in doc["gates"] if g["gate"] in ("customers", "history_days"))
    assert set(doc["drift"]["standardized_mean_shift"]) == {"recency_days", "frequency", "monetary_total",
                                                            "avg_order_value"}
    json.dumps(doc, allow_nan=False)


def test_the_overview_revenue_is_customers_spend_in_the_90_days_before_as_of(trained, orders):
    _, features, scores = trained
    lines = orders[orders["customer_id"].notna()]
    day = lines["order_ts"].dt.tz_convert("UTC").dt.date
    window = (day >= AS_OF - dt.timedelta(90)) & (day < AS_OF)
    expected = float((lines["quantity"] * lines["unit_price"])[window].sum())
    revenue = scores.docs["customer_models"]["totals"]["revenue_90d"]
    assert revenue == pytest.approx(float(features["spend_90d"].sum()))
    assert revenue == pytest.approx(expected, rel=1e-9) and revenue > 0
