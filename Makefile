# Every target bootstraps what it needs on first use (.venv, .venv-checkov, node_modules);
# stamp files make a second run skip the installs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# Tests, benchmarks and the local cloud never reach AWS: they get fake credentials through the
# environment (not on the command line, so make never prints a credential).
OFFLINE_TARGETS := test test-fast demo bench
$(OFFLINE_TARGETS): export AWS_ACCESS_KEY_ID := testing
$(OFFLINE_TARGETS): export AWS_SECRET_ACCESS_KEY := testing
$(OFFLINE_TARGETS): export AWS_SESSION_TOKEN := testing
$(OFFLINE_TARGETS): export AWS_DEFAULT_REGION := us-east-1
$(OFFLINE_TARGETS): export AWS_EC2_METADATA_DISABLED := true

VENV_STAMP := $(VENV)/.installed
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
NODE_STAMP := node_modules/.installed

LINT_PATHS := app.py stacks constructs_lib lambda/bmc scripts tests $(wildcard localcloud)

.PHONY: help install synth summary lint test test-fast demo bench mutation install-check clean

help:
	@echo "make demo   - run the whole workflow offline in the local cloud (SCENARIO=name, SCENARIO=list)"
	@echo "make test   - lint, type checks, unit, infra (cdk-nag, cfn-lint, checkov, statelint) and e2e tests"
	@echo "make synth  - synthesize the CloudFormation templates into cdk.out (no AWS credentials needed)"
	@echo "make lint   - ruff and mypy"
	@echo "make summary - stacks, resources and security posture of the synthesized app"
	@echo "make bench  - performance figures (validator throughput, workflow history size, evaluation throughput)"
	@echo "make mutation - mutation scores of the domain modules (MODULES=\"registry cleanup\"; long: see docs/mutation.md)"
	@echo "make install-check - pip install . into an empty venv; run bmc --version and the README example"

$(VENV_STAMP): requirements.txt requirements-dev.txt lambda/requirements.txt lambda/requirements-evaluation.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

# checkov pins many libraries of its own: it lives in a venv of its own.
$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV_STAMP) $(CHECKOV_STAMP) $(NODE_STAMP)

synth: $(VENV_STAMP) $(NODE_STAMP)
	npx cdk synth --quiet

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(LINT_PATHS)

test: install lint
	$(PY) -m pytest -q

# Unit tests only: the quick loop while editing domain code.
test-fast: $(VENV_STAMP)
	$(PY) -m pytest -q tests/unit

# What `cdk deploy` would create, read from the synthesized templates.
summary: $(VENV_STAMP)
	$(PY) scripts/deployment_summary.py

# The whole workflow offline; `make demo SCENARIO=job-failed` plays another scenario
# (`make demo SCENARIO=list` lists them).
demo: $(VENV_STAMP)
	$(PY) -m localcloud.demo $(if $(filter list,$(SCENARIO)),--list,$(if $(SCENARIO),--scenario $(SCENARIO)))

bench: $(VENV_STAMP)
	$(PY) scripts/bench_validator.py --format all
	$(PY) scripts/bench_workflow.py
	$(PY) scripts/bench_evaluation.py

# Mutation testing of the domain modules, one module at a time (docs/mutation.md); not part of
# `make test`. MODULES="registry cleanup" picks modules, MUTATION_JOBS sets mutmut's workers (2).
MUTATION_STAMP := $(VENV)/.mutation-installed

$(MUTATION_STAMP): $(VENV_STAMP) requirements-mutation.txt
	$(VENV)/bin/pip install --quiet -r requirements-mutation.txt
	touch $@

mutation: $(MUTATION_STAMP)
	nice -n 10 $(PY) scripts/mutation.py $(MODULES)

# The CLI installs on its own: a clean venv, `pip install .`, the README's commands.
install-check:
	$(PYTHON) scripts/check_install.py

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache demo-output test-output
