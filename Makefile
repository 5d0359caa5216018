# Two commands for a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: run test install assets lint typecheck migrations-check pytest test-postgres browser-deps bench clean

$(BIN)/activate: requirements/lock.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25"
	$(PY) -m pip install --quiet -r requirements/lock.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(BIN)/activate

install: $(BIN)/activate assets

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.package-lock.json

assets: node_modules/.package-lock.json

# The Procfile says "python": the venv goes first on PATH so web and worker both use it.
run: install
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py setup_schedules
	DJANGO_DEBUG=1 $(PY) manage.py load_reference_data
	DJANGO_DEBUG=1 $(PY) manage.py seed_demo
	DJANGO_DEBUG=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

migrations-check: install
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) manage.py makemigrations --check --dry-run

# Headless Chromium for the browser tests (Debian packages; CI runs as root on Debian).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" != "0" ]; then \
	    echo "/usr/bin/chromium is missing: run 'sudo make browser-deps' to install chromium and chromium-driver" >&2; exit 1; \
	  fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	fi

pytest: install browser-deps
	$(BIN)/pytest

test: install browser-deps lint typecheck migrations-check pytest

# The same suite against PostgreSQL and the Redis broker (CI runs both).
test-postgres: install browser-deps
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} $(BIN)/pytest

clean:
	rm -rf $(VENV) node_modules staticfiles .mypy_cache .ruff_cache .pytest_cache
