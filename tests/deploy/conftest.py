"""Fixtures for the deploy checks: the Lambda packages (built when stale), and for the offline Terraform checks
the terraform binary, the local provider mirror and a scratch copy of the stack."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.deploy.package_state import PACKAGES, problems

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
CONTRACT = REPO / "athena" / "contract.json"

# Where a filesystem mirror of registry.terraform.io/hashicorp/aws may live (DESIGN.md: /opt/tf-plugins here).
_MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)


def find_provider_mirror() -> Path | None:
    """The plugin directory holding hashicorp/aws, from TF_PLUGIN_DIR or the usual places."""
    candidates = [os.environ["TF_PLUGIN_DIR"]] if os.environ.get("TF_PLUGIN_DIR") else []
    for c in [*candidates, *_MIRROR_CANDIDATES]:
        root = Path(c).expanduser()
        if (root / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return root
    return None


def terraform_env() -> dict[str, str]:
    # The environment's CLI config points at a missing file; /dev/null keeps terraform offline and quiet.
    return {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}


def run_terraform(args: Sequence[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run terraform with -no-color semantics; never raises on a non-zero exit (the test decides)."""
    return subprocess.run(
        ["terraform", *args], cwd=cwd, env=terraform_env(), capture_output=True, text=True, timeout=timeout
    )


def copy_stack(dest: Path, contract: Path = CONTRACT) -> Path:
    """Copy terraform/ (without .terraform/) and the contract it reads into dest; return the module folder."""
    module = dest / "terraform"
    skip = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl", "contract_generated.tftest.hcl")
    shutil.copytree(TERRAFORM_DIR, module, ignore=skip)
    (dest / "athena").mkdir(parents=True, exist_ok=True)
    shutil.copy(contract, dest / "athena" / "contract.json")
    return module


def init_stack(module: Path, mirror: Path) -> None:
    proc = run_terraform(["init", "-backend=false", f"-plugin-dir={mirror}", "-input=false", "-no-color"], module)
    assert proc.returncode == 0, f"terraform init failed:\n{proc.stdout}\n{proc.stderr}"


@pytest.fixture(scope="session")
def terraform_ready() -> Path:
    """The provider mirror; skips the Terraform checks where terraform or the mirror is absent."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed: the offline Terraform checks need the terraform CLI (>= 1.7)")
    mirror = find_provider_mirror()
    if mirror is None:
        pytest.skip(
            "no local mirror of the hashicorp/aws provider (looked in TF_PLUGIN_DIR, /opt/tf-plugins, "
            "~/.terraform.d/plugins): the Terraform checks run offline only against a mirror"
        )
    return mirror


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, terraform_ready: Path) -> Path:
    """An initialised scratch copy of the stack (init never touches the working tree)."""
    module = copy_stack(tmp_path_factory.mktemp("stack"))
    init_stack(module, terraform_ready)
    return module


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """One holder at a time across processes (pytest-xdist workers share the session's build)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def packages() -> dict[str, Path]:
    """dist/api.zip and dist/refresh.zip, current and smoke-tested. Never skipped: when they are missing or older
    than their inputs (tests/deploy/package_state.py), ./build.sh builds them here, once for all workers."""
    dist = REPO / "dist"
    with _exclusive(REPO / "build" / ".package-build.lock"):
        stale = problems(REPO, dist)
        if stale:
            log = REPO / "build" / "pytest-build.log"
            # This interpreter is the dev venv (it has duckdb): the smoke test records its queries with it.
            env = {**os.environ, "DEV_PYTHON": os.environ.get("DEV_PYTHON") or sys.executable}
            with open(log, "w") as out:
                proc = subprocess.run([str(REPO / "build.sh")], cwd=REPO, env=env, stdout=out,
                                      stderr=subprocess.STDOUT, timeout=3600, check=False)
            if proc.returncode != 0:
                pytest.fail(f"the packages were stale ({'; '.join(stale)}) and ./build.sh failed "
                            f"(log: {log}):\n{log.read_text()[-4000:]}")
            stale = problems(REPO, dist)
            if stale:
                pytest.fail(f"./build.sh ran but the packages are still not current: {stale}")
    return {name: dist / f"{name}.zip" for name in PACKAGES}
