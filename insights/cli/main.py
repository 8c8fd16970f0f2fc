"""``python -m insights sample|import|query|refresh|rollback|forget|serve|token``: the local entry points.

Every option says what it does and its default (``--help``); a mistake ends in one ``error:`` line on stderr and
exit status 2, never a traceback. Each data set lives in its own workspace, ``./data/<workspace>/{lake,snapshots}``
(the demo's is ``demo``); INSIGHTS_LAKE / INSIGHTS_SNAPSHOTS or --lake / --snapshots name other places.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from insights.cli.hints import fail, insights_command, legacy_layout_note, located
from insights.config import DEFAULT_WORKSPACE, Settings, check_workspace, load_settings
from insights.errors import ConfigError, InsightError

__all__ = ["main", "build_parser", "COMMANDS", "PRESET_NAMES"]

# each command takes (args, settings) and returns an exit code; imported when run (`token` needs no ML stack)
COMMANDS: dict[str, str] = {
    "sample": "insights.cli.data:sample",
    "import": "insights.cli.data:import_orders",
    "query": "insights.cli.data:query",
    "refresh": "insights.cli.refresh:refresh_command",
    "rollback": "insights.cli.refresh:rollback_command",
    "forget": "insights.cli.privacy:forget_command",
    "serve": "insights.cli.serve:serve_command",
    "token": "insights.cli.serve:token_command",
}
PRESET_NAMES = ("online-retail",)  # insights.data.rules.PRESETS, named here so `--help` needs no pandas
# The import thresholds: ImportRules fields and their defaults, named here so `--help` needs no pandas (a test
# checks they equal ImportRules'); docs/importer.md says what each does.
IMPORT_THRESHOLDS: dict[str, tuple[str, object, str]] = {
    "quantity_mads": ("K", 5.0, "absurd_quantity: MAD multiple above the product's median log quantity"),
    "quantity_min_ratio": ("R", 2000.0, "absurd_quantity: never below R times the product's median quantity"),
    "price_mads": ("K", 5.0, "absurd_price: MAD multiple above the product's median log unit price"),
    "price_min_ratio": ("R", 500.0, "absurd_price: never below R times the product's median unit price"),
    "min_product_lines": ("N", 20, "products with fewer lines are judged against the population"),
    "min_date": ("YYYY-MM-DD", "1990-01-01", "date_too_old: lines before this day"),
}


def command_function(name: str) -> Callable[[argparse.Namespace, Settings], int]:
    module, _, function = COMMANDS[name].partition(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" to an option's help unless the help already says it or there is none to say."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, [], argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (and the way to the help)."""

    def error(self, message: str) -> Any:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def _count(text: str, *, least: int = 0) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{text} must be at least {least}")
    return value


def _positive(text: str) -> int:
    return _count(text, least=1)


def _shard_count(text: str) -> int:
    value = _count(text, least=1)
    if value > 100:
        raise argparse.ArgumentTypeError(f"{value} shards: at most 100 (Athena's UNLOAD writes at most 100 partitions)")
    return value


def _above(least: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > least:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text} must be above {least:g}")
        return value
    return parse


def _day(text: str) -> str:
    import datetime as dt

    try:
        if len(text) != 10:
            raise ValueError(text)
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


_THRESHOLD_TYPES: dict[str, Callable[[str], Any]] = {
    "quantity_mads": _above(0), "quantity_min_ratio": _above(1), "price_mads": _above(0),
    "price_min_ratio": _above(1), "min_product_lines": _positive, "min_date": _day}


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number (0-65535; 0 picks a free one)")
    return value


def _workspace(text: str) -> str:
    try:
        return check_workspace(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _where(p: argparse.ArgumentParser, *, lake: bool = True, snapshots: bool = True,
           workspace_help: str | None = None) -> None:
    """--workspace, and the explicit --lake / --snapshots that override it."""
    p.add_argument("--workspace", type=_workspace, metavar="NAME",
                   help=workspace_help or f"the data set to use: ./data/NAME/lake and ./data/NAME/snapshots "
                                          f"(default: INSIGHTS_WORKSPACE, else {DEFAULT_WORKSPACE})")
    if lake:
        p.add_argument("--lake", metavar="DIR", help="lake folder (default: INSIGHTS_LAKE, else the workspace's)")
    if snapshots:
        p.add_argument("--snapshots", metavar="DIR",
                       help="snapshot folder or s3://bucket/prefix (default: INSIGHTS_SNAPSHOTS, else the workspace's)")


def build_parser() -> argparse.ArgumentParser:
    prog = insights_command()
    p = _Parser(prog=prog, description="Demand Insights Engine, locally.", formatter_class=_Help)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, formatter_class=_Help)

    s = command("sample", "generate a seeded synthetic lake with its ground truth")
    s.add_argument("--customers", type=_positive, default=5000, help="customers to simulate")
    s.add_argument("--products", type=_positive, default=100, help="products to simulate")
    s.add_argument("--days", type=_positive, default=730, help="days of order history")
    s.add_argument("--seed", type=_count, default=42, help="random seed (the same seed gives the same lake)")
    s.add_argument("--end", metavar="YYYY-MM-DD", help="last day of data (default: yesterday, UTC)")
    s.add_argument("--no-engagement", dest="engagement", action="store_false",
                   help="write no reviews and engagement tables, as for a shop that has only orders (default: "
                        "write them, with a known effect on churn)")
    _where(s, snapshots=False)

    i = command("import", "import an order export (CSV, CSV.gz or Parquet) into a workspace's lake")
    i.add_argument("orders_file", help="the order lines: CSV, CSV.gz or Parquet")
    i.add_argument("--customers", dest="customers_file", metavar="FILE",
                   help="a customers file: customer_id, email, created_at (default: none; customers come from "
                        "the orders)")
    i.add_argument("--reviews", dest="reviews_file", metavar="FILE",
                   help="a product reviews file: customer_id, product_id, rating (1-5), review_text, review_ts "
                        "(default: none; the lake then has no reviews table)")
    i.add_argument("--engagement", dest="engagement_file", metavar="FILE",
                   help="an engagement events file: customer_id, event_kind (session, email_open, email_click, ...), "
                        "event_ts (default: none; the lake then has no engagement table)")
    i.add_argument("--preset", choices=PRESET_NAMES,
                   help="a known layout, e.g. the UCI Online Retail file (default: none; columns matched by name "
                        "and --map)")
    i.add_argument("--map", action="append", default=[], metavar="SRC=DEST",
                   help="map a source column to a contract column, repeatable (default: the preset's or by name)")
    i.add_argument("--timezone", metavar="ZONE", help="zone of timestamps without an offset (default: the preset's, "
                                                      "else UTC)")
    i.add_argument("--keep-duplicates", action="store_true", help="keep exact duplicate lines (default: set aside)")
    for name, (metavar, default, text) in IMPORT_THRESHOLDS.items():
        i.add_argument("--" + name.replace("_", "-"), dest=name, type=_THRESHOLD_TYPES[name], metavar=metavar,
                       help=f"{text} (default: {default})")
    _where(i, snapshots=False, workspace_help="the workspace to create or replace: ./data/NAME/lake (default: "
                                              "INSIGHTS_WORKSPACE if set, else named after --preset or the file)")

    q = command("query", "run one of athena/queries on a local lake and print the first rows")
    q.add_argument("name", help="the query: customer_features, customer_labels, daily_sales or lake_summary")
    q.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a query parameter, repeatable, e.g. --param cutoff=2011-12-10 (default: none; the query "
                        "says which it needs)")
    q.add_argument("--limit", type=_count, default=20, help="rows to print")
    _where(q, snapshots=False)

    r = command("refresh", "run the daily refresh on a lake and publish a snapshot")
    r.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                   help="sees order lines before this day (default: today, UTC)")
    r.add_argument("--make-latest", action="store_true",
                   help="serve this snapshot even if its as_of is older than the live one's (default: latest moves "
                        "only forward; an older as_of is published for audit)")
    r.add_argument("--retrain", action="store_true", help="train every model afresh (default: reuse stored models "
                                                          "unless stale, drifted or from other code)")
    r.add_argument("--shards", type=_shard_count, default=None, metavar="N",
                   help="the sharded refresh: extract by shard, train once, score N shards, merge (1-100; default: "
                        "one process scores everything; the published content is the same)")
    r.add_argument("--workers", type=_positive, default=1, metavar="W",
                   help="processes scoring shards in parallel with --shards (default: 1)")
    _where(r)

    rb = command("rollback", "point `latest` at an earlier snapshot version")
    rb.add_argument("version", nargs="?", help="the version to serve (default: the one before the live one)")
    _where(rb, lake=False)

    fg = command("forget", "erase customers from the lake, the score tables and every kept snapshot version")
    fg.add_argument("ids", nargs="+", metavar="ID", help="the store's customer ids (hashed first when "
                                                         "INSIGHTS_PSEUDONYMIZE is on)")
    _where(fg)

    sv = command("serve", "serve the API on 127.0.0.1 from a workspace's snapshots")
    sv.add_argument("--port", type=_port, default=8000, help="TCP port (0 picks a free one)")
    sv.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    sv.add_argument("--json-logs", action="store_true",
                    help="print Lambda's JSON logs and metrics (default: one readable line per request; also "
                         "INSIGHTS_LOG_FORMAT=json)")
    _where(sv, lake=False)

    t = command("token", "print a JWT for the local HS256 secret (the one `serve` uses)")
    t.add_argument("--scope", action="append", default=None,
                   help="scope, repeatable, e.g. customers:pii for emails (default: insights:read)")
    t.add_argument("--ttl", type=_positive, default=3600, help="lifetime in seconds")
    t.add_argument("--subject", default="local-dev", help="the token's sub claim")
    _where(t, lake=False)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error, already printed in one line (2)
        return int(exc.code or 0)
    try:
        settings = load_settings()
        if args.command in ("sample", "refresh", "serve") and located(args, settings).uses_workspace():
            note = legacy_layout_note()
            if note:
                print(note, file=sys.stderr)
        return int(command_function(args.command)(args, settings) or 0)
    except InsightError as exc:  # anything a command let through still ends in one line
        return fail(exc.message, 2 if exc.status < 500 or isinstance(exc, ConfigError) else 1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more (and nothing at interpreter exit)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
