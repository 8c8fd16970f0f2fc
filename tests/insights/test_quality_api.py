"""GET /demand-insights/quality's service: model cards from the snapshot's quality document and manifest."""

from __future__ import annotations

import json

from insights.api.quality import card_link, quality
from insights.snapshot.reader import Snapshot

DOC = {
    "trained_as_of": "2026-10-01", "history_days": 700, "scored_as_of": "2026-11-01",
    "training_rows": {"clv": 12000, "churn": 12000}, "validation_rows": {"clv": 2000, "churn": 2000},
    "gates": [{"gate": "customers", "required": 50, "available": 2100, "passed": True, "what": "customers"},
              {"gate": "full_label_window_clv", "required": 760, "available": 700, "passed": False, "what": "h"}],
    "drift": {"standardized_mean_shift": {"recency_days": 0.1}, "max_abs_shift": 0.1},
    "families": {
        "clv": {"model": "lightgbm", "baseline": "BG/NBD + Gamma-Gamma", "target": "spend in 90 days",
                "validation": {"cutoff": "2026-07-03", "customers": 2000},
                "metrics": {"model": {"rmse": 90.0, "mae": 30.0, "normalized_gini": 0.7},
                            "baseline": {"rmse": 100.0, "mae": 33.0, "normalized_gini": 0.65}},
                "vs_baseline": {"rmse_ratio": 0.9, "mae_ratio": 0.91, "normalized_gini_difference": 0.05},
                "calibration_by_decile": {"model": [], "baseline": []},
                "interval": {"level": 0.8, "coverage": 0.79}},
        "churn": {"model": "lightgbm+sigmoid", "baseline": "BG/NBD + Gamma-Gamma", "target": "no purchase",
                  "validation": {"cutoff": "2026-07-03", "customers": 2000},
                  "metrics": {"model": {"roc_auc": 0.80, "ece": 0.01}, "baseline": {"roc_auc": 0.78, "ece": 0.03}},
                  "vs_baseline": {"roc_auc_difference": 0.02, "ece_difference": -0.02},
                  "calibration_by_decile": {"model": [], "baseline": []}},
    },
}
MANIFEST = {"version": "v1", "as_of": "2026-11-01", "currency": "EUR",
            "models": {"customers": {"trained_as_of": "2026-10-01", "trained_at": "2026-10-01T04:00:00+00:00",
                                     "decision": "reused: 31 day(s) old, max PSI 0.010 (v0)",
                                     "psi": {"recency_days": 0.01}, "model_version": "customers-x"}}}


def _snapshot(docs):
    return Snapshot.from_memory("v1", MANIFEST, {}, docs)


def test_each_family_has_its_card_against_the_named_baseline():
    out = quality(_snapshot({"quality": DOC}))
    assert out["available"] and set(out["families"]) == {"clv", "churn"}
    clv, churn = out["families"]["clv"], out["families"]["churn"]
    assert clv["baseline"] == "BG/NBD + Gamma-Gamma"
    assert clv["headline"] == {"metric": "rmse", "model": 90.0, "baseline": 100.0, "ratio": 0.9, "better": True}
    assert churn["headline"]["metric"] == "roc_auc" and churn["headline"]["better"] is True
    assert clv["interval"]["coverage"] == 0.79
    assert clv["gates_passed"] is False  # the full-horizon window gate did not pass
    assert clv["training"]["training_rows"] == 12000 and clv["training"]["trained_as_of"] == "2026-10-01"
    assert clv["drift"]["psi"] == {"recency_days": 0.01} and clv["drift"]["max_abs_shift"] == 0.1
    assert out["currency"] == "EUR" and out["as_of"] == "2026-11-01"
    json.dumps(out, allow_nan=False)


def test_one_family_can_be_asked_for_and_a_snapshot_without_cards_says_so():
    assert set(quality(_snapshot({"quality": DOC}), family="churn")["families"]) == {"churn"}
    empty = quality(_snapshot({}))
    assert empty["available"] is False and empty["families"] == {} and "no model card" in empty["note"]
    assert card_link("clv") == "/demand-insights/quality#clv"
