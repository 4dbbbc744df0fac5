"""Import the night's task libraries once, in the Airflow process that forks the tasks.

Under the LocalExecutor each task runs in a fork of a worker forked from the scheduler;
under Celery, in a fork of a worker's pool process. A task's process starts as a copy
of that parent, so a library the parent has imported costs the task nothing, and one
it has not costs the task its whole import: dbt about 2 s, Great Expectations about
3.5 s, pandas and DuckDB about 0.7 s of CPU, in every task of every council's night
(bench/README.md, "Round 5": 10 task processes a council a night). Airflow does the same
for its own modules in a Celery worker (`on_celery_import_modules` in the Celery
provider); this extends it to the libraries csc-pipeline's tasks use.

Only the processes that run tasks preload: the scheduler (the LocalExecutor's workers
are its forks), `airflow celery worker`, and `make run`'s driver (csc_pipeline.run, where
dag.test() runs the tasks in its own process: it preloads before its first DAG run, so
that its DAG runs pay what a run under the scheduler pays); the api-server,
dag-processor and triggerer do not. `CSC_PRELOAD_TASK_LIBRARIES=false` turns it off
(e.g. to measure it, or to save the scheduler's memory where tasks run elsewhere). Imported from airflow_local_settings,
which every Airflow process imports at start (include/airflow_local_settings.py).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import os
import sys
import time

log = logging.getLogger(__name__)

ENV = "CSC_PRELOAD_TASK_LIBRARIES"
# what the night's steps import (csc_pipeline.steps.*): the heavy libraries, then the
# package's own step modules (their imports are inside run() for DAG parsing's sake)
LIBRARIES = (
    "pandas",
    "pyarrow",
    "duckdb",
    "jinja2",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "great_expectations",
    "csc_pipeline.quality.gate",
    "csc_pipeline.steps.land",
    "csc_pipeline.steps.validate",
    "csc_pipeline.steps.build",
    "csc_pipeline.steps.publish",
    "csc_pipeline.steps.alerts",
    "csc_pipeline.steps.dq_page",
)


def forks_tasks(argv: list[str]) -> bool:
    """True for `airflow scheduler` and `airflow celery worker` (the task forkers)."""
    words = [w for w in argv[1:] if not w.startswith("-")]
    return words[:1] == ["scheduler"] or words[:2] == ["celery", "worker"]


def wanted() -> bool:
    """The setting (CSC_PRELOAD_TASK_LIBRARIES, default on)."""
    from csc_pipeline.config import env_flag

    return env_flag(ENV, default=True)


def enabled(argv: list[str] | None = None) -> bool:
    """Should this Airflow process preload (airflow_local_settings asks at start)?"""
    return wanted() and forks_tasks(sys.argv if argv is None else argv)


def preload() -> dict[str, float]:
    """Import LIBRARIES; a library that fails to import is logged and skipped (the task
    that needs it will fail with the real error)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    seconds: dict[str, float] = {}
    for name in LIBRARIES:
        started = time.perf_counter()
        try:
            importlib.import_module(name)
            if name == "great_expectations":  # with the gate's engine settings
                from csc_pipeline.quality.gx_runner import import_gx

                import_gx()
        except Exception as exc:  # noqa: BLE001 - a preload must never stop Airflow starting
            log.warning("preload of %s failed: %s", name, exc)
            continue
        seconds[name] = round(time.perf_counter() - started, 3)
    # What was imported lives as long as the process: collect the import's garbage, then
    # move the rest out of the collector's view (gc.freeze, as Python's gc docs advise
    # before forking), so that a forked task's collections do not walk the libraries'
    # objects or write to (and so copy) the pages it shares with its parent.
    # At exit they go back, so that extension types see their objects freed (nanobind's
    # leak report otherwise lists DuckDB's types when the process ends).
    gc.collect()
    gc.freeze()
    atexit.register(gc.unfreeze)
    return seconds


def already_imported() -> list[str]:
    """Which of LIBRARIES this process has already imported (a task logs it at its
    start: under a real executor, those came from the forking process's preload)."""
    return [name for name in LIBRARIES if name in sys.modules]
