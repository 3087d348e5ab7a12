# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and
# install the package with its test extras first (only when pyproject.toml changed).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NOTEBOOKS := $(wildcard notebooks/*.ipynb)

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py $(NOTEBOOKS) --output-dir output

test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check goose_nb tests scripts benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/stream_overhead.py
	$(BIN)/python benchmarks/lead_worker_cost.py

clean:
	rm -rf $(VENV) output build *.egg-info
