# csc-pipeline — two commands on a fresh machine:
#   make run    set up everything, then run the nightly DAG on the built-in sample
#   make test   set up everything, then run the whole test suite
#   CSC_SOURCE=postgres make run   the same sample through database delivery: each night is
#               loaded into a local SSD database (OLM Eclipse's shape; CSC_SSD_URL, default
#               postgresql://postgres@127.0.0.1:5432/csc_ssd_sample) and extracted from it
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export PYTHONPATH := $(CURDIR)/include:$(CURDIR)/tools
export AIRFLOW_HOME ?= $(CURDIR)/var/airflow
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := False

.PHONY: setup chromium run test test-fast lint lint-sql test-dbt-unit bench bench-hub rebuild clean sample compose-check compose-tools dashboard

$(STAMP): requirements.txt constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $(STAMP)

setup: $(STAMP) chromium

# Headless Chromium prints the Board pack's PDF (Playwright drives Debian's package:
# `playwright install` needs the internet). Installed once, as root, on a clean machine.
chromium:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium fonts-liberation; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
			sudo apt-get update && sudo apt-get install -y chromium fonts-liberation; \
		else echo "The Board pack needs chromium: run 'apt-get install -y chromium fonts-liberation' as root"; exit 1; fi; }

run: setup
	$(PY) -m csc_pipeline.run

sample: setup
	$(PY) -m csc_generator --out var/exports

# The suite in two processes, whole files per process (module fixtures such as the Celery
# hub's deployment run once, in file order): about half of the suite waits on Airflow
# heartbeats, docker builds and browsers rather than the CPU, so two processes on two
# cores roughly halve the wall time. PYTEST_PARALLEL= runs it in one process.
PYTEST_PARALLEL ?= -n 2 --dist loadfile
test: setup lint-sql compose-tools
	$(PY) -m ruff check include tools dags tests bench
	$(PY) -m ruff format --check include tools dags tests bench
	$(PY) -m pytest -q $(PYTEST_PARALLEL) --durations=25 tests

# Fast feedback (< 60 s): lint, the unit tests (no Airflow run, no dbt build of a night)
# and every dbt unit test. `make test` stays the whole suite (CI runs it).
FAST_TESTS := tests/test_layout.py tests/test_report.py tests/test_calendar.py \
	tests/test_retention.py tests/test_workspace.py tests/test_profile.py \
	tests/test_kpi_definitions.py tests/test_contract_artifacts.py tests/test_ssd_columns.py \
	tests/test_seed_state.py tests/test_dbt_invoke.py tests/test_preload.py
test-fast: setup
	$(PY) -m ruff check include tools dags tests bench
	$(PY) -m pytest -q $(FAST_TESTS)
	$(PY) -m dev.dbt_unit_tests

lint: setup
	$(PY) -m ruff check include tools dags tests bench
	$(PY) -m ruff format --check include tools dags tests bench

# The dashboard (docs/dashboard.md) on the sample's published warehouse (`make run`
# first if there is none), on http://127.0.0.1:8501, signed in as the DEVELOPMENT
# identity below (the sample's T101 team manager; CSC_DASHBOARD_DEV_IDENTITY is for a
# developer's machine only: production takes the email from the sign-on proxy).
DASHBOARD_DEV_IDENTITY ?= manager.t101@northbridge.example
dashboard: setup
	@test -f "$${CSC_WAREHOUSE:-var/warehouse/csc.duckdb}" || $(PY) -m csc_pipeline.run
	CSC_DASHBOARD_DEV_IDENTITY=$(DASHBOARD_DEV_IDENTITY) $(PY) -m csc_pipeline.dashboard

# SQL style of the dbt project (.sqlfluff: duckdb dialect, jinja templater, offline).
lint-sql: setup
	$(PY) -m sqlfluff lint --processes 2 dbt_project/models dbt_project/tests

# Every dbt unit test (the KPI definitions), on an empty build: tools/dev/dbt_unit_tests.py.
test-dbt-unit: setup
	$(PY) -m dev.dbt_unit_tests

bench: setup
	$(PY) bench/run_bench.py

# The 33-council hub alone (serial dag.test(), LocalExecutor, CeleryExecutor; needs the
# PostgreSQL server and Redis of the test machine). HUB_COUNCILS=5 for a small hub.
HUB_COUNCILS ?= 33
bench-hub: setup
	$(PY) bench/run_bench.py --sizes hub$(HUB_COUNCILS)

# Disaster recovery: replay every kept night of the named councils into a fresh
# warehouse, swapped in only when complete (include/csc_pipeline/rebuild.py).
rebuild: setup
	@test -n "$(CSC_LA_CODES)" || { echo "usage: make rebuild CSC_LA_CODES=999[,998]"; exit 2; }
	CSC_LA_CODES="$(CSC_LA_CODES)" $(PY) -m csc_pipeline.rebuild

# What tests/test_compose_up.py needs to run the stack for real: a docker engine and
# debootstrap (Debian's docker.io and debootstrap, installed as root when missing; the
# test starts dockerd itself) and the Python docker-compose 1.29 CLI in its own venv (it
# pins old libraries; its PyYAML needs cython<3 to build, and it needs docker-py 6 and
# requests 2.31: docker-py 7 dropped an argument it passes). Where this cannot be done
# (not root, no apt-get) the compose test is skipped with the reason.
COMPOSE_STAMP := .venv-compose/.installed-1.29.2-docker6
compose-tools:
	@if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				docker.io debootstrap >/dev/null || echo "compose-tools: apt-get failed"; \
		else echo "compose-tools: not root: docker.io/debootstrap not installed"; fi; \
	fi
	@test -f $(COMPOSE_STAMP) || { rm -rf .venv-compose && $(PYTHON) -m venv .venv-compose && \
		printf 'cython<3\ndocker==6.1.3\nrequests==2.31.0\n' > .venv-compose/build-constraints.txt && \
		PIP_CONSTRAINT=$(CURDIR)/.venv-compose/build-constraints.txt \
		.venv-compose/bin/pip install --quiet --disable-pip-version-check docker-compose==1.29.2 && \
		touch $(COMPOSE_STAMP); }

# The compose file checked offline (docker-compose config) and the stack run for real.
compose-check: setup compose-tools
	$(PY) -m pytest -q tests/test_compose.py tests/test_compose_up.py

clean:
	rm -rf var dbt_project/target dbt_project/logs
