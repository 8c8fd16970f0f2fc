"""``python -m insights sample|import|query|refresh|rollback|serve|token``: the local entry points."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from insights.cli import data, refresh, serve
from insights.config import Settings, load_settings
from insights.errors import ConfigError

__all__ = ["main", "build_parser", "COMMANDS"]

# each command takes (args, settings) and returns an exit code
COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "sample": data.sample,
    "import": data.import_orders,
    "query": data.query,
    "refresh": refresh.refresh_command,
    "rollback": refresh.rollback_command,
    "serve": serve.serve_command,
    "token": serve.token_command,
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m insights", description="Demand Insights Engine, locally.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sample", help="generate a seeded synthetic lake with its ground truth")
    s.add_argument("--customers", type=int, default=5000)
    s.add_argument("--products", type=int, default=100)
    s.add_argument("--days", type=int, default=730)
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--end", help="last day of data, YYYY-MM-DD (default: yesterday)")
    s.add_argument("--lake")

    i = sub.add_parser("import", help="import an order export (CSV, CSV.gz or Parquet) into the lake")
    i.add_argument("orders_file")
    i.add_argument("--customers", dest="customers_file")
    i.add_argument("--preset", choices=["online-retail"])
    i.add_argument("--map", action="append", default=[], metavar="SRC=DEST", help="column mapping, repeatable")
    i.add_argument("--lake")
    i.add_argument("--timezone", help="zone of timestamps without an offset (default: the preset's, else UTC)")
    i.add_argument("--keep-duplicates", action="store_true", help="keep exact duplicate lines")

    q = sub.add_parser("query", help="run one of athena/queries on the local lake and print it")
    q.add_argument("name")
    q.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    q.add_argument("--limit", type=int, default=20)
    q.add_argument("--lake")

    r = sub.add_parser("refresh", help="run the daily refresh on the local lake into the snapshot folder")
    r.add_argument("--lake")
    r.add_argument("--snapshots")
    r.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD: sees order lines before this day")
    r.add_argument("--retrain", action="store_true")

    rb = sub.add_parser("rollback", help="move `latest` back to an earlier snapshot version")
    rb.add_argument("version", nargs="?")
    rb.add_argument("--snapshots")

    sv = sub.add_parser("serve", help="serve the API locally on 127.0.0.1 from the snapshot folder")
    sv.add_argument("--snapshots")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--host", default="127.0.0.1")

    t = sub.add_parser("token", help="print a JWT for the local HS256 secret")
    t.add_argument("--scope", action="append", default=None, help="scope, repeatable (default: insights:read)")
    t.add_argument("--ttl", type=int, default=3600, help="seconds")
    t.add_argument("--subject", default="local-dev")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return int(COMMANDS[args.command](args, settings) or 0)
