"""``python -m insights query NAME --param cutoff=2011-06-01``: run a shared query on the local lake."""

from __future__ import annotations

import argparse
import sys
import time

from insights.config import Settings

__all__ = ["main"]


def main(args: argparse.Namespace, settings: Settings) -> int:
    from athena.duckdb_engine import DuckDBEngine
    from athena.engine import DataAccessError

    settings = settings.with_overrides(lake=args.lake)
    params: dict[str, object] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"error: --param {item!r} is not NAME=VALUE", file=sys.stderr)
            return 2
        params[key] = int(value) if value.isdigit() else value
    started = time.perf_counter()
    try:
        frame = DuckDBEngine.from_settings(settings).query(args.name, params)
    except DataAccessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(frame.head(args.limit).to_string(index=False))
    print(f"{len(frame):,} rows in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return 0
