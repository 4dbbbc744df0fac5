"""Shared test fixtures.

Airflow reads its configuration at import time, so a private AIRFLOW_HOME (SQLite
metadata DB) is set here before any test imports airflow. Nothing touches the
developer's own var/ folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="csc-airflow-test-"))

os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", "test-only-" + "x" * 64)
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("CSC_BOARD_PACK", "off")  # the DAG step renders the DQ page only;
# tests/test_board_pack.py renders the pack itself (a pack per DAG run costs ~10 s)
for var in (
    "CSC_EXPORTS_ROOT",
    "CSC_WAREHOUSE",
    "CSC_EXPORT_DATE",
    "CSC_LA_CODES",
    "CSC_PSEUDONYM_KEY",
    "CSC_COUNCILS_DIR",
    "CSC_SOURCE",
):
    os.environ.pop(var, None)
os.environ["CSC_VAR_DIR"] = str(_AIRFLOW_HOME / "var")


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite Airflow metadata DB for this test session."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    return _AIRFLOW_HOME


@pytest.fixture()
def csc_env(tmp_path, monkeypatch):
    """Point the pipeline's settings at a fresh exports root, warehouse and var dir."""
    exports = tmp_path / "exports"
    var = tmp_path / "var"
    warehouse = tmp_path / "warehouse" / "csc.duckdb"
    monkeypatch.setenv("CSC_EXPORTS_ROOT", str(exports))
    monkeypatch.setenv("CSC_VAR_DIR", str(var))
    monkeypatch.setenv("CSC_WAREHOUSE", str(warehouse))
    return {"exports": exports, "var": var, "warehouse": warehouse}


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> Path:
    """A small generated export set (council 999, 2 years of history, 3 nights), shared
    read-only by tests: copy it before modifying."""
    from csc_generator import generate

    root = tmp_path_factory.mktemp("sample-exports")
    generate(root, seed=7, referrals_per_year=1200, years=2, nights=3)
    return root


@pytest.fixture(scope="session")
def published_sample(small_sample, tmp_path_factory, airflow_db) -> dict:
    """The sample's first two nights run through the real DAG (`dag.test()`): a
    PUBLISHED warehouse and its var dir (quarantine notes, outbox), shared read-only by
    the tests that read what the pipeline publishes (dashboard). Two nights, so data-
    quality issues have a history (new, resolved)."""
    from airflow.dag_processing.dagbag import DagBag
    from helpers import copy_exports, night_dirs

    root = tmp_path_factory.mktemp("published-sample")
    first_two = [p.name for p in night_dirs(small_sample)[:2]]
    exports = copy_exports(small_sample, root / "exports", nights=first_two)
    env = {
        "CSC_EXPORTS_ROOT": str(exports),
        "CSC_WAREHOUSE": str(root / "wh" / "csc.duckdb"),
        "CSC_VAR_DIR": str(root / "var"),
    }
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    try:
        dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("csc_nightly")
        states = [
            str(dag.test(run_conf={"export_date": None, "wait": False}).state) for _ in first_two
        ]
    finally:
        mp.undo()
    assert states == ["success", "success"], states
    return {
        "root": root,
        "warehouse": root / "wh" / "csc.duckdb",
        "var": root / "var",
        "nights": first_two,
    }
