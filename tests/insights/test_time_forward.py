"""Time only moves forward: a backfill, a replayed event or a past --as-of publishes for audit and leaves `latest`.

The payloads are the real shapes: the EventBridge rule event (tests/events/eventbridge_rule_scheduled.json) and
the EventBridge Scheduler input Terraform configures ({"action", "scheduled_time": "<aws.scheduler.scheduled-time>"},
as delivered: tests/events/eventbridge_scheduler_*.json), run through the real lambda_handler with the fake model
sides of test_refresh.py over its small lake (January to August 2025).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from test_refresh import FakeCustomers, FakeProducts, lake  # noqa: F401 - `lake` is the module's fixture

from insights.cli.main import build_parser
from insights.cli.refresh import refresh_command, rollback_command
from insights.config import Settings
from insights.errors import InvalidRequest
from insights.refresh import wiring
from insights.refresh.wiring import read_scheduled_event
from insights.snapshot.local import LocalSnapshotStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))
from api_events import FakeContext  # noqa: E402

handler = pytest.importorskip("handler")
EVENTS = Path(__file__).resolve().parents[1] / "events"
ON_TIME = datetime(2026, 11, 21, 4, 0, 7, tzinfo=UTC)  # when the daily schedule of 2026-11-21 fires


def event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture
def invoke(lake, tmp_path, monkeypatch):  # noqa: F811
    """``invoke(event, now)``: the Lambda handler on a scheduled event at ``now``; returns its summary."""
    monkeypatch.setattr(wiring, "sides_from_settings", lambda settings: [FakeCustomers(), FakeProducts()])
    handler.configure(Settings(lake=str(lake), snapshots=str(tmp_path / "snaps")))

    def run(payload: dict, now: datetime) -> dict:
        monkeypatch.setattr(wiring, "utc_now", lambda: now)
        return handler.lambda_handler(payload, FakeContext())

    yield run
    handler.configure(Settings())


# ------------------------------------------------------------------------------------------- parsing

def test_the_scheduler_input_takes_its_day_from_the_substituted_scheduled_time():
    run = read_scheduled_event(event("eventbridge_scheduler_scheduled_time"), now=ON_TIME, max_skew_days=2)
    assert (run.action, run.as_of, run.backfill, run.move_latest) == ("refresh", date(2026, 11, 21), False, "forward")
    assert run.event_time == datetime(2026, 11, 21, 4, 0, tzinfo=UTC) and run.skew_days < 0.01


@pytest.mark.parametrize("late", [timedelta(hours=6), timedelta(days=1, hours=23)])
def test_a_retried_delivery_within_the_skew_is_still_the_daily_run(late):
    run = read_scheduled_event(event("eventbridge_rule_scheduled"), now=ON_TIME + late, max_skew_days=2)
    assert run.as_of == date(2026, 11, 21) and not run.backfill


@pytest.mark.parametrize("name, now", [
    ("eventbridge_scheduler_replayed", ON_TIME),  # a 21-month-old Scheduler payload delivered today
    ("eventbridge_rule_scheduled", ON_TIME + timedelta(days=640)),  # the rule event replayed 21 months later
    ("eventbridge_scheduler_scheduled_time", ON_TIME - timedelta(days=3)),  # a time in the future: a bad clock
])
def test_an_event_far_from_now_is_a_backfill_that_never_moves_latest(name, now):
    run = read_scheduled_event(event(name), now=now, max_skew_days=2)
    assert run.backfill and run.move_latest == "never" and run.skew_days > 2


def test_make_latest_must_be_a_boolean_and_a_replay_cannot_use_it():
    assert read_scheduled_event({"action": "refresh", "as_of": "2025-03-01", "make_latest": True},
                                now=ON_TIME, max_skew_days=2).move_latest == "always"
    with pytest.raises(InvalidRequest, match="make_latest"):
        read_scheduled_event({"action": "refresh", "make_latest": "yes"}, now=ON_TIME)
    replay = {**event("eventbridge_scheduler_replayed"), "make_latest": True}
    assert read_scheduled_event(replay, now=ON_TIME, max_skew_days=2).move_latest == "never"


# ---------------------------------------------------------------------------------- through the handler

def test_a_replayed_scheduler_event_21_months_old_leaves_latest_unchanged(invoke, tmp_path, caplog):
    store = LocalSnapshotStore(tmp_path / "snaps")
    daily = invoke(event("eventbridge_scheduler_scheduled_time"), ON_TIME)
    assert daily["latest_moved"] and store.latest_version() == daily["version"]
    with caplog.at_level(logging.WARNING):
        replay = invoke(event("eventbridge_scheduler_replayed"), ON_TIME)
    assert replay["as_of"] == "2025-02-21" and replay["backfill"] and not replay["latest_moved"]
    assert store.latest_version() == daily["version"] == replay["latest"]
    assert replay["version"] in store.versions()  # published for audit
    assert replay["note"] == (f"published {replay['version']} for audit; latest stays {daily['version']} "
                              "(as_of 2026-11-21; a backfill never moves it)")
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("run as a backfill" in m and "638.0 days from now" in m for m in warned)
    assert store.open().as_of == "2026-11-21"


def test_a_late_rule_event_for_the_live_day_still_does_not_move_latest(invoke, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    daily = invoke(event("eventbridge_rule_scheduled"), ON_TIME)
    replay = invoke(event("eventbridge_rule_scheduled"), ON_TIME + timedelta(days=640))
    assert replay["as_of"] == daily["as_of"] == "2026-11-21"  # same day, newer id: only the skew rule holds it
    assert replay["backfill"] and store.latest_version() == daily["version"]


def test_a_replay_into_an_empty_store_publishes_but_points_latest_nowhere(invoke, tmp_path):
    replay = invoke(event("eventbridge_scheduler_replayed"), ON_TIME)
    assert replay["latest"] is None and LocalSnapshotStore(tmp_path / "snaps").latest_version() is None


def test_an_explicit_older_as_of_publishes_for_audit_unless_make_latest(invoke, tmp_path):
    store = LocalSnapshotStore(tmp_path / "snaps")
    daily = invoke(event("eventbridge_scheduler_scheduled_time"), ON_TIME)
    audit = invoke({"action": "refresh", "as_of": "2025-03-01"}, ON_TIME)
    assert not audit["latest_moved"] and not audit["backfill"] and audit["latest_as_of"] == "2026-11-21"
    assert audit["note"].endswith("(as_of 2026-11-21 is newer)")
    chosen = invoke({"action": "refresh", "as_of": "2025-03-01", "make_latest": True}, ON_TIME)
    assert chosen["latest_moved"] and store.latest_version() == chosen["version"] != daily["version"]
    nxt = invoke({"action": "refresh", "scheduled_time": "2026-11-22T04:00:00Z"}, ON_TIME + timedelta(days=1))
    assert nxt["latest_moved"]  # the next daily run moves forward from there


# ---------------------------------------------------------------------------------------------- the CLI

def cli(lake_dir, tmp_path, *extra):  # noqa: F811
    return build_parser().parse_args(["refresh", "--lake", str(lake_dir), "--snapshots", str(tmp_path / "snaps"),
                                      *extra])


@pytest.fixture
def fake_sides(monkeypatch):
    monkeypatch.setattr(wiring, "sides_from_settings", lambda settings: [FakeCustomers(), FakeProducts()])


def test_cli_refresh_with_a_past_as_of_leaves_latest_and_says_so(lake, tmp_path, capsys, fake_sides):  # noqa: F811
    store = LocalSnapshotStore(tmp_path / "snaps")
    assert refresh_command(cli(lake, tmp_path, "--as-of", "2025-07-01"), Settings()) == 0
    live, before = store.latest_version(), set(store.versions())
    capsys.readouterr()
    assert refresh_command(cli(lake, tmp_path, "--as-of", "2025-04-01"), Settings()) == 0
    out = capsys.readouterr().out
    (audit,) = set(store.versions()) - before  # the new one (two versions made in one second share a prefix)
    assert store.latest_version() == live
    assert f"published {audit} for audit; latest stays {live} (as_of 2025-07-01 is newer)" in out
    assert f"-m insights rollback {audit} --snapshots" in out and "--make-latest" in out

    assert refresh_command(cli(lake, tmp_path, "--as-of", "2025-04-01", "--make-latest"), Settings()) == 0
    forced = store.latest_version()
    assert forced != live and store.as_of(forced) == "2025-04-01"
    assert f"latest -> {forced}" in capsys.readouterr().out

    back = build_parser().parse_args(["rollback", live, "--snapshots", str(tmp_path / "snaps")])
    assert rollback_command(back, Settings()) == 0 and store.latest_version() == live
    assert f"latest: {forced} -> {live}" in capsys.readouterr().out


def test_cli_refresh_with_a_future_as_of_is_audit_only(lake, tmp_path, capsys, fake_sides):  # noqa: F811
    future = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    assert refresh_command(cli(lake, tmp_path, "--as-of", future), Settings()) == 0
    captured = capsys.readouterr()
    assert "in the future: published for audit only" in captured.err
    assert LocalSnapshotStore(tmp_path / "snaps").latest_version() is None
