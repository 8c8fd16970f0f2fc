"""The retrain rule: may a side rescore with the models stored in the live snapshot, or must it train?

It retrains when asked, when there is no previous snapshot or it holds no models of the side, when those
were trained after this as_of, when the model code changed (its fingerprint), when they are older than
``retrain_after_days``, when a key feature drifted (PSI above ``drift_threshold``, insights/refresh/drift.py)
or when they cannot be loaded. Otherwise the stored models are loaded once and reused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from insights.refresh.drift import drift_report, reference_bins
from insights.refresh.side import Side
from insights.snapshot.store import SnapshotStore

__all__ = ["Reuse", "reusable", "write_drift_reference", "folder_hash", "DRIFT_FILE"]

DRIFT_FILE = "drift_reference.json"


@dataclass
class Reuse:
    """Stored models that may be reused: where they are, what the manifest said of them, and them, loaded."""

    folder: Path
    loaded: Any
    info: dict[str, Any] = field(default_factory=dict)  # trained_as_of, trained_at, model/code version, psi


def reusable(store: SnapshotStore, previous: str | None, side: Side, current: Mapping[str, np.ndarray], *,
             as_of: date, retrain_after_days: int, drift_threshold: float, force: bool,
             emit: Any = None) -> tuple[Reuse | None, str]:
    """(Reuse, why) when the stored models of ``side`` can rescore as of ``as_of``, else (None, why not)."""
    if force:
        return None, "retrain requested"
    if previous is None:
        return None, "no previous snapshot"
    stored = store.manifest(previous).get("models", {}).get(side.name)
    root = store.fetch_models(previous) if stored else None
    if not stored or root is None or not (root / side.name).is_dir():
        return None, f"no stored {side.name} models"
    if stored.get("erased_since_training"):  # trained on customers erased since: never reused (SECURITY.md)
        return None, "customers were erased since these models were trained"
    trained = date.fromisoformat(stored["trained_as_of"])
    age = (as_of - trained).days
    if age < 0:
        return None, f"stored models were trained as of {trained}, after this as_of"
    code = side.code_version()
    if stored.get("code_version") != code:
        return None, f"model code changed ({stored.get('code_version')} -> {code})"
    if age > retrain_after_days:
        return None, f"stored models are {age} days old (> {retrain_after_days})"
    ref_path = root / side.name / DRIFT_FILE
    psi = drift_report(json.loads(ref_path.read_text()), current) if ref_path.is_file() else {}
    worst = max(psi.items(), key=lambda kv: kv[1], default=("", 0.0))
    if emit is not None:
        emit("DriftPSI", worst[1], "None", {"side": side.name})
    if worst[1] > drift_threshold:
        return None, f"drift: PSI {worst[1]:.3f} on {worst[0]} > {drift_threshold}"
    try:
        loaded = side.load(root / side.name)
    except Exception as exc:  # noqa: BLE001 - unreadable stored models are a reason to retrain, not to fail
        return None, f"stored models unreadable ({type(exc).__name__}: {str(exc)[:120]})"
    keep = {k: v for k, v in stored.items() if k in ("trained_as_of", "trained_at", "model_version", "code_version")}
    return Reuse(root / side.name, loaded, {**keep, "psi": psi}), \
        f"{age} day(s) old, max PSI {worst[1]:.3f} ({previous})"


def write_drift_reference(folder: Path, current: Mapping[str, np.ndarray]) -> None:
    """The training population's bins of each key feature, next to the models they were trained with."""
    (folder / DRIFT_FILE).write_text(json.dumps({k: reference_bins(v) for k, v in sorted(current.items())},
                                                sort_keys=True))


def folder_hash(folder: Path) -> str:
    """sha256 over a models folder's files (the drift reference left out): the model version's suffix."""
    digest = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != DRIFT_FILE:
            digest.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes())
    return digest.hexdigest()
