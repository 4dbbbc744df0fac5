"""A published night is an Airflow Asset event that downstream DAGs schedule on.

The nightly DAG's publish task declares the assets (csc_pipeline/assets.py); a consumer
DAG (the shape of the board pack's, or a council's own job) schedules on them; and under
dag.test() a publish emits the events, with the council and night in their extra.
"""

from __future__ import annotations

import shutil
import textwrap

import pytest
from conftest import REPO

from csc_pipeline.assets import (
    PUBLISHED_BY_COUNCIL,
    PUBLISHED_NIGHT,
    council_asset,
    published_event_extra,
)
from csc_pipeline.run import DAG_ID

CONSUMER = textwrap.dedent(
    '''
    """A downstream job: runs once a night is published (any council, or council 201)."""
    import pendulum
    from airflow.sdk import dag, task

    from csc_pipeline.assets import PUBLISHED_NIGHT, council_asset


    @dag(
        dag_id="board_pack_on_publish",
        schedule=PUBLISHED_NIGHT,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["csc"],
        default_args={"owner": "csc-data-engineering"},
    )
    def board_pack_on_publish():
        @task
        def nights(triggering_asset_events=None) -> list:
            return [
                (e.extra["la_code"], e.extra["export_date"])
                for e in triggering_asset_events[PUBLISHED_NIGHT]
            ]

        nights()


    @dag(
        dag_id="council_201_own_job",
        schedule=council_asset("201"),
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["csc"],
        default_args={"owner": "council-201"},
    )
    def council_201_own_job():
        @task
        def refresh() -> None:
            pass

        refresh()


    board_pack_on_publish()
    council_201_own_job()
    '''
)


@pytest.fixture(scope="module")
def dagbag_with_consumer(airflow_db, tmp_path_factory):
    from airflow.dag_processing.dagbag import DagBag

    folder = tmp_path_factory.mktemp("dags")
    for path in (REPO / "dags").glob("*.py"):
        shutil.copy(path, folder / path.name)
    (folder / "consumers.py").write_text(CONSUMER)
    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}
    return bag


def test_publish_declares_the_published_night_assets(dagbag_with_consumer):
    publish = dagbag_with_consumer.get_dag(DAG_ID).get_task("council_night.publish")
    assert PUBLISHED_NIGHT in publish.outlets
    assert PUBLISHED_BY_COUNCIL in publish.outlets
    # nothing else in the nightly DAG claims to publish
    others = [
        t.task_id
        for t in dagbag_with_consumer.get_dag(DAG_ID).tasks
        if t.outlets and t.task_id != "council_night.publish"
    ]
    assert others == []


def test_consumer_dags_schedule_on_a_published_night(dagbag_with_consumer):
    pack = dagbag_with_consumer.get_dag("board_pack_on_publish")
    assert type(pack.timetable).__name__ == "AssetTriggeredTimetable"
    assert pack.timetable.asset_condition == PUBLISHED_NIGHT
    council = dagbag_with_consumer.get_dag("council_201_own_job")
    assert council.timetable.asset_condition == council_asset("201")
    assert council_asset("201") != council_asset("202")


def test_event_extra_names_the_night_and_nothing_personal():
    extra = published_event_extra(
        {
            "la_code": "201",
            "export_date": "2026-11-20",
            "warehouse": "/data/warehouse/csc_201.duckdb",
            "parquet_dir": "/data/var/parquet/201/2026-11-20",
            "published_tables": ["kpi_monthly", "fct_assessments"],
            "landing": "ssd_person 1200 rows",
        }
    )
    assert extra == {
        "la_code": "201",
        "export_date": "2026-11-20",
        "warehouse": "/data/warehouse/csc_201.duckdb",
        "parquet_dir": "/data/var/parquet/201/2026-11-20",
        "published_tables": 2,
    }


def test_board_pack_renders_each_published_council_once_at_its_latest_night():
    """The pack DAG's events may hold several nights of a council (a catch-up): it
    renders each council once, from its latest published night."""
    from csc_pipeline.steps.board_pack import nights_to_render

    events = [
        {"la_code": "202", "export_date": "2026-11-20", "warehouse": "/w/202.duckdb"},
        {"la_code": "201", "export_date": "2026-11-19", "warehouse": "/w/201.duckdb"},
        {"la_code": "201", "export_date": "2026-11-20", "warehouse": "/w/201.duckdb"},
    ]
    assert nights_to_render(events) == [
        {"la_code": "201", "export_date": "2026-11-20", "warehouse": "/w/201.duckdb"},
        {"la_code": "202", "export_date": "2026-11-20", "warehouse": "/w/202.duckdb"},
    ]
