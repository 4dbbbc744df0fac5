"""csc_pipeline.preload: which Airflow processes import the task libraries at start
(the LocalExecutor's and Celery's task forkers, not the api-server or dag-processor).
That a forked task really starts with them is tests/test_scheduler.py's check."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO

from csc_pipeline import preload


@pytest.mark.parametrize(
    ("argv", "forks"),
    [
        (["airflow", "scheduler"], True),
        (["airflow", "celery", "worker", "--concurrency", "2"], True),
        (["airflow", "-v", "scheduler"], True),
        (["airflow", "api-server"], False),
        (["airflow", "dag-processor"], False),
        (["airflow", "triggerer"], False),
        (["airflow", "celery", "flower"], False),
        (["airflow", "tasks", "test"], False),
        (["python", "-m", "csc_pipeline.run"], False),
    ],
)
def test_only_the_task_forking_processes_preload(argv, forks):
    assert preload.forks_tasks(argv) is forks


def test_the_setting_turns_it_off(monkeypatch):
    monkeypatch.setenv(preload.ENV, "false")
    assert not preload.enabled(["airflow", "scheduler"])
    monkeypatch.setenv(preload.ENV, "true")
    assert preload.enabled(["airflow", "scheduler"])
    monkeypatch.delenv(preload.ENV)
    assert preload.enabled(["airflow", "scheduler"])  # on by default


def test_every_library_imports_and_airflow_is_not_among_them():
    """The hook runs while Airflow itself is being imported: nothing preloaded may import
    Airflow (it would be a circular import of a half-initialised airflow package)."""
    code = (
        "import sys; from csc_pipeline import preload; done = preload.preload(); "
        "assert set(done) == set(preload.LIBRARIES), set(preload.LIBRARIES) - set(done); "
        "assert not [m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')]; "
        "print(len(preload.already_imported()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO / "include"), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout) == len(preload.LIBRARIES)


def test_make_run_preloads_before_its_dag_runs_unless_turned_off(monkeypatch, capsys):
    """dag.test() runs the tasks in `make run`'s own process: it preloads as the
    scheduler does, so its DAG runs are timed as a scheduler's would be."""
    from csc_pipeline import run

    calls = []
    monkeypatch.setattr(preload, "preload", lambda: calls.append(1) or {})
    monkeypatch.setenv(preload.ENV, "false")
    run.preload_task_libraries()
    assert calls == []
    monkeypatch.setenv(preload.ENV, "true")
    run.preload_task_libraries()
    assert calls == [1]
    assert "Task libraries preloaded" in capsys.readouterr().out
