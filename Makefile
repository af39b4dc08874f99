# 24-Hour Video: the front door. Every target sets up what it needs itself.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

# The first Python >= 3.11 on PATH (python3.12 preferred: Lambda's; packaging targets it from any of them).
PYTHON ?= $(shell for p in python3.12 python3.13 python3.11 python3; do \
	$$p -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && { echo $$p; break; }; done)
STAGE ?= ci
SERVICES := auth upload transcode metadata notify web
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# the template scanner's own environment (tests/infra/test_checkov.py runs its checkov)
CHECKOV_VENV := .build/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
FILE ?=
# the AWS SDK's Node.js-version notice, printed on every run
NODE_NOISE := NodeVersionSupportWarning|versions published after|will require node|To continue receiving|security updates please|More information can be found|trace-warnings|^$$
# make token USER=alice (USER from the command line only: the shell's $USER is not a choice)
USER_NAME := $(if $(filter command line,$(origin USER)),$(USER),)
PYTEST_ARGS ?=
# make test SERVICE=upload: one service's tests, the shared package's and every contract test
SERVICE ?=
PYTEST := $(PY) -m pytest $(if $(SERVICE),--service $(SERVICE))
# pytest-xdist: one worker more than the cores (the shared local stack's group spends much of its time waiting on the
# stack and the browser: 7 min 12 s against 8 min 2 s with one per core, on 2 cores); a group (the shared stack's
# tests, or one module) stays on one worker, in the order tests/conftest.py gives them (the longest first; its
# scheduler). XDIST= runs everything in this process.
WORKERS = $(shell $(PY) -c 'import os; print((os.cpu_count() or 1) + 1)')
XDIST ?= -n $(WORKERS) --dist loadscope --no-loadscope-reorder

.PHONY: help venv lock vendor demo up web token replay package test smoke test-infra check-infra test-unit test-integration test-e2e test-browser lint schemas openapi bench bench-scale bench-first-play bench-limits cost bench-push layer clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# requirements-dev.lock: every package pinned and hashed (make lock); then shared/ itself, built by the locked hatchling
$(STAMP): requirements-dev.lock shared/pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.11 is required (none found on PATH)"; exit 1; }
	@echo "==> creating $(VENV) with $(PYTHON) and installing requirements-dev.lock (first run: about a minute)" >&2
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.lock 2>&1 | { grep -v "^WARNING: Location" || true; }
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e ./shared 2>&1 | { grep -v "^WARNING: Location" || true; }
	@touch $(STAMP)

venv: $(STAMP) ## create the virtual environment (.venv) and install everything

lock: $(STAMP) ## regenerate the hashed locks (dev environment, each service, the layer) after changing a requirements file
	@$(PY) -m tools.lock

demo: $(STAMP) ## run a sample clip (or FILE=path/to/video) through the whole pipeline on the local stack
	@$(PY) -m devstack demo $(if $(FILE),--file "$(FILE)")

up: $(STAMP) ## start the local stack and the website (http://127.0.0.1:8081) until Ctrl-C
	@$(PY) -m devstack up

web: $(STAMP) ## build the website into services/web/dist (TypeScript checked, bundled with esbuild)
	@$(PY) -m tools.website

token: $(STAMP) ## print an access token from the local issuer: make token USER=alice
	@test -n "$(USER_NAME)" || { echo "usage: make token USER=alice"; exit 2; }
	@$(PY) -m devstack token "$(USER_NAME)"

replay: $(STAMP) ## replay events: make replay ARGS="peek transcode-dlq" (or redrive / reemit; see --help)
	@$(PY) -m replay $(ARGS)

test: $(STAMP) node_modules/.installed ## unit, contract, integration and end-to-end tests (SERVICE=upload: that service's and the contracts)
	@$(PYTEST) $(XDIST) $(PYTEST_ARGS)

test-unit: $(STAMP) ## unit and contract tests only (seconds)
	@$(PYTEST) tests/unit tests/contracts $(PYTEST_ARGS)

test-integration: $(STAMP) ## handlers against moto (mock_aws)
	@$(PYTEST) tests/integration $(XDIST) $(PYTEST_ARGS)

test-e2e: $(STAMP) ## the local stack end to end with real ffmpeg
	@$(PYTEST) tests/e2e $(XDIST) $(PYTEST_ARGS)

test-browser: $(STAMP) node_modules/.installed ## the website in Chromium (Playwright) against the local stack
	@$(PY) -m pytest tests/browser $(PYTEST_ARGS)

# make smoke STAGE=dev: the stage's description from its stacks' outputs (tools/deployment.py), then the smoke tests
# through it as its test user (SMOKE_USERNAME, SMOKE_PASSWORD; tests/smoke_user.py). Without STAGE: the local stack.
smoke: $(STAMP) ## the smoke tests against a deployed stage (make smoke STAGE=dev) or, without STAGE, the local stack
	@if [ "$(origin STAGE)" = file ] || [ "$(STAGE)" = local ]; then \
		$(PY) -m pytest -p no:xdist -m smoke tests/e2e/test_smoke.py $(PYTEST_ARGS); \
	else \
		$(PY) -m tools.deployment --stage "$(STAGE)" --out .build/deployment-$(STAGE).json && \
		$(PY) -m pytest -p no:xdist -m smoke tests/e2e/test_smoke.py --deployment .build/deployment-$(STAGE).json \
			$(PYTEST_ARGS); \
	fi

test-infra: package check-infra ## package every service, then check the templates and zips (rules, cfn-lint, checkov, asl-validator)

check-infra: $(STAMP) $(CHECKOV_STAMP) node_modules/.installed ## test-infra's checks alone, on what `make package` built last (templates, zips, layers)
	@$(PY) -m pytest tests/infra $(PYTEST_ARGS)

# checkov pins boto3 1.35, older than the development environment's: it gets a virtual environment of its own,
# made by the same Python from tools/checkov-requirements.lock (hashed), and made again only when that lock changes;
# installed by the dev lock's uv (its 99 packages in seconds, where pip takes half a minute)
$(CHECKOV_STAMP): tools/checkov-requirements.lock | $(STAMP)
	@echo "==> creating $(CHECKOV_VENV) for the template scanner (tools/checkov-requirements.lock)" >&2
	@rm -rf $(CHECKOV_VENV)
	@$(PY) -m venv --without-pip $(CHECKOV_VENV)
	@$(PY) -m uv pip install --quiet --python $(CHECKOV_VENV)/bin/python --require-hashes --no-deps \
		-r tools/checkov-requirements.lock
	@touch $@

lint: $(STAMP) ## ruff, mypy on everything but the tests, and tsc on the website
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy
	@$(PY) -m tools.website --check

schemas: $(STAMP) ## regenerate shared/schemas (refuses a breaking change without a schema_version bump)
	@$(PY) -m contracts.schemas shared/schemas

openapi: $(STAMP) ## regenerate shared/openapi.json, the OpenAPI 3.1 document of the whole HTTP API
	@$(PY) -m tools.openapi shared/openapi.json

bench: $(STAMP) ## ladder transcode vs per-rendition processes and a hand-written command, new ffmpeg vs old 6.0; handler import times
	@$(PY) bench/ladder.py --seconds 10 --height 720
	@echo
	@$(PY) bench/ladder.py --seconds 10 --height 1080
	@echo
	@$(PY) bench/imports.py

bench-limits: $(STAMP) ## re-measure the encode speeds the Lambda limits test reads (bench/measured/encode-speed.json; ~5 min)
	@$(PY) bench/encode_speed.py $(ARGS)

bench-scale: $(STAMP) ## the workflow on the local stack with K media workers: make bench-scale ARGS="--workers 1,2 --threads 1"
	@$(PY) bench/scale.py $(ARGS)

cost: $(STAMP) ## AWS cost per source minute and per month: make cost ARGS="--uploads 1000 --minutes 5 --views 20000"
	@$(PY) -m tools.cost $(ARGS)

bench-first-play: $(STAMP) ## seconds from upload to first play and to READY, growing stream vs today's path: ARGS="--lengths 10,120"
	@$(PY) bench/first_play.py $(ARGS)

bench-push: $(STAMP) ## push latency (catalog write -> WebSocket) vs polling GET /videos/{id} every 3 s: make bench-push ARGS="--changes 100"
	@$(PY) bench/push.py $(ARGS)

node_modules/.installed: package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Each function zip: its requirements.lock installed by .venv's pip for Lambda's platform (tools/lambda-platform.yml,
# any host, any Python >= 3.11), plus shared/ as a wheel unpacked into .build/vendor (the plugin's `vendor`).
PACKAGING := HOME=$$(mktemp -d) VIDEO24_OFFLINE_PACKAGE=1 VIDEO24_PIP_PYTHON=$(CURDIR)/$(PY)

vendor: $(STAMP) ## build shared/ into a wheel and unpack it into .build/vendor, which every function zip gets
	@rm -rf .build/shared .build/vendor
	@$(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
		--wheel-dir .build/shared ./shared 2>&1 | { grep -v "^WARNING: Location" || true; }
	@# a pure-Python wheel installs by unpacking; its dist-info (a RECORD, this host's path) is not code, as slim agrees
	@$(PY) -m zipfile -e .build/shared/*.whl .build/vendor && rm -rf .build/vendor/*.dist-info

package: $(STAMP) node_modules/.installed layer vendor ## package every service offline (no AWS account), standalone and through compose
	@echo "==> packaging each service on its own (stage $(STAGE)), two at a time"
	@printf '%s\n' $(SERVICES) | xargs -P 2 -I{} sh -c 'out=$$(cd services/{} && $(PACKAGING) \
		../../node_modules/.bin/serverless package --stage $(STAGE) 2>&1); status=$$?; \
		printf "==> %s\n%s\n" {} "$$out" | { grep -vE "$(NODE_NOISE)" || true; }; \
		test $$status -eq 0 && test -s services/{}/.serverless/cloudformation-template-update-stack.json'
	@echo "==> packaging all services through serverless-compose (stage $(STAGE))"
	@PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(PACKAGING) \
		node_modules/.bin/osls-compose package --stage $(STAGE) 2>&1 | { grep -vE "$(NODE_NOISE)" || true; }

layer: $(STAMP) ## build the media Lambda layers (ffmpeg + ffprobe for transcode, ffprobe for metadata; tools/layer-requirements.lock)
	@$(PY) -m tools.layer ffmpeg services/transcode/.layers/ffmpeg 2>&1 | { grep -v "^WARNING: Location" || true; }
	@$(PY) -m tools.layer ffprobe services/metadata/.layers/ffprobe 2>&1 | { grep -v "^WARNING: Location" || true; }

clean: ## remove the virtual environment and build output
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .demo .build services/*/.layers services/*/.serverless services/web/node_modules services/web/dist
