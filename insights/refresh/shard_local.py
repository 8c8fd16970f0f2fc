"""The sharded refresh on one machine: plan, the map over shards in a process pool, reduce and publish.

``python -m insights refresh --shards N [--workers W]`` runs this; it is the code the state machine runs
(insights/refresh/sharded.py), with a process pool for the Distributed Map. A shard that fails is logged and
left without its done marker, so the reduce step refuses to publish (ShardsIncomplete), as in AWS.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import date
from typing import Any

from insights.errors import ShardsIncomplete
from insights.refresh.shard_work import WorkArea, work_area
from insights.refresh.sharded import new_run_id, plan_run, publish_run, score_shard
from insights.refresh.side import Side
from insights.refresh.stages import Observer, Quiet, RefreshResult, StageReport

__all__ = ["run_sharded_refresh", "map_shards"]

log = logging.getLogger("insights.refresh")


def _score_item(root: str, run_id: str, side: Side, shard: int) -> dict[str, Any]:
    return score_shard(work_area(root, run_id), side, shard)


def map_shards(root: str, run_id: str, sides: Sequence[Side], items: list[dict[str, Any]],
               workers: int = 1, observer: Observer | None = None) -> dict[str, str]:
    """Score every item ({"side", "shard"}); returns {"side/shard": error} for those that failed. The observer
    sees a "map" stage advance as each task ends (the run's report gets the stage from the done markers)."""
    by_name = {s.name: s for s in sides}
    failures: dict[str, str] = {}
    observer = observer or Quiet()
    observer.stage_started("map", len(items))
    started = time.perf_counter()
    if workers <= 1:
        for item in items:
            name = f"{item['side']}/{item['shard']}"
            try:
                _score_item(root, run_id, by_name[item["side"]], item["shard"])
            except Exception as exc:  # noqa: BLE001 - recorded; the reduce step refuses to publish
                failures[name] = repr(exc)[:300]
            observer.stage_advanced("map", name)
    else:
        # spawn: the parent holds DuckDB's and the ML libraries' threads, which a fork must not inherit
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_score_item, root, run_id, by_name[i["side"]], i["shard"]):
                       f"{i['side']}/{i['shard']}" for i in items}
            for future in as_completed(futures):
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001
                    failures[futures[future]] = repr(exc)[:300]
                observer.stage_advanced("map", futures[future])
    observer.stage_finished(StageReport("map", seconds=round(time.perf_counter() - started, 3),
                                        status="failed" if failures else "ok"))
    return failures


def run_sharded_refresh(*, shards: int, workers: int = 1, work_root: str = "", train_rows: int = 1_000_000,
                        as_of: date, sides: Sequence[Side], keep_work: bool = False, **parts: Any) -> RefreshResult:
    """Plan, map, reduce; ``parts`` are run_refresh's (engine, store, policy, trigger, observer, ...)."""
    run_id = new_run_id(as_of)
    work: WorkArea = work_area(work_root, run_id)
    try:
        plan = plan_run(work=work, shards=shards, train_rows=train_rows, as_of=as_of, sides=sides, **parts)
        failures = map_shards(work_root, run_id, sides, plan["items"], workers, parts.get("observer"))
        for name, error in failures.items():
            log.error(f"shard {name} failed: {error}", extra={"run_id": run_id, "shard": name})
        try:
            return publish_run(work=work, sides=sides, remove_work=not keep_work, **parts)
        except ShardsIncomplete as exc:
            if failures:
                exc.add_note("failed shards: " + "; ".join(f"{k}: {v}" for k, v in sorted(failures.items())[:5]))
            raise
    except BaseException:
        if not keep_work:
            work.remove()
        raise
