"""Development harness for the customer models: the training slices of each bench data set cached once, then
model variants fitted and scored in seconds, on the internal validation slice and on the bench's holdout.

    nice .venv/bin/python bench/tune_customers.py --datasets online-retail,sample,cdnow   # after bench_customers.py

Reads the lakes bench_customers.py imported into bench/out; caches slices in bench/out/tune-<dataset>.pkl
(delete to rebuild after a feature change). Prints one line per variant and data set. Its numbers are the ones
quoted in docs/customer-models.md, "What was tried".
"""

from __future__ import annotations

import argparse
import pickle
import sys
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from athena.duckdb_engine import DuckDBEngine  # noqa: E402
from insights.refresh.training_slices import Slices, plan_for  # noqa: E402
from models.churn import classification_metrics  # noqa: E402
from models.customer_metrics import clv_metrics  # noqa: E402
from models.features import feature_matrix, fit_bgnbd, fit_gamma_gamma, with_bgnbd_features, with_season  # noqa: E402,E501

OUT = ROOT / "bench" / "out"
LAKES = {"online-retail": "customers_online_retail_lake", "sample": "customers_sample_lake",
         "cdnow": "customers_cdnow_lake"}


def load(name: str, H: int, slices: int = 6, season: bool = False) -> dict:
    cache = OUT / f"tune-{name}-{H}-{slices}{'-season' if season else ''}.pkl"
    if cache.exists():
        out = pickle.loads(cache.read_bytes())
        current = out["frames"]["current"]
        _, yh, sh = out["holdout"]
        X_now = with_season(with_bgnbd_features(current, feature_matrix(current), out["plan"].label_window_days,
                                                fit_bgnbd(current), fit_gamma_gamma(current)), out["as_of"],
                            out["plan"].label_window_days)
        out["holdout"] = (X_now, yh, sh)
        return out
    engine = DuckDBEngine.over_lake(OUT / LAKES[name])
    last = pd.Timestamp(engine.query("lake_summary", {"cutoff": "2999-01-01"}).iloc[0]["last_date"]).date()
    T = last + timedelta(days=1)
    as_of = T - timedelta(days=H)
    data = Slices(engine, 0)
    current = data.seed(as_of, engine.query("customer_features", {"cutoff": as_of.isoformat()}))
    first = pd.Timestamp(current["first_order_date"].min()).date()
    span = (as_of - first).days
    budget = max(2, -(-200_000 // len(current)))
    plan = plan_for("x", H, span, slices, min(13, budget - slices) if season else 0)
    out = {"as_of": as_of, "plan": plan}
    for target in ("churn", "future_spend"):
        out[target] = data.training_set(as_of, plan, first, target, 50)
    cuts, _ = plan.cutoffs(as_of, first)
    out["cutoff_of_row"] = np.concatenate([np.full(len(data.features(c)), i) for i, c in enumerate(cuts)])
    labels = engine.query("customer_labels", {"cutoff": as_of.isoformat(), "horizon_days": H}).set_index(
        "customer_id").reindex(current["customer_id"])
    h = plan.label_window_days
    X_now = with_season(with_bgnbd_features(current, feature_matrix(current), h, fit_bgnbd(current),
                                            fit_gamma_gamma(current)), as_of, h)
    out["holdout"] = (X_now, 1 - labels["purchased"].to_numpy(int), labels["future_spend"].to_numpy(float))
    out["frames"] = {"current": current}
    cache.write_bytes(pickle.dumps(out))
    return out


def churn_report(d: dict, make) -> str:
    X, y, Xv, yv = d["churn"]
    m = make().fit(X, y, X_cal=Xv, y_cal=yv)
    Xh, yh, _ = d["holdout"]
    v = m.holdout_metrics_["calibrated"]
    h = classification_metrics(yh, m.predict_proba(Xh))
    return (f"val AUC {v['roc_auc']:.4f} ECE {v['ece']:.3f} | holdout AUC {h['roc_auc']:.4f} ECE {h['ece']:.3f} "
            f"Brier {h['brier']:.4f}")


def clv_report(d: dict, make) -> str:
    X, y, Xv, yv = d["future_spend"]
    m = make().fit(X, y, X_val=Xv, y_val=yv)
    Xh, _, sh = d["holdout"]
    v = getattr(m, "validation_metrics_", None) or {}
    h = clv_metrics(sh, m.predict(Xh), with_deciles=False)
    vs = f"val RMSE {v['rmse']:.2f} Gini {v['normalized_gini']:.3f} MAPE {v['decile_mape']:.3f} | " if v else ""
    inner = getattr(m, "model", m)
    vs = (f"[{getattr(inner, 'winner_', '?')} w={getattr(inner, 'blend_weight_', 1.0)} "
          f"stack={getattr(inner, 'stack_coef_', None)}] " + vs)
    return (f"{vs}holdout RMSE {h['rmse']:.2f} MAE {h['mae']:.2f} Gini {h['normalized_gini']:.3f} "
            f"MAPE {h['decile_mape']:.3f} total {h['total_predicted']:.0f}/{h['total_actual']:.0f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--datasets", default="online-retail,sample,cdnow")
    p.add_argument("--horizon", type=int, default=90)
    p.add_argument("--what", default="churn,clv")
    p.add_argument("--season", action="store_true", help="training cutoffs over a year, with season features")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    from bench.tune_variants import CHURN, CLV  # the variants being tried, edited between runs

    for name in args.datasets.split(","):
        d = load(name, args.horizon, season=args.season)
        if "churn" in args.what:
            for label, make in CHURN.items():
                print(f"{name:14s} churn {label:28s} {churn_report(d, make)}", flush=True)
        if "clv" in args.what:
            for label, make in CLV.items():
                print(f"{name:14s} clv   {label:28s} {clv_report(d, make)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
