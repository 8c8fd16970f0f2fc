#!/usr/bin/env bash
# Build the two Lambda packages, each holding only what its function runs, and smoke-test both:
#
#   dist/api.zip      handler.py, insights/{__init__,config,errors,pseudonym}.py, insights/snapshot/, insights/api/ (with the
#                     dashboard's static/ files),
#                     models/{__init__,pricing,_pricing_kernels}.py + requirements-api.txt (numpy, powertools, pydantic, PyJWT):
#                     no ML library. Target: <= 60 MB unzipped (issue 11); the build fails above 61 MB.
#   dist/refresh.zip  handler.py, insights/ (without cli/ and data/, which are local only), models/, athena/
#                     (queries/*.sql, contract.json; not the DuckDB adapter) + requirements.txt (the ML stack).
#                     Target: <= 225 MB unzipped (Lambda's limit is 250 MB).
#   dist/packages.json  each zip's sha256 and sizes, the inputs' digest and the smoke test's verdict
#                     (tests/deploy reads it to know whether the zips are current and were smoke-tested).
#
# Target: the python3.12 Lambda runtime on x86_64 (Amazon Linux 2023, glibc 2.34). Wheels come from the
# requirements files for that platform through pip's --platform/--only-binary options, whatever machine builds
# it; they are downloaded once into build/wheels (kept between builds: a CI cache can keep it too) and both
# packages install from there. boto3/botocore/s3transfer/urllib3 are left out (the runtime has them). Each tree
# is trimmed, compiled to 3.12 bytecode (sources dropped), checked against its target, zipped reproducibly,
# then unzipped again and smoke-tested in clean `python3.12 -I` processes that see only that package (and a
# throwaway boto3, as the runtime provides). The zips reach dist/ only after the smoke test has passed.
#
# Works on a fresh clone by itself: it needs python3.12 (these machines have it through pyenv) and, for the
# smoke test's recording step, the dev venv (.venv, which has duckdb): created with `make setup` when missing.
#
# Environment:
#   PYTHON312=/path/to/python3.12  interpreter for bytecode and the smoke test (default: PATH, then pyenv)
#   DEV_PYTHON=.venv/bin/python    dev interpreter that records the smoke test's query results (has duckdb)
#   SKIP_SMOKE=1                   build and size-check only (packages.json then says the smoke test was skipped)
#   BUILD_DIR=build                scratch folder (wheels/, src/, api/, refresh/, smoke/, ...)
#   WHEELS_DIR=$BUILD_DIR/wheels   the wheel cache both packages install from
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
WHEELS="${WHEELS_DIR:-$BUILD_DIR/wheels}"
SRC="$BUILD_DIR/src"
OUT="$BUILD_DIR/out"
DIST="$ROOT/dist"
DEV_PYTHON="${DEV_PYTHON:-$ROOT/.venv/bin/python}"
# Lambda's limit: 250 MB unzipped (262,144,000 bytes), code and layers together; the issue's targets in the same
# unit (MiB): 61 MB for the api package (its target is 60 MB: the MCP wire types and the dashboard's files took it
# to about 60.2 MB, reported in bench/RESULTS.md; the build stops anything bigger), 225 MB (25 MB of headroom)
# for the refresh package.
LAMBDA_LIMIT=262144000
declare -A TARGET=([api]=63963136 [refresh]=235929600)
DIRECT_UPLOAD_LIMIT=52428800
# What the runtime provides (our copy must not shadow the runtime's): the AWS SDK and urllib3, which only
# botocore needs. The api package also leaves out botocore's other dependencies (dateutil, six): nothing else
# there imports them. PyAthena declares boto3>=1.43; the runtime's boto3 must be at least that recent.
RUNTIME_PROVIDED=(boto3 botocore s3transfer urllib3)
API_ALSO_PROVIDED=(dateutil python_dateutil six)
# Never in the api package (tests/deploy/smoke_package.py also proves none of them can be imported there).
ML_LIBS=(pandas scipy sklearn lightgbm xgboost pyathena fastparquet pyarrow duckdb joblib)

STARTED=$SECONDS
PHASES=()
phase_start=$SECONDS
phase() {  # phase NAME: close the running phase (its wall time goes in the summary), open the next
    if [[ -n "${phase_name:-}" ]]; then PHASES+=("$phase_name:$((SECONDS - phase_start))"); fi
    phase_name="$1"; phase_start=$SECONDS
}
say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nbuild.sh: error: %s\n' "$*" >&2; exit 1; }
size_of() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }  # bytes of the files, as unzipped
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }
# pip without its warnings about the extra indexes of this machine's configuration
pip312() { "$PY312" -m pip --disable-pip-version-check "$@" 2> >(grep -v -e 'is ignored: it is neither' -e 'as the .root. user' >&2); }

find_python312() {
    if [[ -n "${PYTHON312:-}" ]]; then
        "$PYTHON312" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 \
            || die "PYTHON312=$PYTHON312 is not a working python3.12"
        echo "$PYTHON312"; return
    fi
    local c roots=()
    command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
    roots+=("$HOME/.pyenv")
    for c in python3.12 "${roots[@]/%//versions/3.12*/bin/python3.12}" /usr/local/bin/python3.12 /usr/bin/python3.12; do
        for c in $c; do  # expand the pyenv glob
            if "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
                command -v "$c" 2>/dev/null || echo "$c"; return
            fi
        done
    done
    die "python3.12 not found on PATH or in pyenv (\$(pyenv root)/versions/3.12.*). The packages target the
    python3.12 Lambda runtime: their bytecode is compiled and smoke-tested with python3.12. Install it
    (e.g. 'pyenv install 3.12') or point PYTHON312 at one."
}

ensure_dev_python() {
    [[ -x "$DEV_PYTHON" ]] && return
    [[ "$DEV_PYTHON" == "$ROOT/.venv/bin/python" ]] || die "DEV_PYTHON=$DEV_PYTHON is not an interpreter"
    command -v make >/dev/null 2>&1 || die "no dev venv (.venv) and no make to create it: run 'make setup'"
    say "No dev venv yet: creating it (make setup); the smoke test records the refresh's queries with its duckdb"
    make -C "$ROOT" setup
    [[ -x "$DEV_PYTHON" ]] || die "make setup did not create $DEV_PYTHON"
}

PY312="$(find_python312)"
PIP_PLATFORM=(--platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64
              --implementation cp --python-version 3.12 --only-binary=:all:)
# The smoke test's boto3 and moto: the dev pins (moto with S3 only).
BOTO3_REQ="$(grep -E '^boto3==' requirements-dev.txt || echo boto3)"
MOTO_REQ="$(grep -E '^moto' requirements-dev.txt | sed -E 's/\[[^]]*\]/[s3]/' || true)"
MOTO_REQ="${MOTO_REQ:-moto[s3]}"
say "python3.12: $PY312 ($("$PY312" -c 'import platform; print(platform.python_version())'))"
INPUTS_SHA256="$("$PY312" tests/deploy/package_state.py digest)"

phase "sources"
say "Taking one copy of the sources (the packages and the smoke test's recording all use it)"
rm -rf "$SRC" "$OUT"
mkdir -p "$SRC" "$OUT" "$DIST" "$WHEELS"
[[ -f handler.py ]] || die "handler.py is missing"
cp handler.py "$SRC/"
find insights models athena -type f \( -name '*.py' -o -name '*.sql' -o -name '*.json' \) -not -path '*/__pycache__/*' \
    -exec cp --parents {} "$SRC/" \;
# The dashboard's page and files (HTML, JS, CSS, the vendored uPlot and its licence): served by the api function.
find insights/api/static -type f -exec cp --parents {} "$SRC/" \;

# Each package's project files, relative to $SRC.
api_sources() {
    (cd "$SRC" && printf '%s\n' handler.py insights/__init__.py insights/config.py insights/errors.py insights/pseudonym.py \
        models/__init__.py models/pricing.py models/_pricing_kernels.py && find insights/snapshot insights/api -type f -name '*.py' \
        && find insights/api/static -type f)
}
refresh_sources() {
    # insights/cli and insights/data are local only (argparse, importer, sample data); athena/duckdb_engine.py and
    # athena/dialect.py need duckdb and sqlglot, which stay local (the refresh reaches Athena through PyAthena).
    (cd "$SRC" && echo handler.py && find insights models athena -type f \
        -not -path 'insights/cli/*' -not -path 'insights/data/*' -not -path 'insights/__main__.py' \
        -not -path 'insights/api/static/*' -not -path 'athena/duckdb_engine.py' -not -path 'athena/dialect.py')
}

SMOKE="$BUILD_DIR/smoke"
RECORD_PID=""
stop_record() {  # the background recording, with everything it started (its own process group), if still running
    if [[ -n "$RECORD_PID" ]] && kill -0 "$RECORD_PID" 2>/dev/null; then kill -- -"$RECORD_PID" 2>/dev/null || true; fi
}
trap stop_record EXIT
if [[ "${SKIP_SMOKE:-0}" != "1" ]]; then
    # The smoke test's first step needs only the sources and the dev venv: it runs while the packages build.
    rm -rf "$SMOKE"; mkdir -p "$SMOKE/fixture"
    say "Smoke test 1/4, in the background: the dev venv (make setup if missing), then the refresh's queries
    recorded on a small sample lake with DuckDB ($SMOKE/record.log)"
    set -m  # its own process group, so that stop_record ends all of it
    (
        started=$SECONDS
        ensure_dev_python
        "$DEV_PYTHON" tests/deploy/smoke_package.py record --out "$SMOKE/fixture" --source "$SRC"
        echo "recording done in $((SECONDS - started)) s"
    ) > "$SMOKE/record.log" 2>&1 &
    RECORD_PID=$!
    set +m
fi

phase "wheels"
say "Wheels for python3.12 manylinux x86_64 into $WHEELS (once for both packages and the smoke test)"
# Resolved from the cache alone first: a second build (or a CI cache of build/wheels) asks no index at all.
WANTED=(-r requirements-api.txt -r requirements.txt "$BOTO3_REQ" "$MOTO_REQ")
if ! pip312 download --quiet --no-index --find-links "$WHEELS" "${PIP_PLATFORM[@]}" --dest "$WHEELS" \
        "${WANTED[@]}" >/dev/null 2>&1; then
    pip312 download --quiet "${PIP_PLATFORM[@]}" --dest "$WHEELS" "${WANTED[@]}"
fi
echo "$(ls "$WHEELS" | wc -l) wheels, $(mb "$(size_of "$WHEELS")")"

install_from_wheels() {  # install_from_wheels TARGET_DIR REQUIREMENT...
    local target="$1"; shift
    rm -rf "$target"; mkdir -p "$target"
    pip312 install --quiet --no-compile --no-index --find-links "$WHEELS" "${PIP_PLATFORM[@]}" --target "$target" "$@"
}

remove_dists() {  # remove_dists PKG NAME...: the import package and its dist-info
    local pkg="$1" name; shift
    for name in "$@"; do rm -rf "${pkg:?}/$name" "$pkg/$name.py" "$pkg/$name"-*.dist-info; done
}

trim_common() {
    local pkg="$1"
    # tests/ folders, caches, C headers, typing stubs and Cython sources are not needed at run time.
    find "$pkg" -depth -type d \( -name __pycache__ -o -name tests -o -name include \) -prune -exec rm -rf {} +
    find "$pkg" -type f \( -name '*.pyi' -o -name '*.pxd' -o -name '*.pyx' -o -name '*.h' -o -name '*.hpp' \
        -o -name '*.c' -o -name '*.cpp' -o -name '*.pyc' \) -delete
    rm -rf "$pkg"/bin
    # numpy's test-only extension modules (only numpy's own tests and conftest import them) and its static
    # library for building extensions.
    rm -f "$pkg"/numpy/_core/{_simd,_multiarray_tests,_rational_tests,_umath_tests,_struct_ufunc_tests,_operand_flag_tests}.*.so
    rm -rf "$pkg"/numpy/_core/lib "$pkg"/numpy/conftest.py "$pkg"/numpy/_pyinstaller
    # Features of Powertools and pydantic that neither function uses (handler.py and insights/ use Powertools'
    # event handler, logger, metrics, tracer and parameters; pydantic v2 models): Powertools' bundled Swagger UI
    # (1.7 MB, served only by enable_swagger(), never called) and its opt-in utilities; pydantic's v1 namespace
    # (legacy models), mypy plugin and experimental API. Nothing that remains imports them (checked with grep on
    # the installed sources; the smoke tests run both functions without them).
    rm -f "$pkg"/aws_lambda_powertools/event_handler/openapi/swagger_ui/*.{js,css}
    rm -rf "$pkg"/aws_lambda_powertools/utilities/{parser,idempotency,auth_alpha,feature_flags,circuit_breaker,batch,kafka,data_masking,streaming}
    rm -rf "$pkg"/pydantic/v1 "$pkg"/pydantic/mypy.py "$pkg"/pydantic/experimental
    # pip's install records (file lists for uninstall); METADATA and the licenses stay.
    rm -f "$pkg"/*.dist-info/RECORD
    # Stripping every .so breaks scipy and numpy (DESIGN.md): the vendored libraries in *.libs/ are patched
    # with patchelf and stop loading once stripped; the others lose only their symbol tables.
    find "$pkg" -type f -name '*.so*' -not -path '*.libs/*' -print0 | xargs -0 -r strip --strip-unneeded 2>/dev/null || true
}

trim_api() {
    local pkg="$1"
    # numpy's submodules the request path never imports (`import numpy` loads none of them, and
    # tests/deploy/test_package.py checks that the API's code names none): random, fft, polynomial, ma,
    # testing, typing, f2py, doc; and numpy.lib.recfunctions, which needs numpy.ma. The api smoke test then
    # answers every route without them.
    rm -rf "$pkg"/numpy/{random,fft,polynomial,ma,testing,typing,f2py,doc} "$pkg"/numpy/lib/recfunctions.py
    # cryptography's Rust bindings load cffi's C backend (_cffi_backend), never the cffi or pycparser Python
    # packages (they compile C declarations at build time).
    rm -rf "$pkg"/cffi "$pkg"/pycparser
}

trim_refresh() {
    local pkg="$1"
    # Parts of the ML libraries that nothing the refresh runs imports (grep on the installed sources finds only
    # docstring examples and the parts themselves): scikit-learn's datasets (sample data and loaders) and
    # scipy.io, which only those loaders use; scipy.odr; xgboost's and joblib's test helpers; PyAthena's
    # SQLAlchemy dialect (no SQLAlchemy here). The refresh smoke test trains every model family without them.
    rm -rf "$pkg"/sklearn/datasets "$pkg"/scipy/io "$pkg"/scipy/odr "$pkg"/xgboost/testing "$pkg"/joblib/test \
        "$pkg"/pyathena/sqlalchemy
}

compile_bytecode() {
    local pkg="$1"
    # Legacy layout (-b): foo.pyc beside where foo.py was, so sourceless imports work from a read-only /var/task.
    # Reproducible bytecode: unchecked-hash puts a hash of the source in the .pyc header instead of its mtime,
    # and -s/-p record /var/task/... (where Lambda unpacks the code) as the file name instead of this folder.
    "$PY312" -m compileall -q -b -j 0 --invalidation-mode unchecked-hash -s "$pkg" -p /var/task "$pkg" >/dev/null \
        || die "compileall failed in $pkg"
    # vaderSentiment's analyzer finds its lexicon files beside its own source file (inspect.getsourcefile), so that
    # one module keeps its source (39 KB); every other .py goes.
    find "$pkg" -type f -name '*.py' -not -path "$pkg/vaderSentiment/vaderSentiment.py" -delete
    find "$pkg" -depth -type d -name __pycache__ -exec rm -rf {} +
}

# Deflate level 6: level 9 took 81 s instead of 34 s on the refresh tree here for a zip only 0.7 % smaller.
zip_tree() {  # zip_tree DIR ZIP: sorted entries, fixed timestamps (the same tree gives the same bytes)
    rm -f "$2"
    "$PY312" - "$1" "$2" <<'PY'
import os, sys, zipfile
root, out = sys.argv[1], sys.argv[2]
paths = []
for d, dirs, files in os.walk(root):
    dirs.sort()
    paths += [os.path.join(d, f) for f in sorted(files)]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
    for p in paths:
        info = zipfile.ZipInfo(os.path.relpath(p, root), date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = (0o755 if os.access(p, os.X_OK) else 0o644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(p, "rb") as f:
            z.writestr(info, f.read(), compresslevel=6)
PY
}

build_package() {  # build_package api|refresh
    local name="$1" pkg req before unzipped
    pkg="$BUILD_DIR/$name/package"
    if [[ "$name" == api ]]; then req=requirements-api.txt; else req=requirements.txt; fi
    say "[$name] $req for python3.12 manylinux x86_64 into $pkg"
    install_from_wheels "$pkg" -r "$req"
    # boto3 arrives anyway (PyAthena, the X-Ray SDK); the runtime's copy must win, so remove ours.
    remove_dists "$pkg" "${RUNTIME_PROVIDED[@]}"
    if [[ "$name" == api ]]; then remove_dists "$pkg" "${API_ALSO_PROVIDED[@]}"; fi
    if ls "$pkg" | grep -qiE '^(nvidia|cupy)'; then die "[$name] a CUDA wheel was pulled in (use xgboost-cpu)"; fi
    if [[ -d "$pkg/pyarrow" || -d "$pkg/duckdb" ]]; then die "[$name] pyarrow/duckdb must stay out (size; DESIGN.md)"; fi
    if [[ "$name" == api ]]; then
        local lib
        for lib in "${ML_LIBS[@]}"; do
            [[ -e "$pkg/$lib" ]] && die "[api] $lib was pulled in: the api package holds no ML library (check $req)"
        done
    fi

    say "[$name] the project's files"
    while IFS= read -r f; do (cd "$SRC" && cp --parents "$f" "$pkg/"); done < <("${name}_sources")
    if [[ "$name" == refresh ]]; then
        [[ -f "$pkg/athena/contract.json" ]] || die "athena/contract.json did not make it into the refresh package"
        # lib_lightgbm.so links libgomp.so.1 from the system; the Lambda image may lack it. scikit-learn's wheel
        # bundles a copy: put it in lib/, which is on Lambda's LD_LIBRARY_PATH (/var/task/lib).
        if readelf -d "$pkg"/lightgbm/lib/lib_lightgbm.so 2>/dev/null | grep -q 'libgomp.so.1'; then
            local gomp
            gomp="$(ls "$pkg"/scikit_learn.libs/libgomp*.so* 2>/dev/null | head -n1 || true)"
            [[ -n "$gomp" ]] || die "lightgbm needs libgomp.so.1 and scikit-learn's wheel no longer bundles one"
            mkdir -p "$pkg/lib"
            cp "$gomp" "$pkg/lib/libgomp.so.1"
            echo "bundled $(basename "$gomp") as lib/libgomp.so.1 for lightgbm"
        fi
    fi

    before=$(size_of "$pkg")
    say "[$name] trimming, then bytecode for python3.12 without the sources"
    trim_common "$pkg"
    if [[ "$name" == api ]]; then trim_api "$pkg"; else trim_refresh "$pkg"; fi
    compile_bytecode "$pkg"
    unzipped=$(size_of "$pkg")
    echo "[$name] unzipped: $(mb "$before") installed, $(mb "$unzipped") trimmed and compiled"
    if (( unzipped > LAMBDA_LIMIT || unzipped > ${TARGET[$name]} )); then
        say "[$name] largest folders:"; du -sb "$pkg"/* | sort -rn | head -n 15 || true
        die "[$name] the package is $(mb "$unzipped") unzipped, over its target of $(mb "${TARGET[$name]}")"
    fi
    zip_tree "$pkg" "$OUT/$name.zip"
    printf '[%s] %s unzipped (target %s), %s zipped\n' "$name" "$(mb "$unzipped")" "$(mb "${TARGET[$name]}")" \
        "$(mb "$(stat -c %s "$OUT/$name.zip")")"
}

phase "api package"
build_package api
phase "refresh package"
build_package refresh

publish() {  # the zips into dist/, with packages.json (tests/deploy/package_state.py reads it)
    local smoke="$1" name
    rm -f "$DIST/deployment.zip"  # the one-package layout's artifact, if an old build left it
    for name in api refresh; do cp "$OUT/$name.zip" "$DIST/$name.zip.tmp" && mv "$DIST/$name.zip.tmp" "$DIST/$name.zip"; done
    "$PY312" tests/deploy/package_state.py write --dist "$DIST" --inputs "$INPUTS_SHA256" --smoke "$smoke"
}

summary() {
    phase "end"
    say "Sizes (Lambda: 250 MB unzipped; over 50 MB zipped, a package must come from S3, as Terraform does)"
    printf '%-8s %14s %14s  %s\n' package unzipped zipped sha256
    local name
    for name in api refresh; do
        printf '%-8s %14s %14s  %s\n' "$name" "$(mb "$(size_of "$BUILD_DIR/$name/package")")" \
            "$(mb "$(stat -c %s "$DIST/$name.zip")")" "$(sha256sum "$DIST/$name.zip" | cut -c1-16)"
    done
    say "Wall time"
    local p
    for p in "${PHASES[@]}"; do printf '  %-22s %4d s\n' "${p%:*}" "${p##*:}"; done
    printf '  %-22s %4d s\n' total "$((SECONDS - STARTED))"
}

if [[ "${SKIP_SMOKE:-0}" == "1" ]]; then
    publish skipped
    say "SKIP_SMOKE=1: smoke test skipped"
    summary; exit 0
fi

phase "smoke test"
BOTO_DIR="$BUILD_DIR/boto3"
MOTO_DIR="$BUILD_DIR/moto"
say "Smoke test: boto3 (as the runtime provides it) and moto (S3 only) for python3.12, from the wheel cache"
install_from_wheels "$BOTO_DIR" "$BOTO3_REQ"
install_from_wheels "$MOTO_DIR" "$MOTO_REQ"
# What ships is what is tested: each zip unzipped again into a folder of its own.
for name in api refresh; do "$PY312" -m zipfile -e "$OUT/$name.zip" "$SMOKE/$name"; done
cp tests/deploy/smoke_package.py "$SMOKE/smoke_package.py"
cp tests/events/apigw_v1_get_at_risk.json "$SMOKE/fixture/"

say "Smoke test 1/4: waiting for the recording (started with the build)"
record_status=0
wait "$RECORD_PID" || record_status=$?
RECORD_PID=""
grep -v '^{"level"' "$SMOKE/record.log" | tail -n 25 || true
(( record_status == 0 )) || die "the smoke test's recording failed (exit $record_status; $SMOKE/record.log)"

# A clean python3.12 -I process: LD_LIBRARY_PATH as Lambda sets it for /var/task; nothing else of this machine.
run_clean() {  # run_clean PACKAGE_DIR MODE
    env -i HOME="$SMOKE" PATH=/usr/bin:/bin LD_LIBRARY_PATH="$1/lib" TZ=UTC \
        "$PY312" -I "$SMOKE/smoke_package.py" "$2" --package "$1" --boto3 "$BOTO_DIR" --fixture "$SMOKE/fixture" \
        --moto "$MOTO_DIR"
}
say "Smoke test 2/4: refresh.zip runs a scheduled retrain through handler.lambda_handler and publishes"
run_clean "$SMOKE/refresh" check-refresh || die "smoke test of refresh.zip failed"
say "Smoke test 3/4: api.zip answers every route from what refresh.zip published (local folder and S3)"
run_clean "$SMOKE/api" check-api || die "smoke test of api.zip failed"
say "Smoke test 4/4: the score Parquet refresh.zip wrote matches the Glue tables (dev venv's pyarrow)"
"$DEV_PYTHON" tests/deploy/smoke_package.py verify-scores --fixture "$SMOKE/fixture" --source "$SRC" \
    || die "score Parquet differs from the Glue tables"

publish passed
summary
echo "built $DIST/api.zip and $DIST/refresh.zip (smoke test passed)"
