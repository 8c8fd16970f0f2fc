"""Health tells fresh from stale: degraded (still 200) with reasons when the data, the as_of or the snapshot is old."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api_events import body_of, v2
from snapshot_factory import build_snapshot, write_snapshot

from insights.api.operations import health
from insights.config import Settings

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
LIMITS = Settings(max_data_lag_days=3, refresh_interval_hours=24, freshness_grace_hours=6)


def _answer(as_of: str, last_order: str, age_hours: float):
    snap = build_snapshot(as_of=as_of)
    snap.manifest["lake"] = {"last_date": last_order}
    status = {"version": snap.version, "as_of": as_of, "created_at": "", "age_seconds": age_hours * 3600,
              "recheck_seconds": 60.0, "last_error": None}
    return health(snap, status, LIMITS, now=NOW)


def test_a_fresh_snapshot_is_ok():
    answer = _answer("2026-12-02", "2026-12-01", age_hours=2)
    assert answer["status"] == "ok" and answer["reasons"] == []
    assert answer["snapshot"]["lake_last_order_date"] == "2026-12-01"


def test_data_that_ends_long_before_as_of_is_degraded_with_the_last_order_date():
    answer = _answer("2026-12-02", "2011-12-09", age_hours=2)
    assert answer["status"] == "degraded"
    assert len(answer["reasons"]) == 1 and "the data ends on 2011-12-09" in answer["reasons"][0]


def test_an_as_of_days_behind_today_is_degraded():
    answer = _answer("2011-12-10", "2011-12-09", age_hours=2)  # the README's real-data snapshot, served today
    assert answer["status"] == "degraded" and "as of 2011-12-10" in answer["reasons"][0]


def test_a_snapshot_the_refresh_stopped_replacing_is_degraded():
    answer = _answer("2026-12-02", "2026-12-01", age_hours=31)
    assert answer["status"] == "degraded" and "31 hours ago" in answer["reasons"][0]
    assert _answer("2026-12-02", "2026-12-01", age_hours=29)["status"] == "ok"  # schedule + grace is 30 h


def test_health_through_the_handler_is_still_200_when_degraded_and_emits_the_alarm_metric(tmp_path, token, capsys):
    from api_events import FakeContext

    import handler

    root = tmp_path / "snaps"
    stale = (datetime.now(UTC) - timedelta(days=40)).date().isoformat()
    write_snapshot(root, as_of=stale)
    handler.configure(Settings(snapshots=str(root), max_data_lag_days=3))
    try:
        response = handler.lambda_handler(v2("GET", "/demand-insights/health"), FakeContext())
    finally:
        handler.configure(Settings())
    body = body_of(response)
    assert response["statusCode"] == 200 and body["status"] == "degraded" and body["reasons"]
    assert '"SnapshotDegraded":[1.0]' in capsys.readouterr().out.replace(" ", "")
