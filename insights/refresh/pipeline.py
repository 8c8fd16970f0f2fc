"""The daily refresh as one service function over injected parts: extract, check, train or reuse, score, publish.

``run_refresh`` receives everything it touches: the query engine, the snapshot store and one Side per model family
(insights/refresh/side.py). Each query runs once: a side's frame is extracted in the first stage and handed to its
training and scoring. A stage that raises stops the run before publish: nothing is written and ``latest`` stays; the
exception propagates (with a note naming the stage) so the Lambda reports an error and the alarm fires.
docs/refresh.md describes the stages, gates and the retrain rule (insights/refresh/reuse.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from athena.engine import QueryEngine
from insights.errors import InsufficientData
from insights.refresh.analyst import score_path, write_score_table
from insights.refresh.derived import derived_docs
from insights.refresh.engine import CanonicalEngine
from insights.refresh.reuse import folder_hash, reusable, write_drift_reference
from insights.refresh.side import Side, SideOutput, jsonable
from insights.refresh.stages import MetricsSink, Observer, Quiet, RefreshPolicy, RefreshResult, StageReport, peak_rss_mb
from insights.snapshot.store import SnapshotStore
from insights.snapshot.writer import finalize_build, write_doc, write_table

__all__ = ["run_refresh"]

def run_refresh(*, engine: QueryEngine, store: SnapshotStore, sides: Sequence[Side], as_of: date,
                policy: RefreshPolicy | None = None, force_retrain: bool = False, trigger: str = "manual",
                observer: Observer | None = None, metrics: MetricsSink | None = None,
                log: logging.Logger | None = None, currency: str = "USD", move_latest: str = "forward"
                ) -> RefreshResult:
    """Run the five stages for ``as_of`` (order lines before that day) and publish one snapshot version.

    ``currency`` (ISO 4217) is recorded in the manifest: every amount the API answers is in it; ``move_latest``
    is SnapshotStore.publish's rule for the ``latest`` pointer.
    """
    run = _Run(CanonicalEngine(engine), store, list(sides), as_of, policy or RefreshPolicy(), force_retrain, trigger,
               observer or Quiet(), metrics or Quiet(), log or logging.getLogger("insights.refresh"), move_latest)
    run.currency = currency.upper()
    try:
        result = run.execute()
    except BaseException:
        run.metrics.emit("RefreshFailed", 1, "Count", {"trigger": trigger})
        raise
    finally:
        run.cleanup()
    run.metrics.emit("RefreshSucceeded", 1, "Count", {"trigger": trigger})
    return result


class _Run:
    def __init__(self, engine: CanonicalEngine, store: SnapshotStore, sides: list[Side], as_of: date,
                 policy: RefreshPolicy, force: bool, trigger: str, observer: Observer, metrics: MetricsSink,
                 log: logging.Logger, move_latest: str) -> None:
        self.engine, self.store, self.sides, self.as_of = engine, store, sides, as_of
        self.policy, self.force, self.trigger, self.move_latest = policy, force, trigger, move_latest
        self.observer, self.metrics, self.log = observer, metrics, log
        self.reports: list[StageReport] = []
        self.previous: str | None = None
        self.build: Path | None = None
        self.iso = as_of.isoformat()
        self.summary: dict[str, Any] = {}
        self.frames: dict[str, pd.DataFrame] = {}
        self.active: list[Side] = []
        self.models: dict[str, dict[str, Any]] = {}
        self.written: dict[str, Any] = {"rows": {}, "keys": {}, "scores": []}
        self.currency = "USD"
        self.extra_fields: dict[str, Any] = {}  # more manifest fields (the sharded refresh: run id, shards)

    @contextlib.contextmanager
    def stage(self, name: str, steps: int) -> Iterator[StageReport]:
        report = StageReport(name)
        self.observer.stage_started(name, steps)
        self.log.info("stage started", extra={"stage": name, "as_of": self.iso})
        started = time.perf_counter()
        try:
            yield report
        except BaseException as exc:
            report.status, report.seconds = "failed", round(time.perf_counter() - started, 3)
            self.reports.append(report)
            self.observer.stage_finished(report)
            self.log.error(f"stage {name} failed: {exc!r:.300}", extra={"stage": name, "as_of": self.iso,
                                                                         "error": repr(exc)[:500]})
            self.metrics.emit("StageFailed", 1, "Count", {"stage": name})
            exc.add_note(f"refresh {self.iso}: stage {name!r} failed; nothing was published "
                         f"(latest is still {self.previous!r})")
            raise
        report.seconds = round(time.perf_counter() - started, 3)
        report.peak_rss_mb = peak_rss_mb()
        self.reports.append(report)
        self.observer.stage_finished(report)
        self.log.info("stage finished", extra={"stage": name, "as_of": self.iso, "seconds": report.seconds,
                                               "rows": report.rows, "notes": report.notes})
        self.metrics.emit("StageDuration", report.seconds, "Seconds", {"stage": name})

    def execute(self) -> RefreshResult:
        self.previous = self.store.latest_version()
        with self.stage("extract", 1 + len(self.sides)) as rep:
            self._extract(rep)
        with self.stage("check", 1) as rep:
            self.active = self._check(rep)
        with self.stage("train", len(self.active)) as rep:
            self._train_all(rep)
        self.engine.release_memory()  # the queries are done: DuckDB hands back its buffer pool before scoring
        with self.stage("score", len(self.active)) as rep:
            for side in self.active:
                started = time.perf_counter()
                out = self._score(side, rep)
                n = self._write_side(side.name, out)
                rep.notes.append(f"{side.name}: {n:,} rows in {time.perf_counter() - started:.1f} s")
                # free the side's frame, models and outputs before the next side: peak memory is one side's
                del out
                self.frames.pop(side.name, None)
                self.models[side.name].pop("loaded", None)
                self.observer.stage_advanced("score", side.name)
            rep.rows = sum(self.written["rows"].values())
        return self._publish()

    def _extract(self, rep: StageReport) -> None:
        summary = self.engine.query("lake_summary", {"cutoff": self.iso})
        self.summary = jsonable(summary.iloc[0].to_dict()) if len(summary) else {}
        self.observer.stage_advanced("extract", "lake_summary")
        for side in self.sides:
            self.frames[side.name] = self._extract_side(side)
            self.observer.stage_advanced("extract", side.name)
        rep.rows = sum(len(f) for f in self.frames.values())
        rep.notes = [f"{k}: {len(f):,}" for k, f in self.frames.items()]

    def _extract_side(self, side: Side) -> pd.DataFrame:
        return side.extract(self.engine, self.as_of)

    def _train_all(self, rep: StageReport) -> None:
        self.build = self.store.new_build_dir()
        for side in list(self.active):
            try:
                self.models[side.name] = self._train_or_reuse(side, rep)
            except InsufficientData as exc:  # the side's own minimum-data rule: skip it, keep the others
                shutil.rmtree(self._models_folder(side), ignore_errors=True)
                self._skip(side, str(exc), rep)
        if not self.active:
            raise InsufficientData(f"no model family could be trained as of {self.iso}: {'; '.join(rep.notes)}",
                                   missing="data")

    def _publish(self) -> RefreshResult:
        with self.stage("publish", 3) as rep:
            version, manifest = self._finalize()
            self.observer.stage_advanced("publish", "build")
            latest = self.store.publish(self.build, version, move_latest=self.move_latest)
            self.observer.stage_advanced("publish", "store")
            rep.rows = sum(manifest["rows"].values())
            result = RefreshResult(version, self.iso, self.previous, latest, self.reports, manifest,
                                   self.store.as_of(latest) if latest else None, self.move_latest)
            rep.notes = [version] if result.moved else [result.latest_note()]
        self.log.info("refresh published", extra={"version": version, "as_of": self.iso, "latest": latest,
                                                  "previous": self.previous, "latest_moved": result.moved})
        return result

    # -- check --
    def _check(self, rep: StageReport) -> list[Side]:
        lines = int(self.summary.get("order_lines") or 0)
        if lines < self.policy.min_order_lines:
            raise InsufficientData(f"the lake has {lines} order lines before {self.iso}: nothing to refresh",
                                   missing="order_lines", required=self.policy.min_order_lines, available=lines)
        last = self.summary.get("last_date")
        if last:
            lag = (self.as_of - date.fromisoformat(str(last)[:10])).days - 1
            self.metrics.emit("DataLagDays", lag, "Count", {})
            if lag > 0:
                rep.notes.append(f"lake ends {str(last)[:10]}: no orders in the last {lag} day(s) before as_of")
        active = []
        for side in self.sides:
            if reason := side.gate(self.frames[side.name]):
                self._skip(side, reason, rep)
            else:
                active.append(side)
        if not active:
            raise InsufficientData(f"no model family has enough data before {self.iso}: {'; '.join(rep.notes)}",
                                   missing="data")
        rep.rows = lines
        for name, frame in self.frames.items():
            self.metrics.emit("ExtractedRows", len(frame), "Count", {"side": name})
        return active

    def _skip(self, side: Side, reason: str, rep: StageReport) -> None:
        if side in self.active:
            self.active.remove(side)
        rep.notes.append(f"{side.name} skipped: {reason}")
        self.log.warning(f"side {side.name} skipped: {reason}", extra={"side": side.name, "reason": reason})
        self.metrics.emit("SideSkipped", 1, "Count", {"side": side.name})

    # -- train or reuse --
    def _train_or_reuse(self, side: Side, rep: StageReport) -> dict[str, Any]:
        current = side.drift_features(self.frames[side.name])
        reuse, reason = reusable(self.store, self.previous, side, current, as_of=self.as_of,
                                 retrain_after_days=self.policy.retrain_after_days,
                                 drift_threshold=self.policy.drift_threshold, force=self.force,
                                 emit=self.metrics.emit)
        if reuse is None:
            return self._train(side, reason, current, rep, "train")
        shutil.copytree(reuse.folder, self._models_folder(side))  # the new version carries the models it used
        return self._finish(side, {**reuse.info, "decision": f"reused: {reason}"}, reuse.loaded, rep, "train")

    def _models_folder(self, side: Side) -> Path:
        assert self.build is not None
        return self.build / "models" / side.name

    def _train(self, side: Side, reason: str, current: Mapping[str, np.ndarray], rep: StageReport,
               stage: str) -> dict[str, Any]:
        folder = self._models_folder(side)
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        models = side.train(self.engine, self.as_of, self.frames[side.name])
        folder.mkdir(parents=True)
        side.save(models, folder)
        write_drift_reference(folder, current)
        info = {"trained_as_of": self.iso, "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "train_seconds": round(time.perf_counter() - started, 3), "decision": f"trained: {reason}",
                "model_version": f"{side.name}-{self.iso}-{folder_hash(folder)[:8]}",
                "code_version": side.code_version()}
        self.metrics.emit("Retrained", 1, "Count", {"side": side.name})
        # score through the saved artifacts, so a training run and a reuse run take the very same path
        return self._finish(side, info, side.load(folder), rep, stage)

    def _finish(self, side: Side, info: dict[str, Any], loaded: Any, rep: StageReport, stage: str) -> dict[str, Any]:
        info["metadata"] = jsonable(side.describe(loaded))
        took = f" in {info['train_seconds']:.1f} s" if "train_seconds" in info else ""
        rep.notes.append(f"{side.name} {info['decision']}{took}")
        self.observer.stage_advanced(stage, side.name)
        return {**info, "loaded": loaded}

    def _score(self, side: Side, rep: StageReport) -> SideOutput:
        model = self.models[side.name]
        try:
            return side.score(model["loaded"], self.frames[side.name], self.as_of)
        except Exception as exc:
            if not model["decision"].startswith("reused"):
                raise
            # stored models that load but no longer score (written by older code): retrain once, then score
            reason = f"reused models failed to score ({type(exc).__name__}: {str(exc)[:120]})"
            self.log.warning(f"{side.name}: {reason}; retraining", extra={"side": side.name, "error": repr(exc)})
            current = side.drift_features(self.frames[side.name])
            self.models[side.name] = self._train(side, reason, current, rep, "score")
            return side.score(self.models[side.name]["loaded"], self.frames[side.name], self.as_of)

    # -- publish --
    def _write_side(self, name: str, out: SideOutput) -> int:
        """Write one side's tables, documents and analyst Parquet into the build; returns its row count."""
        total = 0
        for table, columns in out.tables.items():
            write_table(self.build, table, columns)
            self.written["rows"][table] = rows = int(len(next(iter(columns.values())))) if columns else 0
            total += rows
            self.metrics.emit("Rows", rows, "Count", {"table": table})
        docs = dict(out.docs)
        if "customers" in out.tables:  # aggregates over the scored customers, the lake, the previous version
            docs.update(derived_docs(customers=out.tables["customers"], docs=out.docs, engine=self.engine,
                                     store=self.store, as_of=self.as_of, build=self.build))
            self.engine.release_memory()  # their lake aggregates grew DuckDB's pool again: hand it back
        for doc, body in docs.items():
            write_doc(self.build, doc, body)
        self.written["keys"].update(out.table_keys)
        for table, frame in out.scores.items():
            write_score_table(frame, table, score_path(self.build, table, self.iso))
            self.written["scores"].append(table)
        for metric, value in out.quality.items():
            if value is not None and np.isfinite(value):
                self.metrics.emit(metric, float(value), "None", {"side": name})
        return total

    def _finalize(self) -> tuple[str, dict[str, Any]]:
        rows, keys, scores = self.written["rows"], self.written["keys"], self.written["scores"]
        models = {n: {k: v for k, v in m.items() if k != "loaded"} for n, m in self.models.items()}
        skipped = [s.name for s in self.sides if s not in self.active]
        fields = {
            "trigger": self.trigger, "previous_version": self.previous, "currency": self.currency, "rows": rows,
            "table_keys": keys, "lake": self.summary, "models": models, "score_tables": scores,
            "sides": {s.name: ("skipped" if s.name in skipped else "ok") for s in self.sides},
            "stage_seconds": {r.stage: r.seconds for r in self.reports},
            "stage_peak_rss_mb": {r.stage: r.peak_rss_mb for r in self.reports},
            "check_notes": [n for r in self.reports if r.stage in ("check", "train") for n in r.notes
                            if " skipped: " in n or r.stage == "check"],
            **self.extra_fields,
        }
        version = finalize_build(self.build, jsonable(fields), as_of=self.iso)
        return version, json.loads((self.build / "manifest.json").read_text())

    def cleanup(self) -> None:
        if self.build is not None:
            shutil.rmtree(self.build, ignore_errors=True)
