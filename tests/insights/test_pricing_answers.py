"""Issue 12's rules, through the refresh's tables and the API's services: pooled elasticities on the product's
grain, never a non-converged fit, a flagged positive estimate held, an absurd price refused with its documented
code, the optimum inside its range on every product of a refreshed sample, no forecast mass on closed weekdays."""

from __future__ import annotations

import datetime as dt
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from insights.api import products
from insights.api.error_codes import ERROR_CODES
from insights.errors import PriceOutsideSupport
from insights.refresh.pricing import elasticity_table
from insights.refresh.products import ProductModels, score_products
from insights.snapshot.reader import Snapshot

AS_OF = dt.date(2026, 7, 1)


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["sale_date", "product_id", "quantity", "price"]).assign(category="c")


def _daily(pid: str, days: int, rng, b: float = -1.5, closed: tuple[int, ...] = (), base: float = 8.0,
           price_of=None):
    dates = pd.date_range(AS_OF - dt.timedelta(days=days), AS_OF - dt.timedelta(days=1), freq="D")
    rows = []
    for k, d in enumerate(dates):
        if d.day_of_week in closed:
            continue
        p = price_of(k) if price_of else (5.0 if rng.random() > 0.25 else 4.0)
        q = rng.poisson(base * (p / 5.0) ** b)
        if q > 0:
            rows.append((d.date(), pid, int(q), p))
    return rows


def _weekly(pid: str, weeks: int, rng):
    first = AS_OF - dt.timedelta(days=7 * weeks)
    first += dt.timedelta(days=(0 - first.weekday()) % 7)  # Mondays
    rows = []
    for w in range(weeks):
        p = 3.0 if rng.random() > 0.3 else 2.1  # deals cut the price 30%
        rows.append((first + dt.timedelta(days=7 * w), pid, int(rng.poisson(400 * (p / 3.0) ** -2.0)), p))
    return rows


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for j in range(5):
        rows += _daily(f"D{j}", 300, rng)
    rows += _weekly("WEEKLY", 60, rng)
    rows += _daily("SHUT", 300, rng, closed=(6,))  # never sold on Sundays
    # price rises with demand (a season the data does not show): the raw fit is positive
    rows += _daily("POS", 300, rng, b=0.0, price_of=lambda k: 4.0 + (k // 30) % 2,
                   base=1.0)
    pos = [(d, pid, q * (3 if p == 5.0 else 1), p) for d, pid, q, p in rows if pid == "POS"]
    rows = [r for r in rows if r[1] != "POS"] + pos
    rows += [(d.date(), "FLAT", 3, 2.0) for d in pd.date_range(AS_OF - dt.timedelta(days=60), periods=50)]
    return _frame(rows)


@pytest.fixture(scope="module")
def table(sales) -> dict[str, np.ndarray]:
    return elasticity_table(sales, AS_OF)


def _row(table, pid) -> int:
    return list(table["product_id"]).index(pid)


def _snapshot(table) -> Snapshot:
    return Snapshot.from_memory("v", {"as_of": AS_OF.isoformat()}, {"elasticity": table}, {},
                                keys={"elasticity": "product_id"})


def test_a_weekly_product_is_estimated_on_weeks(table):
    i = _row(table, "WEEKLY")
    assert table["grain"][i] == "weekly" and table["period_days"][i] == 7
    assert table["n_observations"][i] == 60  # weeks, not the ~420 calendar days they span
    assert table["answer_status"][i] == "answered" and -2.6 < table["elasticity_coefficient"][i] < -1.4


def test_every_product_with_price_variation_is_answered_and_only_a_flat_price_is_refused(table):
    refused = table["answer_status"] == "refused"
    assert list(table["product_id"][refused]) == ["FLAT"]
    assert table["reason"][_row(table, "FLAT")].startswith("no price variation")


def test_the_p_value_agrees_with_the_interval_beside_it(sample_table):
    """The answered (pooled) estimate's p-value: below 1 - level exactly when the interval excludes zero."""
    t = sample_table
    ok = (t["answer_status"] != "refused") & (t["standard_error"] > 0)
    b, se, p = t["elasticity_coefficient"][ok], t["standard_error"][ok], t["p_value"][ok]
    lo, hi = t["ci_lower"][ok], t["ci_upper"][ok]
    z = np.round((hi - lo) / (2 * se), 6)  # the interval's own multiplier
    level = 2 * NormalDist().cdf(float(z[0])) - 1
    assert np.allclose(z, z[0]) and ok.sum() > 10
    excludes_zero = (hi < 0) | (lo > 0)
    assert np.array_equal(p < 1 - level + 1e-9, excludes_zero)
    assert np.allclose(p, [2 * (1 - NormalDist().cdf(abs(x))) for x in b / se], atol=1e-9)


def test_a_non_converged_fit_is_never_returned_as_an_estimate(sales):
    starved = elasticity_table(sales, AS_OF, max_iter=1)  # no fit can converge in one iteration
    varied = starved["answer_status"] != "refused"
    assert (starved["converged"][varied] == 0).all() and (starved["fit_status"][varied] == "not_converged").all()
    assert np.isnan(starved["own_elasticity"][varied]).all()
    # the answer is the prior, said so, never the last IRLS step
    np.testing.assert_allclose(starved["elasticity_coefficient"][varied], starved["prior_mean"][varied])
    assert (starved["pooled"][varied] == 1).all()
    out = products.price_elasticity(_snapshot(starved), product_id="D0")
    assert out["converged"] is False and out["pooled"] is True and out["own_estimate"]["coefficient"] is None
    assert "no usable estimate" in out["pooling_note"]


def test_a_positive_estimate_is_flagged_and_the_optimizer_holds(table):
    i = _row(table, "POS")
    assert table["answer_status"][i] == "flagged_positive" and table["usable_for_pricing"][i] == 0
    snap = _snapshot(table)
    assert products.price_elasticity(snap, product_id="POS")["status"] == "flagged_positive"
    out = products.price_optimization(snap, product_id="POS", current_price=4.5, current_quantity=10,
                                      cost_per_unit=1.0, max_change=0.2, range_margin=0.1)
    assert out["action"] == "hold" and out["optimal_price"] is None and out["recommended_price"] == 4.5
    assert out["elasticity_status"] == "flagged_positive" and out["usable_for_pricing"] is False


def test_an_absurd_current_price_is_refused_with_the_documented_code(table):
    with pytest.raises(PriceOutsideSupport) as info:
        products.price_optimization(_snapshot(table), product_id="D0", current_price=1e9, current_quantity=10,
                                    cost_per_unit=None, max_change=0.2, range_margin=0.1)
    err = info.value
    assert err.code == "price_out_of_support" and err.status == 422 and err.code in ERROR_CODES
    assert err.details["observed_min"] == 4.0 and err.details["observed_max"] == 5.0 and "4 to 5" in err.message


def test_no_forecast_mass_on_a_weekday_the_product_never_trades(sales):
    scores = score_products(ProductModels(None, {"forecast": {"horizon_days": 28}}), sales, AS_OF)
    f = scores.tables["forecast"]
    rows = {p: i for i, p in enumerate(f["product_id"])}
    sunday = np.array([(AS_OF + dt.timedelta(days=d)).weekday() == 6 for d in range(28)])
    i = rows["SHUT"]
    assert f["grain"][i] == "daily" and "6" not in f["trading_weekdays"][i] and "Sunday" in f["grain_note"][i]
    for col in ("predicted_quantity", "confidence_lower", "confidence_upper"):
        assert (f[col][i][sunday] == 0).all()
    assert (f["predicted_quantity"][i][~sunday] > 0).all() and (f["confidence_upper"][i][~sunday] > 0).all()
    w = rows["WEEKLY"]
    monday = np.array([(AS_OF + dt.timedelta(days=d)).weekday() == 0 for d in range(28)])
    assert f["grain"][w] == "weekly" and (f["confidence_upper"][w][~monday] == 0).all()
    assert f["predicted_quantity"][w][monday].mean() > 100  # the week's units on its Monday, not a seventh
    snap = Snapshot.from_memory("v", {"as_of": AS_OF.isoformat()}, scores.tables, scores.docs,
                                keys={"forecast": "product_id", "elasticity": "product_id"})
    out = products.forecast(snap, product_id="SHUT", forecast_days=14)
    for point in out["forecast"]:
        closed = dt.date.fromisoformat(point["date"]).weekday() == 6
        assert point["trading_day"] is not closed
        if closed:
            assert point["predicted_quantity"] == point["confidence_lower"] == point["confidence_upper"] == 0


@pytest.fixture(scope="module")
def sample_table(tmp_path_factory):
    from athena.duckdb_engine import DuckDBEngine
    from insights.data.sample import SampleSpec, generate, write_sample

    lake = tmp_path_factory.mktemp("lake")
    write_sample(lake, generate(SampleSpec(customers=800, products=25, days=400, seed=3, end=AS_OF)))
    sales = DuckDBEngine.over_lake(lake).query("daily_sales", {"start": "2025-06-01", "end": AS_OF.isoformat()})
    return elasticity_table(sales, AS_OF)


def test_the_optimum_lies_inside_its_range_for_every_product_of_a_refreshed_sample(sample_table):
    t, snap = sample_table, _snapshot(sample_table)
    answered = t["answer_status"] != "refused"
    assert answered.sum() >= 0.9 * t["product_id"].size
    checked = 0
    for i in np.flatnonzero(answered):
        lo, hi = float(t["price_min"][i]), float(t["price_max"][i])
        for price in (lo, (lo + hi) / 2, hi):
            for cost in (None, 0.3 * price, 0.8 * price):
                out = products.price_optimization(snap, product_id=str(t["product_id"][i]), current_price=price,
                                                  current_quantity=5.0, cost_per_unit=cost, max_change=0.2,
                                                  range_margin=0.1)
                rng = out["optimal_price_range"]
                if out["optimal_price"] is not None:
                    assert rng["min"] <= out["optimal_price"] <= rng["max"]
                assert abs(out["recommended_price"] / price - 1) <= 0.2 + 1e-9  # the step guardrail
                checked += 1
    assert checked >= 9 * 20


def test_promotion_columns_are_read_when_daily_sales_has_them_and_missing_values_mean_none(sales):
    from insights.refresh.pricing import elasticity_input

    with_promo = sales.assign(promo_share=np.where(np.arange(len(sales)) % 5 == 0, np.nan, 0.4),
                              list_price=np.nan)
    cols = elasticity_input(with_promo)
    assert "list_price" not in cols and np.isfinite(cols["promo"]).all() and cols["promo"].max() == 0.4
    listed = elasticity_input(sales.assign(list_price=np.where(np.arange(len(sales)) % 2 == 0, np.nan, 6.0)))
    np.testing.assert_array_equal(np.isfinite(listed["list_price"]), True)  # a missing list price: not on promotion
    plain, promo = elasticity_table(sales, AS_OF), elasticity_table(with_promo, AS_OF)
    np.testing.assert_array_equal(plain["n_observations"], promo["n_observations"])  # no row lost to a null
