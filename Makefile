# riskloop — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
UV ?= $(shell command -v uv 2>/dev/null)
VENV := .venv
STAMP := $(VENV)/.synced

.PHONY: setup run test lint clean

# uv is installed with pip when missing; the venv is rebuilt only when the lock changed.
setup: $(STAMP)

$(STAMP): uv.lock pyproject.toml
	@if [ -z "$(UV)" ]; then echo "uv not found: installing it with pip"; $(PYTHON) -m pip install --quiet --user uv || $(PYTHON) -m pip install --quiet uv; fi
	@uv=$$(command -v uv || echo $$($(PYTHON) -m site --user-base)/bin/uv); \
	  $$uv sync --frozen --python $(PYTHON) --quiet
	@touch $(STAMP)

run: setup
	$(VENV)/bin/riskloop run
	$(VENV)/bin/riskloop serve --ui

test: setup
	$(VENV)/bin/python -m pytest

lint: setup
	$(VENV)/bin/ruff check src tests

clean:
	rm -rf data/02_* data/03_* data/04_* data/05_* data/06_* data/07_* data/08_* mlflow.db mlartifacts
