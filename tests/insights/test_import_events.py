"""Importing reviews and engagement files: a round trip into the lake, counts that add up, --map, one error line for
bad input, and a lake replaced whole (an import without the files has no such tables)."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from athena.duckdb_engine import DuckDBEngine
from insights.cli.main import main as cli
from insights.data.importer import import_files

NOW = datetime(2012, 1, 1, tzinfo=UTC)
ORDERS = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
          "536365,85123A,HOLDER,6,2011-06-01 08:26:00,2.55,17850.0,United Kingdom\n"
          "536366,22633,WARMER,6,2011-06-02 08:28:00,1.85,12583.0,France\n")
REVIEWS = ("user_id,sku,stars,text,review_date\n"
           "17850.0,85123A,5,Lovely,2011-06-05 10:00:00\n"          # kept (user_id mapped, 17850.0 -> 17850)
           "12583,22633,2,Flimsy\x1eand late,2011-06-06T09:00:00Z\n"  # kept; the separator becomes a space
           "12583,22633,6,Too good,2011-06-07 09:00:00\n"            # unparseable_rating
           ",22633,4,Anonymous,2011-06-07 09:00:00\n"                # missing_customer_id
           "12583,22633,4,Later,2012-06-07 09:00:00\n"               # future_date
           "12583,22633,four,Words,2011-06-07 09:00:00\n")           # unparseable_rating
ENGAGEMENT = ("cust,what,when\n"
              "17850,Email Open,2011-06-03 08:00:00\n"   # kept as email_open
              "17850,session,2011-06-04 08:00:00\n"
              "17850,session,2011-06-04 08:00:00\n"      # duplicate_line
              "12583,,2011-06-04 08:00:00\n"             # missing_event_kind
              "12583,email_click,yesterday\n")           # unparseable_date
MAPS = {"cust": "customer_id", "what": "event_kind", "when": "event_ts"}


@pytest.fixture()
def files(tmp_path):
    out = {}
    for name, text in (("orders", ORDERS), ("reviews", REVIEWS), ("engagement", ENGAGEMENT)):
        out[name] = tmp_path / f"{name}.csv"
        out[name].write_text(text)
    return out


def test_reviews_and_engagement_round_trip_with_counts_that_add_up(tmp_path, files):
    lake = tmp_path / "lake"
    report = import_files(files["orders"], lake=lake, preset="online-retail", now=NOW, maps=MAPS,
                          reviews_file=files["reviews"], engagement_file=files["engagement"])
    r, e = report["reviews"], report["engagement"]
    assert r["set_aside"] == {"missing_customer_id": 1, "unparseable_rating": 2, "future_date": 1}
    assert e["set_aside"] == {"missing_event_kind": 1, "unparseable_date": 1, "duplicate_line": 1}
    for part in (r, e):
        assert part["rows_kept"] + sum(part["set_aside"].values()) == part["rows_read"]
    assert r["mapping"] == {"customer_id": "user_id", "product_id": "sku", "rating": "stars", "review_text": "text",
                            "review_ts": "review_date"}
    con = DuckDBEngine.over_lake(lake).connection
    got = con.execute("SELECT customer_id, product_id, rating, review_text, review_date FROM reviews "
                      "ORDER BY review_ts").fetchall()
    assert [g[:4] for g in got] == [("17850", "85123A", 5, "Lovely"), ("12583", "22633", 2, "Flimsy and late")]
    assert con.execute("SELECT customer_id, event_kind FROM engagement ORDER BY event_ts").fetchall() == [
        ("17850", "email_open"), ("17850", "session")]
    aside = pd.read_parquet(lake / "_set_aside" / "reviews.parquet")
    assert sorted(aside["reason"]) == ["future_date", "missing_customer_id", "unparseable_rating",
                                       "unparseable_rating"]
    # the next import without the two files replaces the lake whole: no reviews, no engagement
    import_files(files["orders"], lake=lake, preset="online-retail", now=NOW)
    assert not (lake / "reviews").exists() and not (lake / "engagement").exists()
    assert DuckDBEngine.over_lake(lake).connection.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_an_engagement_file_without_a_timestamp_column_exits_2_and_leaves_the_lake(tmp_path, files, capsys):
    lake = tmp_path / "lake"
    args = ["import", str(files["orders"]), "--preset", "online-retail", "--lake", str(lake)]
    assert cli(args) == 0
    before = sorted(p.relative_to(lake) for p in lake.rglob("*"))
    capsys.readouterr()
    assert cli([*args, "--engagement", str(files["engagement"]), "--map", "cust=customer_id",
                "--map", "what=event_kind"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no column for event_ts" in err[0] and "--map" in err[0]
    assert sorted(p.relative_to(lake) for p in lake.rglob("*")) == before
    assert cli([*args, "--reviews", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
