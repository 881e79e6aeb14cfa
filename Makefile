# Two Nets: `make demo` runs the platform on the embedded defaults, `make test` runs the tests.
# Both create .venv and install what they need (Python packages pinned by requirements.lock,
# front-end packages pinned by frontend/package-lock.json) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
VENDOR := src/twonets/web/static/vendor
VENDOR_STAMP := $(VENDOR)/.built-stamp
DEMO_ARGS ?=
PYTEST_ARGS ?=
# The tests run on two workers (the machines have two cores); each file stays on one worker.
# The 25 slowest steps are listed at the end, to keep the run short.
TEST_WORKERS ?= 2

.PHONY: demo test lint typecheck unit assets install lock clean messages

demo: $(STAMP) $(VENDOR_STAMP)
	$(BIN)/twonets demo $(DEMO_ARGS)

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(VENDOR_STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25 $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

assets: $(VENDOR_STAMP)

frontend/node_modules/.package-lock.json: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

$(VENDOR_STAMP): frontend/node_modules/.package-lock.json frontend/build.mjs
	node frontend/build.mjs
	touch $@

# Gather the pages' texts into their catalogues (src/twonets/web/locale/<lang>/LC_MESSAGES/
# <part>.po, one per domain's pages) and list what still waits for a translation.
messages: $(STAMP)
	$(BIN)/python -c 'import sys; from twonets.web import i18n; sys.exit(i18n.main(sys.argv[1:]))'

# Refresh the pins after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet --upgrade -e '.[dev]'
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^twonets' > requirements.lock

clean:
	rm -rf $(VENV) frontend/node_modules $(VENDOR) var .mypy_cache .ruff_cache .pytest_cache
