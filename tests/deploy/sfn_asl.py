"""The state machine's ASL template rendered as Terraform's templatefile() renders it (tests only)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ASL = REPO / "terraform" / "refresh_sfn.asl.json"
REGION, ACCOUNT = "us-east-1", "123456789012"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:demand-insights-refresh"


def render_asl(*, shards: int = 3, max_concurrency: int = 2, function_arn: str = FUNCTION) -> str:
    """What Terraform's templatefile() makes of the ASL template (its only placeholders are these four)."""
    text = ASL.read_text()
    for name, value in {"partition": "aws", "refresh_function_arn": function_arn, "shards": shards,
                        "max_concurrency": max_concurrency}.items():
        text = text.replace("${" + name + "}", str(value))
    assert "${" not in text
    return text
