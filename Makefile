# CivicPulse — the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_MAJOR ?= 15

.PHONY: setup demo env test lint bench clean

setup: $(BIN)/civicpulse tests/oidc/node_modules/.package-lock.json
	@bash .ci/ensure-system-packages

# The test OpenID Connect provider (npm's oidc-provider), pinned by its lock file.
tests/oidc/node_modules/.package-lock.json: tests/oidc/package-lock.json
	@bash .ci/ensure-system-packages
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error

$(BIN)/civicpulse: pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

demo: setup
	$(BIN)/python -m service.devstack demo

# The CLI's environment beside a running `make demo`: eval "$$(make -s env)".
env: setup
	@$(BIN)/civicpulse env

test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# A long schemathesis run (randomised; FUZZ_EXAMPLES per operation, role and mode).
FUZZ_EXAMPLES ?= 50
fuzz: setup
	CIVICPULSE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) CIVICPULSE_FUZZ_RANDOM=1 \
		$(BIN)/python -m pytest -q -s tests/service/test_fuzz.py

lint: setup
	$(BIN)/ruff check service geo workers tests benchmarks
	$(BIN)/mypy service geo workers
	$(BIN)/lint-imports
	$(BIN)/bandit -q -c pyproject.toml -r service geo workers
	$(BIN)/python .ci/audit-dependencies

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf .local var .pytest_cache
