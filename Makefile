# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PG_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: install install-dev browser demo test test-sqlite test-postgres lint serve bench clean

# The runtime (what `make demo` and `make serve` need), then the test and lint tools on top.
$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	@bash scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(BIN)/pip install --quiet -r requirements-dev.lock
	@bash scripts/browser-deps.sh
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

# Debian's chromium for tests/browser (checked on every `make test`: quick when it is there).
browser:
	@bash scripts/browser-deps.sh

# make demo PORT=8001 HOST=0.0.0.0: the port is checked before the demo is built.
HOST ?= 127.0.0.1
PORT ?= 8000
demo: $(STAMP)
	$(BIN)/relance demo --host $(HOST) --port $(PORT)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

test: $(DEV_STAMP) browser lint test-sqlite test-postgres

test-sqlite: $(DEV_STAMP)
	env -u DATABASE_URL $(BIN)/pytest

# On PostgreSQL when it answers; in CI (CI=true) an unreachable server is a failure.
test-postgres: $(DEV_STAMP)
	@if $(BIN)/python scripts/pg_ready.py "$(PG_URL)"; then \
		DATABASE_URL="$(PG_URL)" $(BIN)/pytest; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL at $(PG_URL) is unreachable and CI=true: failing"; exit 1; \
	else \
		echo "PostgreSQL at $(PG_URL) is unreachable: skipped the PostgreSQL run"; \
	fi

serve: $(STAMP)
	$(BIN)/relance serve

bench: $(DEV_STAMP)  # the SMTP benchmark runs a real aiosmtpd server
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var/ .pytest_cache test-artifacts/
