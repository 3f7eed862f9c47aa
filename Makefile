# Two commands a planner needs on a fresh machine (Python 3.11, pip, gcc):
#   make demo   -> creates .venv, generates the synthetic study area and solves the base scenario
#   make test   -> creates .venv, checks the import contract and runs the test suite (CI)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,peers]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ruimteverdeling demo

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/scaling.py

clean:
	rm -rf $(VENV) outputs inputs/demo .pytest_cache
