"""The DAG under a real Airflow deployment, not dag.test().

Airflow's api-server, scheduler, dag-processor and triggerer run as separate processes
against a PostgreSQL metadata database created for this test (LocalExecutor,
parallelism 3, a temporary AIRFLOW_HOME, the repo's dags folder) — the production
shape of docker-compose.yml without the containers. The pool is created as airflow-init
does, the DAG is unpaused and triggered through the REST API as the admin user, and the
published warehouse, marts, Parquet and hub are checked afterwards. About a minute.
"""

from __future__ import annotations

import os
import time

import pytest
from airflow_cluster import (
    AirflowCluster,
    create_database,
    drop_database,
    postgres_unavailable_reason,
)
from conftest import REPO
from helpers import assert_first_night_published, night_dirs

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DAG_ID = "csc_nightly"
PACK_DAG_ID = "csc_board_pack"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from csc_generator import generate

    root = tmp_path_factory.mktemp("scheduler")
    exports = root / "exports"
    generate(exports, seed=11, referrals_per_year=600, years=1, nights=2)
    paths = {
        "exports": exports,
        "warehouse": root / "warehouse" / "csc.duckdb",
        "var": root / "var",
    }
    env = {
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO / "include"), os.environ.get("PYTHONPATH")])
        ),
        "CSC_EXPORTS_ROOT": str(paths["exports"]),
        "CSC_WAREHOUSE": str(paths["warehouse"]),
        "CSC_VAR_DIR": str(paths["var"]),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "GX_ANALYTICS_ENABLED": "False",
    }
    database = create_database("csc_airflow_test")
    cluster = AirflowCluster(root / "airflow_home", REPO / "dags", database, env, parallelism=3)
    try:
        cluster.init(pools={"csc_warehouse": 1})  # as airflow-init does
        cluster.start()
        cluster.wait_for_api()
        yield cluster, paths
    finally:
        cluster.stop()
        drop_database(database)


@pytest.fixture(scope="module")
def night_run(deployment):
    cluster, paths = deployment
    started = time.monotonic()
    dag = cluster.wait_for_dag(DAG_ID)
    assert dag["is_paused"], "new DAGs must start paused (DAGS_ARE_PAUSED_AT_CREATION)"
    cluster.wait_for_dag(PACK_DAG_ID)  # runs on the published-night asset, once unpaused
    cluster.api("PATCH", f"/api/v2/dags/{PACK_DAG_ID}", {"is_paused": False})
    run_id = cluster.trigger(DAG_ID, {"wait": False})
    state = cluster.wait_for_run(DAG_ID, run_id, timeout=240)
    states = cluster.task_states(DAG_ID, run_id)
    return {
        "state": state,
        "states": states,
        "run_id": run_id,
        "elapsed": time.monotonic() - started,
        "cluster": cluster,
        **paths,
    }


def test_scheduler_runs_the_night_to_success(night_run):
    cluster = night_run["cluster"]
    if night_run["state"] != "success":
        failed = [k for k, v in night_run["states"].items() if v not in ("success", "skipped")]
        logs = "\n".join(
            cluster.task_log(
                DAG_ID, night_run["run_id"], k.split("[")[0], int(k.split("[")[1].rstrip("]"))
            )
            for k in failed[:3]
        )
        pytest.fail(f"run {night_run['state']}: {night_run['states']}\n{logs}")
    states = night_run["states"]
    for task in ("land", "validate", "build", "publish"):
        assert states[f"council_night.{task}[0]"] == "success", states
    assert states["build_hub[-1]"] == "success"


def test_a_published_night_queues_and_runs_the_board_pack_dag(night_run):
    """publish's asset event names the council and night, and queues csc_board_pack
    (scheduled on that asset). The test deployment creates no scheduled runs
    (USE_JOB_SCHEDULE=False, which also holds asset-triggered runs back), so the pack DAG
    is then run by hand: it renders the council's latest published night under the
    scheduler. (CSC_BOARD_PACK is off in tests: tests/test_board_pack.py renders.)"""
    cluster = night_run["cluster"]
    events = cluster.api("GET", f"/api/v2/assets/events?source_dag_id={DAG_ID}")
    extras = [e["extra"] for e in events["asset_events"]]
    assert {"la_code": "999", "export_date": night_dirs(night_run["exports"])[0].name}.items() <= (
        next(x for x in extras if x.get("la_code") == "999").items()
    ), extras
    queued = cluster.api("GET", f"/api/v2/dags/{PACK_DAG_ID}/assets/queuedEvents")
    assert queued["total_entries"] >= 1, queued
    run_id = cluster.trigger(PACK_DAG_ID, {})
    assert cluster.wait_for_run(PACK_DAG_ID, run_id, timeout=180) == "success"
    states = cluster.task_states(PACK_DAG_ID, run_id)
    assert states == {"published_nights[-1]": "success", "board_pack[0]": "success"}, states


def test_tasks_start_with_the_libraries_the_scheduler_preloaded(night_run):
    """The LocalExecutor forks each task from the scheduler, which imported dbt, Great
    Expectations and pandas at start (include/airflow_local_settings.py ->
    csc_pipeline.preload): validate's first log line lists them, before it imports
    anything itself."""
    line = night_run["cluster"].preloaded_at_start(DAG_ID, night_run["run_id"])
    for library in ("pandas", "dbt.cli.main", "great_expectations"):
        assert library in line, line


def test_warehouse_published_with_marts(night_run):
    assert_first_night_published(night_run["warehouse"], night_run["exports"], night_run["var"])
    assert (night_run["var"] / "hub" / "kpi_monthly.parquet").is_file()
