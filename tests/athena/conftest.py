import pandas as pd
import pytest
from athena_tiny_lake import customers_frame, orders_frame

from athena.duckdb_engine import DuckDBEngine
from insights.data.lake import write_lake


@pytest.fixture(scope="session")
def tiny_orders() -> pd.DataFrame:
    return orders_frame()


@pytest.fixture(scope="session")
def tiny_customers() -> pd.DataFrame:
    return customers_frame()


@pytest.fixture(scope="session")
def tiny_lake(tmp_path_factory, tiny_orders, tiny_customers):
    lake = tmp_path_factory.mktemp("lake") / "lake"
    write_lake(lake, tiny_orders, tiny_customers)
    return lake


@pytest.fixture()
def duck(tiny_lake) -> DuckDBEngine:
    return DuckDBEngine.over_lake(tiny_lake)
