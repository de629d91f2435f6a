# One verb per job. Each target creates .venv on first use, so a fresh clone needs only `make demo`
# or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install demo test lint typecheck pytest bench format clean

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

lint: $(STAMP)  ## ruff check and format check
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)  ## mypy --strict on src/
	$(BIN)/mypy

pytest: $(STAMP)  ## the test suite
	$(BIN)/pytest

test: lint typecheck pytest  ## everything CI runs

bench: $(STAMP)  ## speed and memory against the naive pipeline (takes several minutes)
	$(BIN)/python benchmarks/bench.py --json benchmarks/results.json

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
