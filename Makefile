# Two commands on a machine with only Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres test-scaleout test-redis worker api migrate lint clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

## The whole service on the embedded default: Temporal dev server + UI, a worker, the API.
run: $(STAMP)
	$(PY) -m embedded

## The whole test suite (real Temporal dev server, SQLite, HTTP on loopback).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## The database tests again, against PostgreSQL (TEST_POSTGRES_URL overrides the server).
test-postgres: $(STAMP)
	TEST_POSTGRES_URL=$${TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres} \
		$(PY) -m pytest -m database $(PYTEST_ARGS)

## Two APIs and two workers as processes on PostgreSQL and Redis, 200 executions.
test-scaleout: $(STAMP)
	TEST_POSTGRES_URL=$${TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
		$(PY) -m pytest -m scaleout $(PYTEST_ARGS)

## The tests that need Redis (two API processes sharing one rate-limit budget).
test-redis: $(STAMP)
	TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/0} \
		$(PY) -m pytest -m redis $(PYTEST_ARGS)

migrate: $(STAMP)
	$(PY) -m api.db.migrate

worker: $(STAMP)
	$(PY) worker.py

api: $(STAMP)
	$(PY) -m uvicorn --factory api.app:app_factory --host $${API_HOST:-127.0.0.1} --port $${API_PORT:-8000}

## Benchmarks, not tests: nothing fails on a timing. Each prints its figures last.
BENCHES := bench-interpreter bench-api bench-embedded bench-memory
.PHONY: bench $(BENCHES)
bench: $(BENCHES)
$(BENCHES): bench-%: $(STAMP)
	$(PY) -m bench.$*

lint: $(STAMP)
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) .data
