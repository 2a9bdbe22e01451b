# The two commands from the README: `make demo` and `make test`. Everything else is a helper of theirs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= demo-data
PORT ?= 8000

.PHONY: demo test lint typecheck check bench install install-dev system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Sources mypyc compiles at install time (setup.py, ADR 0105): editing one rebuilds the extensions on the next
# `make install`/`make test`; until then the stale extensions are ignored and the Python sources run.
NATIVE_SOURCES := setup.py $(wildcard src/casevault/redaction/*.py src/casevault/redaction/recognizers/*.py)

# Installs pinned runtime dependencies; the stamp is rebuilt when the lock file or a compiled source changes.
$(VENV)/.installed: requirements.lock pyproject.toml $(NATIVE_SOURCES) | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml $(NATIVE_SOURCES) | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Debian packages the tests drive for real (chromium for the console, memcached for scanner probes).
system-deps:
	bash scripts/install-system-deps.sh

demo: install
	$(BIN)/casevault demo --data-dir $(DATA_DIR) --port $(PORT)

test: install-dev system-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: install-dev
	bash benchmarks/run_all.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
