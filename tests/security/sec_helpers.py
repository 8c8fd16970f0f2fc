"""Shared constants and helpers of the security tests (imported by conftest and the tests)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

ISSUER = "demand-insights-local"
AUDIENCE = "demand-insights"
ALLOWED = ("HS256", "RS256", "ES256")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
