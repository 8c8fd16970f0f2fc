"""The health answer: liveness, and whether the live snapshot is fresh enough to act on.

``degraded`` (still a 200, so load balancers keep routing) when the data the snapshot was computed from ends
more than ``max_data_lag_days`` before its as_of, when its as_of lies that far behind today (a snapshot of old
data answers for a day long gone), or when it is older than the daily schedule plus a grace period (the
refresh has stopped replacing it). Each reason is a sentence an operator can act on. The public answer holds
dates and ages only: row counts and model figures are business data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from insights.config import Settings
from insights.snapshot.reader import Snapshot

__all__ = ["health"]


def health(snapshot: Snapshot, cache_status: dict[str, Any], settings: Settings, *,
           now: datetime | None = None) -> dict[str, Any]:
    """Liveness, the snapshot's version, as_of, age and the lake's last order date, and ok or degraded with why."""
    now = now or datetime.now(UTC)
    as_of = _date(snapshot.as_of)
    last_order = _date(str((snapshot.manifest.get("lake") or {}).get("last_date") or "")[:10])
    age_s = cache_status.get("age_seconds")
    reasons = []
    lag = settings.max_data_lag_days
    if as_of and last_order and (as_of - last_order).days - 1 > lag:
        reasons.append(f"the data ends on {last_order}, {(as_of - last_order).days - 1:,} days before the snapshot's "
                       f"as_of {as_of} (more than {lag}): check the lake's ingestion")
    if as_of and (now.date() - as_of).days > lag:
        reasons.append(f"the snapshot is as of {as_of}, {(now.date() - as_of).days:,} days ago (more than {lag}): "
                       "its answers describe that day, not today")
    limit_h = settings.refresh_interval_hours + settings.freshness_grace_hours
    if age_s is not None and age_s / 3600.0 > limit_h:
        reasons.append(f"the snapshot was published {age_s / 3600.0:,.0f} hours ago; the daily refresh should have "
                       f"replaced it within {limit_h:g} hours: check the refresh function and its schedule")
    return {
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        "snapshot": {"version": cache_status.get("version"), "as_of": cache_status.get("as_of"),
                     "created_at": cache_status.get("created_at"), "age_seconds": age_s,
                     "lake_last_order_date": last_order.isoformat() if last_order else None},
        "recheck_seconds": cache_status["recheck_seconds"], "store_error": cache_status["last_error"],
    }


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None
