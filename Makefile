# genesys-es: the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test lint demo es-start es-stop es-status bench clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
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

clean:
	-scripts/es.sh stop
	rm -rf $(VENV) .cache
