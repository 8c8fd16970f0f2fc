"""Extract per shard: each adapter wraps the shared SELECT (DuckDB COPY ... PARTITION_BY, Athena UNLOAD)."""

import re

import pandas as pd
import pytest
from athena_tiny_lake import CUTOFF

from athena.athena_engine import AthenaEngine
from athena.dialect import parse_athena, to_duckdb
from athena.engine import DataAccessError, UnloadingEngine, load_sql, render
from athena.shard import shard_of
from insights.config import Settings

REGION = "us-east-1"
PARAMS = {"cutoff": CUTOFF}


def _read_shards(folder) -> dict[int, pd.DataFrame]:
    out = {}
    for part in sorted(folder.glob("shard=*")):
        frames = [pd.read_parquet(f) for f in sorted(part.glob("*.parquet"))]
        out[int(part.name.split("=")[1])] = pd.concat(frames, ignore_index=True)
    return out


def test_duckdb_unload_writes_every_row_once_into_its_shards_folder(duck, tmp_path):
    assert isinstance(duck, UnloadingEngine)
    whole = duck.query("customer_features", PARAMS)
    duck.unload("customer_features", PARAMS, key="customer_id", shards=3, target=str(tmp_path / "run1" / "c"))
    parts = _read_shards(tmp_path / "run1" / "c")
    assert parts and set(parts) <= {0, 1, 2}
    for shard, frame in parts.items():
        assert "shard" not in frame.columns  # the partition column lives in the folder name
        assert {shard_of(c, 3) for c in frame["customer_id"]} == {shard}
    got = pd.concat(parts.values()).sort_values("customer_id").reset_index(drop=True)
    assert list(got["customer_id"]) == sorted(whole["customer_id"])
    assert list(got.columns) == list(whole.columns)


def test_duckdb_unload_refuses_a_target_that_holds_files(duck, tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "old.parquet").write_bytes(b"x")
    with pytest.raises(DataAccessError, match="not empty"):
        duck.unload("customer_features", PARAMS, key="customer_id", shards=2, target=str(tmp_path / "c"))



def test_athena_unload_sends_the_shared_select_inside_an_unload_with_shard_partitions(aws, duck, tmp_path):
    engine = AthenaEngine.from_settings(Settings(athena_database="insights_db", athena_workgroup="insights-wg",
                                                 athena_output_location="s3://athena-results/q/", region=REGION))
    engine.unload("customer_features", PARAMS, key="customer_id", shards=7, target="s3://work/run-42/customers")
    sent = [e.query for e in aws.executions.values()]
    assert len(sent) == 1
    m = re.fullmatch(r"UNLOAD \((?P<select>.*)\) TO 's3://work/run-42/customers/' WITH \(format = 'PARQUET', "
                     r"compression = 'SNAPPY', partitioned_by = ARRAY\['shard'\]\)", sent[0], re.DOTALL)
    assert m, sent[0]
    select = m.group("select")
    assert render(load_sql("customer_features"), PARAMS) in select  # the shared SQL, untouched, inside
    tree = parse_athena(select)
    assert tree.selects[-1].alias == "shard"  # the partition column comes last, as UNLOAD requires
    # the very text Athena receives computes, on DuckDB, the rows and shards DuckDB's own COPY writes
    rows = duck.connection.execute(to_duckdb(select)).df()
    duck.unload("customer_features", PARAMS, key="customer_id", shards=7, target=str(tmp_path / "c"))
    for shard, frame in _read_shards(tmp_path / "c").items():
        assert sorted(frame["customer_id"]) == sorted(rows.loc[rows["shard"] == shard, "customer_id"])


def test_athena_unload_needs_an_s3_target():
    engine = AthenaEngine(connection=None)
    with pytest.raises(DataAccessError, match="s3://"):
        engine.unload("customer_features", PARAMS, key="customer_id", shards=2, target="/tmp/x")
