"""Configuration errors fail the task at once (no retries), naming the setting.

Before: a real council without CSC_PSEUDONYM_KEY made the night sit through two retries
5 and 10 minutes apart before failing. Now the run's first task checks the profiles and
the key, and the extract names an unconfigured connection; each fails on its first try.
"""

from __future__ import annotations

import time

import pytest
from conftest import REPO

from csc_pipeline.config import ConfigError

pytestmark = pytest.mark.slow


def _dag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags")).get_dag("csc_nightly")


def _run() -> tuple[dict, float]:
    t0 = time.perf_counter()
    dr = _dag().test(run_conf={"export_date": None, "wait": False})
    tis = {ti.task_id: ti for ti in dr.get_task_instances()}
    return {"dr": dr, "tis": tis}, time.perf_counter() - t0


def _failed_once(run: dict, task_id: str) -> None:
    ti = run["tis"][task_id]
    assert str(ti.state) == "failed", {k: str(v.state) for k, v in run["tis"].items()}
    assert ti.try_number == 1  # no retry was attempted
    assert str(run["dr"].state) == "failed"


@pytest.fixture()
def council_301(csc_env, tmp_path, monkeypatch):
    """A non-sample council with a night folder (contents never read: config fails first)."""
    night = csc_env["exports"] / "301" / "2026-11-20"
    night.mkdir(parents=True)
    (night / "manifest.json").write_text("{}")
    councils = tmp_path / "councils"
    councils.mkdir()
    monkeypatch.setenv("CSC_COUNCILS_DIR", str(councils))
    monkeypatch.delenv("CSC_PSEUDONYM_KEY", raising=False)
    return {**csc_env, "councils": councils}


def test_missing_pseudonym_key_fails_the_run_at_once(council_301, airflow_db):
    from csc_pipeline.councils import check_configuration

    with pytest.raises(ConfigError, match="CSC_PSEUDONYM_KEY is not set.*council 301"):
        check_configuration()
    run, seconds = _run()
    _failed_once(run, "list_councils")
    assert seconds < 300  # under the first retry delay (5 min); was: 2 retries, 15 min


def test_bad_profile_fails_the_run_at_once_naming_file_and_line(council_301, airflow_db):
    from csc_pipeline.councils import check_configuration

    (council_301["councils"] / "301.yml").write_text("delivery: database\nconection_id: x\n")
    with pytest.raises(ConfigError, match=r"301\.yml:2: conection_id: unknown key"):
        check_configuration()
    run, _ = _run()
    _failed_once(run, "list_councils")


def test_unconfigured_connection_fails_the_extract_at_once(council_301, airflow_db, monkeypatch):
    (council_301["councils"] / "302.yml").write_text("source_system: eclipse\ndelivery: database\n")
    monkeypatch.setenv("CSC_PSEUDONYM_KEY", "test-only-key-0123456789")
    monkeypatch.delenv("AIRFLOW_CONN_CSC_SSD_302", raising=False)
    monkeypatch.setenv("CSC_LA_CODES", "302")
    run, _ = _run()
    assert str(run["tis"]["list_councils"].state) == "success"
    _failed_once(run, "council_night.extract")
