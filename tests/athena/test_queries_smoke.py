import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from athena.dialect import parse_athena
from athena.engine import load_sql, query_names, render

PARAMS = {"cutoff": "2024-03-01", "split": "2024-02-01", "horizon_days": 60, "start": "2023-01-01", "end": "2024-12-01",
          "period": "month"}


def test_every_query_parses_as_athena_sql_after_rendering():
    assert set(query_names()) >= {"customer_features", "customer_labels", "daily_sales", "lake_summary"}
    for name in query_names():
        tree = parse_athena(render(load_sql(name), PARAMS))
        # every query reads the lake: orders, or the optional reviews and engagement tables
        assert {t.name for t in tree.find_all(exp.Table)} & {"orders", "reviews", "engagement"}
        # nothing in it that sqlglot knows Trino or DuckDB cannot express
        for dialect in ("trino", "duckdb"):
            sqlglot.transpile(render(load_sql(name), PARAMS), read="athena", write=dialect,
                              unsupported_level=ErrorLevel.RAISE)


def test_cutoff_day_itself_is_excluded_from_features(duck):
    features = duck.query("customer_features", {"cutoff": "2024-03-01"}).set_index("customer_id")
    # c2's order on 2024-03-01 00:00 is on the cutoff day: not a feature, but a label.
    assert features.loc["c2", "frequency"] == 1
    labels = duck.query("customer_labels", {"cutoff": "2024-03-01", "horizon_days": 60}).set_index("customer_id")
    assert labels.loc["c2", "future_orders"] == 2
    assert "c3" not in features.index and "c3" not in labels.index


def test_date_diff_keeps_trino_whole_unit_semantics_on_duckdb(duck):
    from athena.dialect import to_duckdb

    sql = to_duckdb(
        "SELECT date_diff('day', TIMESTAMP '2024-02-05 23:30:00', TIMESTAMP '2024-02-06 00:30:00') AS ts_days, "
        "date_diff('day', DATE '2024-02-05', DATE '2024-02-06') AS date_days, "
        "date_diff('day', DATE '2024-03-01', DATE '2024-02-28') AS backwards, "
        "date_diff('hour', TIMESTAMP '2024-02-05 23:30:00', TIMESTAMP '2024-02-06 00:29:00') AS hours"
    )
    assert duck.connection.execute(sql).fetchone() == (0, 1, -2, 0)  # DuckDB's own date_diff says 1 and 1


def test_integer_division_matches_trino(duck):
    from athena.dialect import to_duckdb

    assert duck.connection.execute(to_duckdb("SELECT 7 / 2 AS q, -7 / 2 AS n")).fetchone() == (3, -3)


def test_daily_sales_prunes_date_partitions_on_duckdb(duck):
    plan = "\n".join(row[1] for row in duck.connection.execute(
        "EXPLAIN " + duck.sql_for("daily_sales", {"start": "2024-02-06", "end": "2024-02-07"})).fetchall())
    assert "File Filters" in plan and "order_date" in plan.split("File Filters", 1)[1]
    scanned, total = plan.split("Scanning Files:", 1)[1].split()[0].split("/")
    assert int(total) > 10 and int(scanned) <= 2, plan  # a multi-day lake, one or two day folders read


def test_unknown_query_is_a_data_access_error(duck):
    import pytest

    from athena.engine import DataAccessError

    with pytest.raises(DataAccessError, match="unknown query 'nope'"):
        duck.query("nope", {})


def test_customer_features_reads_only_partitions_before_the_cutoff(duck):
    plan = "\n".join(row[1] for row in duck.connection.execute(
        "EXPLAIN " + duck.sql_for("customer_features", {"cutoff": "2024-01-02"})).fetchall())
    scans = [part.split()[0].split("/") for part in plan.split("Scanning Files:")[1:]]
    assert scans and all(int(read) <= 3 < int(total) for read, total in scans), plan  # 2023-09-01 .. 2024-01-01


def test_a_missing_or_remote_lake_is_an_error_not_an_empty_answer(tmp_path):
    import pytest

    from athena.duckdb_engine import DuckDBEngine
    from athena.engine import DataAccessError

    with pytest.raises(DataAccessError, match="no lake at"):
        DuckDBEngine.over_lake(tmp_path / "typo")
    with pytest.raises(DataAccessError, match="local lake folder"):
        DuckDBEngine.over_lake("s3://bucket/lake")
    (tmp_path / "empty").mkdir()
    assert DuckDBEngine.over_lake(tmp_path / "empty").query("lake_summary", {"cutoff": "2024-01-01"}).iloc[0][
        "order_lines"] == 0  # an existing lake without data is a valid, empty lake


def test_parameters_are_rendered_as_escaped_literals_not_sql(duck):
    import pytest

    from athena.engine import DataAccessError

    text = render(load_sql("lake_summary"), {"cutoff": "2024-03-01' OR '1'='1"})
    assert "DATE '2024-03-01'' OR ''1''=''1'" in text  # one quoted string literal, quotes doubled
    with pytest.raises(DataAccessError):  # not a date: the engine refuses it instead of running injected SQL
        duck.query("lake_summary", {"cutoff": "2024-03-01' OR '1'='1"})
