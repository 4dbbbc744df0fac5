"""csc_board_pack: the Improvement Board pack, once a council's night is published.

Scheduled on the published-night asset (csc_pipeline/assets.py) that the nightly DAG's
publish task updates: each run renders, for every council published since the last run,
the pack of the latest complete month (HTML + tagged PDF) from the council's published
warehouse, read-only. A manual run (or `make run`) renders every council's latest
published night. Thin by design: the work is `csc_pipeline.steps.board_pack`.

Why a DAG of its own: the Board reads a monthly pack, managers read the night's figures
by 07:00. Rendering (Vega-Lite charts, Chromium printing the PDF) takes 6-10 s a
council; outside the nightly DAG it never delays a publish or holds a nightly slot, and
a failed render is retried here without touching the night.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from csc_pipeline.assets import PUBLISHED_NIGHT
from csc_pipeline.dag_callbacks import notify_engineers


@dag(
    dag_id="csc_board_pack",
    description="Improvement Board pack (HTML + PDF) of each newly published council night",
    schedule=PUBLISHED_NIGHT,
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "csc-data-engineering",
        "retries": 1,
        "retry_delay": timedelta(minutes=2),
        "on_failure_callback": notify_engineers,
    },
    tags=["csc", "board-pack"],
    doc_md=__doc__,
)
def csc_board_pack():
    @task(retries=0)
    def published_nights(triggering_asset_events=None) -> list[dict]:
        from csc_pipeline.steps.board_pack import nights_to_render

        events = [e.extra for e in (triggering_asset_events or {}).get(PUBLISHED_NIGHT, [])]
        return nights_to_render([e for e in events if e and e.get("la_code")])

    @task
    def board_pack(ref: dict) -> dict:
        from csc_pipeline.steps import board_pack as step

        return step.run(ref)

    board_pack.expand(ref=published_nights())


csc_board_pack()
