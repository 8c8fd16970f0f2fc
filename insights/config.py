"""Settings: every INSIGHTS_* environment variable is read here, once, into one frozen object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from insights.errors import ConfigError

__all__ = ["Settings", "ConfigError", "load_settings", "workspace_paths", "check_workspace", "DATA_DIR",
           "DEFAULT_WORKSPACE"]

DATA_DIR = "./data"  # local workspaces live under it: ./data/<workspace>/lake and ./data/<workspace>/snapshots
DEFAULT_WORKSPACE = "demo"
_WORKSPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_workspace(name: str) -> str:
    """``name`` if it can name a folder under ./data (letters, digits, ``_ . -``), else ConfigError."""
    if not _WORKSPACE_NAME.fullmatch(name or "") or ".." in name:
        raise ConfigError(f"workspace {name!r} is not a valid name: use letters, digits, '_', '.' or '-' "
                          "(at most 64, starting with a letter or digit)", workspace=name)
    return name


def workspace_paths(workspace: str) -> dict[str, str]:
    """The local lake and snapshot folders of a workspace: {"lake": ..., "snapshots": ...}."""
    root = f"{DATA_DIR}/{check_workspace(workspace)}"
    return {"lake": f"{root}/lake", "snapshots": f"{root}/snapshots"}


@dataclass(frozen=True)
class Settings:
    """Engine settings; CLI flags override them with ``Settings.with_overrides``.

    ``lake`` and ``snapshots`` default to the workspace's folders (``./data/<workspace>/...``); INSIGHTS_LAKE
    and INSIGHTS_SNAPSHOTS (an s3:// URI in AWS) or a CLI flag set them explicitly.
    """

    workspace: str = DEFAULT_WORKSPACE
    lake: str = "./data/demo/lake"
    snapshots: str = "./data/demo/snapshots"
    athena_database: str = "demand_insights_db"
    athena_workgroup: str = "primary"
    athena_output_location: str | None = None
    athena_timeout_s: float = 600.0
    athena_max_retries: int = 3
    region: str = "us-east-1"
    clv_horizon_days: int = 365
    churn_horizon_days: int = 90
    forecast_horizon_days: int = 90
    margin: float | None = None
    retrain_after_days: int = 30
    drift_threshold: float = 0.2
    keep_versions: int = 7
    min_customers: int = 20
    min_sales_days: int = 14
    sales_history_days: int = 730
    snapshot_recheck_s: float = 60.0
    jwt_secret: str | None = None
    jwt_secret_parameter: str | None = None
    jwt_secret_arn: str | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "demand-insights-local"
    jwt_audience: str = "demand-insights"
    jwt_algorithms: str = "HS256"
    jwt_leeway_s: int = 30
    max_price_change: float = 0.2
    price_range_margin: float = 0.1
    log_level: str = "INFO"
    currency: str | None = None  # ISO 4217 code of every amount; None: the imported lake's, else USD
    max_data_lag_days: int = 3  # health is degraded when the data or the as_of lag today by more than this
    refresh_interval_hours: float = 24.0  # the refresh schedule's period
    freshness_grace_hours: float = 6.0  # how late a refresh may be before health says degraded
    log_format: str = "text"  # the local server's log: one readable line per request, or "json" (Powertools)
    max_event_skew_days: int = 2  # a scheduled event this far from now is a replay: run as a backfill
    shards: int = 16  # the sharded refresh's shard count (1-100; docs/refresh.md, "Past one machine")
    shard_train_rows: int = 1_000_000  # the sharded refresh trains on whole shards up to this many rows
    shard_work: str = ""  # the sharded refresh's work area; default: beside the snapshots (.../work)
    duckdb_memory_limit: str = ""  # the local engine's cap ("8GB", "40%"); empty: DuckDB's own (80% of memory)
    # privacy (SECURITY.md): pseudonymous ids, emails, retention
    pseudonymize: bool = False  # customer ids become HMAC-SHA256 pseudonyms at import (insights/pseudonym.py)
    pseudonym_secret: str | None = None
    pseudonym_secret_parameter: str | None = None
    pseudonym_secret_arn: str | None = None
    keep_emails: bool | None = None  # None: kept unless pseudonymize is on
    lake_retention_days: int = 0  # order lines, reviews, engagement older than this leave the lake (0 = kept)
    snapshot_retention_days: int = 0  # versions older than this are purged, besides keep_versions (0 = no age limit)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the non-None overrides applied (CLI flags win over the environment).

        A new ``workspace`` moves ``lake`` and ``snapshots`` along with it unless they were set explicitly
        (by an override here, or by a value other than the old workspace's folders).
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        if "workspace" in given:
            old, new = workspace_paths(self.workspace), workspace_paths(given["workspace"])
            for name in ("lake", "snapshots"):
                if name not in given and getattr(self, name) == old[name]:
                    given[name] = new[name]
        return replace(self, **given)

    @property
    def emails_kept(self) -> bool:
        """Whether the importer keeps customer emails: INSIGHTS_KEEP_EMAILS, else only without pseudonymization."""
        return (not self.pseudonymize) if self.keep_emails is None else self.keep_emails

    def uses_workspace(self) -> bool:
        """True when both the lake and the snapshots are the workspace's own folders (nothing set explicitly)."""
        return workspace_paths(self.workspace) == {"lake": self.lake, "snapshots": self.snapshots}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from INSIGHTS_* variables (AWS_REGION and LOG_LEVEL too)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = env.get(f"INSIGHTS_{f.name.upper()}")
        if raw is None or raw == "":
            continue
        values[f.name] = _coerce(f.name, f.type, raw)
    if "region" not in values and env.get("AWS_REGION"):
        values["region"] = env["AWS_REGION"]
    if "log_level" not in values and env.get("LOG_LEVEL"):
        values["log_level"] = env["LOG_LEVEL"]
    for name, path in workspace_paths(values.get("workspace", DEFAULT_WORKSPACE)).items():
        values.setdefault(name, path)
    if values.get("log_format", "text") not in ("text", "json"):
        raise ConfigError(f"INSIGHTS_LOG_FORMAT={values['log_format']!r}: use text or json")
    return Settings(**values)


def _coerce(name: str, type_name: Any, raw: str) -> Any:
    kind = str(type_name)
    if kind.startswith("bool"):
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"INSIGHTS_{name.upper()}={raw!r}: use true or false")
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
    except ValueError:
        raise ConfigError(f"INSIGHTS_{name.upper()}={raw!r} is not a number") from None
    return raw
