"""Importing the optional ``reviews`` and ``engagement`` files beside the orders (``import --reviews/--engagement``).

Each file is read like the orders (insights/data/sources.py), mapped (the contract's names, a few usual source
names, then ``--map``), cleaned by insights/data/event_rules.py, and reported: its counts add up to the rows read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from insights.data.event_rules import EVENT_CANDIDATES, EVENT_COLUMNS, EVENT_REASONS, EVENT_REQUIRED, clean_events
from insights.data.mapping import resolve_mapping
from insights.data.rules import ImportRules
from insights.data.sources import read_source

__all__ = ["EventImport", "import_event_file", "event_columns"]


@dataclass
class EventImport:
    """One event file after the rules: kept rows (contract columns), set-aside rows and the report entry."""

    kept: pd.DataFrame
    aside: pd.DataFrame
    report: dict[str, Any]
    source_columns: list[str]


def event_columns() -> set[str]:
    """Every contract column an event file can be mapped to (for --map's check)."""
    return {c for cols in EVENT_COLUMNS.values() for c in cols}


def import_event_file(table: str, path: str | Path, maps: Mapping[str, str], rules: ImportRules, *,
                      now: datetime) -> EventImport:
    """Read, map and clean one ``reviews`` or ``engagement`` file; raises ImportFailed naming what is wrong."""
    source = read_source(path)
    user = {s: d for s, d in maps.items() if s in source.columns and d in EVENT_COLUMNS[table]}
    mapping = resolve_mapping(source.columns, EVENT_COLUMNS[table], EVENT_CANDIDATES[table], user,
                              required=EVENT_REQUIRED[table], what=f"{path} ({table})")
    cleaned = clean_events(table, source.frame, mapping, rules, now=now)
    counts = cleaned.reasons.value_counts().to_dict()
    if source.malformed:
        counts["malformed_line"] = len(source.malformed)
    rows_read = len(source.frame) + len(source.malformed)
    set_aside = {r: int(counts[r]) for r in EVENT_REASONS if counts.get(r)}
    aside = source.frame[cleaned.reasons.notna().to_numpy()].astype("string")
    aside.insert(0, "reason", cleaned.reasons[cleaned.reasons.notna()])
    aside.insert(1, "source_row", aside.index.astype("int64") + 1)
    if source.malformed:
        bad = pd.DataFrame({"reason": "malformed_line", "source_row": pd.array([r for r, _ in source.malformed],
                            dtype="Int64"), "raw_text": [t for _, t in source.malformed]})
        aside = pd.concat([aside, bad], ignore_index=True)
    kept = cleaned.kept
    ts = kept["review_ts" if table == "reviews" else "event_ts"]
    report = {"file": str(path), "format": source.format, "encoding": source.encoding, "mapping": mapping,
              "rows_read": rows_read, "rows_kept": rows_read - sum(set_aside.values()), "set_aside": set_aside,
              "customers": int(kept["customer_id"].nunique()),
              "first_ts": ts.min().isoformat() if len(kept) else None,
              "last_ts": ts.max().isoformat() if len(kept) else None}
    if table == "engagement":
        report["kinds"] = {str(k): int(v) for k, v in kept["event_kind"].value_counts().sort_index().items()}
    return EventImport(kept=kept, aside=aside.reset_index(drop=True), report=report, source_columns=source.columns)
