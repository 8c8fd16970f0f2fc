"""``python -m insights forget ID ...``: erase customers everywhere the engine keeps them, and say what it did."""

from __future__ import annotations

import argparse
from typing import Any

from insights.cli.hints import located
from insights.config import Settings

__all__ = ["forget_command", "format_audit"]


def format_audit(audit: dict[str, Any]) -> str:
    """The audit record as a few lines: rows per lake and score table, what happened to each version."""
    lines = [f"forgot {audit['customers']} customer(s); audit record {audit['record']}"]
    for section in ("lake", "scores"):
        for table, edit in audit[section].items():
            lines.append(f"  {section} {table}: {edit['rows']:,} row(s) removed from {len(edit['files'])} file(s)")
    for v in audit["versions"]:
        rows = sum(v.get("rows", {}).values())
        what = {"rewritten": f"rewritten as {v.get('new_version')}", "purged": f"purged ({v.get('why')})",
                "untouched": "untouched"}[v["action"]]
        lines.append(f"  version {v['version']}: {rows:,} row(s), {what}")
    if any(v["action"] == "purged" for v in audit["versions"]):
        lines.append("purged versions cannot be served or rolled back to; run the refresh to publish a new one")
    lines.append("the next refresh retrains its models without them")
    return "\n".join(lines)


def forget_command(args: argparse.Namespace, settings: Settings) -> int:
    from insights.refresh.privacy import forget

    audit = forget(located(args, settings), args.ids)
    print(format_audit(audit))
    return 0
