"""Evaluation only (bench/cosmos_watcher/run_eval.py): one council night built two ways.

- `eval_single_build`: the production shape: land -> validate -> ONE build task (the
  project's dbt runner: one `dbt build` subprocess) -> publish.
- `eval_watcher`: the same steps, with the build replaced by astronomer-cosmos'
  ExecutionMode.WATCHER task group: a producer task runs one `dbt build` and one sensor
  task per dbt node watches its status (deferred to the triggerer).

Each DAG builds the same night into a warehouse file of its own (CSC_EVAL_ROOT), so the
published marts can be compared. Not deployed: this folder is not the DAGs folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
from airflow.sdk import dag, task

ROOT = Path(os.environ.get("CSC_EVAL_ROOT", "/tmp/csc-eval"))
LA = "999"
START = pendulum.datetime(2026, 1, 1, tz="UTC")


def _ref(variant: str) -> dict:
    from airflow.sdk import get_current_context

    night = get_current_context()["params"]["night"]
    return {
        "la_code": LA,
        "export_date": night,
        "path": str(ROOT / "exports" / LA / night),
        "warehouse": str(ROOT / variant / "csc.duckdb"),
    }


# The project's own steps are idempotent and retried (as in csc_nightly); cosmos' task
# group keeps its defaults (its producer refuses retries by design).
RETRY = {"retries": 2, "retry_delay": 10}


def _steps(variant: str):
    @task(**RETRY)
    def land() -> dict:
        from csc_pipeline.steps import land as step

        return step.run(_ref(variant))

    @task(**RETRY)
    def validate(ref: dict) -> dict:
        from csc_pipeline.steps import validate as step

        return step.run(ref)

    @task(**RETRY)
    def publish(ref: dict) -> dict:
        from csc_pipeline.steps import publish as step

        return step.run(ref)

    return land, validate, publish


PARAMS = {"night": "2026-01-01"}


@dag(dag_id="eval_single_build", schedule=None, start_date=START, catchup=False, params=PARAMS)
def eval_single_build():
    land, validate, publish = _steps("single")

    @task(**RETRY)
    def build(ref: dict) -> dict:
        from csc_pipeline.steps import build as step

        return step.run(ref)

    publish(build(validate(land())))


@dag(dag_id="eval_watcher", schedule=None, start_date=START, catchup=False, params=PARAMS)
def eval_watcher():
    from cosmos import (
        DbtTaskGroup,
        ExecutionConfig,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
    )
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode

    from csc_pipeline.config import DBT_PROJECT_DIR
    from csc_pipeline.dbt_runner import dbt_executable
    from csc_pipeline.warehouse import MEMORY_LIMIT_ENV, memory_limit

    land, validate, publish = _steps("watcher")
    checked = validate(land())
    work = "{{ ti.xcom_pull(task_ids='validate')['work'] }}"
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(DBT_PROJECT_DIR, install_dbt_deps=False),
        profile_config=ProfileConfig(
            profile_name="csc",
            target_name="duckdb",
            profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=dbt_executable(),
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_LS,
            exclude=["test_type:unit"],
            env_vars={
                "CSC_DBT_WAREHOUSE": str(ROOT / "parse.duckdb"),
                "CSC_AS_AT_DATE": "2026-01-01",
                MEMORY_LIMIT_ENV: memory_limit(),
            },
        ),
        operator_args={
            "append_env": True,
            "env": {
                "CSC_DBT_WAREHOUSE": work,
                "CSC_AS_AT_DATE": "{{ params.night }}",
                MEMORY_LIMIT_ENV: memory_limit(),
            },
            "vars": {"la_code": LA},
            "install_deps": False,
        },
    )
    checked >> dbt >> publish(checked)


eval_single_build()
eval_watcher()
