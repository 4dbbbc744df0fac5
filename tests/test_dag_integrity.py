"""DAG integrity: every DAG file imports fast, with tags, owners and safe retries."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO

from csc_pipeline.run import DAG_ID, PACK_DAG_ID


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {DAG_ID, PACK_DAG_ID} <= set(dagbag.dag_ids)


def test_board_pack_runs_on_a_published_night_not_inside_it(dagbag):
    """The Board pack is its own DAG on the published-night asset: rendering never delays
    a night's publish or holds a nightly slot (steps/board_pack.py)."""
    from csc_pipeline.assets import PUBLISHED_NIGHT

    pack = dagbag.get_dag(PACK_DAG_ID)
    assert pack.timetable.asset_condition == PUBLISHED_NIGHT
    assert [t.task_id for t in pack.topological_sort()] == ["published_nights", "board_pack"]
    nightly = {t.task_id.rsplit(".", 1)[-1] for t in dagbag.get_dag(DAG_ID).tasks}
    assert "board_pack" not in nightly and "dq_page" in nightly


def test_every_dag_has_tags_owner_and_bounded_runs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.max_active_runs == 1, f"{dag_id} may run concurrently (DuckDB single writer)"
        assert not dag.catchup
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", f"{dag_id}.{t.task_id} has no owner"


def test_retries_where_safe_never_on_quality_gate(dagbag):
    dag = dagbag.get_dag(DAG_ID)
    tasks = {t.task_id: t for t in dag.tasks}
    # The gate retries once, for a lost worker or a crash (tests/test_celery_hub.py kills
    # workers); a quarantine is final: _fail_fast raises AirflowFailException, never retried.
    assert tasks["council_night.validate"].retries == 1
    for task_id in ("council_night.land", "council_night.build", "council_night.publish"):
        assert tasks[task_id].retries >= 1, task_id
    for task_id in (
        "council_night.land",
        "council_night.validate",
        "council_night.build",
        "council_night.publish",
    ):
        assert tasks[task_id].pool == "csc_warehouse"


def test_a_started_council_finishes_before_the_next_one_starts(dagbag):
    """Depth first: every task weighs by its upstream tasks (weight_rule "upstream"), so
    each step of a council's night outranks the steps before it and a free csc_warehouse
    slot goes to a council's publish before another council's landing (a hub's councils
    publish one by one instead of all at the end)."""
    for task in dagbag.get_dag(DAG_ID).tasks:
        assert str(task.weight_rule) == "upstream", task.task_id


def test_a_quarantine_is_never_retried():
    import runpy

    from airflow.sdk.exceptions import AirflowFailException

    from csc_pipeline.steps.errors import NightQuarantined

    fail_fast = runpy.run_path(str(REPO / "dags" / "csc_nightly.py"))["_fail_fast"]

    def quarantined(ref):
        raise NightQuarantined("Night 999 2026-01-01 quarantined at validation")

    def crashed(ref):
        raise OSError("worker lost its disk")

    with pytest.raises(AirflowFailException, match="quarantined"):
        fail_fast(quarantined, {})
    with pytest.raises(OSError):  # anything else may be retried
        fail_fast(crashed, {})


def test_sensor_does_not_hold_a_worker(dagbag):
    sensor = dagbag.get_dag(DAG_ID).get_task("council_night.wait_for_export")
    assert sensor.mode == "reschedule"
    assert sensor.timeout <= 12 * 3600


def test_dag_files_do_no_heavy_work_at_import():
    """The scheduler parses DAG files constantly: they must not import the data stack
    (timing is measured by `make bench`; here we check the cause, deterministically)."""
    heavy = (
        "duckdb",
        "pandas",
        "great_expectations",
        "dbt",
        "csc_pipeline.quality",
        "csc_pipeline.landing",
        "csc_generator",
    )
    for path in sorted((REPO / "dags").glob("*.py")):
        code = (
            "import runpy, sys, airflow.sdk\n"
            "before = set(sys.modules)\n"
            f"runpy.run_path({str(path)!r})\n"
            "print('\\n'.join(sorted(set(sys.modules) - before)))"
        )
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO / "tools")]),
        }
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
        loaded = out.stdout.split()
        offenders = [m for m in loaded if m.split(".")[0] in heavy or m.startswith(heavy)]
        assert not offenders, f"{path.name} imports {offenders[:5]} at parse time"


@pytest.mark.parametrize("setting, expected", [("", False), ("postgres", True)])
def test_server_warehouse_task_only_when_configured(setting, expected):
    """A task per council that could only skip costs a hub a task process per council and
    night: the server-warehouse copy is in the DAG only when CSC_SERVER_WAREHOUSE is on
    where the DAG file is parsed."""
    code = (
        "import runpy\n"
        f"ns = runpy.run_path({str(REPO / 'dags' / 'csc_nightly.py')!r})\n"
        "dag = ns['csc_nightly']()\n"
        "print('council_night.server_warehouse' in dag.task_dict)"
    )
    env = {
        **os.environ,
        "CSC_SERVER_WAREHOUSE": setting,
        "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO / "tools")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split()[-1] == str(expected)
