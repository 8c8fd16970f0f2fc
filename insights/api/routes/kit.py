"""What every route module shares: the security requirement, the documented answers, the recording decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

from insights.api.error_codes import error_responses

__all__ = ["SECURITY", "Recording", "answers"]

F = TypeVar("F", bound=Callable[..., Any])

SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def answers(description: str, *codes: str) -> dict[int, Any]:
    """The documented responses: 200 (its schema is the route's return annotation) and every error code it sends."""
    return {200: {"description": description}, **error_responses(*codes)}


class Recording:
    """The resolver's route decorators, remembering each (method, path): the metrics' route names come from here."""

    def __init__(self, resolver: ApiGatewayResolver) -> None:
        self.resolver = resolver
        self.seen: set[tuple[str, str]] = set()

    def get(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        self.seen.add(("GET", path))
        return self.resolver.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        self.seen.add(("POST", path))
        return self.resolver.post(path, **kwargs)
