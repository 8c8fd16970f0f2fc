import boto3
import pandas as pd
import pytest
from athena_tiny_lake import customers_frame, orders_frame
from moto import mock_aws
from moto.athena.models import athena_backends

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

REGION = "us-east-1"


@pytest.fixture()
def aws(monkeypatch):
    """moto's AWS with the Athena work group and result bucket the engine tests use; yields Athena's backend."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="athena-results")
        boto3.client("athena", region_name=REGION).create_work_group(Name="insights-wg")
        yield athena_backends[boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]][REGION]
