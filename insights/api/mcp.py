"""The Model Context Protocol endpoint (POST /demand-insights/mcp): Streamable HTTP, stateless, JSON answers.

One POST carries one JSON-RPC message; a request is answered in the response body (``application/json``, never an
SSE stream), a notification or a client's response with 202 and no body. No session is kept (no
``Mcp-Session-Id``): ``initialize`` only negotiates the protocol version, and every later request says its
version in the ``MCP-Protocol-Version`` header (absent: 2025-03-26, as the specification says). The protocol
revisions offered are those with the ``initialize`` handshake (2024-11-05 .. 2025-11-25); a 2026-07-28 client's
``server/discover`` probe is answered "method not found", on which the SDK's client falls back to the handshake.

The MCP SDK's own wire types do the protocol (the ``mcp-types`` distribution of the official Python SDK):
``mcp_types.methods.parse_client_request`` validates each request against its version's schema and
``serialize_server_result`` shapes each result for that version. The SDK's server (``mcp.server``) is not used:
it brings Starlette, uvicorn, anyio, httpx and jsonschema, 7 MB the api package has no room for (docs/api.md).
mcp_types is imported on the first MCP request only, so other routes' cold start does not pay for it.

Tools (insights/api/mcp_tools.py) call the REST routes' service functions. A tool's failure is a tool result with
``isError`` true whose content is the REST error body ``{"error": {"code", "message", "details"}}`` (same codes);
an unknown tool or malformed params are JSON-RPC errors, as the specification asks. The bearer token was checked
by the app's gate before this module runs (401/403 as for every route); a tool needing another scope is hidden
from ``tools/list`` and refused (``insufficient_scope``) by ``tools/call``.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from insights.api.mcp_tools import TOOLS, McpTool, tool_named
from insights.api.runtime import ApiRuntime
from insights.errors import InsightError, SnapshotGone, SnapshotUnavailable

if TYPE_CHECKING:
    import mcp_types

__all__ = ["handle", "SERVER_NAME", "SERVER_VERSION"]

log = logging.getLogger(__name__)

SERVER_NAME = "demand-insights"
SERVER_VERSION = "1.0.0"
INSTRUCTIONS = ("Read-only eCommerce insights from the daily snapshot: customer segments and behavioural traits, "
                "churn risk, customer lifetime value, demand forecasts, price elasticity and price optimization; "
                "and an A/B test calculator. Each tool returns the JSON of the REST route it names; errors carry "
                "the REST error codes.")
INTERNAL = "internal error; quote the correlation id to the operator"
Answer = tuple[int, dict[str, Any] | None]  # HTTP status and JSON body (None: no body)


def handle(runtime: ApiRuntime, body: str | None, version_header: str | None) -> Answer:
    """Answer one POSTed JSON-RPC message (the request already authenticated)."""
    import mcp_types as t
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

    if version_header is not None and version_header not in HANDSHAKE_PROTOCOL_VERSIONS:
        return 400, _error(None, t.INVALID_REQUEST, f"unsupported MCP-Protocol-Version {version_header!r}; this "
                           f"server speaks {', '.join(HANDSHAKE_PROTOCOL_VERSIONS)}",
                           {"supported": list(HANDSHAKE_PROTOCOL_VERSIONS), "requested": version_header})
    try:
        raw = json.loads(body or "")
    except (ValueError, RecursionError):
        return 400, _error(None, t.PARSE_ERROR, "the body is not JSON")
    try:
        message = t.jsonrpc_message_adapter.validate_python(raw, by_name=False)
        if isinstance(raw, dict) and "id" in raw and "method" in raw and not isinstance(message, t.JSONRPCRequest):
            raise ValueError("the id is neither a string nor an integer")  # not a notification: a bad request
    except (ValidationError, ValueError):
        return 400, _error(None, t.INVALID_REQUEST, "the body is not one JSON-RPC 2.0 message (batches are not "
                                                    "accepted; an id is a string or an integer)")
    if not isinstance(message, t.JSONRPCRequest):
        return 202, None  # notifications (notifications/initialized, cancelled) and responses: nothing to answer
    version = version_header or t.DEFAULT_NEGOTIATED_VERSION
    try:
        result = _dispatch(runtime, message, version)
    except _RpcError as exc:
        return 200, _error(message.id, exc.code, exc.message)
    return 200, t.JSONRPCResponse(jsonrpc="2.0", id=message.id, result=result).model_dump(mode="json",
                                                                                          by_alias=True)


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _dispatch(runtime: ApiRuntime, message: mcp_types.JSONRPCRequest, version: str) -> dict[str, Any]:
    """The wire result of one request, validated and shaped by the SDK for ``version``; raises _RpcError."""
    import mcp_types as t
    from mcp_types import methods
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

    method = message.method
    if method == "initialize":  # the client's version when we speak it, else our newest (the client decides)
        offered = (message.params or {}).get("protocolVersion")
        version = offered if offered in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION
    try:
        request = methods.parse_client_request(method, version, message.params)
    except KeyError:
        raise _RpcError(t.METHOD_NOT_FOUND, f"method {method!r} is not offered (tools only, protocol "
                                            f"{version})") from None
    except ValidationError as exc:
        raise _RpcError(t.INVALID_PARAMS, f"invalid params for {method}: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])) from None
    result: Any
    if isinstance(request, t.InitializeRequest):
        result = t.InitializeResult(
            protocol_version=version, capabilities=t.ServerCapabilities(tools=t.ToolsCapability(list_changed=False)),
            server_info=t.Implementation(name=SERVER_NAME, title="Demand Insights Engine", version=SERVER_VERSION),
            instructions=INSTRUCTIONS)
    elif isinstance(request, t.PingRequest):
        result = t.EmptyResult()
    elif isinstance(request, t.ListToolsRequest):
        result = t.ListToolsResult(tools=[_describe(tool) for tool in TOOLS if _allowed(runtime, tool)])
    elif isinstance(request, t.CallToolRequest):
        result = _call(runtime, request.params.name, request.params.arguments or {})
    else:
        raise _RpcError(t.METHOD_NOT_FOUND, f"method {method!r} is not offered (tools only)")
    return methods.serialize_server_result(method, version, result.model_dump(by_alias=True, mode="json",
                                                                              exclude_none=True))


def _describe(tool: McpTool) -> mcp_types.Tool:
    import mcp_types as t

    return t.Tool(name=tool.name, title=tool.name.replace("_", " ").capitalize(),
                  description=f"{tool.description} Same answer as {tool.route}.",
                  input_schema=_input_schema(tool.arguments),
                  annotations=t.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                                open_world_hint=False))


@cache
def _input_schema(model: type) -> dict[str, Any]:
    schema: dict[str, Any] = _untitled(TypeAdapter(model).json_schema())
    schema.setdefault("properties", {})
    return schema


def _untitled(node: Any) -> Any:
    """The schema without pydantic's generated titles ("Product Id"): the descriptions say more."""
    if isinstance(node, dict):
        return {k: _untitled(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(node, list):
        return [_untitled(v) for v in node]
    return node


@cache
def _adapter(answer: Any) -> TypeAdapter[Any]:
    return TypeAdapter(answer)


def _allowed(runtime: ApiRuntime, tool: McpTool) -> bool:
    principal = runtime.principal()
    return bool(principal and principal.has(tool.scope))


def _call(runtime: ApiRuntime, name: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
    """Run one tool: its answer as the REST route gives it, or its failure as a tool error with the REST code."""
    import mcp_types as t

    tool = tool_named(name)
    if tool is None:
        raise _RpcError(t.INVALID_PARAMS, f"unknown tool {name!r}; tools/list names them")
    if not _allowed(runtime, tool):
        return _failed("insufficient_scope", f"this tool needs the {tool.scope!r} scope", {"scope": tool.scope})
    try:
        args = tool.arguments.model_validate(arguments)
    except ValidationError as exc:
        errors = [_field_error(e) for e in exc.errors()]
        names = ", ".join(dict.fromkeys(e["field"] for e in errors))
        return _failed("validation_error", f"invalid arguments: {names}", errors)
    try:
        answer = tool.call(runtime, args)
        adapter = _adapter(tool.answer)  # the route's response type: validated and dumped as Powertools does
        structured = adapter.dump_python(adapter.validate_python(answer), mode="json")
    except SnapshotGone:
        raise  # the version was replaced under the request: the app answers it again from latest, as for REST
    except SnapshotUnavailable as exc:
        return _failed(exc.code, exc.message, {"reason": exc.details.get("reason")})
    except InsightError as exc:
        if exc.status >= 500:
            log.exception("tool %s failed", name)
            return _failed("internal_error", INTERNAL, None)
        return _failed(exc.code, exc.message, {k: v for k, v in exc.details.items() if v is not None} or None)
    except Exception:
        log.exception("tool %s failed", name)
        return _failed("internal_error", INTERNAL, None)
    return t.CallToolResult(content=[t.TextContent(text=json.dumps(structured, separators=(",", ":")))],
                            structured_content=structured)


def _failed(code: str, message: str, details: Any) -> mcp_types.CallToolResult:
    import mcp_types as t

    body = {"error": {"code": code, "message": message, "details": details}}
    return t.CallToolResult(content=[t.TextContent(text=json.dumps(body))], structured_content=body, is_error=True)


def _field_error(err: Any) -> dict[str, Any]:
    """A validation error as the REST 422 gives it: {field, in, rule, message[, limit]}, never the value."""
    out: dict[str, Any] = {"field": ".".join(str(p) for p in err.get("loc", ())) or "arguments", "in": "arguments",
                           "rule": err.get("type", "invalid"), "message": err.get("msg", "invalid value")}
    ctx = err.get("ctx") or {}
    limits = {k: ctx[k] for k in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern") if k in ctx}
    if limits:
        out["limit"] = {k: (v if isinstance(v, int | float | str) else str(v)) for k, v in limits.items()}
    return out


def _error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    import mcp_types as t

    return t.JSONRPCError(jsonrpc="2.0", id=request_id, error=t.ErrorData(code=code, message=message, data=data)
                          ).model_dump(mode="json")
