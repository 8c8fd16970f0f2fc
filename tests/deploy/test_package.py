"""The Lambda package: what requirements.txt may pull in (always checked) and, when ./build.sh has run, the
contents and size of dist/deployment.zip. The build and its smoke test are `make package`, not pytest."""

from __future__ import annotations

import re
import subprocess
import zipfile

import pytest

from tests.deploy.conftest import REPO

ZIP = REPO / "dist" / "deployment.zip"
UNZIPPED_LIMIT = 262_144_000  # Lambda: 250 MB unzipped, code and layers together


def _requirements() -> dict[str, str]:
    names = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[\[=<>!~; ]", line, maxsplit=1)[0].lower().replace("_", "-")
            names[name] = line
    return names


def test_runtime_requirements_leave_out_what_does_not_fit_or_is_provided() -> None:
    names = _requirements()
    assert "boto3" not in names and "botocore" not in names, "the Lambda runtime provides boto3"
    assert "xgboost" not in names, "use xgboost-cpu: xgboost pulls a 345 MB CUDA library (DESIGN.md)"
    assert "pyarrow" not in names and "duckdb" not in names, "pyarrow and duckdb do not fit in the package"
    assert all("==" in spec for spec in names.values()), "pin every runtime requirement"


def test_build_script_is_valid_bash() -> None:
    proc = subprocess.run(["bash", "-n", str(REPO / "build.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def package() -> zipfile.ZipFile:
    if not ZIP.is_file():
        pytest.skip("dist/deployment.zip not built: run ./build.sh (make package) to check the package")
    with zipfile.ZipFile(ZIP) as z:
        yield z


def test_package_fits_lambdas_unzipped_limit(package: zipfile.ZipFile) -> None:
    assert sum(i.file_size for i in package.infolist()) <= UNZIPPED_LIMIT


def test_package_holds_the_project_as_bytecode(package: zipfile.ZipFile) -> None:
    names = set(package.namelist())
    assert "handler.pyc" in names
    assert "athena/contract.json" in names
    assert {f"athena/queries/{p.name}" for p in (REPO / "athena" / "queries").glob("*.sql")} <= names
    assert {"insights/__init__.pyc", "models/__init__.pyc", "athena/athena_engine.pyc"} <= names
    assert not [n for n in names if n.endswith(".py")], "sources are dropped after compileall -b"


def test_package_leaves_out_the_sdk_and_local_only_libraries(package: zipfile.ZipFile) -> None:
    tops = {n.split("/", 1)[0] for n in package.namelist()}
    for name in ("boto3", "botocore", "s3transfer", "pyarrow", "duckdb", "moto", "pytest"):
        assert name not in tops, f"{name} must not be in the package"
    assert not [t for t in tops if t.startswith("nvidia")], "no CUDA wheels"


def test_package_bundles_libgomp_for_lightgbm(package: zipfile.ZipFile) -> None:
    assert "lib/libgomp.so.1" in package.namelist()


def test_package_is_trimmed(package: zipfile.ZipFile) -> None:
    names = package.namelist()
    assert not [n for n in names if "/tests/" in n or "__pycache__" in n][:1]
    assert not [n for n in names if n.endswith((".pyi", ".pxd", ".h"))][:1]
