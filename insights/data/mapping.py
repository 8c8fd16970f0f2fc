"""Which source column feeds each contract column: a preset's candidates, the user's --map, then the same name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from insights.errors import ImportFailed

__all__ = ["resolve_mapping"]


def resolve_mapping(columns: Sequence[str], contract: Sequence[str], preset: Mapping[str, Sequence[str]],
                    user: Mapping[str, str], *, required: Sequence[str] = (), what: str) -> dict[str, str]:
    """contract column -> source column.

    The preset offers candidate source names per contract column (the first one present wins; absent optional
    ones are skipped); user maps override it, by destination or by source; a column already named like the
    contract maps to itself. Raises :class:`ImportFailed` naming what is missing.
    """
    by_dest = {}
    for dest, candidates in preset.items():
        found = next((c for c in candidates if c in columns), None)
        if dest in contract and found is not None:
            by_dest[dest] = found
    for src, dest in user.items():
        if dest not in contract:
            continue
        by_dest = {d: s for d, s in by_dest.items() if s != src}
        by_dest[dest] = src
    for dest in contract:
        if dest not in by_dest and dest in columns:
            by_dest[dest] = dest
    absent = sorted({src for src in by_dest.values() if src not in columns})
    if absent:
        raise ImportFailed(f"{what}: the mapping names column(s) not in the file: {', '.join(absent)} "
                           f"(columns: {', '.join(columns)})")
    lacking = [d for d in required if d not in by_dest]
    if lacking:
        hints = "; ".join(f"the preset looks for {' or '.join(preset[d])}" for d in lacking if d in preset)
        raise ImportFailed(f"{what}: no column for {', '.join(lacking)}{' (' + hints + ')' if hints else ''}; "
                           f"map one with --map SRC=DEST (columns: {', '.join(columns)})")
    return {d: by_dest[d] for d in contract if d in by_dest}
