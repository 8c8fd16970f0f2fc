"""The lake's data contract, loaded from contract.json (the file Terraform's Glue tables read too)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["Column", "Table", "lake_tables", "score_tables", "CONTRACT_PATH"]

CONTRACT_PATH = Path(__file__).with_name("contract.json")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool
    comment: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _tables(section: str) -> dict[str, Table]:
    raw = json.loads(CONTRACT_PATH.read_text())[section]
    return {
        name: Table(
            name=name,
            description=spec["description"],
            columns=tuple(Column(**c) for c in spec["columns"]),
            partition_keys=tuple(Column(required=True, **c) for c in spec["partition_keys"]),
        )
        for name, spec in raw.items()
    }


@cache
def lake_tables() -> dict[str, Table]:
    """The raw tables: orders, customers and the optional reviews and engagement."""
    return _tables("lake_tables")


@cache
def score_tables() -> dict[str, Table]:
    """The tables the refresh publishes for analysts."""
    return _tables("score_tables")
