"""A lake written before the promotion columns existed (no list_price, no on_promotion) still refreshes."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq

from athena.duckdb_engine import DuckDBEngine
from insights.data.sample import SampleSpec, generate, write_sample
from insights.refresh.pipeline import run_refresh
from insights.refresh.products import ProductSide
from insights.snapshot.local import LocalSnapshotStore


def test_an_old_lake_without_the_promotion_columns_still_refreshes(tmp_path):
    lake = tmp_path / "lake"
    write_sample(lake, generate(SampleSpec(customers=300, products=6, days=200, seed=3, end=date(2026, 6, 30))))
    files = sorted((lake / "orders").rglob("*.parquet"))
    for path in files:  # rewrite every file as an old importer wrote it
        table = pq.read_table(path, partitioning=None)
        pq.write_table(table.drop_columns(["list_price", "on_promotion"]), path)
    assert "on_promotion" not in pq.read_schema(files[0]).names
    engine = DuckDBEngine.over_lake(lake)
    sales = engine.query("daily_sales", {"start": "2026-01-01", "end": "2026-07-01"})
    assert len(sales) and (sales["promo_share"] == 0).all() and sales["list_price"].isna().all()
    store = LocalSnapshotStore(tmp_path / "snaps")
    report = run_refresh(engine=engine, store=store, sides=[ProductSide(history_days=180)], as_of=date(2026, 7, 1))
    assert report.version and store.latest_version() == report.version
    forecast = store.open(report.version).table("forecast")
    assert forecast.n_rows == sales["product_id"].nunique()
