"""The daily refresh as one service function over injected parts: extract, check, train or reuse, score, publish.

``run_refresh`` receives everything it touches: the query engine, the snapshot store and one :class:`Side`
per model family (customers, products; real ones in insights/pipeline_sides.py, fakes in tests). A stage
that raises stops the run before publish: nothing is written to the store and ``latest`` stays where it
was. The exception propagates (with a note naming the stage) so the Lambda reports an error and the
alarm fires. docs/refresh.md describes the stages, gates and the retrain rule.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from insights.errors import InsufficientData
from insights.pipeline_drift import drift_report, reference_bins
from insights.pipeline_scores import score_path, write_score_table
from insights.snapshot import write_doc, write_table
from insights.store import SnapshotStore, finalize_build

__all__ = ["Side", "SideOutput", "RefreshPolicy", "StageReport", "RefreshResult", "Observer", "MetricsSink",
           "run_refresh", "STAGES"]

STAGES = ("extract", "check", "train", "score", "publish")
DRIFT_FILE = "drift_reference.json"


@dataclass
class SideOutput:
    """What one side adds to the snapshot: tables (columns), documents, analyst score frames, model quality."""

    tables: dict[str, dict[str, np.ndarray]]
    table_keys: dict[str, str] = field(default_factory=dict)
    docs: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, pd.DataFrame | dict[str, np.ndarray]] = field(default_factory=dict)  # analyst Parquet tables
    quality: dict[str, float] = field(default_factory=dict)


class Side(Protocol):
    """One model family. ``name`` is also its folder under models/ and its key in the manifest."""

    name: str

    def extract(self, engine: Any, as_of: date) -> pd.DataFrame: ...
    def gate(self, frame: pd.DataFrame) -> str | None: ...  # None = enough data, else why the side is skipped
    def drift_features(self, frame: pd.DataFrame) -> dict[str, np.ndarray]: ...
    def train(self, engine: Any, as_of: date) -> Any: ...
    def save(self, models: Any, folder: Path) -> None: ...
    def load(self, folder: Path) -> Any: ...
    def describe(self, models: Any) -> dict[str, Any]: ...  # model names, holdout metrics: JSON-ready
    def score(self, models: Any, frame: pd.DataFrame, as_of: date) -> SideOutput: ...


@dataclass(frozen=True)
class RefreshPolicy:
    """When to retrain, and the lake-wide minimum."""

    retrain_after_days: int = 30
    drift_threshold: float = 0.2
    min_order_lines: int = 1

    @classmethod
    def from_settings(cls, settings: Any) -> RefreshPolicy:
        return cls(retrain_after_days=settings.retrain_after_days, drift_threshold=settings.drift_threshold)


@dataclass
class StageReport:
    stage: str
    seconds: float = 0.0
    rows: int | None = None
    notes: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | failed
    peak_rss_mb: float | None = None  # the process's peak resident memory so far, at the end of the stage


@dataclass
class RefreshResult:
    version: str
    as_of: str
    previous: str | None
    latest: str | None
    stages: list[StageReport]
    manifest: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """JSON-ready: what run_scheduled returns to Lambda."""
        return {"status": "published", "version": self.version, "as_of": self.as_of, "previous": self.previous,
                "latest": self.latest, "rows": self.manifest.get("rows", {}),
                "models": {k: v.get("decision") for k, v in self.manifest.get("models", {}).items()},
                "stages": [asdict(s) for s in self.stages]}


class Observer(Protocol):
    def stage_started(self, stage: str, steps: int) -> None: ...
    def stage_advanced(self, stage: str, note: str = "") -> None: ...
    def stage_finished(self, report: StageReport) -> None: ...


class MetricsSink(Protocol):
    def emit(self, name: str, value: float, unit: str, dimensions: Mapping[str, str]) -> None: ...


class _Quiet:
    def stage_started(self, stage: str, steps: int) -> None: ...
    def stage_advanced(self, stage: str, note: str = "") -> None: ...
    def stage_finished(self, report: StageReport) -> None: ...
    def emit(self, name: str, value: float, unit: str, dimensions: Mapping[str, str]) -> None: ...


def run_refresh(*, engine: Any, store: SnapshotStore, sides: Sequence[Side], as_of: date,
                policy: RefreshPolicy = RefreshPolicy(), force_retrain: bool = False, trigger: str = "manual",
                observer: Observer | None = None, metrics: MetricsSink | None = None,
                log: logging.Logger | None = None) -> RefreshResult:
    """Run the five stages for ``as_of`` (order lines before that day) and publish one snapshot version."""
    run = _Run(_Canonical(engine), store, list(sides), as_of, policy, force_retrain, trigger,
               observer or _Quiet(), metrics or _Quiet(), log or logging.getLogger("insights.refresh"))
    try:
        result = run.execute()
    except BaseException:
        run.metrics.emit("RefreshFailed", 1, "Count", {"trigger": trigger})
        raise
    finally:
        run.cleanup()
    run.metrics.emit("RefreshSucceeded", 1, "Count", {"trigger": trigger})
    return result


class _Canonical:
    """The engine with every float column rounded to ``decimals``: parallel aggregation (DuckDB threads, Athena
    workers) sums in a varying order, so the last bits of a sum change from run to run; rounding makes the
    same lake give the same features, hence the same snapshot."""

    def __init__(self, engine: Any, decimals: int = 6) -> None:
        self.inner, self.decimals = engine, decimals

    def query(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        frame = self.inner.query(name, params)
        for col in frame.columns:
            if pd.api.types.is_float_dtype(frame[col].dtype):
                frame[col] = frame[col].round(self.decimals)
        return frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Run:
    def __init__(self, engine, store, sides, as_of, policy, force, trigger, observer, metrics, log) -> None:
        self.engine, self.store, self.sides, self.as_of = engine, store, sides, as_of
        self.policy, self.force, self.trigger = policy, force, trigger
        self.observer, self.metrics, self.log = observer, metrics, log
        self.reports: list[StageReport] = []
        self.previous: str | None = None
        self.build: Path | None = None
        self.iso = as_of.isoformat()

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
        report.peak_rss_mb = _peak_rss_mb()
        self.reports.append(report)
        self.observer.stage_finished(report)
        self.log.info("stage finished", extra={"stage": name, "as_of": self.iso, "seconds": report.seconds,
                                               "rows": report.rows, "notes": report.notes})
        self.metrics.emit("StageDuration", report.seconds, "Seconds", {"stage": name})

    def execute(self) -> RefreshResult:
        self.previous = self.store.latest_version()
        with self.stage("extract", 1 + len(self.sides)) as rep:
            summary = self.engine.query("lake_summary", {"cutoff": self.iso})
            self.summary = _jsonable(summary.iloc[0].to_dict()) if len(summary) else {}
            self.observer.stage_advanced("extract", "lake_summary")
            self.frames = {}
            for side in self.sides:
                self.frames[side.name] = side.extract(self.engine, self.as_of)
                self.observer.stage_advanced("extract", side.name)
            rep.rows = sum(len(f) for f in self.frames.values())
            rep.notes = [f"{k}: {len(f):,}" for k, f in self.frames.items()]
        with self.stage("check", 1) as rep:
            self.active = self._check(rep)
        with self.stage("train", len(self.active)) as rep:
            self.build = self._new_build()
            self.models = {}
            for side in list(self.active):
                try:
                    self.models[side.name] = self._train_or_reuse(side, rep)
                except InsufficientData as exc:  # the side's own minimum-data rule: skip it, keep the others
                    shutil.rmtree(self.build / "models" / side.name, ignore_errors=True)
                    self._skip(side, str(exc), rep)
            if not self.active:
                raise InsufficientData(f"no model family could be trained as of {self.iso}: {'; '.join(rep.notes)}",
                                       missing="data")
        release = getattr(self.engine, "release_memory", None)
        if callable(release):  # the engine's work is done: DuckDB can hand back its buffer pool before scoring
            release()
        with self.stage("score", len(self.active)) as rep:
            self.written: dict[str, Any] = {"rows": {}, "keys": {}, "scores": []}
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
        with self.stage("publish", 3) as rep:
            version, manifest = self._finalize()
            self.observer.stage_advanced("publish", "build")
            latest = self.store.publish(self.build, version)
            self.observer.stage_advanced("publish", "store")
            rep.rows = sum(manifest["rows"].values())
            rep.notes = [version] + ([] if latest == version else [f"latest stays {latest} (newer)"])
        self.log.info("refresh published", extra={"version": version, "as_of": self.iso, "latest": latest,
                                                  "previous": self.previous})
        return RefreshResult(version, self.iso, self.previous, latest, self.reports, manifest)

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
            reason = side.gate(self.frames[side.name])
            if reason:
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
        if side in getattr(self, "active", []):
            self.active.remove(side)
        rep.notes.append(f"{side.name} skipped: {reason}")
        self.log.warning(f"side {side.name} skipped: {reason}", extra={"side": side.name, "reason": reason})
        self.metrics.emit("SideSkipped", 1, "Count", {"side": side.name})

    # -- train or reuse --
    def _new_build(self) -> Path:
        maker = getattr(self.store, "new_build_dir", None)
        return Path(maker()) if maker else Path(tempfile.mkdtemp(prefix="insights-build-"))

    def _train_or_reuse(self, side: Side, rep: StageReport) -> dict[str, Any]:
        folder = self.build / "models" / side.name
        current = side.drift_features(self.frames[side.name])
        info, reason = self._reusable(side, current)
        if info is None:
            return self._train(side, reason, current, rep, "train")
        shutil.copytree(info.pop("_folder"), folder)
        info["decision"] = f"reused: {reason}"
        return self._finish(side, info, rep, "train")

    def _train(self, side: Side, reason: str, current: Mapping[str, np.ndarray], rep: StageReport,
               stage: str) -> dict[str, Any]:
        folder = self.build / "models" / side.name
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        models = side.train(self.engine, self.as_of)
        folder.mkdir(parents=True)
        side.save(models, folder)
        (folder / DRIFT_FILE).write_text(json.dumps(
            {k: reference_bins(v) for k, v in sorted(current.items())}, sort_keys=True))
        info = {"trained_as_of": self.iso, "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "train_seconds": round(time.perf_counter() - started, 3), "decision": f"trained: {reason}",
                "model_version": f"{side.name}-{self.iso}-{_folder_hash(folder)[:8]}",
                "code_version": _code_version(side)}
        self.metrics.emit("Retrained", 1, "Count", {"side": side.name})
        return self._finish(side, info, rep, stage)

    def _finish(self, side: Side, info: dict[str, Any], rep: StageReport, stage: str) -> dict[str, Any]:
        # score through the saved artifacts, so a training run and a reuse run take the very same path
        loaded = side.load(self.build / "models" / side.name)
        info["metadata"] = _jsonable(side.describe(loaded))
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

    def _reusable(self, side: Side, current: Mapping[str, np.ndarray]) -> tuple[dict[str, Any] | None, str]:
        if self.force:
            return None, "retrain requested"
        if self.previous is None:
            return None, "no previous snapshot"
        stored = self.store.manifest(self.previous).get("models", {}).get(side.name)
        root = self.store.fetch_models(self.previous) if stored else None
        if not stored or root is None or not (root / side.name).is_dir():
            return None, f"no stored {side.name} models"
        trained = date.fromisoformat(stored["trained_as_of"])
        age = (self.as_of - trained).days
        if age < 0:
            return None, f"stored models were trained as of {trained}, after this as_of"
        code = _code_version(side)
        if code is not None and stored.get("code_version") != code:
            return None, f"model code changed ({stored.get('code_version')} -> {code})"
        if age > self.policy.retrain_after_days:
            return None, f"stored models are {age} days old (> {self.policy.retrain_after_days})"
        ref_path = root / side.name / DRIFT_FILE
        psi = drift_report(json.loads(ref_path.read_text()), current) if ref_path.is_file() else {}
        worst = max(psi.items(), key=lambda kv: kv[1], default=("", 0.0))
        self.metrics.emit("DriftPSI", worst[1], "None", {"side": side.name})
        if worst[1] > self.policy.drift_threshold:
            return None, f"drift: PSI {worst[1]:.3f} on {worst[0]} > {self.policy.drift_threshold}"
        try:
            side.load(root / side.name)
        except Exception as exc:  # noqa: BLE001 - unreadable stored models are a reason to retrain, not to fail
            return None, f"stored models unreadable ({type(exc).__name__}: {str(exc)[:120]})"
        keep = {k: v for k, v in stored.items()
                if k in ("trained_as_of", "trained_at", "model_version", "code_version")}
        return {**keep, "psi": psi, "_folder": root / side.name}, \
            f"{age} day(s) old, max PSI {worst[1]:.3f} ({self.previous})"

    # -- publish --
    def _write_side(self, name: str, out: SideOutput) -> int:
        """Write one side's tables, documents and analyst Parquet into the build; returns its row count."""
        total = 0
        for table, columns in out.tables.items():
            write_table(self.build, table, columns)
            rows = int(len(next(iter(columns.values())))) if columns else 0
            self.written["rows"][table] = rows
            total += rows
            self.metrics.emit("Rows", rows, "Count", {"table": table})
        for doc, body in out.docs.items():
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
            "trigger": self.trigger, "previous_version": self.previous, "rows": rows, "table_keys": keys,
            "lake": self.summary, "models": models, "score_tables": scores,
            "sides": {s.name: ("skipped" if s.name in skipped else "ok") for s in self.sides},
            "stage_seconds": {r.stage: r.seconds for r in self.reports},
            "stage_peak_rss_mb": {r.stage: r.peak_rss_mb for r in self.reports},
            "check_notes": [n for r in self.reports if r.stage in ("check", "train") for n in r.notes
                            if " skipped: " in n or r.stage == "check"],
        }
        version = finalize_build(self.build, _jsonable(fields), as_of=self.iso)
        return version, json.loads((self.build / "manifest.json").read_text())

    def cleanup(self) -> None:
        if self.build is not None:
            shutil.rmtree(self.build, ignore_errors=True)


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


def _code_version(side: Side) -> str | None:
    """The side's ``code_version()`` (a fingerprint of its model code), when it has one."""
    fn = getattr(side, "code_version", None)
    return str(fn()) if callable(fn) else None


def _folder_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != DRIFT_FILE:
            digest.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes())
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    """Numpy scalars, dates and NaN made JSON-safe (NaN -> None)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime) and pd.Timestamp(value) == pd.Timestamp(value).normalize():
        return pd.Timestamp(value).date().isoformat()  # DuckDB returns DATE columns as midnight timestamps
    if isinstance(value, date | datetime | pd.Timestamp):
        return value.isoformat()[:10] if isinstance(value, date) and not isinstance(value, datetime) \
            else pd.Timestamp(value).isoformat()
    if value is pd.NaT or (not isinstance(value, str | int | float | bool | type(None)) and pd.isna(value)):
        return None
    return value
