# Switchboard - the two commands a newcomer needs:
#   make dev    set up (first time) and run the local stack (`switchboard dev`)
#   make test   set up (first time) and run the whole test suite (what CI runs)
# Everything is installed into .venv (the project) and .tools/ (the SAM CLI).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SAMVENV := .tools/sam
SAM    := $(SAMVENV)/bin/sam
CHECKOVVENV := .tools/checkov
CHECKOV := $(CHECKOVVENV)/bin/checkov
PYTEST_ARGS ?= -n 2  # two workers: the machines have two cores

.PHONY: dev test venv tools chromium node lint typecheck bench openapi widget sam-build sam-validate clean

$(BIN)/.installed: pyproject.toml layers/shared/python/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

$(SAM):
	test -x $(SAMVENV)/bin/python || $(PYTHON) -m venv $(SAMVENV)
	$(SAMVENV)/bin/python -m pip install -q aws-sam-cli

# checkov, pinned by pyproject's "checkov" extra, in its own venv (its pins clash with pytest's)
$(CHECKOV): pyproject.toml
	test -x $(CHECKOVVENV)/bin/python || $(PYTHON) -m venv $(CHECKOVVENV)
	$(CHECKOVVENV)/bin/python -m pip install -q "$$($(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["checkov"])')"
	touch $@

venv: $(BIN)/.installed
tools: $(SAM) $(CHECKOV)

# The Node tools, exactly as package-lock.json pins them: the OpenID provider the SSO tests and
# `switchboard dev` sign in at (oidc-provider), the tests' axe-core and Lighthouse, and the
# widget's minifier (terser). The product ships no Node code: this is for tests and builds.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q nodejs npm; }
	npm ci --no-audit --no-fund
	touch $@
node: node_modules/.installed

# The browser tests drive Debian's chromium through Playwright (no browser download).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

dev: venv node
	$(BIN)/switchboard dev $(ARGS)

test: venv tools chromium node
	SAM_CLI=$(abspath $(SAM)) CHECKOV=$(abspath $(CHECKOV)) SAM_CLI_TELEMETRY=0 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

# docs/openapi.json, the HTTP API's OpenAPI document, made again from template.yaml and the
# request models (a test fails while the committed one differs)
openapi: venv
	$(BIN)/switchboard openapi -o docs/openapi.json

# web/widget.min.js, the minified widget published beside the readable web/widget.js (a test
# fails while the committed one is not what this makes of widget.js today)
widget: node
	npm run -s build:widget

bench: venv
	$(BIN)/python bench/run.py $(ARGS)

sam-validate: tools
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint

sam-build: tools
	SAM_CLI_TELEMETRY=0 PATH="$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin 2>/dev/null | tail -1):$$PATH" $(SAM) build

clean:
	rm -rf $(VENV) .tools .aws-sam .pytest_cache node_modules
