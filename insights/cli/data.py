"""``python -m insights sample | import | query``: the local data commands (argparse in, one line of error out)."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import date

from athena.duckdb_engine import DuckDBEngine
from athena.engine import DataAccessError
from insights.config import Settings
from insights.data.importer import PRESETS, format_report, import_files, parse_maps
from insights.data.rules import ImportRules
from insights.data.sample import SampleSpec, generate, write_sample
from insights.errors import ImportFailed

__all__ = ["sample", "import_orders", "query"]


def sample(args: argparse.Namespace, settings: Settings) -> int:
    """CLI entry point: generate the sample and write it to ``--lake`` (default: settings.lake)."""
    settings = settings.with_overrides(lake=args.lake)
    if "://" in settings.lake:
        print(f"error: sample writes a local lake folder, not {settings.lake}", file=sys.stderr)
        return 2
    try:
        end = date.fromisoformat(args.end) if args.end else None
        spec = SampleSpec(args.customers, args.products, args.days, args.seed, end).resolved()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    sample = generate(spec)
    generated = time.perf_counter()
    write_sample(settings.lake, sample)
    c = sample.truth.meta["counts"]
    print(f"sample lake {settings.lake}: {c['lines']:,} lines ({c['guest_lines']:,} guest, {c['return_lines']:,} "
          f"returns) in {c['purchase_orders'] + c['return_orders']:,} orders, {spec.customers:,} customers, "
          f"{spec.products:,} products, {sample.truth.meta['start']} to {spec.end}; generated in "
          f"{generated - started:.1f} s, written in {time.perf_counter() - generated:.1f} s")
    return 0


def import_orders(args: argparse.Namespace, settings: Settings) -> int:
    """CLI entry: exit 0 with the report on stdout, 2 with one error line when the input cannot be used."""
    settings = settings.with_overrides(lake=args.lake)
    if str(settings.lake).startswith("s3://"):
        print("error: import writes a local lake folder; import locally, then copy it to S3 "
              "(the layout is the same)", file=sys.stderr)
        return 2
    try:
        chosen_rules = None
        timezone = getattr(args, "timezone", None)
        if timezone or getattr(args, "keep_duplicates", False):
            base = PRESETS[args.preset].rules if args.preset else ImportRules()
            chosen_rules = replace(base, timezone=timezone or base.timezone,
                                   keep_duplicates=bool(getattr(args, "keep_duplicates", False)))
        report = import_files(args.orders_file, lake=settings.lake, customers_file=args.customers_file,
                              preset=args.preset, maps=parse_maps(args.map), rules=chosen_rules)
    except ImportFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: could not write the lake at {settings.lake}: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    o = report["orders"]
    if o["rows_kept"] < 0.5 * o["rows_read"]:
        top = max(o["set_aside"], key=o["set_aside"].get)
        print(f"warning: {1 - o['rows_kept'] / o['rows_read']:.0%} of the rows were set aside (mostly {top}); "
              "check the mapping, the preset and --timezone", file=sys.stderr)
    return 0


def query(args: argparse.Namespace, settings: Settings) -> int:
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
