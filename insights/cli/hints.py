"""What the CLI prints besides results: one-line errors, and hints that work when pasted as printed.

A hint names the interpreter actually running (``.venv/bin/python`` inside the project, its absolute path
elsewhere), so ``TOKEN=$(.venv/bin/python -m insights token)`` works without an activated virtualenv, and the
flags that select the same lake and snapshots (``--workspace NAME``, or ``--lake``/``--snapshots``).
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from insights.config import DATA_DIR, DEFAULT_WORKSPACE, Settings

__all__ = ["python_command", "insights_command", "location_flags", "located", "fail", "legacy_layout_note",
           "missing_lake_message"]


def python_command(executable: str | None = None, cwd: str | Path | None = None) -> str:
    """The running interpreter as a user would type it: relative when it lives under the current folder."""
    exe = executable if executable is not None else sys.executable
    if not exe:
        return "python3"
    here = Path(cwd or os.getcwd()).resolve()
    path = Path(os.path.abspath(exe))  # not resolve(): a virtualenv's python is a symlink to the base one
    try:
        rel = path.relative_to(here)
    except ValueError:
        return shlex.quote(str(path))
    return shlex.quote(rel.as_posix() if "/" in rel.as_posix() else f"./{rel.as_posix()}")


def insights_command(*args: str) -> str:
    """``<python> -m insights ARGS`` with the running interpreter."""
    return " ".join([python_command(), "-m", "insights", *[a for a in args if a]])


def location_flags(settings: Settings, *, lake: bool = True, snapshots: bool = True) -> str:
    """The flags that point another command at the same lake and/or snapshots ("" for the demo workspace)."""
    if settings.uses_workspace():
        return "" if settings.workspace == DEFAULT_WORKSPACE else f"--workspace {shlex.quote(settings.workspace)}"
    flags = []
    if lake:
        flags.append(f"--lake {shlex.quote(settings.lake)}")
    if snapshots:
        flags.append(f"--snapshots {shlex.quote(settings.snapshots)}")
    return " ".join(flags)


def fail(message: str, code: int = 2) -> int:
    """Print ``error: message`` as one line on stderr; returns the exit code (2: the user can fix it)."""
    text = " ".join(str(message).split())  # one line, whatever the message carried (driver errors span lines)
    print(f"error: {text}", file=sys.stderr)
    return code


def missing_lake_message(settings: Settings) -> str:
    """The line for a local lake folder that does not exist, naming the commands that create one."""
    where = location_flags(settings, snapshots=False)
    sample = insights_command("sample", where)
    imported = insights_command("import", "ORDERS.csv", where or "--workspace NAME")
    return f"no lake at {settings.lake}: create one with `{sample}` (synthetic) or `{imported}` (your orders)"


def legacy_layout_note(data_dir: str = DATA_DIR) -> str | None:
    """A note when ./data/lake or ./data/snapshots from before workspaces exist (they are no longer read)."""
    root = Path(data_dir)
    old = [p for p in (root / "lake", root / "snapshots")
           if (p / "orders").is_dir() or (p / "latest").is_file() or (p / "versions").is_dir()]
    if not old:
        return None
    names = " ".join(p.as_posix() for p in old)
    return (f"note: {names} {'is' if len(old) == 1 else 'are'} from before workspaces and no longer read (the demo "
            f"lives in {root.as_posix()}/demo); keep {'it' if len(old) == 1 else 'them'} as a workspace with "
            f"`mkdir -p {root.as_posix()}/legacy && mv {names} {root.as_posix()}/legacy/` and --workspace legacy, "
            f"or delete {'it' if len(old) == 1 else 'them'}")


def located(args: object, settings: Settings, **overrides: str | None) -> Settings:
    """``settings`` pointed at the lake and snapshots the command's flags name (--workspace, --lake, --snapshots)."""
    given = {k: v for k, v in vars(args).items() if k in ("workspace", "lake", "snapshots")}
    return settings.with_overrides(**{**given, **overrides})
