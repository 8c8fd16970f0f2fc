"""Shared constants and helpers of the security tests (imported by conftest and the tests)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

ISSUER = "demand-insights-local"
AUDIENCE = "demand-insights"
ALLOWED = ("HS256", "RS256", "ES256")
AS_OF = date(2025, 5, 1)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def small_orders(start: str = "2025-01-01", days: int = 120, *, customers: int = 60, products: int = 6,
                 lines: int = 900, seed: int = 3, skip_days: tuple[str, ...] = ()) -> Any:
    """A small, valid order-line frame (contract columns) spread over ``days`` days, none on ``skip_days``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    day = rng.integers(0, days, lines)
    ts = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(day, unit="D") + pd.to_timedelta(
        rng.integers(0, 86_400, lines), unit="s")
    frame = pd.DataFrame({
        "order_id": [f"o{i // 3:05d}" for i in range(lines)],
        "customer_id": [f"c{c:03d}" for c in rng.integers(0, customers, lines)],
        "order_ts": ts,
        "product_id": [f"p{p:02d}" for p in rng.integers(0, products, lines)],
        "quantity": rng.integers(1, 6, lines),
        "unit_price": rng.choice([2.5, 3.0, 4.0], lines),
    })
    if skip_days:
        frame = frame[~frame["order_ts"].dt.strftime("%Y-%m-%d").isin(skip_days)]
    return frame.reset_index(drop=True)


class FactorySide:
    """Extracts real customer features, 'trains' a tiny JSON model, scores into the API's complete table set."""

    name = "insights"

    def __init__(self) -> None:
        self.trained = 0

    def code_version(self):
        return "factory-1"

    def extract(self, engine, as_of):
        return engine.query("customer_features", {"cutoff": as_of.isoformat()})

    def gate(self, frame):
        return None if len(frame) else "no customers"

    def drift_features(self, frame):
        return {"recency_days": frame["recency_days"].to_numpy("float64")}

    def train(self, engine, as_of, frame):
        self.trained += 1
        return {"as_of": as_of.isoformat()}

    def save(self, models, folder):
        (folder / "model.json").write_text(json.dumps(models))

    def load(self, folder):
        return json.loads((folder / "model.json").read_text())

    def describe(self, models):
        return {"model": "factory", "trained_as_of": models["as_of"]}

    def score(self, models, frame, as_of):
        from snapshot_factory import snapshot_parts  # tests/handler, on sys.path through conftest

        from insights.refresh.side import SideOutput

        parts = snapshot_parts(as_of=as_of.isoformat())
        return SideOutput(tables=parts["tables"], table_keys=parts["keys"], docs=parts["docs"])


def refresh(engine, store, *, as_of: date = AS_OF, side: FactorySide | None = None, **kw):
    """run_refresh with one FactorySide (or ``side``) as of ``as_of``."""
    from insights.refresh.pipeline import run_refresh

    return run_refresh(engine=engine, store=store, sides=[side or FactorySide()], as_of=as_of, **kw)
