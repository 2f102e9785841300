# Journey Warehouse — every command a user or CI needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
UV := $(VENV)/bin/uv
PY := $(VENV)/bin/python
DEV_PORT ?= 3000

# Telemetry off everywhere; Dagster's instance lives in the repo (gitignored storage).
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export DAGSTER_HOME ?= $(CURDIR)/dagster_home
export UV_PYTHON := $(CURDIR)/$(PY)

.PHONY: help install system demo test test-fast dev bench bench-nightly lint lint-sql format clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "uv==0.13.8"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras
	@touch $@

install: $(VENV)/.synced ## create .venv and install the locked dependencies

# System packages: Debian's chromium (the journey report's screenshot and browser test) and
# PostgreSQL 15 (the PostgreSQL target's tests start a throwaway server). Installed with apt
# when missing and we are root; otherwise the command to run is printed and the tests that
# need them fail with the same hint.
system: ## install chromium, PostgreSQL and Java 17 (Spark) from Debian's packages when missing (needs root)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing system packages:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
			|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; }; \
		else \
			echo "missing system packages:$$missing (run: sudo apt-get install -y$$missing)"; \
		fi; \
	fi

demo: install system ## generate demo data, serve it as the four vendor APIs, run the nightly job, print a summary
	$(PY) -m devkit demo $(DEMO_ARGS)

test: install system ## run the whole test suite (what CI runs)
	$(PY) -m pytest -n 2 --dist loadscope

test-fast: install system ## unit tests only (no end-to-end job runs)
	$(PY) -m pytest -n 2 --dist loadscope -m "not e2e"

dev: install ## open the Dagster UI (jobs, schedule, asset checks) on http://127.0.0.1:3000 (DEV_PORT)
	$(PY) -m pipelines dev --port $(DEV_PORT)

bench: install ## print extraction, identity and warehouse benchmark figures
	$(PY) -m bench.run $(BENCH_ARGS)

SIZE ?= 2000
LAND ?= sandbox
bench-nightly: install ## full refresh + next night against the sandbox (SIZE=persons, LAND=direct: no HTTP): wall, CPU, peak RSS per step
	$(PY) -m bench.nightly_bench --persons $(SIZE) --land $(LAND)

lint: install ## ruff + mypy + sqlfluff (what pre-commit runs)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@$(MAKE) --no-print-directory lint-sql

lint-sql: install ## sqlfluff on the dbt models (part of lint; pre-commit runs it on SQL changes)
	@# sqlfluff's dbt templater compiles the project: the profile's variables need values, and
	@# placeholders in a scratch folder are enough (compiling reads no data).
	@scratch=$$(mktemp -d) && DO_NOT_TRACK=1 JOURNEY_DBT_DUCKDB_PATH=$$scratch/lint.duckdb \
		JOURNEY_LANDING_DIR=$$scratch/landing JOURNEY_QUARANTINE_DIR=$$scratch/quarantine \
		JOURNEY_IDENTITY_DIR=$$scratch/identity \
		JOURNEY_IDENTIFIER_NORMALISATION="$$($(PY) -c 'from pipelines.warehouse.dbt_runner import rules_environment as e; print(e()["JOURNEY_IDENTIFIER_NORMALISATION"])')" \
		$(VENV)/bin/sqlfluff lint dbt_project/models \
		--processes 2; status=$$?; rm -rf $$scratch; exit $$status

format: install ## apply ruff formatting and fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: ## remove generated data, warehouse and dbt artefacts (keeps .venv)
	rm -rf data warehouse demo_data dbt_project/target dbt_project/logs
