# Two commands: `make run` (set up and serve) and `make test` (set up and test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi

.PHONY: run test lint serve migrate demo clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "apprentice needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the packaging changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml setup.cfg setup.py
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

migrate: $(VENV)/.installed
	$(BIN)/flask apprentice db upgrade

demo: migrate
	$(BIN)/flask apprentice demo --if-empty

run: demo
	@echo "apprentice is at http://$(HOST):$(PORT)/  (demo sign-ins above; Ctrl-C stops it)"
	$(BIN)/flask run --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed
	$(BIN)/ruff check .

# axe-core for the browser journeys (tests/browser), at the version package-lock.json holds.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund && touch $@; \
	else \
		echo "npm not found: the browser journeys will be skipped (apt-get install npm)."; \
	fi

# The whole suite on SQLite, browser journeys included (they need /usr/bin/chromium);
# then again on PostgreSQL when a server is given (.ci/run starts one and sets
# APPRENTICE_TEST_POSTGRES_URL), without the slow tests and the browser journeys.
test: lint $(AXE)
	$(BIN)/python -m pytest
	@if [ -n "$$APPRENTICE_TEST_POSTGRES_URL" ]; then \
		echo "== the suite again on PostgreSQL =="; \
		$(BIN)/python -m pytest --db postgresql -m "not slow and not browser"; \
	else \
		echo "PostgreSQL pass skipped: APPRENTICE_TEST_POSTGRES_URL is not set (.ci/run sets it)."; \
	fi

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache node_modules
