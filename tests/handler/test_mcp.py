"""POST /demand-insights/mcp: the MCP SDK's own client against the local server, and the endpoint's edges.

The client is the official SDK's (``mcp.client.streamable_http`` + ``ClientSession``): it negotiates, lists the tools
and calls them over real HTTP through the local server and the real lambda_handler, so the auth gate, the route
and the JSON-RPC framing are all on the path. Each tool's answer must equal its REST route's answer.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import anyio
import httpx2
import pytest
from api_events import body_of, v2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from insights.api.mcp_tools import TOOLS

P = "/demand-insights"
EXPERIMENT = {"arms": [{"name": "A", "n": 40, "mean": 20.0, "sd": 5.0},
                       {"name": "B", "n": 45, "mean": 23.0, "sd": 6.0}]}



def _with_session(url: str, token: str | None, work: Any) -> Any:
    """Run ``work(session)`` in an initialized SDK client session over Streamable HTTP."""
    async def main() -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx2.AsyncClient(headers=headers, timeout=10) as http, \
                streamable_http_client(f"{url}/mcp", http_client=http) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)

    return anyio.run(main)


def _rest(url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{url}{path}", data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as err:  # the REST error body, to compare with the tool error's
        return json.loads(err.read())


def test_the_sdk_client_lists_the_tools_and_their_answers_equal_the_rest_routes(server, token):
    tok = token()

    async def work(session: ClientSession) -> dict[str, Any]:
        listed = await session.list_tools()
        calls = {
            "segments": await session.call_tool("get_segments", {"n_clusters": 3}),
            "elasticity": await session.call_tool("get_price_elasticity", {"product_id": "P1"}),
            "churn": await session.call_tool("predict_churn", {"customer_ids": ["C001", "C002", "NOPE"]}),
            "forecast": await session.call_tool("forecast_demand", {"product_id": "P1", "forecast_days": 5}),
            "optimize": await session.call_tool("optimize_price", {"product_id": "P1", "current_price": 10.0,
                                                                   "current_quantity": 100.0}),
            "experiment": await session.call_tool("experiment_analyze", EXPERIMENT),
            "cohorts": await session.call_tool("get_cohorts", {"metric": "ltv", "acquisition_cost": 40.0}),
            "outlook": await session.call_tool("get_churn_outlook", {}),
            "growth": await session.call_tool("project_growth", {"months": 6, "by": "segment"}),
            "profile": await session.call_tool("get_customer_profile", {"customer_id": "C001"}),
            "recs": await session.call_tool("recommend_products", {"customer_id": "C001", "limit": 3}),
        }
        return {"tools": listed.tools, "version": session.protocol_version, **calls}

    got = _with_session(server, tok, work)
    assert got["version"] == "2025-11-25"
    assert [t.name for t in got["tools"]] == [t.name for t in TOOLS]
    assert all(t.annotations.read_only_hint and t.input_schema["type"] == "object" for t in got["tools"])
    forecast_schema = next(t for t in got["tools"] if t.name == "forecast_demand").input_schema
    assert set(forecast_schema["required"]) == {"product_id", "forecast_days"}
    expected = {
        "segments": _rest(server, tok, "GET", "/segments?n_clusters=3"),
        "elasticity": _rest(server, tok, "POST", "/price-elasticity", {"product_id": "P1"}),
        "churn": _rest(server, tok, "POST", "/churn", {"customer_ids": ["C001", "C002", "NOPE"]}),
        "forecast": _rest(server, tok, "POST", "/forecast", {"product_id": "P1", "forecast_days": 5}),
        "optimize": _rest(server, tok, "POST", "/price-optimization",
                          {"product_id": "P1", "current_price": 10.0, "current_quantity": 100.0}),
        "experiment": _rest(server, tok, "POST", "/experiments/analyze", EXPERIMENT),
        "cohorts": _rest(server, tok, "GET", "/cohorts?metric=ltv&acquisition_cost=40"),
        "outlook": _rest(server, tok, "GET", "/churn-outlook"),
        "growth": _rest(server, tok, "GET", "/growth-projection?months=6&by=segment"),
        "profile": _rest(server, tok, "GET", "/customers/C001"),
        "recs": _rest(server, tok, "POST", "/recommendations", {"customer_id": "C001", "limit": 3}),
    }
    for name, rest in expected.items():
        result = got[name]
        assert result.is_error == ("error" in rest), (name, result.content)  # a REST error is the tool's error
        assert result.structured_content == rest, name
        assert json.loads(result.content[0].text) == rest, name
    assert got["churn"].structured_content["not_found"] == ["NOPE"]
    assert sum(not got[name].is_error for name in expected) >= 10


def test_the_sdks_high_level_client_probes_the_2026_protocol_then_uses_the_handshake(server, token):
    from mcp import Client

    async def main() -> Any:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token()}"}, timeout=10) as http, \
                Client(streamable_http_client(f"{server}/mcp", http_client=http)) as client:  # mode="auto"
            return await client.call_tool("get_segments", {"n_clusters": 3})

    result = anyio.run(main)
    assert not result.is_error and result.structured_content["n_clusters"] == 3


def test_a_tool_failure_is_a_tool_error_with_the_rest_code(server, token):
    async def work(session: ClientSession) -> list[Any]:
        return [await session.call_tool("forecast_demand", {"product_id": "NOPE", "forecast_days": 5}),
                await session.call_tool("forecast_demand", {"product_id": "P1", "forecast_days": 500}),
                await session.call_tool("get_segments", {"n_clusters": "3"})]

    missing, too_far, wrong_type = _with_session(server, token(), work)
    assert missing.is_error and missing.structured_content["error"]["code"] == "not_found"
    assert missing.structured_content["error"]["details"] == {"product_id": "NOPE"}
    assert too_far.is_error and too_far.structured_content["error"]["code"] == "validation_error"
    assert too_far.structured_content["error"]["details"][0]["field"] == "forecast_days"
    assert wrong_type.structured_content["error"]["code"] == "validation_error"  # strict: "3" is not 3


def test_the_sdk_client_is_refused_without_a_token(server):
    with pytest.raises(BaseExceptionGroup) as refused:  # anyio's task group wraps the client's error
        _with_session(server, None, lambda session: session.list_tools())
    assert refused.group_contains(MCPError)
    req = urllib.request.Request(f"{server}/mcp", method="POST", headers={"Content-Type": "application/json"},
                                 data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode())
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401 and err.value.headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(err.value.read())["error"]["code"] == "missing_token"


def _rpc(invoke, token: str, message: Any, version: str | None = "2025-11-25") -> dict[str, Any]:
    event = v2("POST", f"{P}/mcp", raw_body=message if isinstance(message, str) else json.dumps(message),
               token=token)
    if version:
        event["headers"]["mcp-protocol-version"] = version
    return invoke(event)


def test_protocol_edges_are_json_rpc_answers(invoke, token):
    tok = token()
    note = _rpc(invoke, tok, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert note["statusCode"] == 202 and not note["body"]
    parse = _rpc(invoke, tok, "{not json")
    assert parse["statusCode"] == 400 and body_of(parse)["error"]["code"] == -32700 and body_of(parse)["id"] is None
    batch = _rpc(invoke, tok, [{"jsonrpc": "2.0", "id": 1, "method": "ping"}])
    assert batch["statusCode"] == 400 and body_of(batch)["error"]["code"] == -32600
    unknown = body_of(_rpc(invoke, tok, {"jsonrpc": "2.0", "id": "a", "method": "resources/list"}))
    assert unknown["id"] == "a" and unknown["error"]["code"] == -32601
    no_tool = body_of(_rpc(invoke, tok, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                         "params": {"name": "drop_tables", "arguments": {}}}))
    assert no_tool["error"]["code"] == -32602
    bad_version = _rpc(invoke, tok, {"jsonrpc": "2.0", "id": 3, "method": "ping"}, version="1999-01-01")
    assert bad_version["statusCode"] == 400 and "2025-11-25" in body_of(bad_version)["error"]["data"]["supported"]
    ping = body_of(_rpc(invoke, tok, {"jsonrpc": "2.0", "id": 4, "method": "ping"}, version=None))
    assert ping == {"jsonrpc": "2.0", "id": 4, "result": {}}


def test_emails_follow_the_pii_scope_as_on_the_rest_route(invoke, token):
    def at_risk(tok: str) -> list[dict[str, Any]]:
        answer = body_of(_rpc(invoke, tok, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "list_at_risk_customers", "arguments": {"threshold": 0.0, "limit": 3}}}))
        return answer["result"]["structuredContent"]["at_risk_customers"]

    assert all("email" not in row for row in at_risk(token()))
    assert any(row.get("email") for row in at_risk(token.pii()))


def test_a_tool_needing_another_scope_is_hidden_and_refused(invoke, token, monkeypatch):
    import dataclasses

    from insights.api import mcp, mcp_tools

    guarded = dataclasses.replace(TOOLS[0], scope="customers:export")
    monkeypatch.setattr(mcp, "TOOLS", (guarded, *TOOLS[1:]))
    monkeypatch.setattr(mcp, "tool_named", lambda name: guarded if name == guarded.name else mcp_tools.tool_named(name))
    listed = body_of(_rpc(invoke, token(), {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
    assert guarded.name not in [t["name"] for t in listed["result"]["tools"]]
    called = body_of(_rpc(invoke, token(), {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                            "params": {"name": guarded.name, "arguments": {}}}))
    assert called["result"]["isError"]
    assert called["result"]["structuredContent"]["error"]["code"] == "insufficient_scope"


def test_every_tool_mirrors_a_registered_route(api):
    routes = {f"{m} {p}" for m, p in api.api.routes}
    assert all(t.route in routes for t in TOOLS)
    assert len({t.name for t in TOOLS}) == len(TOOLS)


def test_get_on_the_mcp_path_is_405_so_clients_open_no_sse_stream(invoke, token):
    answer = invoke(v2("GET", f"{P}/mcp", token=token()))
    assert answer["statusCode"] == 405 and body_of(answer)["error"]["code"] == "method_not_allowed"
