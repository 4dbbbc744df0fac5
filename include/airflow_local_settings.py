"""Airflow's local-settings hook: every Airflow process imports this module at start
(it is on PYTHONPATH: include/). Its one job is csc_pipeline.preload: in the processes
that fork task processes (the scheduler, a Celery worker), import the night's task
libraries once so that each task, a fork, starts with them loaded."""

from csc_pipeline import preload as _preload

__all__: list[str] = []  # no cluster policies here: Airflow takes none from this module

if _preload.enabled():
    _preload.preload()
