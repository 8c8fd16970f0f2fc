"""The shard key is portable: Python, DuckDB (the transpiled SQL) and the Trino text Athena receives agree."""

import hashlib

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from athena.dialect import parse_athena, to_duckdb
from athena.shard import MAX_SHARDS, check_shards, shard_of, shard_sql

IDS = [f"C{i:05d}" for i in range(3000)] + ["", "ü-Kunde", "客户-7", "O'Brien", "12345", "P0001", " x "]


def _negative_as_int32(key: str) -> bool:
    """The first 8 hex digits of md5 read as a signed 32-bit int are negative: a naive key goes wrong there."""
    return int(hashlib.md5(key.encode()).hexdigest()[:8], 16) >= 2**31


def _trino_eval(node: exp.Expression, key: str):
    """Evaluate the shard expression with Trino's semantics for each function (an independent reading)."""
    if isinstance(node, exp.Column):
        return key
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else int(node.this)
    if isinstance(node, exp.Cast):
        return str(_trino_eval(node.this, key))
    if isinstance(node, exp.Encode):  # to_utf8
        return _trino_eval(node.this, key).encode("utf-8")
    if isinstance(node, exp.MD5Digest):  # md5(varbinary) -> varbinary
        return hashlib.md5(_trino_eval(node.this, key)).digest()
    if isinstance(node, exp.Hex):  # to_hex: upper-case hex
        return _trino_eval(node.this, key).hex().upper()
    if isinstance(node, exp.Substring):  # substr(text, start 1-based, length)
        start, length = _trino_eval(node.args["start"], key), _trino_eval(node.args["length"], key)
        return _trino_eval(node.this, key)[start - 1:start - 1 + length]
    if isinstance(node, exp.FromBase):
        return int(_trino_eval(node.this, key), _trino_eval(node.expression, key))
    if isinstance(node, exp.Mod):  # Trino's % keeps the dividend's sign: a negative value would stay negative
        a, b = _trino_eval(node.this, key), _trino_eval(node.expression, key)
        return int(abs(a) % b) * (1 if a >= 0 else -1)
    if isinstance(node, exp.Paren):
        return _trino_eval(node.this, key)
    raise AssertionError(f"unexpected node in the shard SQL: {node!r}")


@pytest.mark.parametrize("shards", [1, 7, 16, 100])
def test_python_duckdb_and_athena_text_agree_on_every_id(shards):
    assert any(_negative_as_int32(k) for k in IDS) and not all(_negative_as_int32(k) for k in IDS)
    python = [shard_of(k, shards) for k in IDS]
    assert all(0 <= s < shards for s in python)
    trino_sql = f"SELECT id, {shard_sql('id', shards)} AS shard FROM ids"
    shard_expr = parse_athena(trino_sql).selects[1].this  # exactly what Athena receives, parsed as Trino
    athena = [_trino_eval(shard_expr, k) for k in IDS]
    con = duckdb.connect()
    con.execute("CREATE TABLE ids (pos INTEGER, id VARCHAR)")
    con.executemany("INSERT INTO ids VALUES (?, ?)", list(enumerate(IDS)))
    duck = dict(con.execute(to_duckdb(trino_sql)).fetchall())
    assert athena == python
    assert [duck[k] for k in IDS] == python


def test_the_key_spreads_ids_over_every_shard():
    counts = [0] * 16
    for k in IDS:
        counts[shard_of(k, 16)] += 1
    assert min(counts) > len(IDS) / 16 * 0.7


def test_the_trino_text_is_what_the_docs_say_and_parses_as_athena():
    text = shard_sql("customer_id", 7)
    assert text == "from_base(substr(to_hex(md5(to_utf8(CAST(customer_id AS varchar)))), 1, 8), 16) % 7"
    assert sqlglot.parse_one(f"SELECT {text}", read="athena") is not None


@pytest.mark.parametrize("bad", [0, -1, MAX_SHARDS + 1, 2.0, True])
def test_shard_counts_outside_unloads_limit_are_refused(bad):
    with pytest.raises(ValueError, match="shards must be"):
        check_shards(bad)
