"""csc_nightly: each council's nightly case-system export -> warehouse -> marts -> alerts.

Thin by design: the work lives in the `csc_pipeline` package (include/), imported
inside the tasks so that parsing this file stays fast. One mapped task group per
council: a council's bad night fails only its own branch.

Per council and night: wait for a complete export (reschedule-mode sensor: no worker
held while waiting) -> land (atomic, idempotent) -> validate (Great Expectations; a
critical finding quarantines the night, never retried) -> dbt build -> publish
(atomic swap of the warehouse file, Parquet copies) -> alerts.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task, task_group

WAREHOUSE_POOL = "csc_warehouse"  # bounds concurrent DuckDB writers (one per council file)

default_args = {
    "owner": "csc-data-engineering",
    "retries": 2,  # safe for idempotent steps; the quality gate overrides this to 0
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
}


def _param(name: str):
    return get_current_context()["params"].get(name)


@dag(
    dag_id="csc_nightly",
    description="Nightly CSC export: land, validate, build marts, publish, alert",
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    dagrun_timeout=timedelta(hours=10),
    tags=["csc", "nightly", "warehouse"],
    params={
        "export_date": Param(None, type=["null", "string"], description="YYYY-MM-DD; default: oldest pending night"),
        "wait": Param(True, type="boolean", description="Wait for a night to arrive (False: skip if none)"),
    },
    doc_md=__doc__,
)
def csc_nightly():
    @task(retries=1)
    def list_councils() -> list[str]:
        from csc_pipeline.tasks import council_codes

        return council_codes()

    @task_group(group_id="council_night")
    def council_night(la_code: str):
        @task.sensor(poke_interval=600, timeout=8 * 3600, mode="reschedule", soft_fail=True)
        def wait_for_export(la_code: str):
            from airflow.sdk import PokeReturnValue
            from airflow.sdk.exceptions import AirflowSkipException

            from csc_pipeline.tasks import select_night

            ref = select_night(la_code, _param("export_date"))
            if ref is None and not _param("wait"):
                raise AirflowSkipException(f"no pending complete night for council {la_code}")
            return PokeReturnValue(is_done=ref is not None, xcom_value=ref)

        @task(pool=WAREHOUSE_POOL)
        def land(ref: dict) -> dict:
            from csc_pipeline import tasks

            return _fail_fast(tasks.land, ref)

        @task(retries=0, pool=WAREHOUSE_POOL)
        def validate(ref: dict) -> dict:
            from csc_pipeline import tasks

            return _fail_fast(tasks.validate, ref)

        @task(retries=1, pool=WAREHOUSE_POOL)
        def build(ref: dict) -> dict:
            from csc_pipeline import tasks

            return tasks.build(ref)

        @task(pool=WAREHOUSE_POOL)
        def publish(ref: dict) -> dict:
            from csc_pipeline import tasks

            return tasks.publish(ref)

        publish(build(validate(land(wait_for_export(la_code)))))

    council_night.expand(la_code=list_councils())


def _fail_fast(step, ref: dict) -> dict:
    """Run a step; a quarantine is final (no retry), anything else may be retried."""
    from airflow.sdk.exceptions import AirflowFailException

    from csc_pipeline.tasks import NightQuarantined

    try:
        return step(ref)
    except NightQuarantined as exc:
        raise AirflowFailException(str(exc)) from exc


csc_nightly()
