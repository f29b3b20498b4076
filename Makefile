# riskloop — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
UV ?= $(shell command -v uv 2>/dev/null)
VENV := .venv
STAMP := $(VENV)/.synced

.PHONY: setup run test browser lint clean

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

test: setup browser
	$(VENV)/bin/python -m pytest

# The UI's browser test drives Debian's Chromium (playwright's own browser downloads need the
# internet). Installed with apt-get when missing and possible (root, as on CI); otherwise that
# test skips and says why.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's chromium for the UI browser test"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
	    >/dev/null || echo "could not install chromium: the browser test will skip"; \
	fi

lint: setup
	$(VENV)/bin/ruff check src tests

clean:
	rm -rf data/02_* data/03_* data/04_* data/05_* data/06_* data/07_* data/08_* mlflow.db mlartifacts
