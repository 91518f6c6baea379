# Two commands: `make run` starts the bot, `make test` sets up everything and runs every check.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null || echo $(VENV)-uv/bin/uv)
CACHE := .cache

.PHONY: run console test lint unit e2e-deps bench clean

$(VENV-uv)/bin/uv:
	python3 -m venv $(VENV)-uv && $(VENV)-uv/bin/pip install -q uv

$(VENV)/.synced: uv.lock pyproject.toml
	@command -v uv >/dev/null 2>&1 || { python3 -m venv $(VENV)-uv && $(VENV)-uv/bin/pip install -q uv; }
	$(UV) sync --frozen --quiet
	touch $@

run: $(VENV)/.synced  ## start the bot (console + demo when no tokens are set)
	$(PY) -m bot

console: $(VENV)/.synced
	$(PY) -m bot console

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check bot handlers providers tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

e2e-deps:  ## servers for end-to-end tests (filled in by the Telegram and Matrix work)

test: $(VENV)/.synced lint e2e-deps
	$(VENV)/bin/pytest -q

bench: $(VENV)/.synced
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(VENV)-uv $(CACHE)
