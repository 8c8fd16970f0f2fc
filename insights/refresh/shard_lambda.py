"""The sharded refresh's Lambda tasks: the state machine (terraform/refresh_sfn.asl.json) invokes the refresh
function with ``{"refresh_step": "plan" | "score" | "publish", ...}`` and handler.py dispatches it here.

- plan: ``{"refresh_step": "plan", "schedule": <the Scheduler's input>, "shards": N?}`` -> ``{"run_id", "as_of",
  "shards", "items": [{"side", "shard"}, ...]}`` (the Distributed Map's items);
- score: ``{"refresh_step": "score", "run_id", "side", "shard"}`` -> ``{"side", "shard", "rows"}``;
- publish: ``{"refresh_step": "publish", "run_id"}`` -> the refresh summary (run_scheduled's).
The work area is INSIGHTS_SHARD_WORK, by default ``<INSIGHTS_SNAPSHOTS>/work`` (insights/refresh/shard_work.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from athena.engine import QueryEngine
from insights.config import Settings
from insights.errors import InvalidRequest
from insights.refresh.shard_work import default_work_root, work_area
from insights.refresh.sharded import new_run_id, plan_run, publish_run, score_shard
from insights.refresh.side import Side
from insights.refresh.stages import MetricsSink, RefreshPolicy
from insights.refresh.wiring import (
    PowertoolsMetricsSink,
    engine_from_settings,
    lake_currency,
    read_scheduled_event,
    sides_from_settings,
)
from insights.snapshot.store import SnapshotStore
from insights.snapshot.stores import store_from_settings

__all__ = ["STEPS", "run_step"]

STEPS = ("plan", "score", "publish")


def run_step(event: Mapping[str, Any], settings: Settings, *, engine: QueryEngine | None = None,
             store: SnapshotStore | None = None, sides: Sequence[Side] | None = None,
             metrics: MetricsSink | None = None, now: datetime | None = None, s3: Any = None) -> dict[str, Any]:
    """Run one step of the sharded refresh for the state machine; raises (the task fails) on any error."""
    step = event.get("refresh_step")
    if step not in STEPS:
        raise InvalidRequest(f"unknown refresh_step {step!r}; expected one of {', '.join(STEPS)}")
    root = settings.shard_work or default_work_root(settings.snapshots)
    sides = list(sides) if sides is not None else sides_from_settings(settings)
    if step == "score":
        by_name = {s.name: s for s in sides}
        if event.get("side") not in by_name:
            raise InvalidRequest(f"unknown side {event.get('side')!r}")
        return score_shard(work_area(root, str(event["run_id"]), client=s3), by_name[event["side"]],
                           int(event["shard"]))
    store = store if store is not None else store_from_settings(settings)
    common = dict(store=store, sides=sides,
                  policy=RefreshPolicy.from_settings(settings),
                  metrics=metrics if metrics is not None else PowertoolsMetricsSink())
    engine = engine if engine is not None else engine_from_settings(settings)
    from insights.refresh.privacy import after_refresh, before_refresh  # as wiring.refresh does around a run

    if step == "publish":
        result = publish_run(work=work_area(root, str(event["run_id"]), client=s3), engine=engine, **common)
        purged = after_refresh(settings, store)  # snapshot versions (and score partitions) past their age
        result.privacy = {"purged_versions": purged} if purged else {}
        return result.summary()
    privacy = before_refresh(settings, store)  # erasure requests and lake retention before the extract
    run = read_scheduled_event(event.get("schedule") or {}, now=now, max_skew_days=settings.max_event_skew_days)
    run_id = new_run_id(run.as_of)
    plan = plan_run(work=work_area(root, run_id, client=s3), shards=int(event.get("shards") or settings.shards),
                    train_rows=settings.shard_train_rows, engine=engine, as_of=run.as_of,
                    force_retrain=run.action == "retrain", move_latest=run.move_latest,
                    trigger=f"sfn:{run.action}" + (":backfill" if run.backfill else ""),
                    currency=settings.currency or lake_currency(settings.lake) or "USD", **common)
    return {"run_id": run_id, "as_of": plan["as_of"], "shards": plan["shards"], "items": plan["items"],
            **({"privacy": privacy} if privacy else {})}
