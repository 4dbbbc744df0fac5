"""`docker compose up`, for real: the repository's Dockerfile and docker-compose.yml run.

The stand-in Airflow base image is built locally (tests/docker_stack.py: debootstrap'd
Debian bookworm, Python 3.11, apache-airflow at the pinned version, the airflow user,
the official entrypoint's behaviour) and tagged with the name the Dockerfile builds
FROM; docker-compose 1.29 then builds the project's image from the Dockerfile and brings
the stack up with the test override (tests/compose/docker-compose.test.yml: host network,
the machine's PostgreSQL and Redis, free ports). The sample is generated on the host into
the exports folder the stack mounts (CSC_EXPORTS_SOURCE), the nightly DAG is triggered
through the REST API, and the published warehouse is read on the host afterwards.

Skipped, with the reason, where no docker engine can run or PostgreSQL is not reachable.
Cold (no cached image) about 10 minutes on 2 cores; warm (images cached) about 3.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path

import docker_stack
import pytest
from airflow_cluster import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    create_database,
    drop_database,
    free_port,
    postgres_unavailable_reason,
)
from helpers import assert_first_night_published

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DAG_ID = "csc_nightly"
LONG_RUNNING = [
    "postgres",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
]
REDIS_DB = 8  # this test's Redis database number (flushed before and after)


def _unavailable(work: Path) -> str | None:
    reason = postgres_unavailable_reason()
    if reason:
        return reason
    if docker_stack.compose_cli() is None:
        return "docker-compose 1.29 not installed (make compose-tools installs .venv-compose/)"
    return docker_stack.ensure_engine(work)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    work = tmp_path_factory.mktemp("compose")
    reason = _unavailable(work)
    if reason:
        pytest.skip(reason)
    timings: dict[str, object] = {}
    started = time.monotonic()
    database = None
    up = None
    try:
        docker_stack.ensure_base_image(work, timings)

        from csc_generator import generate

        data = work / "data"
        exports = data / "exports"
        generate(exports, seed=11, referrals_per_year=600, years=1, nights=2)
        for sub in ("warehouse", "var"):
            (data / sub).mkdir(parents=True)

        database = create_database("csc_compose_test")
        name = f"csctest{secrets.token_hex(3)}"
        up = docker_stack.ComposeStack(
            project_dir=docker_stack.copy_project(work / "project"),
            name=name,
            env={
                **docker_stack.new_secrets(),
                "AIRFLOW_UID": "50000",
                "AIRFLOW_EXECUTOR": "LocalExecutor",
                "AIRFLOW_PARALLELISM": "4",
                "CSC_WAREHOUSE_POOL_SLOTS": "1",
                "CSC_IMAGE_NAME": "csc-pipeline-airflow:compose-test",
                "CSC_EXPORTS_SOURCE": str(exports),
                "CSC_LA_CODES": "",
                "AIRFLOW_API_PORT": str(free_port()),
                "CSC_TEST_SCHEDULER_HEALTH_PORT": str(free_port()),
                "CSC_TEST_WORKER_LOG_PORT": str(free_port()),
                "CSC_TEST_TRIGGER_LOG_PORT": str(free_port()),
                "CSC_TEST_PG_USER": PG_USER,
                "CSC_TEST_PG_PORT": str(PG_PORT),
                "CSC_TEST_DB": database,
                "CSC_TEST_REDIS_PORT": "6379",
                "CSC_TEST_REDIS_DB": str(REDIS_DB),
                "CSC_TEST_DATA": str(data),
            },
        )
        up.admin_password = up.env["AIRFLOW_ADMIN_PASSWORD"]
        assert PG_HOST in ("127.0.0.1", "localhost"), "the stack reaches PostgreSQL on loopback"
        up.write_env_file()

        up.resolve()
        t = time.monotonic()
        up.compose("build", timeout=1800)
        timings["project_image"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        # `up -d` returns once airflow-init has completed and the others are started
        proc = up.compose("up", "-d", timeout=900, check=False)
        timings["up"] = round(time.monotonic() - t, 1)
        yield {
            "up": up,
            "up_proc": proc,
            "data": data,
            "exports": exports,
            "timings": timings,
            "started": started,
        }
    finally:
        if up is not None:
            t = time.monotonic()
            up.down()
            timings["down"] = round(time.monotonic() - t, 1)
        if database:
            drop_database(database)
        timings["total"] = round(time.monotonic() - started, 1)
        print(f"\ncompose test timings (s): {json.dumps(timings)}")
        docker_stack.stop_engine()
        shutil.rmtree(work / "project", ignore_errors=True)


def test_airflow_init_completes_and_every_service_is_healthy(stack):
    up = stack["up"]
    proc = stack["up_proc"]
    assert proc.returncode == 0, f"docker-compose up failed:\n{proc.stderr[-4000:]}\n{up.logs()}"
    info = up.containers()
    init = info["airflow-init"]["State"]
    assert init["Status"] == "exited" and init["ExitCode"] == 0, up.logs()
    t = time.monotonic()
    status = up.wait_healthy(LONG_RUNNING, timeout=900)
    stack["timings"]["healthy"] = round(time.monotonic() - t, 1)
    assert set(status.values()) == {"healthy"}
    # the services run the project's image, as the airflow user (uid 50000, group 0)
    image = info["airflow-scheduler"]["Config"]["Image"]
    assert image == up.env["CSC_IMAGE_NAME"]
    assert info["airflow-scheduler"]["Config"]["User"] == "50000:0"
    pools = up.api("GET", "/api/v2/pools/csc_warehouse")
    assert pools["slots"] == 1


def test_the_nightly_dag_runs_to_success_in_the_stack(stack):
    up = stack["up"]
    t = time.monotonic()
    dag = up.wait_for_dag(DAG_ID, timeout=600)
    assert dag["is_paused"], "new DAGs start paused (AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION)"
    run_id = up.trigger(DAG_ID, {"wait": False})
    state = up.wait_for_run(DAG_ID, run_id, timeout=900)
    stack["timings"]["night"] = round(time.monotonic() - t, 1)
    states = up.task_states(DAG_ID, run_id)
    if state != "success":
        failed = [k for k, v in states.items() if v not in ("success", "skipped")]
        logs = "\n".join(
            up.task_log(DAG_ID, run_id, k.split("[")[0], int(k.split("[")[1].rstrip("]")))
            for k in failed[:3]
        )
        pytest.fail(f"run {state}: {states}\n{logs}")
    for task in ("land", "validate", "build", "publish"):
        assert states[f"council_night.{task}[0]"] == "success", states

    # the published warehouse, read on the host from the stack's volume
    warehouse = stack["data"] / "warehouse" / "csc_999.duckdb"
    assert_first_night_published(warehouse, stack["exports"], stack["data"] / "var")
    assert os.stat(warehouse).st_uid == 50000, "files in the volumes belong to the airflow user"
