from athena.dialect import parse_athena
from athena.engine import load_sql, query_names, render

PARAMS = {"cutoff": "2024-03-01", "horizon_days": 60, "start": "2023-01-01", "end": "2024-12-01"}


def test_every_query_parses_as_athena_sql_after_rendering():
    assert set(query_names()) >= {"customer_features", "customer_labels", "daily_sales", "lake_summary"}
    for name in query_names():
        assert parse_athena(render(load_sql(name), PARAMS)) is not None


def test_cutoff_day_itself_is_excluded_from_features(duck):
    features = duck.query("customer_features", {"cutoff": "2024-03-01"}).set_index("customer_id")
    # c2's order on 2024-03-01 00:00 is on the cutoff day: not a feature, but a label.
    assert features.loc["c2", "frequency"] == 1
    labels = duck.query("customer_labels", {"cutoff": "2024-03-01", "horizon_days": 60}).set_index("customer_id")
    assert labels.loc["c2", "future_orders"] == 2
    assert "c3" not in features.index and "c3" not in labels.index
