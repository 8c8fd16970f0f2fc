"""lambda_handler dispatches on the event's shape; the API path imports no ML library."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest
from api_events import FakeContext, load_event

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sklearn", "scipy", "xgboost", "lightgbm", "pyarrow", "duckdb", "pandas")


@pytest.fixture
def fake_refresh(monkeypatch):
    calls = []
    module = types.ModuleType("insights.refresh.wiring")

    def run_scheduled(event, settings):
        calls.append((event, settings))
        return {"status": "published", "version": "v-test"}

    module.run_scheduled = run_scheduled
    monkeypatch.setitem(sys.modules, "insights.refresh.wiring", module)
    return calls


@pytest.mark.parametrize("name", ["eventbridge_rule_scheduled", "eventbridge_scheduler_refresh"])
def test_scheduled_events_go_to_the_refresh(api, fake_refresh, name):
    event = load_event(name)
    assert api.lambda_handler(event, FakeContext()) == {"status": "published", "version": "v-test"}
    assert fake_refresh[0][0] == event and fake_refresh[0][1] is api.runtime.settings


def test_an_unknown_event_is_an_error_not_an_api_answer(api, fake_refresh):
    with pytest.raises(ValueError, match="unsupported event"):
        api.lambda_handler({"Records": [{"eventSource": "aws:sqs"}]}, FakeContext())
    assert fake_refresh == []


def test_event_kind_detection():
    from insights.api.events import event_kind

    assert event_kind(load_event("apigw_v2_get_segments")) == "http"
    assert event_kind(load_event("apigw_v2_post_churn_base64")) == "http"  # function URL: same 2.0 payload
    assert event_kind(load_event("apigw_v1_get_at_risk")) == "rest"
    assert event_kind(load_event("eventbridge_rule_scheduled")) == "scheduled"
    assert event_kind(load_event("eventbridge_scheduler_refresh")) == "scheduled"
    assert event_kind([]) == "unknown"


def test_importing_the_handler_loads_no_ml_library():
    """`python -X importtime -c "import handler"` lists none of the heavy libraries (DESIGN.md: cold start)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import handler"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "INSIGHTS_SNAPSHOTS": str(ROOT / "x")})
    assert out.returncode == 0, out.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}
    assert "aws_lambda_powertools" in imported and "jwt" in imported  # the probe itself works
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_a_request_loads_no_ml_library_either(tmp_path):
    """Answering every route (snapshot load included) keeps the heavy libraries out of the process."""
    code = f"""
import sys, json
sys.path.insert(0, {str(ROOT / 'tests' / 'handler')!r})
from snapshot_factory import write_snapshot
from api_events import v2, FakeContext, SECRET
from insights.cli.tokens import mint_token
write_snapshot({str(tmp_path)!r})
import handler
from insights.config import Settings
handler.configure(Settings(snapshots={str(tmp_path)!r}, jwt_secret=SECRET))
t = mint_token(SECRET, issuer="demand-insights-local", audience="demand-insights", scopes=["insights:read"])
P = "/demand-insights"
reqs = [v2("GET", P + "/segments", token=t), v2("POST", P + "/clv", body={{"customer_ids": ["C001"]}}, token=t),
        v2("POST", P + "/churn", body={{"customer_ids": ["C001"]}}, token=t),
        v2("GET", P + "/at-risk-customers", token=t), v2("POST", P + "/forecast",
        body={{"product_id": "P1", "forecast_days": 5}}, token=t),
        v2("POST", P + "/price-elasticity", body={{"product_id": "P1"}}, token=t), v2("GET", P + "/health"),
        v2("GET", P + "/customers/C001", token=t),
        v2("POST", P + "/recommendations", body={{"customer_id": "C001"}}, token=t),
        v2("POST", P + "/recommendations", body={{"product_id": "P3"}}, token=t)]
codes = [handler.lambda_handler(e, FakeContext())["statusCode"] for e in reqs]
# api.zip also leaves out numpy.ma (build.sh): np.unique on numbers imports it
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r} or m == "numpy.ma")
print(json.dumps({{"codes": codes, "heavy": heavy}}), file=sys.stderr)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    import json

    result = json.loads(out.stderr.strip().splitlines()[-1])
    assert result["codes"] == [200] * 10 and result["heavy"] == []


def test_inside_lambda_the_handler_is_traced_and_still_answers(tmp_path):
    code = f"""
import sys, json
sys.path.insert(0, {str(ROOT / 'tests' / 'handler')!r})
from api_events import v2, FakeContext
import handler
r = handler.lambda_handler(v2("GET", "/demand-insights/health"), FakeContext())
print(json.dumps({{"traced": handler.tracer is not None, "status": r["statusCode"]}}), file=sys.stderr)
"""
    env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_NAME": "demand-insights-api",
           "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR", "AWS_REGION": "us-east-1", "INSIGHTS_SNAPSHOTS": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    import json

    assert json.loads(out.stderr.strip().splitlines()[-1]) == {"traced": True, "status": 503}
