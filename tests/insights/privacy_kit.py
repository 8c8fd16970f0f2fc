"""What the privacy tests share: a small sample lake, a fast customer side that writes every declared customer
table and aggregate (real SQL, trivial model), the handler over a store, and a byte search of every stored file."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "handler"))
from api_events import SECRET, FakeContext, body_of, v2  # noqa: E402
from snapshot_factory import complete  # noqa: E402

from insights.cli.tokens import mint_token  # noqa: E402
from insights.refresh.analyst import customer_scores_frame  # noqa: E402
from insights.refresh.side import SideOutput  # noqa: E402

END = date(2026, 6, 30)
AS_OF = date(2026, 7, 1)


def sample_lake(path: Path, customers: int = 200, days: int = 240) -> Path:
    from insights.data.sample import SampleSpec, generate, write_sample

    return write_sample(path, generate(SampleSpec(customers=customers, products=5, days=days, seed=7, end=END)))


class Customers:
    """A customer side as fast as a fake and as complete as the real one's output: customers (with emails),
    at_risk (row positions), the segments and customer_models aggregates, the customer_scores Parquet."""

    name = "customers"

    def __init__(self) -> None:
        self.decisions: list[str] = []

    def code_version(self) -> str:
        return "privacy-kit-1"

    def extract(self, engine: Any, as_of: date) -> Any:
        return engine.query("customer_features", {"cutoff": as_of.isoformat()})

    def gate(self, frame: Any) -> str | None:
        return None if len(frame) >= 10 else "too few"

    def drift_features(self, frame: Any) -> dict[str, np.ndarray]:
        return {"recency_days": frame["recency_days"].to_numpy(float)}

    def train(self, engine: Any, as_of: date, frame: Any) -> dict[str, Any]:
        return {"scale": 100.0}

    def save(self, models: dict[str, Any], folder: Path) -> None:
        (folder / "model.json").write_text(json.dumps(models))

    def load(self, folder: Path) -> dict[str, Any]:
        return dict(json.loads((folder / "model.json").read_text()))

    def describe(self, models: dict[str, Any]) -> dict[str, Any]:
        return {"model": "kit"}

    def score(self, models: dict[str, Any], frame: Any, as_of: date) -> SideOutput:
        f = frame.sort_values("customer_id").reset_index(drop=True)
        n = len(f)
        churn = 1.0 - np.exp(-f["recency_days"].to_numpy(float) / models["scale"])
        clv = f["monetary_total"].to_numpy(float)
        cols: dict[str, np.ndarray] = {
            "customer_id": f["customer_id"].to_numpy(str),
            "email": f["email"].fillna("").to_numpy(str),
            "recency_days": f["recency_days"].to_numpy("int32"), "frequency": f["frequency"].to_numpy("int32"),
            "monetary_total": clv, "segment": np.full(n, "Regulars"), "r_score": np.full(n, 3, np.int8),
            "f_score": np.full(n, 2, np.int8), "m_score": np.full(n, 4, np.int8), "churn_probability": churn,
            "risk_level": np.where(churn > 0.5, "High", "Low"), "predicted_clv": clv,
            "clv_segment": np.full(n, "Medium"), "value_at_risk": churn * clv, "spend_30d": clv / 12,
            "purchase_probability_30d": 1 - churn, "next_order_date": np.full(n, ""),
        }
        for k in range(2, 11):
            cols[f"segment_k{k}"] = (np.arange(n) % k).astype(np.int8)
        solutions = {str(k): {"k": k, "silhouette": 0.5, "segments": [
            {"segment_id": s, "segment": f"S{s}", "description": "", "count": int((cols[f"segment_k{k}"] == s).sum()),
             "percentage": 0.0, "avg_recency": 0.0, "avg_frequency": 0.0, "avg_monetary": 0.0}
            for s in range(k)]} for k in range(2, 11)}
        order = np.lexsort((np.arange(n), -cols["value_at_risk"])).astype(np.int32)
        docs = {"segments": {"auto_k": 3, "elbow": [], "solutions": solutions},
                "customer_models": {"churn": {"horizon_days": 90}, "clv": {"horizon_days": 365}, "n_customers": n,
                                    "mean_churn_probability": float(churn.mean())}}
        return SideOutput(tables={"customers": complete("customers", cols), "at_risk": {"order": order}},
                          table_keys={"customers": "customer_id"}, docs=docs,
                          scores={"customer_scores": customer_scores_frame(cols)})


def token() -> str:
    return mint_token(SECRET, issuer="demand-insights-local", audience="demand-insights",
                      scopes=("insights:read", "customers:pii"))


def call(handler: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    response = handler.lambda_handler(v2(method, f"/demand-insights/{path}", token=token(), **kwargs), FakeContext())
    return int(response["statusCode"]), body_of(response)


def files_holding(files: dict[str, bytes], *needles: str) -> list[str]:
    """The names of the files whose bytes contain any of ``needles``."""
    wanted = [n.encode() for n in needles if n]
    return sorted(name for name, data in files.items() if any(w in data for w in wanted))


def local_files(*roots: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for root in roots for p in Path(root).rglob("*") if p.is_file()}


def bucket_files(client: Any, bucket: str) -> dict[str, bytes]:
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            out[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return out


__all__ = ["SECRET", "sample_lake", "Customers", "call", "files_holding", "local_files", "bucket_files", "AS_OF"]
