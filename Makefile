# The two commands of the README: `make run` and `make test`. Both set up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# ASGI server of `make run` and `make cluster`: daphne (default, or CHAT_SERVER) or uvicorn (faster).
SERVER ?= $(or $(CHAT_SERVER),daphne)
# `make cluster` runs on these unless the environment sets them (see README "Running a cluster").
CLUSTER_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/chat
CLUSTER_REDIS_URL ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=

.PHONY: run cluster test setup migrate lint format clean

setup: $(STAMP)

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (found %s); set PYTHON=..." % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

run: migrate
	@echo ""
	@echo "  Chat backend on http://$(HOST):$(PORT)/"
	@echo "    Browser app  http://$(HOST):$(PORT)/"
	@echo "    REST API     http://$(HOST):$(PORT)/register, /login, /api/..."
	@echo "    WebSocket    ws://$(HOST):$(PORT)/api/ws"
	@echo "    Admin        http://$(HOST):$(PORT)/admin/  (create a staff user: $(BIN)/python manage.py createsuperuser)"
	@echo ""
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT) --server $(SERVER)

# send 8081, meta 8082, registry 8083, gateways 8084 and 8085; migrates first; restarts a process
# that dies (README "Running a cluster"); Ctrl-C stops all.
cluster: $(STAMP)
	DATABASE_URL="$${DATABASE_URL:-$(CLUSTER_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(CLUSTER_REDIS_URL)}" \
		$(BIN)/python manage.py cluster --host $(HOST) --server $(SERVER)

test: $(STAMP) browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# What the browser tests (tests/browser) need besides Python: node_modules from package-lock.json
# (playwright-core) and Chromium. Installs what it can: `npm ci`, and Chromium with apt-get when
# run as root on Debian; otherwise it says how, and the browser tests skip (they fail under CI=true).
CHROMIUM_PATH ?= /usr/bin/chromium
.PHONY: browser-deps
browser-deps: node_modules/.package-lock.json
	@if [ -x "$(CHROMIUM_PATH)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Chromium for the browser tests: apt-get install chromium"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "NOTE: Chromium is missing ($(CHROMIUM_PATH)), so the browser tests will be skipped."; \
		echo "      Install it: sudo apt-get install chromium (Debian), or set CHROMIUM_PATH=/path/to/chromium."; \
	fi

node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "NOTE: npm is missing, so the browser tests will be skipped."; \
		echo "      Install Node.js 20+ with npm, then run: make browser-deps"; \
	fi

# ruff, and the layer contract (pyproject.toml [tool.importlinter]): no import points up a layer.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The delivery benchmark (README "Performance"): a few minutes on a 2-core machine, with the
# PostgreSQL and Redis on localhost (BENCH_DATABASE_URL / BENCH_REDIS_URL for others). It drops
# and re-creates its own database, chat_bench. `make bench-quick` (CI) only proves it works.
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_ARGS ?=
.PHONY: bench bench-quick

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
