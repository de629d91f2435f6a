# One verb per job. Each target creates .venv on first use, so a fresh clone needs only `make demo`
# or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install demo test lint typecheck pytest notebooks bench format clean system-tools

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,notebook]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install formexport with its dev tools

demo: $(STAMP)  ## export the demo forms from the built-in OpnForm emulator
	$(BIN)/formexport demo

lint: $(STAMP)  ## ruff check, format check and the import contracts (layers, no cycles)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)  ## mypy --strict on src/
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

pytest: $(STAMP) system-tools  ## the test suite
	$(BIN)/pytest

# The notebooks run against the built-in emulator (FORMEXPORT_DEMO=1), never a developer's server,
# with a throwaway job record and cache.
NBVAL_ENV := env -u OPNFORM_API_TOKEN -u OPNFORM_API_BASE_URL -u FORMEXPORT_PROGRESS \
	FORMEXPORT_DEMO=1 JUPYTER_PLATFORM_DIRS=1

notebooks: $(STAMP)  ## run notebooks/ and compare their stored outputs (nbval)
	tmp=$$(mktemp -d) && $(NBVAL_ENV) FORMEXPORT_CACHE_DIR=$$tmp \
		$(BIN)/pytest --nbval notebooks --nbval-sanitize-with notebooks/sanitize.cfg; \
		status=$$?; rm -rf $$tmp; exit $$status

test: lint typecheck pytest notebooks  ## everything CI runs

bench: $(STAMP)  ## speed and memory against the naive pipeline (about 20 minutes)
	$(BIN)/python benchmarks/bench.py --json benchmarks/results.json

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
