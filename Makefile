# Two commands: `make run` starts the bot, `make test` sets up everything and runs every check.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null || echo $(VENV)-uv/bin/uv)
CACHE := .cache

.PHONY: run console test lint tools chromium e2e-deps e2e-telegram-deps e2e-matrix-deps e2e-element-deps bench chaos provider-loop clean

$(VENV)/.synced: uv.lock pyproject.toml
	@command -v uv >/dev/null 2>&1 || { python3 -m venv $(VENV)-uv && $(VENV)-uv/bin/pip install -q uv; }
	$(UV) sync --frozen --quiet
	touch $@

run: $(VENV)/.synced  ## start the bot (console + demo when no tokens are set); reads .env if present
	@set -a; if [ -f .env ]; then . ./.env; fi; set +a; exec $(PY) -m bot

console: $(VENV)/.synced
	$(PY) -m bot console

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check bot handlers providers tests $(wildcard bench)
	$(VENV)/bin/ruff format --check bot handlers providers tests $(wildcard bench)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/vulture

e2e-deps: e2e-telegram-deps e2e-matrix-deps e2e-element-deps  ## servers and clients for end-to-end tests

e2e-telegram-deps:  ## the Telegram Bot API emulator (npm, pinned)
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { echo "node and npm are required for the Telegram end-to-end tests (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	@if node -e 'const v=require("./$(CACHE)/telegram-emulator/node_modules/telegram-test-api/package.json").version, e=require("./$(CACHE)/telegram-emulator/node_modules/express/package.json").version; process.exit(v==="4.2.1" && e==="4.18.3" ? 0 : 1)' 2>/dev/null; then :; else \
	  mkdir -p $(CACHE)/telegram-emulator && cd $(CACHE)/telegram-emulator && \
	  { [ -f package.json ] || echo '{"name":"telegram-emulator","private":true}' > package.json; } && \
	  npm install --no-audit --no-fund --loglevel=error --save-exact telegram-test-api@4.2.1 express@4.18.3; fi

e2e-matrix-deps:  ## Synapse in its own venv (pinned)
	@if cmp -s tests/e2e/matrix/synapse-requirements.txt $(CACHE)/synapse-venv/requirements.txt && $(CACHE)/synapse-venv/bin/python -c 'import synapse' 2>/dev/null; then :; else \
	  echo "installing Synapse 1.163.2 into $(CACHE)/synapse-venv (about 30-80 s)"; \
	  rm -rf $(CACHE)/synapse-venv && python3 -m venv $(CACHE)/synapse-venv && \
	  $(CACHE)/synapse-venv/bin/pip install -q --disable-pip-version-check -r tests/e2e/matrix/synapse-requirements.txt && \
	  cp tests/e2e/matrix/synapse-requirements.txt $(CACHE)/synapse-venv/requirements.txt || \
	  { echo "could not install Synapse 1.163.2 into $(CACHE)/synapse-venv: the Matrix end-to-end tests need it" >&2; exit 1; }; fi

ELEMENT := $(CACHE)/element-person
e2e-element-deps:  ## a Matrix person on Element's crypto: matrix-js-sdk 43 + Rust crypto + Node 22, all from npm (pinned by package-lock.json)
	@command -v npm >/dev/null 2>&1 || { echo "npm is required to install the Matrix client of the end-to-end tests (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	@if cmp -s tests/e2e/matrix/element/package-lock.json $(ELEMENT)/package-lock.json && [ -x $(ELEMENT)/node_modules/.bin/node ] && [ -d $(ELEMENT)/node_modules/matrix-js-sdk ]; then :; else \
	  echo "installing matrix-js-sdk 43.0.0, matrix-sdk-crypto-wasm 18.9.0 and Node 22.23.3 into $(ELEMENT)"; \
	  rm -rf $(ELEMENT) && mkdir -p $(ELEMENT) && cp tests/e2e/matrix/element/package.json tests/e2e/matrix/element/package-lock.json $(ELEMENT)/ && \
	  (cd $(ELEMENT) && npm ci --no-audit --no-fund --loglevel=error) && [ -x $(ELEMENT)/node_modules/.bin/node ] || \
	  { rm -f $(ELEMENT)/package-lock.json; echo "could not install the Element client into $(ELEMENT): the Matrix end-to-end tests need it" >&2; exit 1; }; fi

tools:  ## gettext's msgfmt for the catalog check (on this kind of machine already; installed when missing)
	@command -v msgfmt >/dev/null 2>&1 || { echo "installing gettext (msgfmt)"; apt-get update -qq && apt-get install -y -qq gettext >/dev/null; } \
	  || { echo "msgfmt is needed for the catalog check: apt-get install gettext" >&2; exit 1; }

chromium:  ## Debian's headless browser (and CJK fonts) for the home screen tests; Playwright drives it, never downloads one
	@[ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || { echo "installing chromium and fonts-noto-cjk (Debian)"; \
	  apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; } \
	  || { echo "the home screen tests need Debian's chromium: apt-get install chromium fonts-noto-cjk" >&2; exit 1; }

test: $(VENV)/.synced lint tools chromium e2e-deps
	$(VENV)/bin/pytest -q

bench: $(VENV)/.synced
	$(PY) -m bench

chaos: $(VENV)/.synced  ## crash and damage tests in full (make test runs a sample of each)
	$(PY) -m tests.chaos --kills 200
	$(PY) -m tests.chaos --scale operator --kills 20 --seeds 1 2 3
	$(PY) -m tests.store_crashes --seeds 1 2 3
	$(PY) -m tests.store_damage --cases 20000

PROVIDER_TESTS := tests/test_providers_*.py tests/test_order_faults.py tests/test_app_providers.py tests/test_console_providers.py
provider-loop: $(VENV)/.synced  ## the provider tests 20 times with every core busy (a flaky test shows here)
	@busy=(); for _ in $$(seq $$(nproc)); do $(PY) -c 'while True: pass' & busy+=($$!); done; \
	  trap 'kill $${busy[@]} 2>/dev/null' EXIT; failed=0; \
	  for run in $$(seq 20); do $(VENV)/bin/pytest -q -p no:cacheprovider $(PROVIDER_TESTS) >/tmp/provider-loop.$$run.log 2>&1 \
	    && echo "run $$run: passed ($$(tail -1 /tmp/provider-loop.$$run.log))" || { failed=$$((failed+1)); echo "run $$run: FAILED, see /tmp/provider-loop.$$run.log"; }; done; \
	  echo "provider tests under load: $$failed of 20 runs failed"; [ $$failed -eq 0 ]

clean:
	rm -rf $(VENV) $(VENV)-uv $(CACHE)
