# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and
# install the package with its test and demo extras first (again only when pyproject.toml
# changes). `make test-pythons` runs the suite on every supported CPython installed here.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NOTEBOOKS := $(wildcard notebooks/*.ipynb)
# pyenv's shims answer only for the selected version; nox needs each interpreter's own bin/
PYENV_BINS := $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.1[0-3].*/bin)
empty :=
space := $(empty) $(empty)
PYENV_PATH := $(subst $(space),:,$(strip $(PYENV_BINS)))

.PHONY: demo test lint test-pythons bench clean

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) and installing goose_nb with its test and demo extras"
	@echo "    (the first run downloads the dependencies and takes a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
	@touch $(STAMP)
	@echo "==> $(VENV) is ready"

demo: $(STAMP)
	@echo "==> running the demo notebooks offline (replayed cassettes) into output/"
	$(BIN)/python scripts/execute_notebooks.py $(NOTEBOOKS) --output-dir output

test: $(STAMP) lint
	@echo "==> running the test suite"
	$(BIN)/python -m pytest

lint: $(STAMP)
	@echo "==> ruff, mypy, and the import layers (import-linter)"
	$(BIN)/ruff check src tests scripts benchmarks noxfile.py
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test-pythons: $(STAMP)
	@$(BIN)/python -c "import nox" 2>/dev/null || $(BIN)/python -m pip install 'nox>=2024.4'
	@echo "==> the test suite on CPython 3.10-3.13, each found on PATH or in pyenv"
	PATH="$(PYENV_PATH)$(if $(PYENV_PATH),:)$$PATH" $(BIN)/python -m nox

bench: $(STAMP)
	$(BIN)/python benchmarks/stream_overhead.py
	$(BIN)/python benchmarks/lead_worker_cost.py

clean:
	rm -rf $(VENV) .nox output build src/*.egg-info
