# Taller — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The production-path tests talk to real servers (scripts/services-up.sh starts them).
TEST_DATABASE_URL ?= postgres://taller:taller@127.0.0.1:5432/taller
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

EDITOR_BUNDLE := platform/taller/static/taller/dist/editor.js
SIMILARITY_TOOL := tools/similarity/node_modules/.installed

.PHONY: run install system-deps serve test check-graders lint typecheck lock schema services clean

## run: install what is missing, prepare the database and the course, serve the site
run: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py sync_exercises
	$(BIN)/python manage.py setup_demo
	@echo "Taller is at http://$(HOST):$(PORT)/  (Ctrl+C stops it)"
# One web process: the embedded defaults (grading in process, the in-memory channel
# layer that carries its live events) live in one process.
	$(BIN)/gunicorn -c python:taller.web.gunicorn_conf --bind $(HOST):$(PORT) --workers 1

install: system-deps $(VENV)/.installed runtime/node_modules/.installed $(EDITOR_BUNDLE) $(SIMILARITY_TOOL)

system-deps:
	@scripts/system-deps.sh
	@if [ "$$(id -u)" -eq 0 ]; then scripts/setup-services.sh; \
	else echo "Not root: skipping scripts/setup-services.sh (per-run PostgreSQL, RabbitMQ, MongoDB)."; fi

$(VENV)/.installed: requirements/dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements/dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# The one shared, read-only set of modules student programs may use.
runtime/node_modules/.installed: runtime/package-lock.json
	cd runtime && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Dolos for the similarity reports, run as its own Node process: npm compiles its
# tree-sitter parsers (minutes), once; the stamp keeps them until the lock changes.
$(SIMILARITY_TOOL): tools/similarity/package-lock.json
	cd tools/similarity && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(EDITOR_BUNDLE): frontend/package-lock.json $(wildcard frontend/src/*)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

## services: start PostgreSQL and Redis for the production-path tests
services:
	@scripts/services-up.sh

## test: the whole suite against real PostgreSQL and Redis, every grader checked, ruff, mypy
test: install services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest
	cd frontend && npm test --silent
	$(MAKE) --no-print-directory check-graders lint typecheck

## check-graders: reference/alternative solutions get full marks, wrong ones do not
check-graders:
	$(BIN)/python manage.py check_graders

lint:
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff format --check platform graders tests manage.py

typecheck:
	$(BIN)/mypy platform/taller graders/taller_grader bench

## schema: regenerate the committed OpenAPI schema of the REST API on PostgreSQL, and the live events' JSON Schema (tests check both for drift)
schema:
	DATABASE_URL=$(TEST_DATABASE_URL) DJANGO_SETTINGS_MODULE=taller.settings.test $(BIN)/python manage.py spectacular --validate --fail-on-warn --file platform/taller/api/openapi.yaml
	DJANGO_SETTINGS_MODULE=taller.settings.test $(BIN)/python manage.py events_schema --file docs/events.schema.json

## lock: re-pin the hashed requirements after editing pyproject.toml
lock:
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -q -o requirements/base.txt
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -q -o requirements/dev.txt

clean:
	rm -rf $(VENV) runtime/node_modules frontend/node_modules tools/similarity/node_modules platform/taller/static/taller/dist var
