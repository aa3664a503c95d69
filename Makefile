# Quick start: `make demo` runs the demo, `make test` the whole test suite.
# Both create .venv with everything needed on first use (Python >= 3.11 as `python3`).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint docs bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/softpile demo

test: $(VENV)/.installed
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check softpile tests benchmarks docs
	$(BIN)/ruff format --check softpile tests benchmarks docs
	$(BIN)/pyright --pythonpath $(BIN)/python

docs: $(VENV)/.installed
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) softpile-demo site
