"""Dirty data through the importer and the refresh: every row accounted for, nothing valid dropped, nothing crashes.

A generated export mixes valid lines with each kind of dirt a real shop export has (duplicates, zero, negative and
absurd prices and quantities, future and ancient dates, cp1252 bytes, unparseable fields, malformed lines, customers
with only returns, products sold once). The importer must keep exactly the valid lines and set aside each bad one
with its reason; the refresh must then run over the result and publish a snapshot the API serves. The real Online
Retail file goes through the same path (skipped when /work/shared/data is absent); the real models run over it in
bench/reliability.py (minutes, not a unit test).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from api_events import SECRET, FakeContext, body_of, v2
from sec_helpers import FactorySide, refresh

from athena.duckdb_engine import DuckDBEngine
from insights.cli.tokens import mint_token
from insights.config import Settings
from insights.data.importer import import_files
from insights.refresh.analyst import product_forecasts_frame, score_path, write_score_table
from insights.snapshot.local import LocalSnapshotStore

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HEADER = b"order_id,customer_id,order_ts,product_id,quantity,unit_price,country\n"
REAL_FILE = Path(__file__).resolve().parents[3] / "shared" / "data" / "online_retail.csv.gz"


def _valid_lines(n_customers: int = 40, days: int = 100) -> list[tuple[str, ...]]:
    rng = np.random.default_rng(11)
    rows = []
    for i in range(900):
        day = pd.Timestamp("2025-01-10") + pd.Timedelta(days=int(rng.integers(0, days)),
                                                        seconds=int(rng.integers(0, 86_000)))
        rows.append((f"V{i // 3:04d}", f"c{int(rng.integers(0, n_customers)):03d}", day.isoformat() + "Z",
                     f"p{int(rng.integers(0, 8)):02d}", str(int(rng.integers(1, 6))),
                     f"{rng.choice([2.5, 3.0, 4.25]):.2f}", "United Kingdom"))
    return rows


# (line as bytes, the reason it must be set aside, or None when it must be kept)
DIRT: list[tuple[bytes, str | None]] = [
    (b"D1,c001,2025-02-01T10:00:00Z,p01,0,2.50,France", "zero_quantity"),
    (b"D2,c001,2025-02-01T10:00:00Z,p01,3,0.00,France", None),  # a free line: the customer's order, zero spend
    (b"D2G,,2025-02-01T10:00:00Z,p01,3,0.00,France", "nonpositive_price"),  # no customer: a stock movement
    (b"D3,c001,2025-02-01T10:00:00Z,p01,3,-11062.06,France", "nonpositive_price"),
    (b"D4,c002,2025-02-02T10:00:00Z,p02,80995,2.08,France", "absurd_quantity"),
    (b"D5,c002,2025-02-02T10:00:00Z,p02,-80995,2.08,France", "absurd_quantity"),
    (b"D6,c002,2025-02-02T10:00:00Z,p02,2,250000,France", "absurd_price"),
    (b"D7,c003,2031-01-01T10:00:00Z,p02,2,2.50,France", "future_date"),
    (b"D8,c003,1970-01-01T00:00:00Z,p02,2,2.50,France", "date_too_old"),
    (b"D9,c003,yesterday,p02,2,2.50,France", "unparseable_date"),
    (b"D10,c003,2025-02-03T10:00:00Z,p02,two,2.50,France", "unparseable_quantity"),
    (b"D11,c003,2025-02-03T10:00:00Z,p02,1.5,2.50,France", "unparseable_quantity"),
    (b"D12,c003,2025-02-03T10:00:00Z,p02,2,NaN,France", "unparseable_price"),
    (b"D13,c003,2025-02-03T10:00:00Z,p02,2,\"2,55\",France", "unparseable_price"),
    (b",c003,2025-02-03T10:00:00Z,p02,2,2.50,France", "missing_order_id"),
    (b"D15,c003,2025-02-03T10:00:00Z,,2,2.50,France", "missing_product_id"),
    (b"D16,c003,2025-02-03T10:00:00Z,p02,2,2.50,France,extra,fields", "malformed_line"),
    # kept on purpose
    (b"K1,c900,2025-03-01T09:00:00Z,p50,-4,3.10,France", None),          # a customer with only returns
    (b"K2,c901,2025-03-02T09:00:00Z,p77,1,12.00,C\xf4te d'Ivoire", None),  # cp1252 text; p77 is sold once
    (b"K3,,2025-03-03T09:00:00Z,p01,2,2.50,Germany", None),              # a guest line
    (b"K4,c902,2025-03-04T09:00:00+02:00,p03,4800,1.10,Norway", None),   # big but plausible wholesale line
    (b"K5,c903,2025-03-05T09:00:00Z,p04,1,650.00,Spain", None),          # an expensive item
]


@pytest.fixture(scope="module")
def dirty_export(tmp_path_factory) -> tuple[Path, list[tuple[str, ...]]]:
    valid = _valid_lines()
    lines = [",".join(r).encode() for r in valid]
    lines += [",".join(valid[5]).encode(), ",".join(valid[6]).encode(), ",".join(valid[6]).encode()]  # duplicates
    lines += [line for line, _ in DIRT]
    path = tmp_path_factory.mktemp("dirty") / "export.csv"
    path.write_bytes(HEADER + b"\n".join(lines) + b"\n")
    return path, valid


@pytest.fixture(scope="module")
def imported(dirty_export, tmp_path_factory):
    path, valid = dirty_export
    lake = tmp_path_factory.mktemp("dirty-lake") / "lake"
    report = import_files(path, lake=lake, now=NOW)
    return lake, report, valid


def test_every_row_of_a_dirty_export_is_accounted_for(imported):
    _, report, valid = imported
    o = report["orders"]
    expected_rows = len(valid) + 3 + len(DIRT)
    assert o["rows_read"] == expected_rows
    assert o["rows_kept"] + sum(o["set_aside"].values()) == o["rows_read"]
    expected_aside: dict[str, int] = {"duplicate_line": 3}
    for _, reason in DIRT:
        if reason:
            expected_aside[reason] = expected_aside.get(reason, 0) + 1
    assert o["set_aside"] == expected_aside
    assert o["rows_kept"] == len(valid) + sum(1 for _, r in DIRT if r is None)


def test_nothing_valid_is_dropped_and_each_bad_line_is_kept_aside_with_its_reason(imported):
    lake, _, valid = imported
    kept = pd.read_parquet(lake / "orders")
    kept_keys = set(zip(kept["order_id"].astype(str), kept["product_id"].astype(str), kept["quantity"].astype(int),
                        strict=True))
    for row in valid:
        assert (row[0], row[3], int(row[4])) in kept_keys, f"valid line {row} was dropped"
    for order_id in ("K1", "K2", "K3", "K4", "K5"):
        assert order_id in set(kept["order_id"].astype(str)), f"{order_id} should be kept"
    aside = pd.read_parquet(lake / "_set_aside" / "orders.parquet")
    assert len(aside) == 3 + sum(1 for _, r in DIRT if r)
    by_id = dict(zip(aside["order_id"].fillna(""), aside["reason"], strict=True))
    for line, reason in DIRT:
        if reason and reason not in ("missing_order_id", "malformed_line"):
            assert by_id[line.split(b",")[0].decode()] == reason
    assert "malformed_line" in set(aside["reason"]) and aside["raw_text"].notna().any()


def test_non_utf8_text_is_decoded_not_dropped(imported):
    lake, report, _ = imported
    kept = pd.read_parquet(lake / "orders")
    assert "Côte d'Ivoire" in set(kept["country"].astype(str))
    assert report["source"]["non_utf8_rows"] == 1


def test_an_offset_timestamp_lands_on_its_utc_day(imported):
    lake, _, _ = imported
    kept = pd.read_parquet(lake / "orders")
    k4 = kept[kept["order_id"].astype(str) == "K4"].iloc[0]
    assert pd.Timestamp(k4["order_ts"]).strftime("%Y-%m-%d %H:%M") == "2025-03-04 07:00"


def test_the_refresh_runs_over_the_imported_dirty_lake_and_the_api_serves_it(imported, tmp_path):
    import handler

    lake, _, valid = imported
    engine = DuckDBEngine.over_lake(lake)
    features = engine.query("customer_features", {"cutoff": "2025-05-01"})
    ids = set(features["customer_id"].astype(str))
    assert "c900" not in ids, "a customer with only returns has no purchase, so no features"
    assert {"c901", "c902", "c903"} <= ids and not features["monetary_total"].isna().any()
    sales = engine.query("daily_sales", {"start": "2025-01-01", "end": "2025-05-01"})
    once = sales[sales["product_id"].astype(str) == "p77"]
    assert len(once) == 1 and float(once["quantity"].iloc[0]) == 1.0
    assert (sales["quantity"] > 0).all() and np.isfinite(sales["price"]).all()
    store = LocalSnapshotStore(tmp_path / "snapshots")
    result = refresh(engine, store, as_of=date(2025, 5, 1), side=FactorySide())
    assert result.manifest["lake"]["order_lines"] == len(valid) + sum(1 for _, r in DIRT if r is None)
    settings = Settings(snapshots=str(store.root), jwt_secret=SECRET)
    handler.configure(settings, store=store)
    try:
        token = mint_token(SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
        raw = handler.lambda_handler(v2("GET", "/demand-insights/health", query={}), FakeContext())
        assert raw["statusCode"] == 200 and body_of(raw)["snapshot"]["version"] == result.version
        raw = handler.lambda_handler(v2("POST", "/demand-insights/forecast", body={"product_id": "P1",
                                                                                  "forecast_days": 7},
                                        token=token), FakeContext())
        assert raw["statusCode"] == 200
    finally:
        handler.configure(Settings(snapshots=settings.snapshots))


def test_products_without_a_forecast_do_not_break_the_analyst_scores(tmp_path):
    """A product sold once has status insufficient_history and NaN forecasts in the snapshot; the analyst Parquet
    (required, non-null columns) must leave it out rather than fail the publish (seen on the real Online Retail)."""
    horizon = 5
    pred = np.vstack([np.full(horizon, 3.0), np.full(horizon, np.nan), np.full(horizon, 1.0)])
    forecast = {"product_id": np.array(["p01", "p77", "p02"]), "method": np.array(["model", "none", "tsb"]),
                "status": np.array(["ok", "insufficient_history", "fallback"]),
                "predicted_quantity": pred, "confidence_lower": pred - 1, "confidence_upper": pred + 1}
    frame = product_forecasts_frame(forecast, "2025-05-01")
    path = write_score_table(frame, "product_forecasts", score_path(tmp_path, "product_forecasts", "2025-05-01"))
    back = pd.read_parquet(path)
    assert sorted(set(back["product_id"])) == ["p01", "p02"] and len(back) == 2 * horizon
    assert not back["predicted_quantity"].isna().any()


@pytest.mark.skipif(not REAL_FILE.is_file(), reason=f"the real Online Retail file is not at {REAL_FILE}")
def test_the_real_online_retail_file_is_fully_accounted_for(tmp_path):
    report = import_files(REAL_FILE, lake=tmp_path / "lake", preset="online-retail")
    o = report["orders"]
    assert o["rows_read"] == 541_909
    assert o["rows_kept"] + sum(o["set_aside"].values()) == 541_909
    aside = pd.read_parquet(tmp_path / "lake" / "_set_aside" / "orders.parquet")
    assert len(aside) == sum(o["set_aside"].values())
    kept = DuckDBEngine.over_lake(tmp_path / "lake").query("lake_summary", {"cutoff": "2012-01-01"}).iloc[0]
    assert int(kept["order_lines"]) == o["rows_kept"]
    (tmp_path / "report.json").write_text(json.dumps(o))
