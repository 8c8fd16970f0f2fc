#!/usr/bin/env bash
# Build dist/deployment.zip: the one Lambda package both functions (api, refresh) run from.
#
# Target: the python3.12 Lambda runtime on x86_64 (Amazon Linux 2023, glibc 2.34). Wheels come from
# requirements.txt for that platform through pip's --platform/--only-binary options, whatever machine
# builds it. boto3/botocore/s3transfer are left out (the runtime has them). The tree is trimmed, compiled
# to 3.12 bytecode (sources dropped), checked against Lambda's 250 MB unzipped limit, zipped reproducibly,
# and smoke-tested in a clean `python3.12 -I` process that sees only the package (and a throwaway boto3).
#
# Environment:
#   PYTHON312=/path/to/python3.12  interpreter for bytecode and the smoke test (default: found on PATH/pyenv)
#   DEV_PYTHON=.venv/bin/python    dev interpreter that records the smoke test's query results (has duckdb)
#   SKIP_SMOKE=1                   build and size-check only
#   BUILD_DIR=build                scratch folder (package/, boto3/, smoke/)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
PKG="$BUILD_DIR/package"
BOTO_DIR="$BUILD_DIR/boto3"
DIST="$ROOT/dist"
ZIP="$DIST/deployment.zip"
DEV_PYTHON="${DEV_PYTHON:-$ROOT/.venv/bin/python}"
# Lambda's limits: 250 MB unzipped (262,144,000 bytes) for a package from S3; 50 MB zipped for a direct upload.
UNZIPPED_LIMIT=262144000
DIRECT_UPLOAD_LIMIT=52428800
# Drop what the runtime provides (our copy must not shadow the runtime's): the AWS SDK and urllib3, which
# only botocore needs here. PyAthena declares boto3>=1.43; the runtime's boto3 must be at least that recent.
RUNTIME_PROVIDED=(boto3 botocore s3transfer urllib3)

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nbuild.sh: error: %s\n' "$*" >&2; exit 1; }

find_python312() {
    if [[ -n "${PYTHON312:-}" ]]; then echo "$PYTHON312"; return; fi
    local c
    for c in python3.12 "$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/3.12"*/bin/python3.12; do
        if [[ -n "$c" ]] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
            command -v "$c" || echo "$c"; return
        fi
    done
    die "python3.12 not found (needed to compile bytecode for the python3.12 runtime and to smoke-test); set PYTHON312"
}

PY312="$(find_python312)"
PIP_PLATFORM=(--platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64
              --implementation cp --python-version 3.12 --only-binary=:all:)

say "python3.12: $PY312"
rm -rf "$PKG" "$BOTO_DIR"
mkdir -p "$PKG" "$BOTO_DIR" "$DIST"

say "Installing requirements.txt for python3.12 manylinux x86_64 into $PKG"
"$PY312" -m pip install --quiet --no-compile --disable-pip-version-check "${PIP_PLATFORM[@]}" \
    --target "$PKG" -r requirements.txt

# boto3 arrives anyway through PyAthena and aws-xray-sdk; the runtime's copy must win, so remove ours.
for name in "${RUNTIME_PROVIDED[@]}"; do
    rm -rf "$PKG/$name" "$PKG/$name"-*.dist-info
done
if grep -qiE '^(nvidia|cupy)' <(ls "$PKG"); then die "a CUDA wheel was pulled in (use xgboost-cpu, not xgboost)"; fi
if [[ -d "$PKG/pyarrow" || -d "$PKG/duckdb" ]]; then die "pyarrow/duckdb must stay out of the package (size; see DESIGN.md)"; fi

say "Adding the project: handler.py insights/ models/ athena/"
# One copy of the sources, taken once: the package and the smoke test's dev-side recording both use it.
SRC="$BUILD_DIR/src"
rm -rf "$SRC"; mkdir -p "$SRC"
[[ -f handler.py ]] || die "handler.py is missing"
cp handler.py "$SRC/"
for d in insights models athena; do
    (cd "$ROOT" && find "$d" -type f \( -name '*.py' -o -name '*.sql' -o -name '*.json' \) -not -path '*/__pycache__/*' \
        -exec cp --parents {} "$SRC/" \;)
done
cp -r "$SRC"/. "$PKG"/
[[ -f "$PKG/athena/contract.json" ]] || die "athena/contract.json did not make it into the package"

say "libgomp for lightgbm"
# lib_lightgbm.so links libgomp.so.1 from the system; the Lambda image may lack it. scikit-learn's wheel
# bundles a copy: put it in lib/, which is on Lambda's LD_LIBRARY_PATH (/var/task/lib).
if readelf -d "$PKG"/lightgbm/lib/lib_lightgbm.so 2>/dev/null | grep -q 'libgomp.so.1'; then
    gomp="$(ls "$PKG"/scikit_learn.libs/libgomp*.so* 2>/dev/null | head -n1 || true)"
    [[ -n "$gomp" ]] || die "lightgbm needs libgomp.so.1 and scikit-learn's wheel no longer bundles one"
    mkdir -p "$PKG/lib"
    cp "$gomp" "$PKG/lib/libgomp.so.1"
    echo "bundled $(basename "$gomp") as lib/libgomp.so.1"
else
    echo "lightgbm does not link libgomp.so.1: nothing to bundle"
fi

size_of() { du -sb "$1" | cut -f1; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }
before=$(size_of "$PKG")

say "Trimming"
# tests/ folders, caches, C headers, typing stubs and Cython sources are not needed at run time.
find "$PKG" -depth -type d \( -name __pycache__ -o -name tests -o -name 'include' \) -prune -exec rm -rf {} +
find "$PKG" -type f \( -name '*.pyi' -o -name '*.pxd' -o -name '*.pyx' -o -name '*.h' -o -name '*.hpp' \
    -o -name '*.c' -o -name '*.cpp' -o -name '*.pyc' \) -delete
rm -rf "$PKG"/bin
# Stripping every .so breaks scipy (DESIGN.md); the vendored libraries in *.libs/ keep their symbols.
find "$PKG" -type f -name '*.so*' -not -path '*.libs/*' -print0 | xargs -0 -r strip --strip-unneeded 2>/dev/null || true

say "Compiling bytecode for python3.12 and dropping the sources"
# Legacy layout (-b): foo.pyc beside where foo.py was, so sourceless imports work from a read-only /var/task.
# Reproducible bytecode: unchecked-hash puts a hash of the source in the .pyc header instead of its mtime, and
# -s/-p record /var/task/... (where Lambda unpacks the code) as the file name instead of this build folder.
"$PY312" -m compileall -q -b -j 0 --invalidation-mode unchecked-hash -s "$PKG" -p /var/task "$PKG" >/dev/null \
    || die "compileall failed"
find "$PKG" -type f -name '*.py' -delete
find "$PKG" -depth -type d -name __pycache__ -exec rm -rf {} +

unzipped=$(size_of "$PKG")
echo "unzipped: $(mb "$before") before trimming, $(mb "$unzipped") after"
if (( unzipped > UNZIPPED_LIMIT )); then
    say "Largest folders:"; du -s "$PKG"/* | sort -rn | head -n 15
    die "the package is $(mb "$unzipped") unzipped, over Lambda's 250 MB limit ($UNZIPPED_LIMIT bytes)"
fi

say "Zipping (reproducible: sorted entries, fixed timestamps)"
rm -f "$ZIP"
"$PY312" - "$PKG" "$ZIP" <<'PY'
import os, sys, zipfile
root, out = sys.argv[1], sys.argv[2]
paths = []
for d, dirs, files in os.walk(root):
    dirs.sort()
    paths += [os.path.join(d, f) for f in sorted(files)]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for p in paths:
        info = zipfile.ZipInfo(os.path.relpath(p, root), date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = (0o755 if os.access(p, os.X_OK) else 0o644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(p, "rb") as f:
            z.writestr(info, f.read(), compresslevel=9)
PY
zipped=$(stat -c %s "$ZIP")

say "Sizes"
printf '%-10s %12s  %s\n' unzipped "$unzipped" "($(mb "$unzipped"); limit 250 MB)"
printf '%-10s %12s  %s\n' zipped "$zipped" "($(mb "$zipped"))"
printf '%-10s %s\n' sha256 "$(sha256sum "$ZIP" | cut -d' ' -f1)"
if (( zipped > DIRECT_UPLOAD_LIMIT )); then
    echo "note: over 50 MB zipped, so Lambda must take it from S3 (Terraform uploads it to the artifacts bucket)"
fi

if [[ "${SKIP_SMOKE:-0}" == "1" ]]; then
    say "SKIP_SMOKE=1: smoke test skipped"; echo "built $ZIP"; exit 0
fi

say "Smoke test: a clean python3.12 -I process with only the package and boto3 on sys.path"
"$PY312" -m pip install --quiet --disable-pip-version-check "${PIP_PLATFORM[@]}" --target "$BOTO_DIR" boto3
# moto (the dev pin, S3 only) for the last step: the package's S3 snapshot store against an in-process S3.
MOTO_DIR="$BUILD_DIR/moto"
MOTO_REQ="$(grep -E '^moto' requirements-dev.txt | sed -E 's/\[[^]]*\]/[s3]/')"
rm -rf "$MOTO_DIR"
"$PY312" -m pip install --quiet --disable-pip-version-check "${PIP_PLATFORM[@]}" --target "$MOTO_DIR" "${MOTO_REQ:-moto[s3]}"
[[ -x "$DEV_PYTHON" ]] || die "$DEV_PYTHON not found: the smoke test records its query results with the dev venv (make setup)"
SMOKE="$BUILD_DIR/smoke"
rm -rf "$SMOKE"; mkdir -p "$SMOKE"
"$DEV_PYTHON" tests/deploy/smoke_package.py record --out "$SMOKE" --source "$SRC"
cp tests/deploy/smoke_package.py "$SMOKE/smoke_package.py"
# LD_LIBRARY_PATH as Lambda sets it for /var/task; nothing else from this machine's environment.
env -i HOME="$SMOKE" PATH=/usr/bin:/bin LD_LIBRARY_PATH="$PKG/lib" TZ=UTC \
    "$PY312" -I "$SMOKE/smoke_package.py" check --package "$PKG" --boto3 "$BOTO_DIR" --fixture "$SMOKE" --moto "$MOTO_DIR" \
    || die "smoke test failed"
say "The score Parquet the package wrote matches the Glue tables (read back with the dev venv's pyarrow)"
"$DEV_PYTHON" tests/deploy/smoke_package.py verify-scores --fixture "$SMOKE" --source "$SRC" || die "score Parquet differs from the Glue tables"
echo "built $ZIP"
