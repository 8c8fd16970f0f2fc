# Demand Insights Engine: local setup, the demo, the tests. Only python3 (3.11+) and make are needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: setup demo test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

# The main job on the embedded default: a sample lake, the daily refresh, the local API.
demo: setup
	$(BIN)/python -m insights sample
	$(BIN)/python -m insights query customer_features --param cutoff=$$(date -u +%F) --limit 5

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) data .pytest_cache

# Data-layer benchmark: a 1,000,000-customer sample lake, then customer_features on DuckDB (bench/RESULTS.md).
.PHONY: bench-data
bench-data: setup
	nice $(BIN)/python bench/bench_data.py

# API benchmark: warm latency per endpoint and cold start on a 1M-customer / 5k-product snapshot (bench/RESULTS.md).
.PHONY: bench-api
bench-api: setup
	nice $(BIN)/python bench/bench_api.py

# Importer benchmark: the real Online Retail file (../shared/data) into a lake, then every query on it (bench/RESULTS.md).
.PHONY: bench-importer
bench-importer: setup
	nice $(BIN)/python bench/bench_importer.py
