"""The importer's data-relative rules and the promotion columns: extremes judged per product, thresholds as options."""

import json
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from athena.duckdb_engine import DuckDBEngine
from insights.cli.main import IMPORT_THRESHOLDS
from insights.cli.main import main as cli
from insights.data.importer import import_files
from insights.data.outliers import extreme_upper
from insights.data.rules import ImportRules

NOW = datetime(2025, 1, 1, tzinfo=UTC)
HEADER = "Store,Week,Brand,Units,Price,Deal,RRP\n"
MAPS = ["--map", "Store=order_id", "--map", "Week=order_ts", "--map", "Brand=product_id", "--map", "Units=quantity",
        "--map", "Price=unit_price", "--map", "Deal=on_promotion", "--map", "RRP=list_price"]


def weekly_feed(path: Path, *, promo_units: int = 10_000, odd_price: float | None = None) -> Path:
    """A store-level weekly feed: brand A sells ~500 units a week at 2.00; week 20 is a deal week with 20x the
    units at 1.40; brand B (3 lines) is judged against the population."""
    rng = np.random.default_rng(3)
    rows = []
    for w in range(30):
        day = (pd.Timestamp("2024-01-04") + pd.Timedelta(weeks=w)).date().isoformat()
        deal = w == 20
        units = promo_units if deal else int(rng.integers(400, 600))
        price = 1.40 if deal else 2.00
        if odd_price is not None and w == 25:
            price = odd_price
        rows.append(f"S1-{w},{day},A,{units},{price:.2f},{'Y' if deal else 'N'},2.00")
    rows += [f"S2-{w},2024-02-0{w + 1},B,{40 + w},3.50,,3.50" for w in range(3)]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def imported(tmp_path: Path, *extra: str, **feed) -> tuple[int, dict, str]:
    source = weekly_feed(tmp_path / "feed.csv", **feed)
    lake = tmp_path / "lake"
    code = cli(["import", str(source), "--lake", str(lake), *MAPS, *extra])
    report = json.loads((lake / "_import_report.json").read_text()) if code == 0 else {}
    return code, report, str(lake)


def test_a_promotion_week_with_20x_the_usual_units_survives_import(tmp_path, capsys):
    code, report, lake = imported(tmp_path)
    assert code == 0 and report["orders"]["set_aside"] == {}
    kept = pd.read_parquet(Path(lake) / "orders")
    deal = kept[kept["quantity"] == 10_000]
    assert len(deal) == 1 and bool(deal["on_promotion"].iloc[0]) and deal["list_price"].iloc[0] == 2.0
    sales = DuckDBEngine.over_lake(lake).query("daily_sales", {"start": "2024-01-01", "end": "2025-01-01"})
    week = sales[sales["quantity"] == 10_000].iloc[0]
    assert week["promo_share"] == 1.0 and week["list_price"] == 2.0
    assert report["orders"]["promotion_lines_kept"] == 1


def test_the_same_line_is_set_aside_when_the_threshold_option_says_so(tmp_path):
    code, report, _ = imported(tmp_path, "--quantity-min-ratio", "10")
    assert code == 0 and report["orders"]["set_aside"] == {"absurd_quantity": 1}


def test_a_price_1000x_its_products_median_is_set_aside_with_a_reason(tmp_path):
    code, report, lake = imported(tmp_path, odd_price=2000.0)
    assert code == 0 and report["orders"]["set_aside"] == {"absurd_price": 1}
    aside = pd.read_parquet(Path(lake) / "_set_aside" / "orders.parquet")
    assert aside[["reason", "Price"]].values.tolist() == [["absurd_price", "2000.00"]]
    assert report["outliers"]["unit_price"]["products_judged_on_own_lines"] == 1  # A; B is judged on the population
    assert report["outliers"]["unit_price"]["products_judged_on_population"] == 1


def test_every_threshold_option_reaches_the_rules_and_the_report(tmp_path, capsys):
    given = {"quantity_mads": "3.5", "quantity_min_ratio": "30", "price_mads": "4", "price_min_ratio": "2500",
             "min_product_lines": "40", "min_date": "2024-01-20"}
    assert set(given) == set(IMPORT_THRESHOLDS)  # a new threshold must be added here too
    args = [a for name, v in given.items() for a in ("--" + name.replace("_", "-"), v)]
    code, report, _ = imported(tmp_path, *args, odd_price=2000.0)
    out = capsys.readouterr().out
    assert code == 0
    for name, value in given.items():
        want = value if name == "min_date" else float(value)
        assert report["rules"][name] == want, name
        shown = value if name in ("min_date", "min_product_lines") else f"{float(value):g}"
        assert f"--{name.replace('_', '-')} {shown}" in out, name  # the printed report names option and value
    # min_product_lines 40 > A's 30 lines: every product judged on the population; the 2000.00 price is 1,000x
    # A's median but under the 2,500 ratio; the 20x deal week is under 30x; the first 3 weeks are too old
    assert report["outliers"]["quantity"]["products_judged_on_population"] == 2
    assert report["orders"]["set_aside"] == {"date_too_old": 3}


def test_the_help_states_each_thresholds_default_and_they_equal_the_rules_defaults(capsys):
    defaults = {f.name: f.default for f in fields(ImportRules)}
    assert {name: d for name, (_, d, _) in IMPORT_THRESHOLDS.items()} == {n: defaults[n] for n in IMPORT_THRESHOLDS}
    assert cli(["import", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for name, (_, default, _) in IMPORT_THRESHOLDS.items():
        assert f"--{name.replace('_', '-')}" in text and f"(default: {default})" in text


@pytest.mark.parametrize("value", ["0", "-1", "nan", "abc"])
def test_a_bad_threshold_is_one_usage_error(value, capsys):
    assert cli(["import", "x.csv", "--quantity-mads", value]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_date_span_counts_calendar_days(tmp_path):
    _, report, _ = imported(tmp_path)
    k = report["kept"]
    assert k["first_order_ts"][:10] == "2024-01-04" and k["last_order_ts"][:10] == "2024-07-25"
    assert k["days"] == 204 and k["days_with_orders"] == 32  # A: 30 Thursdays; B: 3 days, one a Thursday of A


def test_a_discount_percentage_becomes_the_list_price_and_flags_are_read(tmp_path):
    source = tmp_path / "d.csv"
    source.write_text("id,ts,sku,qty,price,off,promo\n"
                      "1,2024-03-01,p,2,7.50,25,yes\n"     # 7.50 at 25% off: list 10.00
                      "2,2024-03-01,p,1,10.00,0,no\n"
                      "3,2024-03-02,p,1,10.00,,\n"         # unknown: both null
                      "4,2024-03-02,p,1,10.00,150,maybe\n")  # unusable discount and flag: null, counted
    report = import_files(source, lake=tmp_path / "lake", now=NOW, maps={
        "id": "order_id", "ts": "order_ts", "sku": "product_id", "qty": "quantity", "price": "unit_price",
        "off": "discount_pct", "promo": "on_promotion"})
    kept = pd.read_parquet(tmp_path / "lake" / "orders").sort_values("order_id")
    assert kept["list_price"].tolist()[:2] == [10.0, 10.0] and kept["list_price"].iloc[2:].isna().all()
    assert kept["on_promotion"].tolist()[:2] == [True, False] and kept["on_promotion"].iloc[2:].isna().all()
    assert report["orders"]["list_price_unusable_set_null"] == 1
    assert report["orders"]["on_promotion_unrecognised_set_null"] == 1
    assert report["source"]["mapping"]["discount_pct"] == "off"


def test_a_discount_column_of_fractions_is_read_as_fractions(tmp_path):
    source = tmp_path / "f.csv"
    source.write_text("order_id,order_ts,product_id,quantity,unit_price,off\n1,2024-03-01,p,2,7.50,0.25\n"
                      "2,2024-03-01,p,2,10.00,0\n")
    report = import_files(source, lake=tmp_path / "lake", now=NOW, maps={"off": "discount_pct"})
    kept = pd.read_parquet(tmp_path / "lake" / "orders")
    assert kept["list_price"].tolist() == [10.0, 10.0] and report["orders"]["discount_pct_read_as_fraction"] == 1


def test_a_discount_amount_per_unit_becomes_the_list_price(tmp_path):
    source = tmp_path / "a.csv"
    source.write_text("order_id,order_ts,product_id,quantity,unit_price,saving\n1,2024-03-01,p,2,7.50,2.50\n")
    import_files(source, lake=tmp_path / "lake", now=NOW, maps={"saving": "discount_amount"})
    assert pd.read_parquet(tmp_path / "lake" / "orders")["list_price"].tolist() == [10.0]


def test_without_promotion_columns_the_lake_has_them_as_nulls(tmp_path):
    source = tmp_path / "plain.csv"
    source.write_text("order_id,order_ts,product_id,quantity,unit_price\n1,2024-03-01,p,2,7.50\n")
    import_files(source, lake=tmp_path / "lake", now=NOW)
    kept = pd.read_parquet(tmp_path / "lake" / "orders")
    assert kept["list_price"].isna().all() and kept["on_promotion"].isna().all()


def test_a_product_with_few_lines_is_judged_against_the_population():
    values = np.array([10.0] * 25 + [12.0, 13.0, 12000.0])
    products = pd.Series(["a"] * 25 + ["b"] * 3)
    limits = extreme_upper(values, products, np.ones(28, bool), mads=5, min_ratio=1000, min_lines=20)
    assert limits.extreme.tolist() == [False] * 27 + [True]
    assert (limits.products_own, limits.products_population) == (1, 1)
    # the same product with enough lines of its own is judged on them: 12000 is exactly 1,000x its median
    own = extreme_upper(np.array([12.0] * 20 + [12000.0, 12001.0]), pd.Series(["b"] * 22), np.ones(22, bool),
                        mads=5, min_ratio=1000, min_lines=20)
    assert own.extreme.tolist() == [False] * 21 + [True]
