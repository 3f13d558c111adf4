# smartcache-ls: `make demo` and `make test` set up everything they need on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# The modules setup.py compiles with mypyc (pyproject.toml's [tool.smartcache-ls] mypyc). An edit to
# one of them reinstalls: `pip install -e` copies their compiled modules beside them, where an old
# one would shadow the edited source.
MYPYC_SOURCES := $(shell $(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["tool"]["smartcache-ls"]["mypyc"])')
# Compiled or pure Python (SMARTCACHE_PURE_PYTHON=1) as of the last install: a change reinstalls.
BUILD_MODE := $(VENV)/.build-mode
MODE := $(if $(filter-out 0,$(SMARTCACHE_PURE_PYTHON)),pure,compiled)

.PHONY: install bytecode demo test lint typecheck pytest editor-deps bench clean FORCE

$(BUILD_MODE): FORCE
	@mkdir -p $(VENV)
	@echo $(MODE) | cmp -s - $@ || echo $(MODE) > $@

$(STAMP): pyproject.toml setup.py $(MYPYC_SOURCES) $(BUILD_MODE)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,redis,bench,mcp]'
	@# Byte-compile the package as a regular install does (an editable one does not, and with
	@# PYTHONDONTWRITEBYTECODE set every start would compile it again: ~60 ms of start-up).
	$(BIN)/python -m compileall -q smartcache_ls
	@$(BIN)/python -c 'import smartcache_ls.cache.memory as m; print("memory tier:", m.__file__)'
	@touch $(STAMP)

install: $(STAMP) bytecode

## The byte code of every module edited since (compileall skips the rest): the stamp above
## is not redone for an edited .py, and without byte code each start compiles it again.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q smartcache_ls

## The main job on the embedded default (memory + SQLite in a temporary cache dir).
demo: $(STAMP)
	$(BIN)/smartcache-ls replay

## Lint, types, and every test (unit, end-to-end over stdio, Neovim and VS Code in the real editors).
test: $(STAMP) editor-deps lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy smartcache_ls
	@# bench/ scripts import each other as top-level modules (harness, mcp_latency)
	MYPYPATH=bench $(BIN)/mypy --strict --explicit-package-bases bench

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## Neovim (Debian), Chromium (Debian), the VS Code extension's npm packages and code-server.
editor-deps:
	bash editor-clients/neovim/scripts/install-deps.sh
	bash editor-clients/vscode/scripts/install-deps.sh

bench: $(STAMP) bytecode
	$(BIN)/python bench/predictor.py
	$(BIN)/python bench/ops.py
	$(BIN)/python bench/hit_ratio.py
	$(BIN)/python bench/mcp_latency.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/large_workspace.py
	$(BIN)/python bench/request_floor.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/long_session.py
	$(BIN)/python bench/cold_analysis.py
	$(BIN)/python bench/typing_latency.py
	$(BIN)/python bench/open_latency.py
	$(BIN)/python bench/resolve_imports.py
	$(BIN)/python bench/protocol.py
	$(BIN)/python bench/disk_bound.py
	$(BIN)/python bench/reader.py
	$(BIN)/python bench/replay_real.py
	$(BIN)/python bench/prefetch_budget.py

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
	rm -f smartcache_ls/cache/*.so smartcache_ls/cache/*.pyd smartcache_ls_cache__mypyc.*
