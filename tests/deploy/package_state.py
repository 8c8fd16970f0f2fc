"""Whether dist/api.zip and dist/refresh.zip are current and smoke-tested (standard library only, any python3).

build.sh writes ``dist/packages.json`` once both zips are built (and, unless SKIP_SMOKE=1, smoke-tested): each
zip's sha256 and sizes, and a digest of every input of the build (build.sh, the requirements files, the
project's sources, the smoke test). The zips are current when that digest equals the working tree's and each
zip still has its recorded sha256.

    python tests/deploy/package_state.py digest      the inputs' digest (build.sh records it)
    python tests/deploy/package_state.py check       exit 0 when the zips are current and passed the smoke test
    python tests/deploy/package_state.py write ...   (build.sh) record the zips in dist/packages.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
import zipfile
from pathlib import Path

__all__ = ["PACKAGES", "STATE_FILE", "input_paths", "inputs_digest", "read_state", "problems"]

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "refresh")
STATE_FILE = "packages.json"
_INPUT_FILES = ("build.sh", "requirements-api.txt", "requirements.txt", "requirements-dev.txt", "handler.py",
                "tests/deploy/smoke_package.py", "tests/deploy/package_state.py",
                "tests/events/apigw_v1_get_at_risk.json")
_INPUT_TREES = (("insights", (".py",)), ("models", (".py",)), ("athena", (".py", ".sql", ".json")),
                ("insights/api/static", (".html", ".js", ".css", ".LICENSE")))


def input_paths(repo: Path = REPO) -> list[Path]:
    """Every file the build reads from the working tree, sorted."""
    paths = [repo / name for name in _INPUT_FILES]
    for tree, suffixes in _INPUT_TREES:
        paths += [p for p in (repo / tree).rglob("*")
                  if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts]
    return sorted(paths)


def inputs_digest(repo: Path = REPO) -> str:
    """sha256 over the inputs' relative paths and contents."""
    digest = hashlib.sha256()
    for path in input_paths(repo):
        digest.update(path.relative_to(repo).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_state(dist: Path) -> dict | None:
    try:
        return json.loads((dist / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def problems(repo: Path = REPO, dist: Path | None = None, *, need_smoke: bool = True) -> list[str]:
    """Why the zips in ``dist`` are not current (an empty list when they are)."""
    dist = dist or repo / "dist"
    state = read_state(dist)
    if state is None:
        return [f"{dist / STATE_FILE} is missing: ./build.sh has not completed here"]
    found = []
    for name in PACKAGES:
        recorded = state.get("packages", {}).get(name)
        path = dist / f"{name}.zip"
        if not path.is_file():
            found.append(f"{path} is missing")
        elif not recorded or recorded.get("sha256") != _sha256(path):
            found.append(f"{path} is not the zip build.sh recorded")
    if state.get("inputs_sha256") != inputs_digest(repo):
        found.append("the sources, requirements or build script changed since the last build")
    if need_smoke and state.get("smoke") != "passed":
        found.append(f"the last build's smoke test: {state.get('smoke')!r}, not 'passed' (SKIP_SMOKE=1?)")
    return found


def write_state(dist: Path, inputs: str, smoke: str) -> dict:
    packages = {}
    for name in PACKAGES:
        path = dist / f"{name}.zip"
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
        packages[name] = {"file": path.name, "sha256": _sha256(path), "zipped_bytes": path.stat().st_size,
                          "unzipped_bytes": sum(i.file_size for i in infos), "files": len(infos)}
    state = {"inputs_sha256": inputs, "smoke": smoke, "python": platform.python_version(),
             "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "packages": packages}
    tmp = dist / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(dist / STATE_FILE)
    return state


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    sub.add_parser("digest")
    sub.add_parser("check")
    w = sub.add_parser("write")
    w.add_argument("--dist", type=Path, required=True)
    w.add_argument("--inputs", required=True)
    w.add_argument("--smoke", choices=("passed", "skipped"), required=True)
    args = p.parse_args(argv)
    if args.mode == "digest":
        print(inputs_digest())
        return 0
    if args.mode == "write":
        write_state(args.dist, args.inputs, args.smoke)
        return 0
    found = problems()
    for line in found:
        print(f"packages not current: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
