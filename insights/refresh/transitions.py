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
import pandas as pd

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
    ids = np.asarray(customers["customer_id"]).astype(object)
    seg = np.asarray(customers["segment"]).astype(object)
    # hash joins and integer codes: a million customers in about a second, where sorting strings took half a minute
    pos = pd.Index(np.asarray(previous.customer_ids).astype(object)).get_indexer(ids)
    both = pos >= 0
    codes, names = pd.factorize(np.concatenate([np.asarray(previous.segments).astype(object), seg]), sort=True)
    old_code, new_code = codes[:len(previous.segments)], codes[len(previous.segments):]
    k = len(names)
    pairs = np.bincount(old_code[pos[both]] * k + new_code[both], minlength=k * k).reshape(k, k)
    moved = [{"from_segment": str(names[a]), "to_segment": str(names[b]), "customers": int(pairs[a, b])}
             for a, b in zip(*np.nonzero(pairs), strict=True) if a != b]
    moved.sort(key=lambda t: (-t["customers"], t["from_segment"], t["to_segment"]))
    stayed = {str(names[a]): int(pairs[a, a]) for a in range(k) if pairs[a, a]}
    new_counts = np.bincount(new_code[~both], minlength=k)
    n_old = int(np.asarray(previous.customer_ids).shape[0])
    return {
        "available": True,
        "previous_version": previous.version,
        "previous_as_of": previous.as_of,
        "compared_customers": int(both.sum()),
        "moved_customers": int(sum(t["customers"] for t in moved)),
        "transitions": moved,
        "stayed": [{"segment": s, "customers": n} for s, n in sorted(stayed.items(), key=lambda x: (-x[1], x[0]))],
        "new_customers": sorted(({"segment": str(names[j]), "customers": int(c)} for j, c in enumerate(new_counts)
                                 if c), key=lambda r: (-r["customers"], r["segment"])),
        "customers_no_longer_scored": n_old - int(both.sum()),
    }

