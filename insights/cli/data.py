"""``python -m insights sample | import | query``: the local data commands (argparse in, one line of error out)."""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from athena.duckdb_engine import DuckDBEngine
from athena.engine import DataAccessError, query_names, query_parameters
from insights.cli.hints import fail, insights_command, located, location_flags, missing_lake_message
from insights.cli.main import IMPORT_THRESHOLDS
from insights.config import DEFAULT_WORKSPACE, Settings, check_workspace
from insights.data.importer import PRESETS, format_report, import_files, parse_maps, pseudonymize_ids
from insights.data.rules import ImportRules
from insights.data.sample import SampleSpec, generate, write_sample
from insights.errors import ImportFailed
from insights.pseudonym import pseudonymizer_from_settings

__all__ = ["sample", "import_orders", "query", "import_workspace", "parse_query_params"]

_EXAMPLES = {"date": "YYYY-MM-DD", "integer": "90", "text": "VALUE"}


def sample(args: argparse.Namespace, settings: Settings) -> int:
    """CLI entry point: generate the sample and write it to the workspace's lake (or ``--lake``)."""
    settings = located(args, settings)
    if "://" in settings.lake:
        return fail(f"sample writes a local lake folder, not {settings.lake}")
    try:
        end = _date_arg(args.end, "--end") if args.end else None
        spec = SampleSpec(args.customers, args.products, args.days, args.seed, end,
                          engagement=getattr(args, "engagement", True)).resolved()
    except ValueError as exc:
        return fail(str(exc))
    started = time.perf_counter()
    sample = generate(spec)
    pseudonyms = pseudonymizer_from_settings(settings)
    if pseudonyms is not None:  # INSIGHTS_PSEUDONYMIZE: the sample's ids are stored as pseudonyms too
        for frame in (sample.orders, sample.customers, sample.truth.customers, sample.reviews, sample.engagement):
            if frame is not None:
                pseudonymize_ids(frame, "customer_id", pseudonyms)
    if not settings.emails_kept:
        sample.customers["email"] = None
    generated = time.perf_counter()
    write_sample(settings.lake, sample)
    c = sample.truth.meta["counts"]
    buyers = int(sample.orders["customer_id"].dropna().nunique())
    print(f"sample lake {settings.lake}: {c['lines']:,} lines ({c['guest_lines']:,} guest, {c['return_lines']:,} "
          f"returns) in {c['purchase_orders'] + c['return_orders']:,} orders, {spec.customers:,} customers "
          f"({buyers:,} with an order: the refresh scores those), "
          f"{spec.products:,} products, {sample.truth.meta['start']} to {spec.end}; generated in "
          f"{generated - started:.1f} s, written in {time.perf_counter() - generated:.1f} s")
    if sample.engagement is not None and sample.reviews is not None:
        print(f"with {len(sample.engagement):,} engagement events and {len(sample.reviews):,} reviews "
              "(--no-engagement leaves them out)")
    print(f"next: {insights_command('refresh', location_flags(settings))}")
    return 0


def import_workspace(args: argparse.Namespace, settings: Settings) -> str:
    """The workspace an import writes to: --workspace, else INSIGHTS_WORKSPACE, else one named after the data.

    Never the demo's by default: an import of real orders must not replace the sample the demo serves.
    """
    if args.workspace:
        return args.workspace
    if settings.workspace != DEFAULT_WORKSPACE:
        return settings.workspace
    if args.preset:
        return args.preset
    stem = Path(args.orders_file).name
    for suffix in (".gz", ".bz2", ".zip", ".csv", ".tsv", ".txt", ".parquet", ".pq"):
        stem = stem[: -len(suffix)] if stem.lower().endswith(suffix) else stem
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-._").lower()[:64] or "imported"
    return check_workspace(name if name != DEFAULT_WORKSPACE else "demo-import")


def import_orders(args: argparse.Namespace, settings: Settings) -> int:
    """CLI entry: exit 0 with the report on stdout, 2 with one error line when the input cannot be used."""
    settings = located(args, settings, workspace=import_workspace(args, settings))
    if str(settings.lake).startswith("s3://"):
        return fail("import writes a local lake folder; import locally, then copy it to S3 (the layout is the same)")
    try:
        chosen_rules = None
        given = {name: getattr(args, name) for name in IMPORT_THRESHOLDS if getattr(args, name, None) is not None}
        if args.timezone or args.keep_duplicates or given:
            base = PRESETS[args.preset].rules if args.preset else ImportRules()
            chosen_rules = replace(base, timezone=args.timezone or base.timezone,
                                   keep_duplicates=args.keep_duplicates or base.keep_duplicates, **given)
        report = import_files(args.orders_file, lake=settings.lake, customers_file=args.customers_file,
                              preset=args.preset, maps=parse_maps(args.map), rules=chosen_rules,
                              pseudonyms=pseudonymizer_from_settings(settings), keep_emails=settings.emails_kept,
                              reviews_file=getattr(args, "reviews_file", None),
                              engagement_file=getattr(args, "engagement_file", None))
    except ImportFailed as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"could not write the lake at {settings.lake}: {exc}", 1)
    print(format_report(report))
    o = report["orders"]
    if o["rows_kept"] < 0.5 * o["rows_read"]:
        top = max(o["set_aside"], key=o["set_aside"].get)
        print(f"warning: {1 - o['rows_kept'] / o['rows_read']:.0%} of the rows were set aside (mostly {top}); "
              "check the mapping, the preset and --timezone", file=sys.stderr)
    last = str(report["kept"].get("last_order_ts") or "")[:10]
    where = location_flags(settings)
    as_of = f"--as-of {date.fromisoformat(last) + timedelta(days=1)}" if len(last) == 10 else ""
    label = f"workspace {settings.workspace}" if settings.uses_workspace() else "lake"
    print(f"{label}: orders until {last or '?'}; next, a snapshot as of the day after the last order, then the API:")
    print(f"  {insights_command('refresh', where, as_of)}")
    print(f"  {insights_command('serve', where)}")
    return 0


def parse_query_params(name: str, items: list[str]) -> dict[str, object]:
    """``["cutoff=2011-12-10"]`` -> {"cutoff": "2011-12-10"}, checked against the query's own parameters.

    Raises ValueError with one line naming what is wrong and what the query accepts.
    """
    known = query_names()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ValueError(f"unknown query {name!r}{hint}; the queries are: {', '.join(known)}")
    wanted = query_parameters(name)
    usage = " ".join(f"--param {p}={_EXAMPLES[k]}" for p, k in wanted.items())
    params: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ValueError(f"--param {item!r} is not NAME=VALUE; {name} takes {usage}")
        if key not in wanted:
            close = difflib.get_close_matches(key, list(wanted), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"query {name} has no parameter {key!r}{hint}; it takes {usage}")
        kind = wanted[key]
        if kind == "date":
            params[key] = _date_arg(value, f"--param {key}").isoformat()
        elif kind == "integer":
            if not re.fullmatch(r"-?\d+", value):
                raise ValueError(f"--param {key}={value!r} is not a whole number")
            params[key] = int(value)
        else:
            params[key] = value
    missing = [p for p in wanted if p not in params]
    if missing:
        raise ValueError(f"query {name} needs " + " ".join(f"--param {p}={_EXAMPLES[wanted[p]]}" for p in missing))
    return params


def query(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m insights query NAME --param K=V ...``: run one of athena/queries on the local lake."""
    settings = located(args, settings)
    try:
        params = parse_query_params(args.name, args.param)
    except ValueError as exc:
        return fail(str(exc))
    if "://" not in settings.lake and not Path(settings.lake).is_dir():
        return fail(missing_lake_message(settings))
    started = time.perf_counter()
    try:
        frame = DuckDBEngine.from_settings(settings).query(args.name, params)
    except DataAccessError as exc:
        return fail(str(exc).splitlines()[0] if str(exc) else repr(exc), 1)
    if len(frame):
        print(frame.head(args.limit).to_string(index=False))
    print(f"{len(frame):,} rows in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return 0


def _date_arg(text: str, what: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a date YYYY-MM-DD") from None
