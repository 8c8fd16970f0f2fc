"""The importer's rules for the optional ``reviews`` and ``engagement`` tables (athena/contract.json).

Pure functions over pandas frames (no I/O), like insights/data/rules.py for orders: every source row is kept or set
aside with exactly one reason, the first rule it breaks, in the order of :data:`EVENT_REASONS`. docs/importer.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from insights.data.rules import Cleaned, ImportRules, _numbers, _parse_ts, normalize_customer_ids, text_values

__all__ = ["EVENT_REASONS", "EVENT_COLUMNS", "EVENT_REQUIRED", "EVENT_CANDIDATES", "clean_events"]

EVENT_REASONS = (
    "malformed_line",         # wrong number of fields (CSV)
    "missing_customer_id",    # an event or a review of nobody: nothing to learn about a customer
    "missing_event_kind",
    "unparseable_date",
    "unparseable_rating",     # not a whole number from 1 to 5
    "date_too_old",           # before min_date
    "future_date",            # after the import time
    "duplicate_line",         # an exact copy of an earlier kept row (every source field equal)
)

EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "reviews": ("customer_id", "product_id", "rating", "review_text", "review_ts"),
    "engagement": ("customer_id", "event_kind", "event_ts"),
}
EVENT_REQUIRED: dict[str, tuple[str, ...]] = {
    "reviews": ("customer_id", "rating", "review_ts"),
    "engagement": ("customer_id", "event_kind", "event_ts"),
}
# Source names tried when a column is not named like the contract (the first present wins; --map overrides).
EVENT_CANDIDATES: dict[str, dict[str, tuple[str, ...]]] = {
    "reviews": {"customer_id": ("CustomerID", "Customer ID", "customer", "user_id"),
                "product_id": ("StockCode", "sku", "SKU", "product"),
                "rating": ("stars", "score", "Rating", "Stars"),
                "review_text": ("text", "review", "body", "comment", "Review"),
                "review_ts": ("review_date", "created_at", "timestamp", "date", "Date")},
    "engagement": {"customer_id": ("CustomerID", "Customer ID", "customer", "user_id"),
                   "event_kind": ("event", "event_type", "kind", "type"),
                   "event_ts": ("timestamp", "event_time", "time", "date", "Date")},
}


def clean_events(table: str, raw: pd.DataFrame, mapping: Mapping[str, str], rules: ImportRules, *,
                 now: datetime) -> Cleaned:
    """Apply the rules to one event file's rows; ``mapping`` is contract column -> source column."""
    reason = pd.Series(pd.NA, index=raw.index, dtype="string")

    def set_aside(mask, name: str) -> None:
        reason[np.asarray(mask, dtype=bool) & reason.isna().to_numpy()] = name

    ts_column = "review_ts" if table == "reviews" else "event_ts"
    cid = normalize_customer_ids(raw[mapping["customer_id"]])
    set_aside(cid.isna(), "missing_customer_id")
    kept = pd.DataFrame({"customer_id": cid})
    if table == "engagement":
        kind = text_values(raw[mapping["event_kind"]]).str.lower().str.replace(r"[\s-]+", "_", regex=True)
        set_aside(kind.isna(), "missing_event_kind")
        kept["event_kind"] = kind
    ts = _parse_ts(raw[mapping[ts_column]], rules)
    set_aside(ts.isna(), "unparseable_date")
    if table == "reviews":
        rating = _numbers(raw[mapping["rating"]])
        whole = rating.notna() & (rating == np.floor(rating.fillna(0))) & rating.between(1, 5)
        set_aside(~whole, "unparseable_rating")
        kept["product_id"] = text_values(raw[mapping["product_id"]]) if "product_id" in mapping else pd.NA
        kept["rating"] = rating.where(whole, 1).astype("int32")
        if "review_text" in mapping:  # the record separator joins texts in customer_engagement: never inside one
            kept["review_text"] = text_values(raw[mapping["review_text"]]).str.replace(chr(30), " ", regex=False)
    now_ts = pd.Timestamp(now)
    set_aside(ts < pd.Timestamp(rules.min_date, tz="UTC"), "date_too_old")
    set_aside(ts > (now_ts.tz_convert(UTC) if now_ts.tzinfo else now_ts.tz_localize(UTC)), "future_date")
    kept[ts_column] = ts
    if not rules.keep_duplicates:
        source = raw[list(dict.fromkeys(mapping.values()))].astype("string")
        ok = reason.isna().to_numpy()
        dup = np.zeros(len(raw), dtype=bool)
        dup[ok] = source[ok].duplicated(keep="first").to_numpy()
        set_aside(dup, "duplicate_line")
    keep = reason.isna().to_numpy()
    columns = [c for c in EVENT_COLUMNS[table] if c in kept]
    return Cleaned(kept=kept.loc[keep, columns].reset_index(drop=True), reasons=reason)
