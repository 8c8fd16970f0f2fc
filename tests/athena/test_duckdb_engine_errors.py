import pytest

from athena.duckdb_engine import DuckDBEngine
from athena.engine import DataAccessError


def test_a_corrupt_parquet_file_in_the_lake_is_a_data_access_error(tmp_path):
    part = tmp_path / "lake" / "orders" / "order_date=2024-01-01"
    part.mkdir(parents=True)
    (part / "data_0.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(DataAccessError, match="cannot read lake table orders"):
        DuckDBEngine.over_lake(tmp_path / "lake")


@pytest.mark.parametrize("limit", ["1GB", "512MiB", "40%", " 2.5GB "])
def test_the_memory_limit_setting_reaches_duckdb(tiny_lake, limit):
    engine = DuckDBEngine.over_lake(tiny_lake, memory_limit=limit)
    shown = engine.connection.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert shown != DuckDBEngine.over_lake(tiny_lake).connection.execute(
        "SELECT current_setting('memory_limit')").fetchone()[0]
    assert len(engine.query("lake_summary", {"cutoff": "2024-03-01"})) == 1


@pytest.mark.parametrize("limit", ["lots", "1GB'; SELECT 1; --", "GB"])
def test_a_memory_limit_that_is_not_a_size_is_refused(tiny_lake, limit):
    with pytest.raises(DataAccessError, match="memory limit"):
        DuckDBEngine.over_lake(tiny_lake, memory_limit=limit)


def test_the_insights_setting_caps_the_refresh_engine(tiny_lake):
    from insights.config import load_settings
    from insights.refresh.wiring import engine_from_settings

    def shown(engine):
        return engine.connection.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    env = {"INSIGHTS_LAKE": str(tiny_lake), "INSIGHTS_DUCKDB_MEMORY_LIMIT": "1GB"}
    capped = engine_from_settings(load_settings(env))
    assert shown(capped) == shown(DuckDBEngine.over_lake(tiny_lake, memory_limit="1GB"))
    assert shown(engine_from_settings(load_settings({"INSIGHTS_LAKE": str(tiny_lake)}))) != shown(capped)
