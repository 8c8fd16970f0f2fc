# Demand Insights Engine: local setup, the demo, the tests. Only python3 (3.11+) and make are needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: setup demo demo-reset test lint mypy-all bench clean asl-check

# asl-validator (npm) checks the sharded refresh's state machine (terraform/refresh_sfn.asl.json): installed with
# `npm ci` from .ci/asl-validator's lockfile (asl-validator 4.0.0 and its dependencies pinned with their hashes).
ASL_VALIDATOR := .ci/asl-validator/node_modules/.bin/asl-validator

# mypy (settings in pyproject.toml): strict on insights/api and insights/snapshot, plain on the rest named here.
# `make mypy-all` checks the whole product (models/, athena/, insights/refresh, insights/data too); it joins
# `lint` once those pass.
MYPY_PATHS ?= handler.py insights/__init__.py insights/__main__.py insights/config.py insights/errors.py \
              insights/api insights/snapshot insights/cli

$(STAMP): requirements-api.txt requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

# The main job on the embedded default: a sample lake in the demo workspace (data/demo, made once), the daily
# refresh, then the local API on 127.0.0.1:$(PORT), which prints a working curl line (Ctrl-C stops it).
# Imported data sets live in their own workspaces (data/<name>) and never touch the demo's.
DEMO_FIX = make demo: the demo's refresh failed (the line above says why). Fix: make demo-reset  \
           (a fresh sample lake in data/demo; other workspaces under data/ are kept)
demo: setup
	@test -d data/demo/lake/orders || $(BIN)/python -m insights sample --workspace demo
	@$(BIN)/python -m insights refresh --workspace demo || { echo "$(DEMO_FIX)" >&2; exit 2; }
	@$(BIN)/python -m insights serve --workspace demo --port $(PORT)

# Start the demo over: delete data/demo (its sample lake and snapshots) and run `make demo` again.
demo-reset:
	rm -rf data/demo
	@$(MAKE) --no-print-directory demo PORT=$(PORT)

# The suite includes the Lambda packages' checks: they are built first (./build.sh, smoke test included) unless
# dist/ already holds zips built from the current sources; tests/deploy never skips them. On every core
# (pytest-xdist); PYTEST_ARGS= runs it in one process.
PYTEST_ARGS ?= -n auto
test: packages-current setup chromium $(ASL_VALIDATOR)
	ASL_VALIDATOR=$(ASL_VALIDATOR) $(BIN)/python -m pytest -q $(PYTEST_ARGS)

$(ASL_VALIDATOR): .ci/asl-validator/package.json .ci/asl-validator/package-lock.json
	npm ci --prefix .ci/asl-validator --no-audit --no-fund --ignore-scripts --silent
	touch $@

asl-check: setup $(ASL_VALIDATOR)
	ASL_VALIDATOR=$(ASL_VALIDATOR) $(BIN)/python -m pytest -q -n 0 tests/deploy/test_asl_validator.py

# The dashboard's browser tests (tests/ui) drive Debian's chromium, headless, through Playwright (pinned in
# requirements-dev.txt; its own browser download is never used). Installed here when missing: apt-get needs root,
# which CI is; anywhere else this fails saying what to run (the tests fail the same way rather than skip).
CHROMIUM ?= chromium
.PHONY: chromium
chromium:
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null 2>&1 || { echo "error: the browser tests need Debian's chromium and there is no \
	apt-get here: install chromium and run with CHROMIUM=/path/to/it" >&2; exit 2; }; \
	  [ "$$(id -u)" = 0 ] || { echo "error: the browser tests need Debian's chromium: run \
	sudo apt-get update && sudo apt-get install -y chromium" >&2; exit 2; }; \
	  echo "installing Debian's chromium for the browser tests (apt-get update, apt-get install chromium)"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { echo "error: chromium did not install" >&2; exit 2; }

lint: setup
	$(BIN)/ruff check . && $(BIN)/mypy $(MYPY_PATHS)

mypy-all: setup
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache dist build/api build/refresh build/smoke build/src build/out

# Data-layer benchmark: a 1,000,000-customer sample lake, then customer_features on DuckDB (bench/RESULTS.md).
.PHONY: bench-data
bench-data: setup
	nice $(BIN)/python bench/bench_data.py

# API benchmark: warm latency per endpoint and cold start on a 1M-customer / 5k-product snapshot (bench/RESULTS.md).
.PHONY: bench-api
bench-api: setup
	nice $(BIN)/python bench/bench_api.py

# Cold start from S3 (moto): bytes read from the store before the first answer and the time to it, per route and at
# the daily switch, on the 1M-customer snapshot (bench/RESULTS.md, "API cold start from S3").
.PHONY: bench-coldstart
bench-coldstart: setup
	nice $(BIN)/python bench/bench_coldstart.py --runs 3 --label after --write-results

# Package benchmark: api.zip's size and cold start (fresh python3.12 processes, only the package) against the
# one-package layout, on the 1M-customer snapshot of bench-api (bench/RESULTS.md). Builds what it lacks.
.PHONY: bench-package
bench-package: setup
	nice $(BIN)/python bench/bench_package.py

# Importer benchmark: the real Online Retail file (../shared/data) into a lake, then every query on it (bench/RESULTS.md).
.PHONY: bench-importer
bench-importer: setup
	nice $(BIN)/python bench/bench_importer.py

# Deploy: the Lambda package and the offline checks of the Terraform stack (docs/deploy.md).
TF_ENV         := TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
TF_PLUGIN_DIR  ?= /opt/tf-plugins
CHECKOV_VENV   ?= build/checkov-venv
CHECKOV_VERSION ?= 3.3.30
.PHONY: package tf-check checkov

# dist/api.zip and dist/refresh.zip for the python3.12 x86_64 runtime, size-checked and smoke-tested (needs
# python3.12); always rebuilds. packages-current builds only when dist/ is missing or older than the inputs.
# build.sh creates .venv itself when missing (make setup), in the background while the packages build: on a
# fresh clone `make test` gets the venv and the packages in the time of the slower of the two.
.PHONY: packages-current
package:
	./build.sh

packages-current:
	@$(PYTHON) tests/deploy/package_state.py check || ./build.sh

# fmt, init against the local provider mirror, validate, terraform test (mocked AWS), Glue vs contract.
tf-check: setup
	cd terraform && $(TF_ENV) terraform fmt -check -recursive
	cd terraform && $(TF_ENV) terraform init -backend=false -plugin-dir=$(TF_PLUGIN_DIR) -input=false -no-color >/dev/null
	cd terraform && $(TF_ENV) terraform validate -no-color
	cd terraform && $(TF_ENV) terraform test -no-color
	$(BIN)/python -m pytest -q tests/deploy

# checkov in its own virtualenv (it pins an older boto3 than the project's).
$(CHECKOV_VENV)/bin/checkov:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)

checkov: $(CHECKOV_VENV)/bin/checkov
	$(CHECKOV_VENV)/bin/checkov -d terraform --framework terraform --quiet --compact --skip-download

# Reliability and security (issue 8): tests/security, the real Online Retail file through import + refresh with the
# real models, schemathesis fuzzing (>= 1,000 requests) and a 60 s locust load test, all on 127.0.0.1; prints the
# summary counts and updates the "Reliability and load" section of bench/RESULTS.md.
$(VENV)/.bench-installed: requirements-bench.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	touch $@

.PHONY: reliability
reliability: setup $(VENV)/.bench-installed
	nice $(BIN)/python bench/reliability.py

# Customer models vs lifetimes BG/NBD + Gamma-Gamma vs naive (needs requirements-bench.txt); writes its RESULTS.md section.
.PHONY: bench-customers
bench-customers: setup $(VENV)/.bench-installed
	nice $(BIN)/python bench/bench_customers.py

# Product models vs statsforecast AutoETS/SeasonalNaive vs mean-28 (Online Retail + synthetic lake) and elasticity vs
# the synthetic truth; statsforecast installs with --no-deps (it declares pandas<3). Writes its RESULTS.md section.
$(VENV)/.bench-products-installed: bench/requirements-products.txt $(VENV)/.bench-installed
	$(BIN)/python -m pip install --quiet --no-deps -r bench/requirements-products.txt
	touch $@

.PHONY: bench-products
bench-products: setup $(VENV)/.bench-products-installed
	nice $(BIN)/python bench/bench_products.py

# Refresh benchmark: wall time and peak RSS at 10k, 100k and 1M customers, train and daily reuse runs (bench/RESULTS.md).
.PHONY: bench-refresh
bench-refresh: setup
	nice $(BIN)/python bench/bench_refresh.py --seed-models-from 100000 --keep --timeout 1800
