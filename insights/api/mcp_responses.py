"""The answer of POST /demand-insights/mcp: one JSON-RPC 2.0 response (see insights/api/mcp.py and docs/api.md)."""

# No `from __future__ import annotations`: TypedDict must see NotRequired evaluated to know the optional keys.
from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

__all__ = ["McpResponse", "McpError"]


class McpError(TypedDict):
    code: Annotated[int, Field(description="JSON-RPC error code: -32700 parse error, -32600 invalid request, -32601 "
                                           "method not found, -32602 invalid params (an unknown tool)")]
    message: Annotated[str, Field(description="what is wrong, in one sentence")]
    data: Annotated[Any, Field(description="more about the error (the versions supported), or null")]


class McpResponse(TypedDict):
    """One JSON-RPC 2.0 response of the MCP endpoint (Streamable HTTP, stateless, JSON; no SSE stream).

    A tool's own failure is a ``result`` with ``isError`` true and the REST error body as its content."""

    jsonrpc: Annotated[Literal["2.0"], Field(description="always 2.0")]
    id: Annotated[int | str | None, Field(description="the request's id; null when the body could not be read")]
    result: NotRequired[Annotated[dict[str, Any], Field(
        description="initialize: protocolVersion, capabilities, serverInfo; tools/list: tools (name, description, "
                    "inputSchema, annotations); tools/call: content (the answer as JSON text), structuredContent "
                    "(the REST route's answer, or its error body when isError is true), isError")]]
    error: NotRequired[Annotated[McpError, Field(description="a protocol error (not a tool's own failure)")]]
