"""Settings: every INSIGHTS_* environment variable is read here, once, into one frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["Settings", "ConfigError", "load_settings"]


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    """Engine settings; CLI flags override them with ``Settings.with_overrides``."""

    lake: str = "./data/lake"
    snapshots: str = "./data/snapshots"
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

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the non-None overrides applied (CLI flags win over the environment)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


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
    return Settings(**values)


def _coerce(name: str, type_name: Any, raw: str) -> Any:
    kind = str(type_name)
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
    except ValueError:
        raise ConfigError(f"INSIGHTS_{name.upper()}={raw!r} is not a number") from None
    return raw
