import pytest

from athena.duckdb_engine import DuckDBEngine
from athena.engine import DataAccessError


def test_a_corrupt_parquet_file_in_the_lake_is_a_data_access_error(tmp_path):
    part = tmp_path / "lake" / "orders" / "order_date=2024-01-01"
    part.mkdir(parents=True)
    (part / "data_0.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(DataAccessError, match="cannot read lake table orders"):
        DuckDBEngine.over_lake(tmp_path / "lake")
