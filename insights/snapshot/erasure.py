"""Erasure inside one snapshot version: drop a set of customers' rows from every customer table, rebuild what
depends on those rows, and hand back a build the store publishes in place of the old version.

Generic over schema.py: a table declaring ``customer_column`` loses the rows of the erased ids; an int column
declaring ``rows_of`` (row positions in another table, e.g. ``at_risk.order``) is remapped to the surviving rows
(entries pointing at an erased row go); a document declaring ``aggregates`` is recomputed from the rewritten
table by the function registered here under its name. A version that cannot be rewritten (a table no longer
matching its declaration, an aggregate document with no recompute function, an erased id or email still found
in a document) raises :class:`CannotRewrite`: the caller purges it. numpy only.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from insights.snapshot.reader import Snapshot
from insights.snapshot.schema import DOCUMENTS, TABLES
from insights.snapshot.traits import traits_document
from insights.snapshot.writer import finalize_build, version_created_at, write_doc, write_table

__all__ = ["CannotRewrite", "VersionErasure", "rows_to_erase", "rewrite_version", "AGGREGATES"]

_OWN_FIELDS = ("version", "as_of", "created_at", "content_sha256", "files")


class CannotRewrite(Exception):
    """This version cannot be rewritten without the erased customers: it must be purged instead."""


@dataclass
class VersionErasure:
    """What erasing did to one version: rows removed per table, and the version that replaces it."""

    version: str
    rows: dict[str, int] = field(default_factory=dict)
    docs: list[str] = field(default_factory=list)
    new_version: str | None = None

    @property
    def touched(self) -> bool:
        return bool(sum(self.rows.values()) or self.docs)


def _text(column: Any) -> np.ndarray:
    return np.asarray(column).astype(str)


def rows_to_erase(snapshot: Snapshot, ids: Iterable[str]) -> dict[str, np.ndarray]:
    """{table: boolean mask of the rows to drop} for the version's customer tables (reads the id columns only)."""
    wanted = np.asarray(sorted(set(ids)), dtype=str)
    out = {}
    for name, table in snapshot.tables.items():
        spec = TABLES.get(name)
        if spec is not None and spec.customer_column and spec.customer_column in table:
            out[name] = np.isin(_text(table[spec.customer_column]), wanted)
    return out


def _strings(value: Any, *, keys: bool) -> Iterator[str]:
    """Every string of a JSON value (and, with ``keys``, every object key)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if keys:
                yield str(k)
            yield from _strings(v, keys=keys)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, keys=keys)


def _names(name: str, doc: Any, needles: set[str]) -> bool:
    """Whether a document holds one of ``needles`` as a value (or as a key, unless it is a known aggregate
    document, whose keys are its own: segments' "2".."10" must not match a customer called "2")."""
    return any(s in needles for s in _strings(doc, keys=name not in AGGREGATES))


def _docs_naming(snapshot: Snapshot, needles: Iterable[str]) -> list[str]:
    wanted = {n for n in needles if n}
    return [d for d in snapshot.docs if _names(d, snapshot.docs[d], wanted)]


def rewrite_version(snapshot: Snapshot, ids: Iterable[str], emails: Iterable[str], build_dir: Path, *,
                    models: Path | None, erasure_note: Mapping[str, Any]) -> VersionErasure:
    """Write ``snapshot`` without the rows of ``ids`` into ``build_dir`` and seal it; returns what changed.

    ``models`` is a local copy of the version's models/ folder (copied as is; the manifest marks them trained
    on erased customers, so the next refresh retrains). Raises CannotRewrite when the version must be purged.
    """
    ids, emails = sorted(set(ids)), sorted({e for e in emails if e})
    result = VersionErasure(snapshot.version)
    drop = rows_to_erase(snapshot, ids)
    result.rows = {t: int(m.sum()) for t, m in drop.items()}
    for t, mask in drop.items():  # the version's own copy of their emails: no document may keep one
        if "email" in snapshot.tables[t] and mask.any():
            emails = sorted({*emails, *(e for e in _text(snapshot.tables[t]["email"][np.flatnonzero(mask)]) if e)})
    result.docs = _docs_naming(snapshot, ids + emails)
    if not result.touched:
        return result
    result.docs = []
    keep = {t: ~m for t, m in drop.items()}
    tables: dict[str, dict[str, np.ndarray]] = {}
    for name, table in snapshot.tables.items():
        spec = TABLES.get(name)
        if spec is None:
            raise CannotRewrite(f"table {name!r} is no longer declared in schema.py")
        cols = {c: np.asarray(table[c]) for c in table}
        rows = np.ones(next(iter(cols.values())).shape[0], dtype=bool) if cols else np.zeros(0, dtype=bool)
        if name in keep:
            rows &= keep[name]
        for col in spec.columns:
            if col.rows_of in keep and col.name in cols:
                survivors = keep[col.rows_of]
                new_pos = np.cumsum(survivors) - 1
                ref = cols[col.name].astype(np.int64)
                rows &= survivors[ref]
                cols[col.name] = np.where(survivors[ref], new_pos[ref], -1).astype(cols[col.name].dtype)
        result.rows[name] = int((~rows).sum())
        tables[name] = {c: v[rows] for c, v in cols.items()}
    result.rows = {t: n for t, n in result.rows.items() if n}
    try:
        for name, cols in tables.items():
            write_table(build_dir, name, cols)
    except ValueError as exc:  # a table written by older code than this schema
        raise CannotRewrite(str(exc)) from exc
    for name in snapshot.docs:
        doc = snapshot.docs[name]
        dspec = DOCUMENTS.get(name)
        if dspec is not None and dspec.aggregates and name in AGGREGATES and dspec.aggregates in tables:
            doc = AGGREGATES[name](doc, tables[dspec.aggregates])
            result.docs.append(name)
        elif dspec is not None and dspec.aggregates and dspec.aggregates in drop:
            raise CannotRewrite(f"document {name!r} aggregates {dspec.aggregates} and has no recompute function")
        if _names(name, doc, set(ids + emails)):
            raise CannotRewrite(f"document {name!r} names an erased customer and cannot be recomputed")
        write_doc(build_dir, name, doc)
    if models is not None:
        shutil.copytree(models, build_dir / "models")
    manifest = dict(snapshot.manifest)
    fields = {k: v for k, v in manifest.items() if k not in _OWN_FIELDS}
    fields["rows"] = {**dict(fields.get("rows") or {}), **{t: int(len(next(iter(c.values())))) if c else 0
                                                           for t, c in tables.items()}}
    fields["models"] = {side: {**info, "erased_since_training": True} if isinstance(info, dict) else info
                        for side, info in dict(fields.get("models") or {}).items()}
    fields["erasures"] = [*list(fields.get("erasures") or []), dict(erasure_note)]
    fields["replaces_version"] = snapshot.version
    result.new_version = finalize_build(build_dir, fields, as_of=snapshot.as_of,
                                        now=version_created_at(snapshot.version))
    if result.new_version == snapshot.version:
        raise CannotRewrite("the rewritten version has the same content as the old one")
    return result


# -- aggregate documents, recomputed from the rewritten customers table --

def _segments(doc: dict[str, Any], customers: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Each solution's segment counts, percentages and RFM means over the surviving customers."""
    out: dict[str, Any] = json.loads(json.dumps(doc))
    rfm = [np.asarray(customers[c], dtype=np.float64) for c in ("recency_days", "frequency", "monetary_total")]
    n = max(int(rfm[0].shape[0]), 1)
    for key, solution in (out.get("solutions") or {}).items():
        labels = customers.get(f"segment_k{key}")
        if labels is None:
            raise CannotRewrite(f"segments: no segment_k{key} column to recount")
        for seg in solution.get("segments", []):
            mask = np.asarray(labels) == int(seg["segment_id"])
            count = int(mask.sum())
            seg["count"], seg["percentage"] = count, round(100.0 * count / n, 2)
            for name, values in zip(("avg_recency", "avg_frequency", "avg_monetary"), rfm, strict=True):
                seg[name] = round(float(values[mask].mean()), 2) if count else None
    return out


def _customer_models(doc: dict[str, Any], customers: Mapping[str, np.ndarray]) -> dict[str, Any]:
    out = dict(doc)
    churn = np.asarray(customers["churn_probability"], dtype=np.float64)
    out["n_customers"] = int(churn.shape[0])
    if "mean_churn_probability" in out:
        out["mean_churn_probability"] = float(churn.mean()) if churn.size else None
    return out


AGGREGATES: dict[str, Callable[[dict[str, Any], Mapping[str, np.ndarray]], dict[str, Any]]] = {
    "segments": _segments,
    "customer_models": _customer_models,
    "traits": lambda doc, traits: traits_document(traits),
}
