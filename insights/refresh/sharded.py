"""The sharded refresh: plan (extract by shard, check, train once), score each shard, reduce and publish.

The same three functions run in a local process pool (insights/refresh/shard_local.py) and as the Lambda
tasks of the Step Functions state machine (insights/refresh/shard_lambda.py, terraform/refresh_sfn.tf):
1. :func:`plan_run`: ``lake_summary``; each :class:`~insights.refresh.side.ShardedSide` unloads its extract
   queries by shard into the run's work area (insights/refresh/shard_work.py), other sides extract whole; the
   gates; train or reuse on the training frame (every shard up to ``train_rows`` rows, else the first shards:
   a uniform sample, the key being a hash); each sharded side's population context. Writes ``plan.json``.
2. :func:`score_shard`: one side's shard, scored with the stored models and context; its part, then a done
   marker naming the extract files it read.
3. :func:`publish_run`: every planned shard must have its done marker and part, matching the plan (a failed
   child blocks publishing: moto, unlike AWS, reports one as null inside a succeeded map); the parts are
   concatenated by table and sorted by the side's key, each side's ``finish`` adds the population-level
   columns and documents, sides that are not sharded are scored whole, and the store publishes atomically.
A rerun is a new run id with an empty work area; the published content equals an unsharded run's.
"""

from __future__ import annotations

import json
import logging
import pickle
import tempfile
import time
import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from athena.shard import check_shards
from insights.errors import ShardsIncomplete
from insights.refresh.engine import CanonicalEngine
from insights.refresh.pipeline import _Run
from insights.refresh.shard_parts import concat_rows, key_chunks, read_part, table_length
from insights.refresh.shard_work import WorkArea
from insights.refresh.side import ShardedSide, Side
from insights.refresh.stages import Quiet, RefreshPolicy, RefreshResult, StageReport, peak_rss_mb, reset_peak_rss

__all__ = ["plan_run", "score_shard", "publish_run", "new_run_id", "incomplete_shards"]


SCORE_CHUNK_ROWS = 50_000  # a shard is scored this many rows at a time: score_part is per row, so memory is bounded


def new_run_id(as_of: date) -> str:
    """A fresh id per run (Athena's UNLOAD needs an empty prefix): as_of, the time, 8 random hex digits."""
    return f"{as_of.isoformat()}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


class _ShardedRun(_Run):
    work: WorkArea
    shards: int = 1
    train_rows: int = 1_000_000
    layout: dict[str, dict[str, list[str]]]

    def _extract_side(self, side: Side) -> pd.DataFrame:
        if not isinstance(side, ShardedSide):  # scored whole in the reduce step
            frame = side.extract(self.engine, self.as_of)
            self.work.put(f"frames/{side.name}.pkl", pickle.dumps(frame))
            return frame
        queries = side.extract_queries(self.as_of)  # each by shard under extract/<side>/q<i>/shard=K/
        for i, (name, params) in enumerate(queries):
            self.engine.unload(name, params, key=side.shard_key, shards=self.shards,
                               target=self.work.location(f"extract/{side.name}/q{i}"))
        files = {str(k): [f for i in range(len(queries))
                          for f in self.work.keys(f"extract/{side.name}/q{i}/shard={k}/")] for k in range(self.shards)}
        self.layout[side.name] = files
        parts: list[pd.DataFrame] = []
        for k in range(self.shards):  # the training frame: whole shards until train_rows
            if sum(len(p) for p in parts) >= self.train_rows:
                break
            parts.append(read_part(self.work, files[str(k)], side.shard_key))
        frame = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
        return side.prepare(self.engine, frame.sort_values(side.shard_key, kind="stable").reset_index(drop=True),
                            self.as_of)

    def plan(self) -> dict[str, Any]:
        self.previous, self.layout = self.store.latest_version(), {}
        with self.stage("extract", 1 + len(self.sides)) as rep:
            self._extract(rep)
        with self.stage("check", 1) as rep:
            self.active = self._check(rep)
        with self.stage("train", len(self.active)) as rep:
            self._train_all(rep)
            for side in self.active:
                if isinstance(side, ShardedSide):
                    context = side.context(self.models[side.name]["loaded"], self.frames[side.name], self.as_of)
                    self.work.put(f"context/{side.name}.pkl", pickle.dumps(context))
            assert self.build is not None
            self.work.upload(self.build / "models", "models")
        self.engine.release_memory()
        status = {s.name: "skipped" if s not in self.active else "sharded" if s.name in self.layout else "whole"
                  for s in self.sides}
        plan = {"as_of": self.iso, "shards": self.shards, "previous": self.previous, "summary": self.summary,
                "currency": self.currency, "trigger": self.trigger, "move_latest": self.move_latest,
                "status": status, "layout": {k: v for k, v in self.layout.items() if status[k] == "sharded"},
                "models": {n: {k: v for k, v in m.items() if k != "loaded"} for n, m in self.models.items()},
                "reports": [asdict(r) for r in self.reports]}
        self.work.put("plan.json", json.dumps(plan, sort_keys=True, default=str).encode())
        plan["items"] = [{"side": name, "shard": int(k)} for name, files in plan["layout"].items() for k in files]
        return plan

    def reduce(self, plan: dict[str, Any]) -> RefreshResult:
        self.previous, self.summary, self.currency = plan["previous"], plan["summary"], plan["currency"]
        self.reports = [StageReport(**r) for r in plan["reports"]]
        self.models = {n: dict(m) for n, m in plan["models"].items()}
        self.active = [s for s in self.sides if plan["status"].get(s.name, "skipped") != "skipped"]
        self.extra_fields = {"sharded": {"shards": plan["shards"], "sides": plan["status"]}}
        with self.stage("score", len(self.active)) as rep:
            problems = incomplete_shards(self.work, plan)
            if problems:
                raise ShardsIncomplete(f"{len(problems)} shard(s) incomplete: {'; '.join(problems[:10])}",
                                       shards=problems[:100])
            tasks = {f"{side}/{k}": json.loads(self.work.get(f"done/{side}/shard={k}.json"))
                     for side, layout in plan["layout"].items() for k in layout}
            self.extra_fields["sharded"]["tasks"] = {  # per shard: rows, seconds, the scoring process's peak RSS
                name: {f: done.get(f) for f in ("rows_in", "seconds", "peak_rss_mb")} for name, done in tasks.items()}
            # the map's span, first task started to last finished (wherever the tasks ran: clocks are UTC)
            spans = [(d["started_at"], d["finished_at"]) for d in tasks.values() if "started_at" in d]
            self.extra_fields["sharded"]["map_wall_seconds"] = (
                round(max(e for _, e in spans) - min(b for b, _ in spans), 3) if spans else None)
            self.reports.append(_map_report(tasks, self.extra_fields["sharded"]["map_wall_seconds"]))
            self.build = self.store.new_build_dir()
            self.work.download("models", self.build / "models")
            timing = self.extra_fields["sharded"]["reduce_seconds"] = {}  # where the single process spends it
            for side in self.active:
                clock = _Clock(timing.setdefault(side.name, {}))
                loaded = side.load(self.build / "models" / side.name)
                if plan["status"][side.name] == "sharded":
                    assert isinstance(side, ShardedSide)
                    parts = [_load_part(self.work, side.name, k) for k, _ in sorted(plan["layout"][side.name].items())]
                    rows = concat_rows([p for p in parts if p], side.shard_key)
                    del parts
                    context = pickle.loads(self.work.get(f"context/{side.name}.pkl"))
                    clock.lap("merge")
                    out = side.finish(loaded, context, rows, self.as_of)
                    del rows
                else:
                    out = side.score(loaded, pickle.loads(self.work.get(f"frames/{side.name}.pkl")), self.as_of)
                clock.lap("finish" if plan["status"][side.name] == "sharded" else "score whole")
                rep.notes.append(f"{side.name}: {self._write_side(side.name, out):,} rows")
                clock.lap("write")  # tables, documents (the derived ones query the engine), analyst Parquet
                del out, loaded
                self.observer.stage_advanced("score", side.name)
            rep.rows = sum(self.written["rows"].values())
        return self._publish()


def _map_report(tasks: dict[str, dict[str, Any]], seconds: float | None) -> StageReport:
    """The map as a stage of the run's report (it ran elsewhere: a process pool, or Step Functions' children):
    its span, rows, tasks by side and the largest task's peak memory."""
    sides: dict[str, list[dict[str, Any]]] = {}
    for name, done in sorted(tasks.items()):
        sides.setdefault(name.split("/")[0], []).append(done)
    notes = [f"{side}: {len(ds)} tasks, {sum(d['rows_in'] for d in ds):,} rows, "
             f"{float(np.median([d['seconds'] for d in ds])):.1f} s median" for side, ds in sides.items()]
    peaks = [d["peak_rss_mb"] for d in tasks.values() if d.get("peak_rss_mb") is not None]
    if peaks:
        notes.append(f"largest task peak {max(peaks):,.0f} MB")
    return StageReport("map", seconds=seconds or 0.0, rows=sum(d["rows_in"] for d in tasks.values()), notes=notes,
                       peak_rss_mb=max(peaks) if peaks else None)


class _Clock:
    """Seconds per step into ``steps``: ``lap(step)`` records the time since the previous lap."""

    def __init__(self, steps: dict[str, float]) -> None:
        self.steps, self.last = steps, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step], self.last = round(now - self.last, 3), now


def _run(**kwargs: Any) -> _ShardedRun:
    run = _ShardedRun(CanonicalEngine(kwargs["engine"]), kwargs["store"], list(kwargs["sides"]), kwargs["as_of"],
                      kwargs.get("policy") or RefreshPolicy(), kwargs.get("force_retrain", False),
                      kwargs.get("trigger", "manual"), kwargs.get("observer") or Quiet(),
                      kwargs.get("metrics") or Quiet(), kwargs.get("log") or logging.getLogger("insights.refresh"),
                      kwargs.get("move_latest", "forward"))
    run.currency = kwargs.get("currency", "USD").upper()
    return run


def plan_run(*, work: WorkArea, shards: int, train_rows: int = 1_000_000, **parts: Any) -> dict[str, Any]:
    """Step 1. ``parts``: run_refresh's (engine, store, sides, as_of, policy, force_retrain, trigger, ...)."""
    run = _run(**parts)
    run.work, run.shards, run.train_rows = work, check_shards(shards), train_rows
    try:
        return run.plan()
    finally:
        run.cleanup()


def score_shard(work: WorkArea, side: Side, shard: int) -> dict[str, Any]:
    """Step 2: score one shard of ``side`` from the work area; returns a small summary for the map's result."""
    plan = json.loads(work.get("plan.json"))
    files = plan["layout"][side.name][str(shard)]
    assert isinstance(side, ShardedSide), f"side {side.name} is not sharded"
    started, started_at = time.perf_counter(), time.time()
    reset_peak_rss()  # this task's own peak, not an earlier task's in the same worker or warm Lambda
    part = read_part(work, files, side.shard_key)
    tables: dict[str, int] = {}
    if len(part):
        with tempfile.TemporaryDirectory(prefix="insights-shard-") as tmp:
            models = side.load(work.download(f"models/{side.name}", Path(tmp) / side.name))
            context = pickle.loads(work.get(f"context/{side.name}.pkl"))
            as_of = date.fromisoformat(plan["as_of"])
            part = part.sort_values(side.shard_key, kind="stable").reset_index(drop=True)
            rows = concat_rows([side.score_part(models, context, part.iloc[a:b], as_of)
                                for a, b in key_chunks(part[side.shard_key].to_numpy(), SCORE_CHUNK_ROWS)],
                               side.shard_key)
        tables = {t: table_length(cols) for t, cols in rows.items()}
        work.put(f"parts/{side.name}/shard={shard}.pkl", pickle.dumps(rows))
    done = {"side": side.name, "shard": shard, "rows_in": len(part), "files": files, "tables": tables,
            "seconds": round(time.perf_counter() - started, 3), "peak_rss_mb": peak_rss_mb(),
            "started_at": round(started_at, 3), "finished_at": round(time.time(), 3)}
    work.put(f"done/{side.name}/shard={shard}.json", json.dumps(done, sort_keys=True).encode())  # last: complete
    return {"side": side.name, "shard": shard, "rows": len(part)}


def publish_run(*, work: WorkArea, remove_work: bool = True, **parts: Any) -> RefreshResult:
    """Step 3: check every shard, merge, publish. ``parts`` as :func:`plan_run` (the engine: for what the written
    documents may still query, e.g. lake aggregates; none is needed otherwise)."""
    plan = json.loads(work.get("plan.json"))
    given = {k: v for k, v in parts.items() if k not in ("engine", "as_of", "trigger", "move_latest")}
    run = _run(engine=parts.get("engine"), as_of=date.fromisoformat(plan["as_of"]), trigger=plan["trigger"],
               move_latest=plan["move_latest"], **given)
    run.work = work
    try:
        result = run.reduce(plan)
    except BaseException:
        run.metrics.emit("RefreshFailed", 1, "Count", {"trigger": run.trigger})
        raise
    finally:
        run.cleanup()
    run.metrics.emit("RefreshSucceeded", 1, "Count", {"trigger": run.trigger})
    if remove_work:
        work.remove()
    return result


def incomplete_shards(work: WorkArea, plan: dict[str, Any]) -> list[str]:
    """What keeps the run from publishing: shards without a done marker, with other files, or without a part."""
    problems = []
    for side, layout in sorted(plan["layout"].items()):
        for k, files in sorted(layout.items(), key=lambda kv: int(kv[0])):
            key = f"done/{side}/shard={k}.json"
            if not work.exists(key):
                problems.append(f"{side} shard {k}: not scored")
                continue
            done = json.loads(work.get(key))
            if done["files"] != files:
                problems.append(f"{side} shard {k}: scored other files than the plan's")
            elif done["rows_in"] and not work.exists(f"parts/{side}/shard={k}.pkl"):
                problems.append(f"{side} shard {k}: its scores are missing")
    return problems


def _load_part(work: WorkArea, side: str, shard: str) -> dict[str, dict[str, np.ndarray]]:
    done = json.loads(work.get(f"done/{side}/shard={shard}.json"))
    if not done["rows_in"]:
        return {}
    rows = pickle.loads(work.get(f"parts/{side}/shard={shard}.pkl"))
    if {t: table_length(c) for t, c in rows.items()} != done["tables"]:
        raise ShardsIncomplete(f"{side} shard {shard}: its scores do not match its done marker", shards=[shard])
    return rows
