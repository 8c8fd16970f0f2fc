"""The CLI: a user's mistake ends in one `error:` line and exit 2, never a traceback; every option says its
default; hints work as printed; each data set lives in its own workspace."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insights.cli import main as cli_main
from insights.cli.data import import_workspace
from insights.cli.hints import legacy_layout_note, python_command
from insights.cli.main import PRESET_NAMES, build_parser, main
from insights.config import ConfigError, Settings, load_settings, workspace_paths
from insights.data.lake import write_lake
from insights.errors import InsightError

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m insights ARGS` in a fresh process, in ``cwd``, with no INSIGHTS_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTS_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "insights", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def assert_one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr and len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.fixture
def small_lake(tmp_path) -> Path:
    """A tiny lake in the demo workspace of ``tmp_path``: 40 customers, March to May 2025."""
    rng = np.random.default_rng(3)
    n = 400
    orders = pd.DataFrame({
        "order_id": [f"o{i:04d}" for i in range(n)],
        "customer_id": [f"c{c:03d}" for c in rng.integers(0, 40, n)],
        "order_ts": pd.Timestamp("2025-03-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 90 * 86400, n), unit="s"),
        "product_id": [f"p{p}" for p in rng.integers(0, 5, n)],
        "quantity": rng.integers(1, 4, n),
        "unit_price": rng.choice([2.0, 3.5], n),
    })
    lake = tmp_path / "data" / "demo" / "lake"
    write_lake(lake, orders)
    return lake


# ------------------------------------------------------------------------------ mistakes, in a real process

@pytest.mark.parametrize("args, says", [
    (["query", "customer_features"], "query customer_features needs --param cutoff=YYYY-MM-DD"),
    (["query", "customer_features", "--param", "cutof=2011-12-10"],
     "query customer_features has no parameter 'cutof' (did you mean cutoff?); it takes --param cutoff=YYYY-MM-DD"),
    (["refresh"], "no lake at ./data/demo/lake: create one with `"),
])
def test_a_mistake_in_a_real_process_is_one_line_and_exit_2(tmp_path, args, says):
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert says in assert_one_error_line(out.stderr)
    assert "\x1b[" not in out.stderr  # no colour codes from a parser deep down


# --------------------------------------------------------------------------- mistakes, through main()

@pytest.mark.parametrize("args, says", [
    (["query", "customer_feature"], "unknown query 'customer_feature' (did you mean customer_features?)"),
    (["query", "customer_features", "--param", "cutoff"], "--param 'cutoff' is not NAME=VALUE"),
    (["query", "customer_features", "--param", "cutoff=2011-13-01"], "--param cutoff '2011-13-01' is not a date"),
    (["query", "customer_labels", "--param", "cutoff=2011-01-01", "--param", "horizon_days=ninety"],
     "--param horizon_days='ninety' is not a whole number"),
    (["query", "daily_sales", "--param", "start=2011-01-01"], "query daily_sales needs --param end=YYYY-MM-DD"),
    (["query", "lake_summary", "--param", "cutoff=2011-01-01"], "no lake at ./data/demo/lake"),
    (["query", "lake_summary", "--limit", "-1"], "argument --limit: -1 must be at least 0"),
    (["refresh", "--as-of", "yesterday"], "--as-of 'yesterday' is not a date YYYY-MM-DD"),
    (["refresh", "--workspace", "../etc"], "workspace '../etc' is not a valid name"),
    (["refresh", "--retrian"], "unrecognized arguments: --retrian"),
    (["sample", "--customers", "0"], "argument --customers: 0 must be at least 1"),
    (["sample", "--customers", "many"], "argument --customers: 'many' is not a whole number"),
    (["sample", "--end", "2025-13-01"], "--end '2025-13-01' is not a date YYYY-MM-DD"),
    (["import", "missing.csv"], "missing.csv"),
    (["import", "orders.csv", "--preset", "shopify"], "argument --preset: invalid choice: 'shopify'"),
    (["serve", "--port", "70000"], "argument --port: 70000 is not a port number"),
    (["token", "--ttl", "0"], "argument --ttl: 0 must be at least 1"),
    (["rollback"], "no earlier snapshot version to roll back to; versions: (none)"),
    (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
])
def test_each_mistake_ends_in_one_line_and_exit_2(tmp_path, monkeypatch, capsys, args, says):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    captured = capsys.readouterr()
    assert says in assert_one_error_line(captured.err)
    assert not (tmp_path / "data" / "demo" / "lake").exists()


def test_a_refresh_as_of_before_the_lake_starts_says_when_it_starts(small_lake, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["refresh", "--as-of", "2020-01-01"]) == 2
    line = assert_one_error_line(capsys.readouterr().err)
    assert "the lake has 0 order lines before 2020-01-01" in line and "latest is still None" in line
    assert "starts 2025-03-01" in line and "-m insights refresh --as-of 2025-05-30`" in line


def test_a_refresh_as_of_today_on_a_lake_that_ended_long_ago_stops_with_the_way_out(small_lake, tmp_path,
                                                                                       monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["refresh"]) == 2
    line = assert_one_error_line(capsys.readouterr().err)
    assert "the lake at ./data/demo/lake ends 2025-05-29" in line and "refresh as of its end with `" in line
    assert line.endswith("-m insights refresh --as-of 2025-05-30`")
    assert not (tmp_path / "data" / "demo" / "snapshots" / "latest").exists()


def test_a_bad_setting_is_one_line_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INSIGHTS_KEEP_VERSIONS", "seven")
    assert main(["rollback"]) == 2
    assert "INSIGHTS_KEEP_VERSIONS='seven' is not a number" in assert_one_error_line(capsys.readouterr().err)


def test_an_insight_error_a_command_lets_through_is_still_one_line(monkeypatch, capsys):
    def boom(args, settings):
        raise InsightError("the store is on fire")

    monkeypatch.setattr(cli_main, "command_function", lambda name: boom)
    assert main(["token"]) == 1
    assert assert_one_error_line(capsys.readouterr().err) == "error: the store is on fire"


# ------------------------------------------------------------------------------------------------ help

def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("name", ["sample", "import", "query", "refresh", "rollback", "serve", "token"])
def test_every_option_has_help_that_says_its_default(name):
    sub = _subparsers(build_parser())[name]
    text = " ".join(sub.format_help().split())
    for action in sub._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name} {action.dest} has no help"
        if action.option_strings and not isinstance(action, argparse._StoreTrueAction):
            shown = sub._get_formatter()._get_help_string(action) % {"default": action.default}
            assert "default" in shown, f"{name} {action.option_strings[0]} does not say its default"
            assert " ".join(shown.split()) in text


def test_the_preset_names_in_the_parser_are_the_importers():
    from insights.data.rules import PRESETS

    assert set(PRESET_NAMES) == set(PRESETS)


# ----------------------------------------------------------------------------------------------- hints

def test_hints_name_the_interpreter_that_is_running(tmp_path):
    venv = tmp_path / ".venv" / "bin" / "python"
    assert python_command(str(venv), cwd=tmp_path) == ".venv/bin/python"
    assert python_command("/opt/py/bin/python3", cwd=tmp_path) == "/opt/py/bin/python3"
    assert python_command("", cwd=tmp_path) == "python3"


# ------------------------------------------------------------------------------------------ workspaces

def test_the_workspace_decides_the_lake_and_snapshots_unless_they_are_set():
    assert (Settings().lake, Settings().snapshots) == ("./data/demo/lake", "./data/demo/snapshots")
    env = load_settings({"INSIGHTS_WORKSPACE": "retail"})
    assert (env.lake, env.snapshots) == ("./data/retail/lake", "./data/retail/snapshots")
    explicit = load_settings({"INSIGHTS_LAKE": "/srv/lake"})
    moved = explicit.with_overrides(workspace="retail")
    assert (moved.lake, moved.snapshots) == ("/srv/lake", "./data/retail/snapshots")
    assert Settings().with_overrides(workspace="b2b").uses_workspace() and not moved.uses_workspace()
    assert load_settings({"INSIGHTS_SNAPSHOTS": "s3://bucket/snaps"}).snapshots == "s3://bucket/snaps"
    for bad in ("", "../up", "a/b", ".hidden", "x" * 65):
        with pytest.raises(ConfigError):
            workspace_paths(bad)


@pytest.mark.parametrize("argv, env_workspace, expected", [
    (["import", "x.csv.gz", "--preset", "online-retail"], None, "online-retail"),
    (["import", "My Orders 2024.csv.gz"], None, "my-orders-2024"),
    (["import", "exports/demo.parquet"], None, "demo-import"),
    (["import", "x.csv", "--workspace", "mine"], "other", "mine"),
    (["import", "x.csv", "--preset", "online-retail"], "shop", "shop"),
])
def test_an_import_gets_a_workspace_of_its_own(argv, env_workspace, expected):
    args = build_parser().parse_args(argv)
    settings = load_settings({"INSIGHTS_WORKSPACE": env_workspace} if env_workspace else {})
    assert import_workspace(args, settings) == expected


def test_an_import_lands_in_its_workspace_and_prints_the_next_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shop_orders.csv").write_text(
        "order_id,customer_id,order_ts,product_id,quantity,unit_price\n"
        "o1,c1,2024-03-01T10:00:00Z,p1,2,3.5\n"
        "o2,c2,2024-03-04T11:00:00Z,p2,1,9.0\n")
    (tmp_path / "data" / "demo" / "lake").mkdir(parents=True)
    assert main(["import", "shop_orders.csv"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "data" / "shop_orders" / "lake" / "orders").is_dir()
    assert list((tmp_path / "data" / "demo" / "lake").iterdir()) == []  # the demo is untouched
    assert "workspace shop_orders: orders until 2024-03-04" in out
    assert "-m insights refresh --workspace shop_orders --as-of 2024-03-05" in out
    assert "-m insights serve --workspace shop_orders" in out


def test_the_layout_before_workspaces_gets_a_note_saying_how_to_keep_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert legacy_layout_note() is None
    (tmp_path / "data" / "lake" / "orders").mkdir(parents=True)
    (tmp_path / "data" / "snapshots" / "versions").mkdir(parents=True)
    note = legacy_layout_note()
    assert note.startswith("note: data/lake data/snapshots are from before workspaces and no longer read")
    assert "mkdir -p data/legacy && mv data/lake data/snapshots data/legacy/" in note
    assert main(["serve", "--port", "70000"]) == 2  # argparse stops first: no note
    assert "note:" not in capsys.readouterr().err
    assert main(["refresh", "--as-of", "nope"]) == 2
    assert capsys.readouterr().err.startswith("note: data/lake data/snapshots")
