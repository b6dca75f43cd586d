# a2e: `make run` serves on 127.0.0.1:8000, `make test` runs the suite on SQLite,
# `make test-pg` on PostgreSQL (PG_URL).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
A2E := $(BIN)/a2e
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgresql+psycopg://root@127.0.0.1:5432/test

.PHONY: run test test-pg install install-test migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet '.[postgres]'

install-test: $(BIN)/python
	$(BIN)/pip install --quiet '.[test]'

migrate: install
	$(A2E) db upgrade

run: migrate
	@if [ "$$($(A2E) agents list)" = "[]" ]; then \
		echo "Created a demo agent (its key is shown once):"; \
		$(A2E) agents create demo --allow-host '*'; \
	fi
	$(A2E) serve --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-pg: install-test
	A2E_TEST_DATABASE_URL='$(PG_URL)' $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
