"""The store's own ids on the way in, the pseudonyms the snapshot holds inside (INSIGHTS_PSEUDONYMIZE).

A route that names customers by id passes them through :func:`by_store_ids`: each id is hashed with the
deployment's key (stdlib hmac, insights/pseudonym.py) before the service looks it up, and the answer is mapped
back, so ``predictions[].customer_id`` and ``not_found`` echo the ids the caller sent. Lists the API builds
itself (at-risk customers) carry the pseudonym: the API never holds the store's id for a customer nobody asked
about. Without pseudonymization both are the identity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from insights.pseudonym import Pseudonymizer

__all__ = ["by_store_id", "by_store_ids", "stored_id"]


def stored_id(pseudonyms: Pseudonymizer | None, customer_id: str) -> str:
    """The id the snapshot holds for the store's ``customer_id`` (a path parameter, say)."""
    return customer_id if pseudonyms is None else pseudonyms.pseudonym(customer_id)


def by_store_ids(pseudonyms: Pseudonymizer | None, ids: Sequence[str],
                 service: Callable[[list[str]], dict[str, Any]]) -> dict[str, Any]:
    """``service(stored ids)`` with every ``customer_id`` and ``not_found`` entry of its answer mapped back."""
    if pseudonyms is None:
        return service(list(ids))
    back: dict[str, str] = {}
    for raw in ids:
        back.setdefault(pseudonyms.pseudonym(raw), raw)
    answer = service(list(back))
    for row in answer.get("predictions", []):
        row["customer_id"] = back.get(row["customer_id"], row["customer_id"])
    answer["not_found"] = [back.get(i, i) for i in answer.get("not_found", [])]
    return answer


def by_store_id(pseudonyms: Pseudonymizer | None, customer_id: str | None,
                service: Callable[[str | None], dict[str, Any]]) -> dict[str, Any]:
    """``service(stored id)`` for one customer (a path parameter, say), every ``customer_id`` of its answer that
    holds the stored id, however deep, echoed back as the store's id."""
    if pseudonyms is None or customer_id is None:
        return service(customer_id)
    sid = pseudonyms.pseudonym(customer_id)
    return _echo(service(sid), sid, customer_id)  # type: ignore[no-any-return]


def _echo(value: Any, sid: str, raw: str) -> Any:
    if isinstance(value, dict):
        return {k: (raw if k == "customer_id" and v == sid else _echo(v, sid, raw)) for k, v in value.items()}
    if isinstance(value, list):
        return [_echo(v, sid, raw) for v in value]
    return value
