"""What a model family gives the refresh: the :class:`Side` protocol and its :class:`SideOutput`.

A side extracts its frame once (the extract stage), says whether it has enough data, trains on that frame
(querying only what scoring does not already hold: past cutoffs, labels), saves and loads its models, and
scores. The pipeline never knows which family it runs; insights/refresh/customers.py and products.py are
the two real ones, tests pass fakes.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from numbers import Real
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from athena.engine import QueryEngine

__all__ = ["Side", "ShardedSide", "SideOutput", "holdout_metrics", "code_fingerprint", "jsonable", "join_extracts"]


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

    def code_version(self) -> str: ...  # a fingerprint of the model code: stored models of other code retrain
    def extract(self, engine: QueryEngine, as_of: date) -> pd.DataFrame: ...
    def gate(self, frame: pd.DataFrame) -> str | None: ...  # None = enough data, else why the side is skipped
    def drift_features(self, frame: pd.DataFrame) -> dict[str, np.ndarray]: ...
    def train(self, engine: QueryEngine, as_of: date, frame: pd.DataFrame) -> Any: ...  # frame = extract()'s
    def save(self, models: Any, folder: Path) -> None: ...
    def load(self, folder: Path) -> Any: ...
    def describe(self, models: Any) -> dict[str, Any]: ...  # model names, holdout metrics: JSON-ready
    def score(self, models: Any, frame: pd.DataFrame, as_of: date) -> SideOutput: ...


@runtime_checkable
class ShardedSide(Side, Protocol):
    """A side the sharded refresh (insights/refresh/sharded.py) can score shard by shard.

    ``score(models, frame, as_of)`` must equal ``finish(models, context(models, frame, as_of), rows, as_of)``
    where ``rows`` are ``score_part``'s tables of every shard concatenated and sorted by ``shard_key``: per-row
    work goes in ``score_part``, whatever needs the whole population in ``context`` (from the training frame)
    or ``finish`` (from every row). A side without these methods is extracted and scored whole in the reduce
    step: correct, but not spread.
    """

    shard_key: str  # the extract frame's id column the shards split on

    # what extract() runs, as (name, params): the first query's rows, each further query's columns joined by
    # join_extracts on shard_key (each query is unloaded by shard and joined shard by shard)
    def extract_queries(self, as_of: date) -> list[tuple[str, dict[str, Any]]]: ...
    # the training frame from the first shards' joined rows (sorted by shard_key): what extract() returns for
    # them; it may also ask the engine for population-level aggregates that context() needs
    def prepare(self, engine: QueryEngine, rows: pd.DataFrame, as_of: date) -> pd.DataFrame: ...
    def context(self, models: Any, frame: pd.DataFrame, as_of: date) -> Any: ...
    def score_part(self, models: Any, context: Any, part: pd.DataFrame,
                   as_of: date) -> dict[str, dict[str, np.ndarray]]: ...
    def finish(self, models: Any, context: Any, rows: dict[str, dict[str, np.ndarray]], as_of: date) -> SideOutput: ...


def holdout_metrics(metadata: dict[str, Any]) -> dict[str, float]:
    """Flat ``{<model>_<metric>: value}`` from the ``holdout`` blocks of a models' metadata.

    A block split into calibrated/uncalibrated reports the calibrated numbers; a block keyed by candidate
    models reports the chosen one (``section["model"]``); counts (``n``) are left out.
    """
    out: dict[str, float] = {}
    for model, section in sorted(metadata.items()):
        if not isinstance(section, dict):
            continue
        for key in ("holdout", "spend_holdout", "orders_holdout"):
            block = section.get(key)
            if not isinstance(block, dict):
                continue
            if isinstance(block.get("calibrated"), dict):
                block = block["calibrated"]
            elif isinstance(block.get(str(section.get("model"))), dict):
                block = block[str(section["model"])]
            prefix = model if key == "holdout" else f"{model}_{key.removesuffix('_holdout')}"
            for metric, value in _leaves(block):
                if metric != "n":
                    out[f"{prefix}_{metric}"] = value
    return out


def code_fingerprint(modules: tuple[str, ...], packages: tuple[str, ...] = ("models",)) -> str:
    """sha256 (12 hex) of the files of ``modules`` and of every module in ``packages``, found without importing.

    A new deployment with changed model code gets a new fingerprint, and the refresh retrains rather than
    feed stored models to code that may no longer read them. Bytecode-only packages hash the .pyc files.
    """
    paths: list[Path] = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            paths.append(Path(spec.origin))
    for name in packages:
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            paths += sorted(p for p in Path(folder).iterdir() if p.suffix in (".py", ".pyc") and p.is_file())
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _leaves(block: dict[str, Any], prefix: str = "") -> list[tuple[str, float]]:
    found = []
    for name, value in sorted(block.items()):
        if isinstance(value, dict) and not prefix:
            found += _leaves(value, f"{name}_")
        elif isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value):
            found.append((f"{prefix}{name}", float(value)))
    return found


def jsonable(value: Any) -> Any:
    """Numpy scalars, dates and NaN made JSON-safe (NaN -> None)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
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


def join_extracts(frames: list[pd.DataFrame], key: str) -> pd.DataFrame:
    """The first frame's rows with each further frame's columns, left-joined on ``key`` (at most one row per key).

    A further frame without ``key`` (a shard with no row of that query) adds nothing."""
    frame = frames[0]
    for extra in frames[1:]:
        if key in extra.columns and key in frame.columns:
            frame = frame.merge(extra, on=key, how="left", validate="one_to_one")
    return frame
