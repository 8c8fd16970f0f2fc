"""The ``segment_transitions`` document: how many customers moved between named segments since the last snapshot.

"The last snapshot" is the newest complete version whose as_of is earlier than this refresh's (a re-run of the
same day compares with the day before, not with itself, so equal input still gives an equal snapshot). Customers
are matched by id (both tables are sorted by it); segments are compared by name, which the segmentation keeps
stable across refreshes (docs/customer-models.md). Without such a version the document says so: not an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from insights.errors import InsightError, NotFound
from insights.snapshot.reader import Snapshot
from insights.snapshot.store import SnapshotStore, as_of_in_version_id

__all__ = ["transitions_doc", "previous_segments", "PreviousSegments"]


@dataclass(frozen=True)
class PreviousSegments:
    version: str
    as_of: str
    customer_ids: np.ndarray  # sorted
    segments: np.ndarray


def previous_segments(store: SnapshotStore, as_of: str) -> tuple[PreviousSegments | None, str]:
    """The newest complete version with an earlier as_of: its customers' segments; or None and why not."""
    earlier = [(as_of_in_version_id(v) or store.as_of(v), v) for v in store.versions()]
    earlier = [(a, v) for a, v in earlier if a and a < as_of]
    if not earlier:
        return None, (f"no previous snapshot with an as_of before {as_of} to compare with: the transitions appear "
                      "from the next daily refresh on")
    version = max(earlier)[1]
    try:
        return _read(store.open(version)), ""
    except (InsightError, NotFound, OSError, ValueError) as exc:
        return None, f"the previous snapshot {version} could not be read ({type(exc).__name__}): no transitions"


def _read(snap: Snapshot) -> PreviousSegments:
    table = snap.table("customers")
    return PreviousSegments(snap.version, snap.as_of, np.asarray(table["customer_id"]).astype(str),
                            np.asarray(table["segment"]).astype(str))


def transitions_doc(customers: Mapping[str, np.ndarray], previous: PreviousSegments | None,
                    note: str = "") -> dict[str, Any]:
    """Counts of (previous segment -> current segment) over the customers in both versions."""
    if previous is None:
        return {"available": False, "note": note or "no previous snapshot to compare with"}
    old_ids, old_seg = previous.customer_ids, previous.segments
    ids, seg = np.asarray(customers["customer_id"]).astype(str), np.asarray(customers["segment"]).astype(str)
    pos = np.clip(np.searchsorted(old_ids, ids), 0, max(old_ids.size - 1, 0))
    both = (old_ids[pos] == ids) if old_ids.size else np.zeros(ids.size, dtype=bool)
    pairs, counts = np.unique(np.stack([old_seg[pos[both]], seg[both]]), axis=1, return_counts=True) \
        if both.any() else (np.zeros((2, 0), dtype=str), np.zeros(0, dtype=np.int64))
    moved = [{"from_segment": str(a), "to_segment": str(b), "customers": int(n)}
             for (a, b), n in zip(pairs.T, counts, strict=True) if a != b]
    moved.sort(key=lambda t: (-t["customers"], t["from_segment"], t["to_segment"]))
    stayed = {str(a): int(n) for (a, b), n in zip(pairs.T, counts, strict=True) if a == b}
    return {
        "available": True,
        "previous_version": previous.version,
        "previous_as_of": previous.as_of,
        "compared_customers": int(both.sum()),
        "moved_customers": int(sum(t["customers"] for t in moved)),
        "transitions": moved,
        "stayed": [{"segment": s, "customers": n} for s, n in sorted(stayed.items(), key=lambda x: (-x[1], x[0]))],
        "new_customers": _count(seg[~both]),
        "customers_no_longer_scored": int(old_ids.size - both.sum()),
    }


def _count(values: np.ndarray) -> list[dict[str, Any]]:
    names, counts = np.unique(values, return_counts=True)
    rows = [{"segment": str(s), "customers": int(n)} for s, n in zip(names, counts, strict=True)]
    return sorted(rows, key=lambda r: (-r["customers"], r["segment"]))
