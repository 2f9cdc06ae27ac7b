# Python server battle. `make bench-all` measures every variant; `make test` runs the tests.
# Both install what they need: a virtualenv in .venv (pinned by constraints.txt) and wrk.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= standard
RUNTIME ?= local
FRAMEWORK ?=
RESULTS ?= $(lastword $(sort $(wildcard results/*.json)))
ARGS ?=
PYTEST_ARGS ?=

.PHONY: setup tools bench-all bench report list test clean

setup: tools $(VENV)/.installed

tools:
	@PYTHON=$(PYTHON) scripts/ensure-tools

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[servers,test]'
	@touch $@

bench-all: setup
	$(PY) -m suite run --profile $(PROFILE) --runtime $(RUNTIME) $(ARGS)

bench: setup
	@test -n "$(FRAMEWORK)" || { echo "usage: make bench FRAMEWORK=<variant> [PROFILE=quick]; variants: make list" >&2; exit 2; }
	$(PY) -m suite run $(FRAMEWORK) --profile $(PROFILE) --runtime $(RUNTIME) $(ARGS)

report: setup
	@test -n "$(RESULTS)" || { echo "no results/*.json yet: run make bench-all first" >&2; exit 2; }
	$(PY) -m suite report --latest $(RESULTS)

list: setup
	@$(PY) -m suite list

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
