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

.PHONY: setup run test lint bench clean sample compose-check

$(STAMP): requirements.txt constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(PY) -m csc_pipeline.run

sample: setup
	$(PY) -m csc_generator --out var/exports

test: setup
	$(PY) -m ruff check include tools dags tests bench
	$(PY) -m ruff format --check include tools dags tests bench
	$(PY) -m pytest -q tests

lint: setup
	$(PY) -m ruff check include tools dags tests bench
	$(PY) -m ruff format --check include tools dags tests bench

bench: setup
	$(PY) bench/run_bench.py

# Offline check of docker-compose.yml with the Python docker-compose 1.29 CLI (its own
# venv: it pins old libraries; its PyYAML needs cython<3 to build).
compose-check: setup
	@test -x .venv-compose/bin/docker-compose || { $(PYTHON) -m venv .venv-compose && \
		echo 'cython<3' > .venv-compose/build-constraints.txt && \
		PIP_CONSTRAINT=$(CURDIR)/.venv-compose/build-constraints.txt \
		.venv-compose/bin/pip install --quiet --disable-pip-version-check docker-compose==1.29.2; }
	$(PY) -m pytest -q tests/test_compose.py

clean:
	rm -rf var dbt_project/target dbt_project/logs
