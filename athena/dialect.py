"""Athena (Trino) SQL -> DuckDB SQL with sqlglot, keeping Trino's meaning where DuckDB's differs."""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB

__all__ = ["TrinoSemanticsDuckDB", "to_duckdb", "parse_athena"]


def _date_diff_whole_units(self: DuckDB.Generator, expression: exp.DateDiff) -> str:
    # Trino's date_diff counts whole units elapsed; DuckDB's DATE_DIFF counts boundaries crossed
    # (23:00 -> 01:00 next day is 0 days in Trino, 1 in DuckDB). DuckDB's DATE_SUB is Trino's meaning.
    unit = expression.text("unit").upper() or "DAY"
    return self.func("DATE_SUB", exp.Literal.string(unit), expression.expression, expression.this)


def _from_base(self: DuckDB.Generator, expression: exp.FromBase) -> str:
    # Trino's from_base(text, 16); DuckDB has no from_base but casts '0x<hex>' text to an integer
    base = expression.expression
    if not (isinstance(base, exp.Literal) and base.this == "16"):
        self.unsupported("from_base is transpiled for base 16 only")
    text = exp.DPipe(this=exp.Literal.string("0x"), expression=expression.this)
    return self.sql(exp.cast(exp.paren(text), exp.DataType.build("BIGINT")))


class TrinoSemanticsDuckDB(DuckDB):
    """DuckDB output that keeps Trino's date_diff semantics (and reads Trino's from_base(x, 16)).

    Integer division is the other silent trap; DuckDBEngine sets ``integer_division = true``
    on its connection so that ``7 / 2`` is 3 on both engines.
    """

    class Generator(DuckDB.Generator):
        TRANSFORMS = {**DuckDB.Generator.TRANSFORMS, exp.DateDiff: _date_diff_whole_units,
                      exp.FromBase: _from_base}


@lru_cache(maxsize=256)
def to_duckdb(athena_sql: str) -> str:
    """Transpile one Athena statement into DuckDB SQL."""
    return sqlglot.transpile(athena_sql, read="athena", write=TrinoSemanticsDuckDB)[0]


def parse_athena(sql: str) -> exp.Expression:
    """Parse one statement as Athena SQL; raises sqlglot.errors.ParseError when it is not."""
    return sqlglot.parse_one(sql, read="athena")
