"""The local server: HTTP on 127.0.0.1 -> API Gateway 2.0 events -> the real lambda_handler, and `serve`/`token`."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from api_events import load_event

from insights.cli.server import http_to_event

ROOT = Path(__file__).resolve().parents[2]



def _call(url, *, token=None, body=None, headers=None, method=None):
    data = None if body is None else (body if isinstance(body, bytes | Iterator) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"null")


def test_server_answers_health_and_routes_through_the_handler(server, token):
    status, headers, body = _call(f"{server}/health")
    assert status == 200 and body["status"] == "ok" and headers["X-Correlation-Id"]
    status, _, body = _call(f"{server}/segments?n_clusters=3", token=token())
    assert status == 200 and body["n_clusters"] == 3
    status, _, body = _call(f"{server}/forecast", token=token(), body={"product_id": "P1", "forecast_days": 2})
    assert status == 200 and len(body["forecast"]) == 2


def test_server_passes_the_callers_correlation_id_back(server, token):
    _, headers, _ = _call(f"{server}/health", headers={"X-Correlation-Id": "my-trace-0000042"})
    assert headers["X-Correlation-Id"] == "my-trace-0000042"


def test_server_rejects_a_missing_token_with_the_challenge(server):
    status, headers, body = _call(f"{server}/clv", body={"customer_ids": ["C001"]})
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert body["error"]["code"] == "missing_token"


def _raw(server, request: bytes) -> tuple[bytes, dict]:
    """Send raw bytes, read the first answer (headers and Content-Length bytes of body); the socket stays open."""
    host, port = server.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += sock.recv(65536)
        head, _, payload = reply.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        while len(payload) < length:
            payload += sock.recv(65536)
    return head, json.loads(payload)


def test_server_answers_413_from_the_headers_before_the_body_arrives(server):
    head, body = _raw(server, b"POST /demand-insights/clv HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                              b"\r\nContent-Length: 5000000\r\n\r\n{")
    assert head.startswith(b"HTTP/1.1 413")
    assert body["error"]["code"] == "payload_too_large"
    assert body["error"]["details"] == {"max_bytes": 1048576, "received_bytes": 5000000}


def test_server_refuses_a_large_body_before_100_continue(server):
    head, body = _raw(server, b"POST /demand-insights/clv HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                              b"\r\nContent-Length: 2097152\r\nExpect: 100-continue\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"100 Continue" not in head
    assert body["error"]["code"] == "payload_too_large"


def test_a_2mb_body_is_413_naming_the_limit_through_the_local_server(server, token):
    """urllib writes the whole body before it reads: the server must read it, then the client sees the 413."""
    status, _, body = _call(f"{server}/clv", token=token(), body=b'{"customer_ids": ["' + b"x" * (2 << 20) + b'"]}')
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert "1,048,576 bytes" in body["error"]["message"]


def test_a_chunked_body_is_read_and_held_to_the_limit(server, token):
    ok = json.dumps({"customer_ids": ["C001"]}).encode()
    status, _, body = _call(f"{server}/clv", token=token(), body=iter([ok[:10], ok[10:]]),
                            headers={"Transfer-Encoding": "chunked"})
    assert status == 200 and body["predictions"][0]["customer_id"] == "C001"
    big = iter([b'{"customer_ids": ["', b"x" * (1 << 20), b'"]}'])
    status, _, body = _call(f"{server}/clv", token=token(), body=big, headers={"Transfer-Encoding": "chunked"})
    assert status == 413 and body["error"]["code"] == "payload_too_large"


def test_an_unreadable_content_length_is_a_400_malformed_request(server):
    head, body = _raw(server, b"POST /demand-insights/clv HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and body["error"]["code"] == "malformed_request"


def test_head_through_the_server_has_the_get_length_and_no_body(server, token):
    status, headers, _ = _call(f"{server}/segments", token=token())
    host, port = server.split("//")[1].split("/")[0].split(":")
    import http.client

    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("HEAD", "/demand-insights/segments", headers={"Authorization": f"Bearer {token()}"})
    reply = conn.getresponse()
    assert reply.status == 200 and reply.read() == b""
    assert reply.getheader("Content-Length") == headers["Content-Length"]
    conn.close()


def test_http_to_event_builds_a_payload_2_0_event_like_aws():
    aws = load_event("apigw_v2_post_forecast")
    event = http_to_event("POST", "/demand-insights/forecast?a=1&a=2&b=", [("Content-Type", "application/json"),
                          ("X-Thing", "1"), ("x-thing", "2"), ("Cookie", "s=1; t=2")], b'{"product_id": "P1"}',
                          client_ip="127.0.0.1", host="127.0.0.1:8000")
    assert set(aws) - {"body"} <= set(event) | {"queryStringParameters"}
    assert set(aws["requestContext"]) <= set(event["requestContext"])
    assert event["rawPath"] == "/demand-insights/forecast" and event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"]["x-thing"] == "1,2" and event["cookies"] == ["s=1", "t=2"]
    assert event["body"] == '{"product_id": "P1"}' and event["isBase64Encoded"] is False
    binary = http_to_event("POST", "/x", [("Content-Type", "application/octet-stream")], b"\x00\xff",
                           client_ip="127.0.0.1", host="h")
    assert binary["isBase64Encoded"] is True and binary["body"] == "AP8="


def _serve(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, list[str]]:
    """Start `python -m insights serve ARGS`; returns the process and its banner (up to the health line)."""
    proc = subprocess.Popen([sys.executable, "-m", "insights", "serve", "--port", "0", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("health: "):
            break
    return proc, lines


def _stop(proc: subprocess.Popen) -> tuple[str, str]:
    proc.terminate()
    try:
        return proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate(timeout=10)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTS_")}
    env.update(extra)
    return env


def test_serve_and_token_commands_work_together(snapshot_root, tmp_path):
    proc, lines = _serve([], _clean_env(INSIGHTS_SNAPSHOTS=str(snapshot_root)))
    try:
        banner = "".join(lines)
        url = re.search(r"http://127\.0\.0\.1:\d+/demand-insights", banner).group(0)
        printed = re.search(r"Bearer ([\w\-.]+)", banner).group(1)
        assert _call(f"{url}/segments", token=printed)[0] == 200  # the printed curl line works as is
        # the printed hint works as printed, in a shell without the virtualenv and without INSIGHTS_SNAPSHOTS
        hint = re.search(r"TOKEN=\$\((.+?)\);", banner).group(1)
        assert hint.startswith(f"{sys.executable} -m insights token") or hint.startswith(".venv/bin/python")
        shell_env = {k: v for k, v in _clean_env().items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        shell_env["PATH"] = "/usr/bin:/bin"
        fresh = subprocess.run(["bash", "-c", f"{hint} --scope insights:read --scope customers:pii"], cwd=ROOT,
                               env=shell_env, capture_output=True, text=True, timeout=60)
        assert fresh.returncode == 0, fresh.stderr
        token = fresh.stdout
        assert token.count("\n") == 1
        status, _, body = _call(f"{url}/at-risk-customers?limit=1&threshold=0.9", token=token.strip())
        assert status == 200 and "email" in body["at_risk_customers"][0]
        assert _call(f"{url}/nowhere", token=token.strip())[0] == 404
        assert oct((snapshot_root / ".dev-jwt-secret").stat().st_mode & 0o777) == "0o600"
    finally:
        out, err = _stop(proc)
    # one readable line per request, no JSON log lines or EMF records on the terminal
    access = [line for line in out.splitlines() if re.match(r"\d\d:\d\d:\d\d (GET|POST) /demand-insights/", line)]
    assert [a.split()[1:4] for a in access] == [
        ["GET", "/demand-insights/segments", "200"],
        ["GET", "/demand-insights/at-risk-customers?limit=1&threshold=0.9", "200"],
        ["GET", "/demand-insights/nowhere", "404"]]
    assert all(a.endswith(" ms") for a in access)
    assert not [line for line in (out + err).splitlines() if line.lstrip().startswith("{")]


def test_serve_json_logs_show_what_lambda_writes(snapshot_root, token):
    proc, lines = _serve(["--json-logs"], _clean_env(INSIGHTS_SNAPSHOTS=str(snapshot_root)))
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/demand-insights", "".join(lines)).group(0)
        assert _call(f"{url}/health")[0] == 200
    finally:
        out, _ = _stop(proc)
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(r.get("message") == "request" and r.get("status") == 200 for r in records)
    assert any("_aws" in r for r in records)  # the EMF metrics record


def test_serve_on_a_busy_port_says_which_port_to_use_instead(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "insights", "serve", "--port", str(port), "--snapshots",
                              str(tmp_path)], cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and f"port {port} on 127.0.0.1 is already in use" in out.stderr
    assert f"make demo PORT={port + 1}" in out.stderr
    assert f"serve --snapshots {tmp_path} --port {port + 1}" in out.stderr


def test_serve_refuses_a_non_loopback_host(tmp_path):
    out = subprocess.run([sys.executable, "-m", "insights", "serve", "--host", "0.0.0.0", "--snapshots",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "loopback" in out.stderr
