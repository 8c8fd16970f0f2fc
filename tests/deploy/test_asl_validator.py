"""The state machine's ASL passes asl-validator (npm, pinned by .ci/asl-validator/package-lock.json).

`make test` and `make asl-check` install it (npm ci) and set ASL_VALIDATOR, which makes it required; a bare
pytest run without it skips with the command that installs it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.deploy.sfn_asl import render_asl

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / ".ci" / "asl-validator" / "node_modules" / ".bin" / "asl-validator"


@pytest.fixture(scope="module")
def validator() -> Path:
    path = Path(os.environ.get("ASL_VALIDATOR") or DEFAULT)
    if not path.is_file():
        if os.environ.get("ASL_VALIDATOR") or os.environ.get("CI"):
            pytest.fail(f"asl-validator is missing at {path}: `make asl-check` installs it")
        pytest.skip("asl-validator is not installed: `make asl-check` installs it (npm ci)")
    return path


def _validate(validator: Path, definition: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "refresh_sfn.json"
    path.write_text(definition)
    return subprocess.run([str(validator), "--json-path", str(path)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("shards", "concurrency"), [(1, 1), (16, 16), (100, 40)])
def test_the_rendered_state_machine_is_valid_asl(validator, tmp_path, shards, concurrency):
    done = _validate(validator, render_asl(shards=shards, max_concurrency=concurrency), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_validator_catches_a_broken_definition(validator, tmp_path):
    broken = json.loads(render_asl())
    broken["States"]["ScoreShards"]["Next"] = "Publsh"  # a transition to no state
    done = _validate(validator, json.dumps(broken), tmp_path)
    assert done.returncode != 0 and "invalid" in done.stdout + done.stderr
