"""Model cards from the live snapshot: how good each model family is, against its named baseline.

The refresh measures, in the same run and on the same validation slice, our model and the classical anchor
(BG/NBD + Gamma-Gamma for CLV and churn) and stores the ``quality`` document (insights/refresh/customer_quality.py);
this module reads it with the manifest's training facts. numpy only: this module is on the API's request path.
"""

from __future__ import annotations

from typing import Any

from insights.snapshot.reader import Snapshot

__all__ = ["quality", "CARD_PATH", "card_link"]

CARD_PATH = "/demand-insights/quality"
_NAMES = {"clv": "customer lifetime value", "churn": "churn probability"}


def card_link(family: str) -> str:
    """Where the card of ``family`` is served (answers that rest on a model carry it)."""
    return f"{CARD_PATH}#{family}"


def quality(snapshot: Snapshot, *, family: str | None = None) -> dict[str, Any]:
    """One card per model family of the live snapshot (or only ``family``), with training facts and drift."""
    doc = snapshot.optional_doc("quality")
    model_info = (snapshot.manifest.get("models") or {}).get("customers") or {}
    cards: dict[str, Any] = {}
    for name, card in sorted((doc.get("families") or {}).items()):
        if family is not None and name != family:
            continue
        cards[name] = _card(name, card, doc, model_info)
    return {
        "as_of": snapshot.as_of,
        "version": snapshot.version,
        "currency": snapshot.currency,
        "families": cards,
        "available": bool(cards),
        "note": None if cards else ("this snapshot holds no model card (the customer models were skipped, or the "
                                    "refresh predates model cards)"),
    }


def _card(name: str, card: dict[str, Any], doc: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    ours, base = card["metrics"]["model"], card["metrics"]["baseline"]
    vs = card.get("vs_baseline") or {}
    if name == "clv":
        headline = {"metric": "rmse", "model": ours.get("rmse"), "baseline": base.get("rmse"),
                    "ratio": vs.get("rmse_ratio"), "better": _lower(ours.get("rmse"), base.get("rmse"))}
    else:
        headline = {"metric": "roc_auc", "model": ours.get("roc_auc"), "baseline": base.get("roc_auc"),
                    "difference": vs.get("roc_auc_difference"),
                    "better": _higher(ours.get("roc_auc"), base.get("roc_auc"))}
    return {
        "family": name,
        "describes": _NAMES.get(name, name),
        "model": card.get("model"),
        "baseline": card.get("baseline"),
        "target": card.get("target"),
        "holdout": card.get("validation"),
        "headline": headline,
        "metrics": {"model": ours, "baseline": base},
        "vs_baseline": vs,
        "calibration_by_decile": card.get("calibration_by_decile"),
        "interval": card.get("interval"),
        "gates": doc.get("gates", []),
        "gates_passed": all(g.get("passed") for g in doc.get("gates", [])),
        "drift": {**(doc.get("drift") or {}), "psi": info.get("psi") or {}, "decision": info.get("decision")},
        "training": {"trained_as_of": info.get("trained_as_of") or doc.get("trained_as_of"),
                     "trained_at": info.get("trained_at"), "model_version": info.get("model_version"),
                     "training_rows": (doc.get("training_rows") or {}).get(name),
                     "validation_rows": (doc.get("validation_rows") or {}).get(name),
                     "history_days": doc.get("history_days")},
    }


def _lower(a: Any, b: Any) -> bool | None:
    return None if a is None or b is None else bool(a < b)


def _higher(a: Any, b: Any) -> bool | None:
    return None if a is None or b is None else bool(a > b)
