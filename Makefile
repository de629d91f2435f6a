# One verb per job. Each target creates .venv on first use, so a fresh clone needs only `make demo`
# or `make test`. One virtualenv serves both: `make demo` installs the library alone (a minute at
# most on a fresh clone), the other targets add the development tools on top.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
LIB_STAMP := $(VENV)/.installed-lib
DEV_STAMP := $(VENV)/.installed-dev
# The demo writes its files here (kept for the user to open).
DEMO_DIR ?= formexport-demo

.PHONY: help install demo test lint typecheck pytest notebooks docs docs-build docs-examples bench format clean system-tools

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The library and what it imports at run time: all the demo needs.
$(LIB_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

# The development stack (test runners, type checker, Jupyter, browsers' driver...) on top; it
# includes the library, so both stamps are fresh afterwards.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[dev,notebook]'
	touch $@ $(LIB_STAMP)

install: $(DEV_STAMP)  ## create .venv and install formexport with its dev tools

demo: $(LIB_STAMP)  ## export the demo forms from the built-in OpnForm emulator (library only)
	$(BIN)/formexport demo --output-dir $(DEMO_DIR)

lint: $(DEV_STAMP)  ## ruff check, format check and the import contracts (layers, no cycles)
	$(BIN)/ruff check src tests benchmarks conftest.py
	$(BIN)/ruff format --check src tests benchmarks conftest.py
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP)  ## mypy --strict on src/
	$(BIN)/mypy

# Tests that drive Debian programs (Chromium for JupyterLab, PHP's own fputcsv as an oracle) get
# them installed here when that is possible (root, apt-get); elsewhere they skip, naming the
# package, unless FORMEXPORT_REQUIRE_SYSTEM_TOOLS=1 (set by CI) turns the skip into a failure.
SYSTEM_TOOLS := chromium:chromium php:php-cli

system-tools:  ## install the Debian programs the tests drive, when root and apt-get allow it
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
		command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing$$missing for the browser and PHP tests"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	else \
		echo "Not installing$$missing (needs root and apt-get): those tests will skip"; \
	fi

# The suite spread over a few processes (pytest-xdist): most tests wait on loopback servers,
# browsers and subprocesses more than they compute. PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 3

pytest: $(DEV_STAMP) system-tools  ## the test suite
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# The notebooks run against the built-in emulator (FORMEXPORT_DEMO=1), never a developer's server,
# with a throwaway job record and cache.
NBVAL_ENV := env -u OPNFORM_API_TOKEN -u OPNFORM_API_BASE_URL -u OPNFORM_PROFILE -u FORMEXPORT_PROGRESS \
	FORMEXPORT_DEMO=1 JUPYTER_PLATFORM_DIRS=1

notebooks: $(DEV_STAMP)  ## run notebooks/ and compare their stored outputs (nbval)
	tmp=$$(mktemp -d) && $(NBVAL_ENV) FORMEXPORT_CACHE_DIR=$$tmp \
		$(BIN)/pytest --nbval notebooks --nbval-sanitize-with notebooks/sanitize.cfg; \
		status=$$?; rm -rf $$tmp; exit $$status

# Every Python block of the README and docs/ runs against the emulator (the console blocks run
# in the main suite: tests/docs).
docs-examples: $(DEV_STAMP)  ## run the README's and docs/'s Python examples against the emulator
	$(BIN)/pytest --markdown-docs -m markdown-docs README.md docs

docs-build: $(DEV_STAMP)  ## build the documentation site, every warning an error
	$(BIN)/mkdocs build --strict --quiet --site-dir build/site

docs: $(DEV_STAMP)  ## serve the documentation site (guides and API reference) on localhost
	$(BIN)/mkdocs serve

test: lint typecheck pytest docs-examples docs-build notebooks  ## everything CI runs

bench: $(DEV_STAMP)  ## speed and memory against the naive pipeline (about 40 minutes)
	$(BIN)/python benchmarks/bench.py --json benchmarks/results.json

format: $(DEV_STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks conftest.py
	$(BIN)/ruff format src tests benchmarks conftest.py

clean:  ## remove the virtualenv, the caches and the demo's files
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(DEMO_DIR) build
