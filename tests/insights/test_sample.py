"""The synthetic sample lake: contract, determinism, ground truth, and the structure the benchmarks rely on."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from athena.contract import lake_tables
from athena.duckdb_engine import DuckDBEngine
from insights.cli.main import main as cli_main
from insights.data.lake import conform
from insights.data.sample import SampleSpec, generate, write_sample
from insights.data.sample_process import PROCESS, demand
from insights.data.truth import expected_orders, load_truth, seasonality

END = date(2025, 6, 30)
SMALL = SampleSpec(customers=1500, products=30, days=400, seed=11, end=END)


@pytest.fixture(scope="module")
def small():
    return generate(SMALL)


@pytest.fixture(scope="module")
def small_lake(tmp_path_factory, small):
    return write_sample(tmp_path_factory.mktemp("sample") / "lake", small)


@pytest.fixture(scope="module")
def lines(small):
    frame = small.orders.copy()
    frame["date"] = frame["order_ts"].dt.date
    return frame


@pytest.fixture(scope="module")
def daily(small):
    """Realized units (returns excluded) joined to the truth's product-days."""
    return _daily(small)


def _daily(sample) -> pd.DataFrame:
    pos = sample.orders[sample.orders["quantity"] > 0]
    sold = (pos.assign(date=pos["order_ts"].dt.date).groupby(["date", "product_id"])["quantity"].sum()
            .rename("units").reset_index())
    truth = sample.truth.daily_prices.assign(date=lambda f: f["date"].astype(object))
    frame = truth.merge(sold.astype({"product_id": "string"}), on=["date", "product_id"], how="left")
    frame["units"] = frame["units"].fillna(0).astype("int64")
    return frame.merge(sample.truth.products, on="product_id")


def test_same_seed_gives_the_same_lake_and_truth(small):
    again = generate(SMALL)
    pd.testing.assert_frame_equal(small.orders, again.orders)
    pd.testing.assert_frame_equal(small.customers, again.customers)
    pd.testing.assert_frame_equal(small.truth.daily_prices, again.truth.daily_prices)
    pd.testing.assert_frame_equal(small.truth.customers, again.truth.customers)
    assert small.truth.meta == again.truth.meta
    other = generate(SampleSpec(customers=1500, products=30, days=400, seed=12, end=END))
    assert not other.orders["order_ts"].equals(small.orders["order_ts"])


def test_the_lake_follows_the_contract(small, small_lake):
    conform(small.orders, "orders")  # raises on a missing required value
    engine = DuckDBEngine.over_lake(small_lake)
    con = engine.connection
    for table in lake_tables().values():
        described = {r[0]: r[1] for r in con.execute(f"DESCRIBE {table.name}").fetchall()}
        keys = {k.name for k in table.partition_keys}
        assert [c.name for c in table.columns] == [n for n in described if n not in keys]
    assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == len(small.orders)
    bad = con.execute("""SELECT count(*) FILTER (WHERE unit_price <= 0), count(*) FILTER (WHERE quantity = 0),
                                count(*) FILTER (WHERE order_date <> CAST(order_ts AS DATE)),
                                count(*) FILTER (WHERE order_id IS NULL OR product_id IS NULL)
                         FROM orders""").fetchone()
    assert bad == (0, 0, 0, 0)
    span = con.execute("SELECT min(order_date), max(order_date) FROM orders").fetchone()
    assert span[0] >= END - timedelta(days=SMALL.days - 1) and span[1] <= END
    assert (small_lake / "orders" / f"order_date={END.isoformat()}").is_dir()
    prices = small.orders["unit_price"].to_numpy()
    assert np.allclose(prices, np.round(prices, 2))


def test_row_counts_are_about_ten_lines_per_customer_with_guests_and_returns(small, lines):
    counts = small.truth.meta["counts"]
    assert counts["lines"] == len(lines)
    per_customer = lines["customer_id"].notna().sum() / SMALL.customers
    assert 7 <= per_customer <= 13
    assert 0.01 <= lines["customer_id"].isna().mean() <= 0.06
    returns = lines["quantity"] < 0
    assert 0.01 <= returns.mean() <= 0.06
    assert lines.loc[returns, "order_id"].str.startswith("R").all()
    assert lines.loc[~returns, "order_id"].str.startswith("O").all()
    assert lines.loc[returns, "customer_id"].notna().all()


def test_the_lines_of_an_order_share_its_customer_time_and_country(lines):
    per_order = lines.groupby("order_id").agg(customers=("customer_id", lambda c: c.nunique(dropna=False)),
                                              times=("order_ts", "nunique"), countries=("country", "nunique"))
    assert (per_order == 1).all().all()


def test_returns_reference_earlier_purchases_of_the_same_customer(lines):
    returns = lines[lines["quantity"] < 0]
    bought = lines[lines["quantity"] > 0]
    joined = returns.reset_index().merge(bought, on=["customer_id", "product_id", "unit_price"], suffixes=("", "_b"))
    joined = joined[(joined["order_ts_b"] < joined["order_ts"]) & (joined["quantity_b"] >= -joined["quantity"])]
    assert set(joined["index"]) == set(returns.index)


def test_ground_truth_files_have_the_agreed_columns(small_lake):
    folder = small_lake / "_truth"
    assert sorted(p.name for p in folder.iterdir()) == [
        "customers.parquet", "daily_prices.parquet", "meta.json", "products.parquet"]
    truth = load_truth(small_lake)
    assert list(truth.products.columns) == ["product_id", "category", "true_elasticity", "reference_price",
                                            "base_daily_units", "launch_date", "intermittent", "promo_days",
                                            "promo_lift"]
    assert list(truth.customers.columns) == ["customer_id", "acquisition_date", "churn_date",
                                             "purchase_rate_per_day", "spend_level", "engagement_rate_per_day"]
    assert list(truth.daily_prices.columns) == ["date", "product_id", "price", "list_price", "promo",
                                                "expected_units"]
    assert isinstance(truth.products["launch_date"].iloc[0], date)
    assert isinstance(truth.daily_prices["date"].iloc[0], date)
    assert truth.products["intermittent"].dtype == bool and truth.daily_prices["promo"].dtype == bool
    assert len(truth.daily_prices) == SMALL.products * SMALL.days
    lo, hi = PROCESS["elasticity_range"]
    assert truth.products["true_elasticity"].between(lo, hi).all()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["seed"] == SMALL.seed and meta["end"] == END.isoformat()
    assert meta["arguments"]["customers"] == SMALL.customers and meta["description"]
    promo_days = truth.daily_prices.groupby("product_id")["promo"].sum()
    assert (promo_days.reindex(truth.products["product_id"]).to_numpy() == truth.products["promo_days"]).all()


def test_every_product_and_customer_in_the_lake_is_in_the_truth(small, lines):
    assert set(lines["product_id"]) <= set(small.truth.products["product_id"])
    assert set(lines["customer_id"].dropna()) <= set(small.truth.customers["customer_id"])
    assert set(small.customers["customer_id"]) == set(small.truth.customers["customer_id"])
    merged = lines.merge(small.truth.daily_prices.assign(date=lambda f: f["date"].astype(object)),
                         on=["date", "product_id"])
    purchases = merged[merged["quantity"] > 0]
    assert len(purchases) == (lines["quantity"] > 0).sum()
    assert np.allclose(purchases["unit_price"], purchases["price"])


def test_new_products_sell_nothing_before_launch(small, lines, daily):
    products = small.truth.products
    new = products[products["launch_date"] > END - timedelta(days=PROCESS["new_product_window_days"] + 1)]
    assert len(new) >= 1
    first_sale = lines[lines["quantity"] > 0].groupby("product_id")["date"].min()
    for pid, launch in zip(new["product_id"], new["launch_date"], strict=True):
        assert pid not in first_sale or first_sale[pid] >= launch
    before = daily[daily["date"] < daily["launch_date"]]
    assert len(before) > 0 and (before["expected_units"] == 0).all() and (before["units"] == 0).all()


def test_customers_buy_only_between_acquisition_and_churn(small, lines):
    truth = small.truth.customers
    seen = lines.dropna(subset=["customer_id"]).merge(truth, on="customer_id")
    assert (seen["date"] >= seen["acquisition_date"]).all()
    assert (seen["date"] < seen["churn_date"]).all()
    churned = truth["churn_date"] <= END
    assert 0.2 <= churned.mean() <= 0.8  # a good share churn inside the period, many are still active
    assert (truth["acquisition_date"] < END - timedelta(days=SMALL.days - 1)).mean() > 0.05
    rates = truth["purchase_rate_per_day"]
    assert rates.std() / rates.mean() > 0.5  # heterogeneous (gamma)
    created = small.customers.set_index("customer_id")["created_at"].dt.date
    assert (created.reindex(truth["customer_id"]).to_numpy() == truth["acquisition_date"].to_numpy()).all()


def test_expected_orders_from_the_truth_match_the_realized_orders(small, lines):
    start = END - timedelta(days=SMALL.days - 1)
    assert seasonality(small.truth.meta, start, END + timedelta(days=1)).mean() == pytest.approx(1.0)
    purchases = lines[lines["order_id"].str.startswith("O") & lines["customer_id"].notna()]
    for first in (start, END - timedelta(days=120)):
        expected = expected_orders(small.truth, first, END + timedelta(days=1))
        realized = (purchases[purchases["date"] >= first].groupby("customer_id")["order_id"].nunique()
                    .reindex(expected.index, fill_value=0))
        assert realized.sum() == pytest.approx(expected.sum(), rel=0.05)
        assert np.corrcoef(expected, realized)[0, 1] > 0.6
        gone = (small.truth.customers.set_index("customer_id")["churn_date"] <= first).to_numpy()
        assert (expected[gone] == 0).all()


def test_intermittent_products_have_mostly_zero_days(daily):
    launched = daily[daily["date"] >= daily["launch_date"]]
    zero_share = launched.groupby("intermittent")["units"].apply(lambda u: (u == 0).mean())
    assert zero_share[True] > 0.5
    assert zero_share[True] > zero_share[False] + 0.2


def test_prices_are_confounded_with_the_season_so_naive_regression_is_biased(daily):
    frame = daily[daily["expected_units"] > 0].copy()
    doy = pd.to_datetime(frame["date"].astype(str)).dt.day_of_year
    season = np.cos(2 * np.pi * (doy - PROCESS["yearly_peak_day_of_year"]) / 365.25)
    relative = np.log(frame["price"] / frame["reference_price"])
    assert np.corrcoef(relative, season)[0, 1] > 0.1  # dearer in the high season
    high = season > 0.5
    assert frame.loc[~high, "promo"].mean() > 2 * frame.loc[high, "promo"].mean()  # promotions in the low season
    # Even on the noise-free truth, log-log OLS of units on price is pulled far from the true elasticity: above it
    # by the season's surcharge, below it by the promotions' lift beyond their price.
    naive = frame.groupby("product_id").apply(lambda g: _slope(np.log(g["price"]), np.log(g["expected_units"]))
                                              - g["true_elasticity"].iloc[0])
    assert naive.abs().mean() > 0.5
    deals = frame.groupby("product_id")["promo"].any()
    assert naive[~deals].mean() > 0.5 and naive[deals].mean() < naive[~deals].mean()


def test_promotions_lift_demand_beyond_their_price_and_the_lake_says_which_lines_were_on_promotion(small, daily):
    # units the process expects at the reference price: only the lift and the smooth non-price effects remain; a
    # promotion day against the same weekday a week before and after (both off promotion) shows the lift
    frame = daily.assign(at_ref=daily["expected_units"] / (daily["price"] / daily["reference_price"])
                         ** daily["true_elasticity"])
    at_ref = frame.pivot(index="product_id", columns="date", values="at_ref").to_numpy()
    promo = frame.pivot(index="product_id", columns="date", values="promo").to_numpy().astype(bool)
    lift = small.truth.products.set_index("product_id")["promo_lift"].sort_index().to_numpy()
    # the day's common factor (its customers' orders, acquisitions included) cancels against the products that
    # never run a deal
    steady = (~promo.any(axis=1))[:, None] & (at_ref > 0).all(axis=1)[:, None]
    at_ref = at_ref / np.exp(np.log(np.where(steady, at_ref, 1.0)).sum(axis=0) / steady.sum())
    p, t = np.nonzero(promo[:, 7:-7])
    t = t + 7
    clean = ~promo[p, t - 7] & ~promo[p, t + 7] & (at_ref[p, t - 7] > 0) & (at_ref[p, t + 7] > 0)
    p, t = p[clean], t[clean]
    ratio = at_ref[p, t] / np.sqrt(at_ref[p, t - 7] * at_ref[p, t + 7])
    assert 0.3 < small.truth.products["promo_days"].gt(0).mean() < 0.95 and len(ratio) > 100
    assert np.allclose(ratio, lift[p], rtol=0.05), np.abs(ratio / lift[p] - 1).max()
    lines = small.orders
    cut = lines["unit_price"] < 0.995 * lines["list_price"]
    assert (cut == lines["on_promotion"]).all() and 0.05 < cut.mean() < 0.4
    depth = 1 - lines.loc[cut, "unit_price"] / lines.loc[cut, "list_price"]
    assert depth.between(0.09, 0.36).all()


def _slope(x: pd.Series, y: pd.Series) -> float:
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / max(float((x * x).sum()), 1e-12))


def test_realized_sales_match_the_expected_units(daily):
    assert daily["units"].sum() == pytest.approx(daily["expected_units"].sum(), rel=0.04)
    for promo, part in daily.groupby("promo"):
        assert part["units"].sum() == pytest.approx(part["expected_units"].sum(), rel=0.08), promo


def test_expected_units_have_exactly_the_true_own_price_elasticity_and_no_cross_effect():
    rng = np.random.default_rng(0)
    n, days = 5, 4  # few products: large shares, where a plain choice model would give e * (1 - share)
    lam_ref = rng.lognormal(0, 1, (n, days))
    launched = np.ones((n, days), bool)
    launched[4, :2] = False
    ref, elasticity = rng.uniform(2, 20, n), rng.uniform(-3, -0.5, n)
    price = ref[:, None] * rng.uniform(0.7, 1.3, (n, days))

    def units(prices: np.ndarray) -> np.ndarray:
        basket, share, clipped = demand(lam_ref, launched, prices, ref, elasticity, m0=2.5)
        assert not clipped.any()
        return basket[None, :] * share  # expected units per (price-free) order-unit

    base = units(price)
    for p in range(n):
        bumped = price.copy()
        bumped[p, 2] *= 1.01
        moved = units(bumped)
        assert np.log(moved[p, 2] / base[p, 2]) / np.log(1.01) == pytest.approx(elasticity[p], rel=1e-9)
        others = np.ones(n, bool)
        others[p] = False
        assert np.allclose(moved[others], base[others], rtol=1e-12)
        assert np.allclose(np.delete(moved, 2, axis=1), np.delete(base, 2, axis=1), rtol=1e-12)
    assert (base[4, :2] == 0).all()


def test_true_elasticity_is_the_price_response_of_realized_sales():
    """With every non-price effect taken from the truth as an offset, Poisson regression recovers the elasticity."""
    sample = generate(SampleSpec(customers=30000, products=6, days=730, seed=5, end=END))
    frame = _daily(sample)
    frame = frame[(frame["expected_units"] > 0) & ~frame["intermittent"]]  # intermittent ones are too noisy
    assert frame["product_id"].nunique() >= 4
    for pid, g in frame.groupby("product_id"):
        x = np.log(g["price"] / g["reference_price"]).to_numpy()
        offset = np.log(g["expected_units"].to_numpy()) - g["true_elasticity"].to_numpy() * x
        b, se = _poisson_slope(g["units"].to_numpy(), x, offset)
        assert se < 0.1, pid
        assert abs(b - g["true_elasticity"].iloc[0]) < 4 * se, (pid, b, se)


def _poisson_slope(y: np.ndarray, x: np.ndarray, offset: np.ndarray) -> tuple[float, float]:
    """Poisson regression y ~ exp(offset + b x) by Newton; b and its quasi-Poisson standard error."""
    b = 0.0
    for _ in range(50):
        mu = np.exp(offset + b * x)
        step = (x @ (y - mu)) / (x * x @ mu)
        b += step
        if abs(step) < 1e-10:
            break
    mu = np.exp(offset + b * x)
    dispersion = float(((y - mu) ** 2 / mu).sum() / (len(y) - 1))  # units per line > 1: overdispersed
    return b, float(np.sqrt(dispersion / (x * x @ mu)))


def test_cli_writes_a_queryable_lake_with_truth(tmp_path):
    lake = tmp_path / "lake"
    argv = ["sample", "--customers", "300", "--products", "8", "--days", "90", "--seed", "3",
            "--end", "2025-03-31", "--lake", str(lake)]
    assert cli_main(argv) == 0
    truth = load_truth(lake)
    assert truth.meta["arguments"] == {"customers": 300, "products": 8, "days": 90, "seed": 3, "end": "2025-03-31"}
    features = DuckDBEngine.over_lake(lake).query("customer_features", {"cutoff": "2025-04-01"})
    assert 0 < len(features) <= 300
    assert set(features["customer_id"]) <= set(truth.customers["customer_id"])
    first = pd.read_parquet(lake / "orders")
    assert cli_main(argv) == 0  # rerun replaces the lake with the identical one
    pd.testing.assert_frame_equal(pd.read_parquet(lake / "orders").sort_values(["order_id", "product_id"])
                                  .reset_index(drop=True),
                                  first.sort_values(["order_id", "product_id"]).reset_index(drop=True))


@pytest.mark.parametrize("bad", [["--customers", "0"], ["--end", "2025-13-01"], ["--lake", "s3://bucket/lake"]])
def test_cli_rejects_bad_arguments_with_exit_code_2(tmp_path, capsys, bad):
    argv = ["sample", "--customers", "10", "--lake", str(tmp_path / "lake"), *bad]
    assert cli_main(argv) == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


def test_the_default_end_is_yesterday_utc():
    spec = SampleSpec(customers=5, products=2, days=3).resolved()
    assert spec.end == datetime.now(UTC).date() - timedelta(days=1)
    with pytest.raises(ValueError, match="products"):
        SampleSpec(products=0).resolved()
