"""The portable shard key: the same shard for an id in Python, DuckDB and Athena (Trino).

shard(id) = int(first 8 hex digits of md5(utf-8 id), 16) mod N. Eight hex digits are at most 2^32 - 1, so
the integer is never negative on any engine (a wider prefix overflows a signed BIGINT, and ``%`` of a negative
number differs between engines); the engines' own ``hash()`` functions differ from each other, md5 does not.
The SQL is Trino's text: Athena runs it as is, DuckDBEngine transpiles it (athena/dialect.py reads from_base).
"""

from __future__ import annotations

import hashlib

__all__ = ["MAX_SHARDS", "shard_of", "shard_sql", "sharded_select", "check_shards"]

MAX_SHARDS = 100  # Athena's UNLOAD writes at most 100 partitions


def check_shards(shards: int) -> int:
    """``shards`` as an int in 1..MAX_SHARDS, else ValueError."""
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
        raise ValueError(f"shards must be an integer from 1 to {MAX_SHARDS} (Athena UNLOAD's partition limit), "
                         f"not {shards!r}")
    return shards


def shard_of(key: str, shards: int) -> int:
    """The shard of one id, in Python."""
    return int(hashlib.md5(str(key).encode("utf-8")).hexdigest()[:8], 16) % shards


def shard_sql(column: str, shards: int) -> str:
    """The shard of ``column`` (a string expression) as Trino SQL; DuckDB runs its sqlglot transpilation."""
    check_shards(shards)
    return f"from_base(substr(to_hex(md5(to_utf8(CAST({column} AS varchar)))), 1, 8), 16) % {shards}"


def sharded_select(inner_sql: str, key: str, shards: int) -> str:
    """The rendered ``inner_sql`` with its rows' shard of column ``key`` as a last column ``shard`` (Trino text).

    Both engines' unload wrappers take this SELECT: a partition column must come last in Athena's UNLOAD.
    """
    inner = inner_sql.strip().rstrip(";")
    return f"SELECT q.*, {shard_sql(f'q.{key}', shards)} AS shard FROM ({inner}) AS q"
