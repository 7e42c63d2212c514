# genesys-es: the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint demo es-start es-stop es-status bench clean airflow-start airflow-stop test-e2e

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	@# Left by installs before the hatchling backend: Airflow would find the package twice (pyproject.toml).
	rm -rf plugins/genesys_es.egg-info
	$(BIN)/pip install -q --no-deps -e .
	@touch $(STAMP)

test: venv
	scripts/run-tests.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

demo: venv
	scripts/demo.sh

bench: venv
	scripts/bench.sh

es-start:
	scripts/es.sh start

es-stop:
	scripts/es.sh stop

es-status:
	scripts/es.sh status

# A real local Airflow 3.3 (PostgreSQL, LocalExecutor) on http://127.0.0.1:8280, admin/admin.
airflow-start: venv
	scripts/install-system-deps.sh
	scripts/airflow-stack.sh start

airflow-stop:
	scripts/airflow-stack.sh stop

# Only the full-stack and browser tests (screenshot in test-artifacts/).
test-e2e: venv
	scripts/install-system-deps.sh
	scripts/run-tests.sh -m e2e tests/e2e

clean:
	-scripts/es.sh stop
	rm -rf $(VENV) .cache
