"""csc_nightly: each council's nightly case-system export -> warehouse -> marts -> alerts.

Thin by design: each task calls `run(ref)` of its step module,
`csc_pipeline.steps.<step>` (include/), the only place that step is implemented; the
imports are inside the tasks so that parsing this file stays fast. One mapped task group per
council: a council's bad night fails only its own branch.

Per council and night: extract from the council's SSD database (councils whose profile
says `delivery: database`; skipped for a file drop) -> wait for a complete export (reschedule-mode sensor: no worker
held while waiting) -> land (atomic, idempotent) -> validate (Great Expectations; a
critical finding quarantines the night, never retried) -> dbt build -> publish
(atomic swap of the warehouse file, Parquet copies) -> alerts and the night's
data-quality page. Publishing updates the published-night assets, on which the Board
pack's DAG (dags/csc_board_pack.py) runs.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task, task_group

from csc_pipeline.assets import PUBLISHED_BY_COUNCIL, PUBLISHED_NIGHT
from csc_pipeline.dag_callbacks import notify_engineers

SCHEDULE = "30 2 * * *"
WAREHOUSE_POOL = "csc_warehouse"  # bounds concurrent DuckDB writers (one per council file)


def _publish_deadline():
    """Opt-in Airflow deadline alert (CSC_PUBLISH_DEADLINE_ALERT=true; scheduler only)."""
    from csc_pipeline.config import env_flag

    if not env_flag("CSC_PUBLISH_DEADLINE_ALERT"):
        return None
    from csc_pipeline.alerts.engineers import publish_deadline

    return publish_deadline(SCHEDULE)


# CSC_RETRY_DELAY_SECONDS (read when the file is parsed; default 300): the fault tests
# of tests/test_celery_hub.py shorten it so a lost task's retry comes within a test.
RETRY_DELAY = timedelta(seconds=int(os.environ.get("CSC_RETRY_DELAY_SECONDS") or 300))

default_args = {
    "owner": "csc-data-engineering",
    "retries": 2,  # safe for idempotent steps; a quarantine is never retried (_fail_fast)
    "retry_delay": RETRY_DELAY,
    "retry_exponential_backoff": True,
    # Depth first across a hub's councils: a task outranks the tasks before it, so a
    # council that has started finishes (publishes) before another council's next step
    # takes the csc_warehouse pool. With Airflow's default ("downstream": early tasks
    # weigh most) a 33-council night landed and validated every council before any
    # published, and every council's figures waited for the slowest (bench/README.md).
    "weight_rule": "upstream",
    # Final task failures email the data engineers (CSC_ENGINEERS_EMAIL), or go to the outbox.
    "on_failure_callback": notify_engineers,
}


def _server_warehouse_on() -> bool:
    from csc_pipeline.config import server_warehouse_enabled

    return server_warehouse_enabled()


def _param(name: str):
    return get_current_context()["params"].get(name)


@dag(
    dag_id="csc_nightly",
    description="Nightly CSC export: land, validate, build marts, publish, alert",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    dagrun_timeout=timedelta(hours=10),
    # Optional (CSC_PUBLISH_DEADLINE_ALERT=true, scheduler only): an Airflow deadline alert
    # at CSC_PUBLISH_DEADLINE while the run is still going (see alerts/engineers.py).
    deadline=_publish_deadline(),
    tags=["csc", "nightly", "warehouse"],
    params={
        "export_date": Param(
            None, type=["null", "string"], description="YYYY-MM-DD; default: oldest pending night"
        ),
        "wait": Param(
            True, type="boolean", description="Wait for a night to arrive (False: skip if none)"
        ),
    },
    doc_md=__doc__,
)
def csc_nightly():
    # Validates every council profile and the pseudonym key first: a configuration
    # error fails the run at once, naming the setting (never retried).
    @task(retries=0)
    def list_councils() -> list[str]:
        from csc_pipeline.councils import check_configuration

        return _fail_fast(lambda _: check_configuration(), {})

    @task_group(group_id="council_night")
    def council_night(la_code: str):
        # database delivery: read the SSD over the council's Airflow connection and write
        # the night's folder (csc_pipeline.steps.extract); skipped for a file drop.
        @task
        def extract(la_code: str) -> dict:
            from airflow.sdk.exceptions import AirflowSkipException

            from csc_pipeline.steps import extract as step

            run = get_current_context()["dag_run"]
            ref = {
                "la_code": la_code,
                "export_date": _param("export_date"),
                "run_after": run.run_after.isoformat() if run.run_after else None,
            }
            out = _fail_fast(step.run, ref)
            if out.get("skipped") and out.get("reason"):
                raise AirflowSkipException(out["reason"])
            return out

        @task.sensor(
            poke_interval=600,
            timeout=8 * 3600,
            mode="reschedule",
            soft_fail=True,
            trigger_rule="none_failed",  # runs after a skipped extract (file drop)
        )
        def wait_for_export(la_code: str):
            from airflow.sdk import PokeReturnValue
            from airflow.sdk.exceptions import AirflowSkipException

            from csc_pipeline.steps import discover

            ref = discover.run({"la_code": la_code, "export_date": _param("export_date")})
            if ref is None and not _param("wait"):
                raise AirflowSkipException(f"no pending complete night for council {la_code}")
            return PokeReturnValue(is_done=ref is not None, xcom_value=ref)

        @task(pool=WAREHOUSE_POOL)
        def land(ref: dict) -> dict:
            from csc_pipeline.steps import land as step

            return _fail_fast(step.run, ref)

        # A quarantine is final (_fail_fast: AirflowFailException, never retried); the one
        # retry is for a lost worker or a crash, like the other warehouse steps.
        @task(retries=1, pool=WAREHOUSE_POOL)
        def validate(ref: dict) -> dict:
            from csc_pipeline.steps import validate as step

            return _fail_fast(step.run, ref)

        @task(retries=1, pool=WAREHOUSE_POOL)
        def build(ref: dict) -> dict:
            from csc_pipeline.steps import build as step

            return step.run(ref)

        # Updates the published-night assets (csc_pipeline/assets.py) so downstream DAGs
        # (csc_board_pack, a council's own jobs) run on a published night.
        @task(pool=WAREHOUSE_POOL, outlets=[PUBLISHED_NIGHT, PUBLISHED_BY_COUNCIL])
        def publish(ref: dict) -> dict:
            from csc_pipeline.assets import record_published
            from csc_pipeline.steps import publish as step

            result = step.run(ref)
            record_published(result)
            return result

        # Team digests from the published (read-only) warehouse; a mail outage does not
        # fail it (undelivered digests are retried by the next run; see alerts/).
        @task(retries=2, retry_delay=timedelta(minutes=2))
        def alerts(ref: dict) -> dict:
            from csc_pipeline.steps import alerts as step

            return step.run(ref)

        # The night's data-quality page, from the published file read-only
        # (csc_pipeline.steps.dq_page). The Board pack is its own DAG, run on the
        # published-night asset (dags/csc_board_pack.py).
        @task(retries=1)
        def dq_page(ref: dict) -> dict:
            from csc_pipeline.steps import dq_page as step

            return step.run(ref)

        # Optional: the same marts on PostgreSQL (CSC_SERVER_WAREHOUSE=postgres; see
        # csc_pipeline.server_warehouse). Reads the published file read-only. Only in the
        # DAG when the setting is on where the DAG file is parsed: a task per council that
        # only skips would cost a hub a task process per council and night for nothing.
        @task(retries=1)
        def server_warehouse(ref: dict) -> dict:
            from airflow.sdk.exceptions import AirflowSkipException

            from csc_pipeline import server_warehouse

            if not _server_warehouse_on():
                raise AirflowSkipException("no server warehouse configured (CSC_SERVER_WAREHOUSE)")
            return server_warehouse.load_published(ref)

        # Published after CSC_PUBLISH_DEADLINE (07:00), or not at all by then: tell the
        # engineers. Runs whatever happened upstream (works under dag.test() too).
        @task(trigger_rule="all_done", retries=1)
        def check_publish_deadline(la_code: str) -> dict:
            from csc_pipeline.alerts.engineers import check_publish_deadline as check

            run = get_current_context()["dag_run"]
            return check(
                la_code, run_after=run.run_after, run_started=run.start_date or run.run_after
            )

        found = wait_for_export(la_code)
        extract(la_code) >> found
        published = publish(build(validate(land(found))))
        alerts(published)
        dq_page(published)
        published >> check_publish_deadline(la_code)
        if _server_warehouse_on():
            server_warehouse(published)

    # Off by default (CSC_EES_REFRESH=true, needs the internet): England benchmark values
    # from the EES API into dbt_project/seeds/benchmarks/; the next build loads them. A
    # failed refresh keeps the shipped values and never fails the run (pack/ees_refresh.py).
    @task(retries=0)
    def refresh_benchmarks() -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from csc_pipeline.pack import ees_refresh

        if not ees_refresh.enabled():
            raise AirflowSkipException("benchmark refresh is off (CSC_EES_REFRESH)")
        return ees_refresh.refresh()

    refresh_benchmarks()
    nights = council_night.expand(la_code=list_councils())

    # After every council, whatever happened to each: all councils' latest published
    # kpi_monthly side by side (reads Parquet only, so it takes no warehouse lock).
    @task(trigger_rule="all_done", retries=1)
    def build_hub() -> dict:
        from csc_pipeline.hub import build_hub

        return build_hub()

    # build_hub succeeding would otherwise mark the run successful: any failed step of
    # any council fails the run (the failed task itself has already alerted).
    @task(trigger_rule="one_failed", retries=0, on_failure_callback=None)
    def any_council_failed() -> None:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException("a council's night failed or was quarantined: see its tasks")

    nights >> build_hub()
    list(nights.children.values()) >> any_council_failed()


def _fail_fast(step, ref: dict) -> dict:
    """Run a step; a quarantine or a configuration error (missing pseudonym key, bad
    council profile, unconfigured connection) is final: no retry. Anything else may be
    retried."""
    from airflow.sdk.exceptions import AirflowFailException

    from csc_pipeline.config import ConfigError
    from csc_pipeline.steps.errors import NightQuarantined

    try:
        return step(ref)
    except NightQuarantined as exc:
        raise AirflowFailException(str(exc)) from exc
    except ConfigError as exc:
        raise AirflowFailException(f"configuration error: {exc}") from exc


csc_nightly()
