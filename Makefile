# Comptoir — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export COMPTOIR_DATA_DIR ?= $(CURDIR)/var
PYTEST_ARGS ?=

.PHONY: demo install test test-browser fuzz lint format bench migrations-check clean

$(BIN)/comptoir: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Comptoir needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/comptoir

## make demo: install, migrate SQLite, load the demo, serve on http://127.0.0.1:8000
demo: install
	COMPTOIR_DEBUG=1 COMPTOIR_SHOW_MAILBOX=1 $(BIN)/comptoir migrate --verbosity 0
	COMPTOIR_DEBUG=1 COMPTOIR_SHOW_MAILBOX=1 $(BIN)/comptoir demo
	COMPTOIR_DEBUG=1 COMPTOIR_SHOW_MAILBOX=1 $(BIN)/comptoir serve --with-worker

## make test: the whole suite (SQLite; DATABASE_URL=postgres://… for PostgreSQL)
test: install
	$(BIN)/pytest -p xdist -n auto $(PYTEST_ARGS)

test-browser: install
	COMPTOIR_REQUIRE_BROWSER=1 $(BIN)/pytest -m browser $(PYTEST_ARGS)

## make fuzz: the API fuzzer with fresh random examples (the suite replays fixed ones)
fuzz: install
	COMPTOIR_FUZZ_RANDOM=1 COMPTOIR_FUZZ_EXAMPLES=$${COMPTOIR_FUZZ_EXAMPLES:-200} \
		$(BIN)/pytest -p xdist -n auto tests/peers/test_api_fuzz.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/comptoir makemigrations --check --dry-run
	$(BIN)/comptoir roles_doc --check

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

## make bench: benchmarks against real peers (bare Django view, Django admin, rsync daemon,
## WsgiDAV's filesystem provider),
## and thousands of seeds of the sync simulation; JSON in benchmarks/results/
bench: install
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/dossier_list.py
	$(BIN)/python benchmarks/sync_vs_rsync.py
	$(BIN)/python benchmarks/sync_simulation.py
	$(BIN)/python benchmarks/webdav.py
	$(BIN)/python benchmarks/agenda_ics.py

clean:
	rm -rf $(VENV) var build *.egg-info
