"""The refresh's policy, what each stage reports, what a run returns, and who watches it (progress, metrics)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from insights.config import Settings

__all__ = ["STAGES", "RefreshPolicy", "StageReport", "RefreshResult", "Observer", "MetricsSink", "Quiet",
           "peak_rss_mb", "reset_peak_rss"]

STAGES = ("extract", "check", "train", "score", "publish")


@dataclass(frozen=True)
class RefreshPolicy:
    """When to retrain, and the lake-wide minimum."""

    retrain_after_days: int = 30
    drift_threshold: float = 0.2
    min_order_lines: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> RefreshPolicy:
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
    latest_as_of: str | None = None  # the as_of of the version ``latest`` points to after the publish
    move_latest: str = "forward"  # the rule the publish followed: forward (by as_of), always, never (backfill)
    privacy: dict[str, Any] = field(default_factory=dict)  # erasure requests served, retention applied (privacy.py)

    @property
    def moved(self) -> bool:
        """True when this run's version is the live one."""
        return self.latest == self.version

    def latest_note(self) -> str:
        """One line: where ``latest`` points after the run, and why it did not move when it did not."""
        if self.moved:
            return f"latest -> {self.version}"
        if self.latest is None:
            why = "a backfill never moves it"
        elif self.move_latest == "never":
            why = f"as_of {self.latest_as_of}; a backfill never moves it"
        elif self.latest_as_of and self.latest_as_of > self.as_of:
            why = f"as_of {self.latest_as_of} is newer"
        else:
            why = f"as_of {self.latest_as_of}, published after this run"
        return f"published {self.version} for audit; latest stays {self.latest} ({why})"

    def summary(self) -> dict[str, Any]:
        """JSON-ready: what run_scheduled returns to Lambda."""
        return {"status": "published", "version": self.version, "as_of": self.as_of, "previous": self.previous,
                "latest": self.latest, "latest_as_of": self.latest_as_of, "latest_moved": self.moved,
                "backfill": self.move_latest == "never", "note": self.latest_note(),
                "rows": self.manifest.get("rows", {}),
                "models": {k: v.get("decision") for k, v in self.manifest.get("models", {}).items()},
                "stages": [asdict(s) for s in self.stages], **({"privacy": self.privacy} if self.privacy else {})}


class Observer(Protocol):
    def stage_started(self, stage: str, steps: int) -> None: ...
    def stage_advanced(self, stage: str, note: str = "") -> None: ...
    def stage_finished(self, report: StageReport) -> None: ...


class MetricsSink(Protocol):
    def emit(self, name: str, value: float, unit: str, dimensions: Mapping[str, str]) -> None: ...


class Quiet:
    """An observer and metrics sink that drops everything (the default)."""

    def stage_started(self, stage: str, steps: int) -> None: ...
    def stage_advanced(self, stage: str, note: str = "") -> None: ...
    def stage_finished(self, report: StageReport) -> None: ...
    def emit(self, name: str, value: float, unit: str, dimensions: Mapping[str, str]) -> None: ...


def peak_rss_mb() -> float | None:
    """This process's peak resident memory in MB: Linux's VmHWM, which belongs to the address space, so a
    spawned child starts from its own (``ru_maxrss`` carries the parent's peak across exec: a pool worker of
    a 11 GB planner "peaked" at 11 GB) and :func:`reset_peak_rss` can restart it; ``ru_maxrss`` elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


def reset_peak_rss() -> bool:
    """Restart the peak :func:`peak_rss_mb` reports from the current resident size (Linux; False elsewhere):
    a process that runs several tasks (a pool worker, a warm Lambda) then measures each task's own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True
