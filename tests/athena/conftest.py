import pandas as pd
import pytest

from athena.duckdb_engine import DuckDBEngine
from insights.lake import write_lake

# A tiny hand-made lake. Cutoff used by the tests: 2024-03-01 (lines on that day and later are "future").
ORDERS = [
    # order_id, customer_id, order_ts, product_id, quantity, unit_price
    ("o1", "c1", "2024-01-01 10:00", "p1", 2, 5.0),
    ("o1", "c1", "2024-01-01 10:00", "p2", 1, 10.0),
    ("o2", "c1", "2024-02-10 23:30", "p1", 1, 5.0),
    ("r1", "c1", "2024-02-12 09:00", "p2", -1, 10.0),  # a return-only order
    ("o3", "c1", "2024-02-29 23:59", "p3", 4, 2.5),
    ("o4", "c2", "2023-12-15 08:00", "p1", 10, 4.0),
    ("o5", "c2", "2024-03-01 00:00", "p1", 3, 4.0),  # on the cutoff day: future
    ("o6", "c2", "2024-04-15 12:00", "p2", 1, 10.0),
    ("o7", None, "2024-02-20 12:00", "p1", 5, 5.0),  # guest line: product demand only
    ("o8", "c3", "2024-05-30 12:00", "p3", 1, 2.5),  # first seen after the cutoff
    ("o9", "c4", "2024-02-01 12:00", "p2", -2, 10.0),  # only a return before the cutoff
]


@pytest.fixture(scope="session")
def tiny_orders() -> pd.DataFrame:
    frame = pd.DataFrame(ORDERS, columns=["order_id", "customer_id", "order_ts", "product_id", "quantity", "unit_price"])
    frame["order_ts"] = pd.to_datetime(frame["order_ts"], utc=True)
    frame["country"] = "UK"
    return frame


@pytest.fixture(scope="session")
def tiny_lake(tmp_path_factory, tiny_orders):
    lake = tmp_path_factory.mktemp("lake") / "lake"
    customers = pd.DataFrame(
        {"customer_id": ["c1", "c2"], "email": ["a@example.com", "b@example.com"],
         "created_at": pd.to_datetime(["2023-06-01", "2024-01-01"], utc=True)}
    )
    write_lake(lake, tiny_orders, customers)
    return lake


@pytest.fixture()
def duck(tiny_lake) -> DuckDBEngine:
    return DuckDBEngine.over_lake(tiny_lake)
