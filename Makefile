# The two commands of the README: `make run` and `make test`. Both set up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# ASGI server of `make run` and `make cluster`: daphne (default) or uvicorn (faster).
SERVER ?= daphne
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
	@echo "    REST API     http://$(HOST):$(PORT)/register, /login, /api/..."
	@echo "    WebSocket    ws://$(HOST):$(PORT)/api/ws"
	@echo "    Admin        http://$(HOST):$(PORT)/admin/  (create a staff user: $(BIN)/python manage.py createsuperuser)"
	@echo ""
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT) --server $(SERVER)

# send 8081, meta 8082, registry 8083, gateways 8084 and 8085; migrates first; Ctrl-C stops all.
cluster: $(STAMP)
	DATABASE_URL="$${DATABASE_URL:-$(CLUSTER_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(CLUSTER_REDIS_URL)}" \
		$(BIN)/python manage.py cluster --host $(HOST) --server $(SERVER)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
