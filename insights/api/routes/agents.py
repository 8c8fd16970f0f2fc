"""The route for AI agents: POST /demand-insights/mcp, the Model Context Protocol endpoint (insights/api/mcp.py)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from insights.api import mcp
from insights.api.error_codes import ALWAYS, AUTH, error_responses
from insights.api.events import PREFIX, header
from insights.api.mcp_responses import McpResponse
from insights.api.routes.kit import SECURITY, Recording
from insights.api.runtime import ApiRuntime

__all__ = ["register"]

MCP_PATH = f"{PREFIX}/mcp"


def register(app: Recording, runtime: ApiRuntime) -> None:
    """Add the MCP route to ``app`` (the resolver, recording each route)."""
    resolver = app.resolver
    ok: dict[int, Any] = {200: {"description": "one JSON-RPC 2.0 response (202 with no body for a notification)",
                                "content": {"application/json": {"model": McpResponse}}}}
    @app.post(MCP_PATH, tags=["agents"], security=SECURITY, enable_validation=False,
              responses={**ok, **error_responses(*AUTH, "payload_too_large", "unsupported_media_type", *ALWAYS)},
              summary="Model Context Protocol (Streamable HTTP, stateless, JSON): read-only tools that answer as the "
                      "REST routes do",
              description="The body is one JSON-RPC 2.0 message: initialize, ping, tools/list, tools/call, or a "
                          "notification (answered 202). The tools and their input schemas: tools/list; docs/api.md.")
    def post_mcp() -> Response[str]:  # not validated by Powertools: the body is JSON-RPC, checked by the MCP types
        event = resolver.current_event
        status, answer = mcp.handle(runtime, event.decoded_body,
                                    header(event.raw_event, "mcp-protocol-version"))
        if answer is None:
            return Response(status, None, "", headers={"Cache-Control": "no-store"})
        return Response(status, content_types.APPLICATION_JSON, json.dumps(answer, separators=(",", ":")),
                        headers={"Cache-Control": "no-store"})
