# Two entry points; both set up everything they need on a fresh machine.
PY ?= python3
MODEL ?= oracle
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

.PHONY: eval test bench
eval: $(BIN)/.installed
	$(BIN)/python -m pytest scenarios --rlvr-model=$(MODEL) $(ARGS)

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests -n 2 $(ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m bench
