"""The layout is the architecture: imports point one way, and these rules fail the build when one turns around.

Read from the source text (every ``import`` and ``from ... import``, lazy ones inside functions included), so a
rule holds for the code that could run, not only for what one test happened to import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("handler.py", "insights", "models", "athena")
ML_LIBRARIES = {"sklearn", "lightgbm", "xgboost", "scipy", "pandas", "joblib", "pyarrow", "duckdb", "fastparquet",
                "sqlglot", "pyathena", "statsforecast", "lifetimes"}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for top in PRODUCT:
        base = ROOT / top
        for path in [base] if base.is_file() else sorted(base.rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _imported_by(prefix: str) -> dict[str, set[str]]:
    """Module -> the names it imports, for every product module under ``prefix``."""
    return {name: set(_imports(path)) for name, path in MODULES.items()
            if name == prefix or name.startswith(prefix + ".")}


def _offenders(prefix: str, forbidden: tuple[str, ...] | set[str]) -> list[str]:
    bad = []
    for module, names in _imported_by(prefix).items():
        for name in sorted(names):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{module} imports {name}")
    return bad


def test_the_layout_has_the_five_rooms():
    rooms = {p.name for p in (ROOT / "insights").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == {"snapshot", "api", "refresh", "data", "cli"}


@pytest.mark.parametrize("room, forbidden", [
    ("insights.api", ("insights.refresh", "insights.data", "insights.cli", "athena", *ML_LIBRARIES)),
    ("insights.snapshot", ("insights.api", "insights.refresh", "insights.data", "insights.cli", "athena",
                           *ML_LIBRARIES)),
    ("insights.refresh", ("insights.api", "insights.data", "insights.cli")),
    ("insights.data", ("insights.api", "insights.refresh", "insights.cli")),
    ("models", ("insights", "athena")),
    ("athena", ("insights", "models")),
])
def test_imports_point_one_way(room, forbidden):
    assert _offenders(room, forbidden) == []


def test_the_api_request_path_needs_only_numpy_from_models():
    """models/pricing.py is the one model module the API uses, and it needs numpy only."""
    uses = {n for names in _imported_by("insights.api").values() for n in names if n.startswith("models")}
    assert {n.split(".")[1] for n in uses if n.count(".") >= 1} <= {"pricing"}
    assert _offenders("models.pricing", tuple(ML_LIBRARIES)) == []


def test_no_import_cycle_in_the_product():
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = set()
        for name in _imports(path):
            while name and name not in MODULES:  # "pkg.mod.func" -> "pkg.mod"
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                targets.add(name)
        graph[module] = targets - {m for m in targets if module.startswith(m + ".")}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + "."):  # a package importing its own submodule is not a cycle
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("top", ["insights", "models", "athena"])
def test_no_module_is_over_300_lines(top):
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / top).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}


def test_the_handler_only_wires_and_dispatches():
    assert len((ROOT / "handler.py").read_text().splitlines()) <= 80
