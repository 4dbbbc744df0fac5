"""Database delivery: a council's SSD on PostgreSQL (OLM Eclipse's shape) -> night folder.

One SSD database per module (random name, dropped after), loaded with the generator's
loader from the Eclipse flavour of the shared small sample's last night (same seed: the
same simulated records, written as Eclipse's SSD holds them), plus that night's
case_audits (the SSD has none: a council's QA feed kept beside it). The direct tests
drive `steps.extract.extract_night`; the slow one runs the whole night under
`dag.test()` in database mode and compares marts.kpi_monthly with the canonical
flavour of the same night delivered as files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from airflow_cluster import PG_HOST, PG_PASSWORD, PG_PORT, PG_USER, postgres_unavailable_reason
from conftest import REPO
from helpers import copy_exports, night_dirs

from csc_pipeline import contract, nights
from csc_pipeline.profile import CouncilProfile

PROFILE = CouncilProfile(la_code="999", source_system="eclipse", delivery="database")


def _url(database: str, driver: str = "postgresql") -> str:
    password = f":{PG_PASSWORD}" if PG_PASSWORD else ""
    return f"{driver}://{PG_USER}{password}@{PG_HOST}:{PG_PORT}/{database}"


@pytest.fixture(scope="module")
def ssd_db(small_sample, tmp_path_factory):
    """An SSD database in the Eclipse shape holding the sample's last night."""
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    import secrets

    from csc_generator import generate, ssd_database

    canonical = night_dirs(small_sample)[-1]
    root = tmp_path_factory.mktemp("eclipse-flavour")
    generate(root, seed=7, referrals_per_year=1200, years=2, nights=1, flavour="eclipse")
    night = night_dirs(root)[-1]
    assert night.name == canonical.name
    name = f"csc_ssd_test_{secrets.token_hex(4)}"
    url = _url(name)
    ssd_database.create_database(url)
    try:
        counts = ssd_database.load_night(night, url, audits_from=canonical)
        yield {"url": url, "name": name, "night": night, "counts": counts}
    finally:
        ssd_database.drop_database(url)


@pytest.fixture()
def engine(ssd_db):
    import sqlalchemy

    eng = sqlalchemy.create_engine(ssd_db["url"].replace("postgresql://", "postgresql+psycopg://"))
    yield eng
    eng.dispose()


def _extract(engine, root: Path, export_date: str, **kw) -> dict:
    from csc_pipeline.steps.extract import extract_night

    return extract_night(engine, PROFILE, root, export_date, conn_id="csc_ssd_test", **kw)


@pytest.mark.postgres
def test_database_has_the_eclipse_shape(ssd_db, engine):
    from sqlalchemy import inspect

    insp = inspect(engine)
    person = {c["name"]: c for c in insp.get_columns("ssd_person")}
    assert str(person["pers_dob"]["type"]) == "TIMESTAMP"
    assert {"pers_forename", "pers_surname", "pers_upn", "pers_single_unique_id"} <= set(person)
    assert "pers_common_child_id" not in person  # renamed in SSD v1.4
    assert all(c["nullable"] for n, c in person.items() if n != "pers_person_id")
    assert "cine_referral_outcome_json" in {c["name"] for c in insp.get_columns("ssd_cin_episodes")}
    assert ssd_db["counts"]["ssd_person"] > 1000


@pytest.mark.postgres
def test_extract_writes_the_contract_folder(ssd_db, engine, tmp_path):
    from csc_generator.ssd_database import JSON_MARKER

    night = ssd_db["night"]
    result = _extract(engine, tmp_path, night.name, chunk_rows=700)
    folder = tmp_path / "999" / night.name
    assert result["skipped"] is False and Path(result["path"]) == folder
    assert [n.export_date for n in nights.complete_nights(tmp_path, "999")] == [night.name]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [t.file_name for t in contract.TABLES] + [contract.MANIFEST_NAME]
    )
    assert not list((tmp_path / "999").glob(".*"))  # no temporary folder left
    manifest = json.loads((folder / "manifest.json").read_text())
    source = manifest["source"]
    assert (manifest["la_code"], manifest["export_date"], manifest["contract_version"]) == (
        "999",
        night.name,
        "1",
    )
    assert source["delivery"] == "database" and source["system"] == "eclipse"
    assert (source["ssd_version"], source["ssd_version_from"]) == ("1.4.5", "profile")
    assert source["dialect"] == "postgresql" and source["connection_id"] == "csc_ssd_test"
    assert source["query_started_at"] <= source["query_finished_at"]
    assert "pers_common_child_id" in source["tables"]["ssd_person"]["columns_not_in_source"]
    assert {"pers_forename", "pers_surname", "pers_single_unique_id"} <= set(
        source["tables"]["ssd_person"]["columns_not_extracted"]
    )

    from csc_pipeline.landing import sha256_file

    for table in contract.TABLES:
        entry = manifest["files"][table.file_name]
        data = (folder / table.file_name).read_text(encoding="utf-8")
        assert sha256_file(folder / table.file_name) == entry["sha256"]
        assert len(data.splitlines()) - 1 == entry["rows"] == ssd_db["counts"][table.name]
        header = data.splitlines()[0].split(",")
        assert not {"pers_forename", "pers_surname"} & set(header)
        assert not [h for h in header if h.endswith("_json")], table.name
        assert JSON_MARKER not in data, table.name
    # the children's names in the database never reach a file
    import psycopg

    with psycopg.connect(ssd_db["url"]) as con:
        names = {r[0] for r in con.execute("select pers_surname from ssd_person")}
    person = (folder / "ssd_person.csv").read_text()
    assert names and not [n for n in names if n and f",{n}," in person]
    # dates as the contract's ISO dates; the UPN under its SSD name
    header = person.splitlines()[0].split(",")
    assert "pers_upn" in header and "pers_dob" in header
    dob = [r.split(",")[header.index("pers_dob")] for r in person.splitlines()[1:50]]
    assert all(len(d) in (0, 10) for d in dob), dob


@pytest.mark.postgres
def test_rerun_of_a_complete_night_replaces_nothing(ssd_db, engine, tmp_path):
    from helpers import file_hashes

    night = ssd_db["night"].name
    _extract(engine, tmp_path, night)
    before = file_hashes(tmp_path)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "999" / night).iterdir()}
    again = _extract(engine, tmp_path, night)
    assert again["skipped"] is True
    assert file_hashes(tmp_path) == before
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "999" / night).iterdir()} == stamps


KILL_SCRIPT = """
import sys, time
from pathlib import Path
import sqlalchemy
from csc_pipeline.profile import CouncilProfile
from csc_pipeline.steps.extract import extract_night

def progress(table, rows):
    print(table, rows, flush=True)
    time.sleep(0.05)

engine = sqlalchemy.create_engine(sys.argv[1])
profile = CouncilProfile(la_code="999", source_system="eclipse", delivery="database")
extract_night(engine, profile, Path(sys.argv[2]), sys.argv[3], chunk_rows=500, progress=progress)
print("DONE", flush=True)
"""


@pytest.mark.postgres
def test_killed_extract_leaves_no_complete_night_and_a_rerun_succeeds(ssd_db, engine, tmp_path):
    night = ssd_db["night"].name
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'include'}:{REPO / 'tools'}"}
    url = ssd_db["url"].replace("postgresql://", "postgresql+psycopg://")
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILL_SCRIPT), url, str(tmp_path), night],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen = []
    try:
        for line in proc.stdout:  # mid-stream: the big involvements table, after 2 chunks
            seen.append(line.split()[0])
            if line.startswith("ssd_involvements 1000"):
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, seen[-3:]
    assert "ssd_person" in seen and "DONE" not in seen
    council = tmp_path / "999"
    assert not (council / night).exists()
    assert nights.complete_nights(tmp_path, "999") == []
    leftovers = list(council.glob(f".{night}.extract-*"))
    assert len(leftovers) == 1 and not (leftovers[0] / contract.MANIFEST_NAME).exists()
    assert (leftovers[0] / "ssd_person.csv").is_file()  # it really was half-way

    result = _extract(engine, tmp_path, night)
    assert result["skipped"] is False
    assert [n.export_date for n in nights.complete_nights(tmp_path, "999")] == [night]
    assert not list(council.glob(".*"))  # the killed attempt's folder is gone


@pytest.mark.postgres
def test_columns_are_selected_by_name_never_star(ssd_db, engine, tmp_path):
    """A column the SSD gains later (here: one holding names) is not read."""
    from csc_pipeline.steps.extract import is_never_selected, wanted_columns

    for table in contract.TABLES:
        wanted = wanted_columns(table.name)
        assert not [c for c in wanted if is_never_selected(c)]
        assert set(table.warehouse_columns) <= set(wanted)
    import psycopg

    with psycopg.connect(ssd_db["url"]) as con:
        con.execute("alter table ssd_department add column dept_manager_name varchar(100)")
        con.execute("update ssd_department set dept_manager_name = 'Corvin Saltmarsh'")
    try:
        _extract(engine, tmp_path, ssd_db["night"].name)
        folder = tmp_path / "999" / ssd_db["night"].name
        assert "Corvin Saltmarsh" not in (folder / "ssd_department.csv").read_text()
        meta = json.loads((folder / "manifest.json").read_text())["source"]["tables"]
        assert meta["ssd_department"]["columns_not_extracted"] == ["dept_manager_name"]
    finally:
        with psycopg.connect(ssd_db["url"]) as con:
            con.execute("alter table ssd_department drop column dept_manager_name")


@pytest.mark.postgres
def test_wrong_schema_or_missing_table_is_a_config_error(engine, tmp_path):
    from csc_pipeline.steps.extract import ExtractConfigError, extract_night

    wrong = CouncilProfile(
        la_code="999", source_system="systemc", delivery="database"
    )  # default schema ssd_development: not where Eclipse's tables are
    with pytest.raises(ExtractConfigError, match="ssd_development") as err:
        extract_night(engine, wrong, tmp_path, "2026-11-20")
    assert "ssd_schema" in str(err.value) and "tables_not_supplied" in str(err.value)
    assert not (tmp_path / "999" / "2026-11-20").exists()
    assert not list((tmp_path / "999").glob(".*"))


def test_unconfigured_connection_fails_naming_the_setting(monkeypatch):
    from csc_pipeline.steps.extract import ExtractConfigError, engine_for

    monkeypatch.delenv("AIRFLOW_CONN_CSC_SSD_999", raising=False)
    with pytest.raises(ExtractConfigError, match="AIRFLOW_CONN_CSC_SSD_999") as err:
        engine_for("csc_ssd_999", PROFILE)
    assert "'csc_ssd_999' is not configured" in str(err.value)


# --- the whole night under dag.test(): database mode == folder mode --------------------


def _dag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags")).get_dag("csc_nightly")


# What Eclipse's SSD cannot supply (ssd-as-deployed.md): the agency flag is a NULL
# placeholder in every SSD, FTE is NULL in Eclipse. (Audits come from the QA feed.)
NOT_SUPPLIED = {"AGENCY_RATE", "CASELOAD_PER_FTE"}


def _kpi_monthly(warehouse: Path) -> dict[tuple, tuple]:
    """(kpi_code, month_start, team) -> every other column of marts.kpi_monthly."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rel = con.sql("select * from marts.kpi_monthly")
        columns = rel.columns
        rows = rel.fetchall()
    finally:
        con.close()
    key = [columns.index(c) for c in ("kpi_code", "month_start", "team_id")]
    return {tuple(r[i] for i in key): dict(zip(columns, r, strict=True)) for r in rows}


def _task_states(dr) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}


@pytest.mark.slow
@pytest.mark.postgres
def test_night_in_database_mode_gives_the_figures_of_the_file_drop(
    ssd_db, small_sample, tmp_path, monkeypatch, airflow_db
):
    night = ssd_db["night"].name
    runs = {}
    for mode in ("folder", "database"):
        root = tmp_path / mode
        councils = root / "councils"
        councils.mkdir(parents=True)
        exports = root / "exports"
        if mode == "folder":
            copy_exports(small_sample, exports, nights=[night])
        else:
            (councils / "999.yml").write_text(
                "source_system: eclipse\ndelivery: database\nconnection_id: csc_ssd_test\n"
            )
            monkeypatch.setenv("AIRFLOW_CONN_CSC_SSD_TEST", ssd_db["url"])
        monkeypatch.setenv("CSC_EXPORTS_ROOT", str(exports))
        monkeypatch.setenv("CSC_WAREHOUSE", str(root / "wh" / "csc.duckdb"))
        monkeypatch.setenv("CSC_VAR_DIR", str(root / "var"))
        monkeypatch.setenv("CSC_COUNCILS_DIR", str(councils))
        dr = _dag().test(run_conf={"export_date": night, "wait": False})
        runs[mode] = (dr, root)
        assert str(dr.state) == "success", _task_states(dr)

    folder_states = _task_states(runs["folder"][0])
    db_states = _task_states(runs["database"][0])
    assert folder_states["council_night.extract"] == "skipped"
    assert folder_states["council_night.publish"] == "success"
    assert db_states["council_night.extract"] == "success"
    assert db_states["council_night.publish"] == "success"
    extracted = runs["database"][1] / "exports" / "999" / night
    assert json.loads((extracted / "manifest.json").read_text())["source"]["delivery"] == (
        "database"
    )

    files = _kpi_monthly(runs["folder"][1] / "wh" / "csc.duckdb")
    database = _kpi_monthly(runs["database"][1] / "wh" / "csc.duckdb")
    supplied = {k: v for k, v in files.items() if k[0] not in NOT_SUPPLIED}
    assert len(supplied) > 100
    assert {k: v for k, v in database.items() if k[0] not in NOT_SUPPLIED} == supplied
    missing = [v for k, v in database.items() if k[0] in NOT_SUPPLIED]
    assert {v["kpi_code"] for v in missing} == NOT_SUPPLIED
    for row in missing:  # null with the reason, never 0
        assert row["value"] is None and row["numerator"] is None, row
        assert row["unavailable_reason"], row


def test_values_rendered_as_the_contract_reads_them():
    import datetime as dt
    from decimal import Decimal

    from csc_pipeline.steps.extract import render

    assert render(None) == ""
    assert render(dt.datetime(2024, 12, 10)) == "2024-12-10"
    assert render(dt.datetime(2024, 12, 10, 9, 30, 5)) == "2024-12-10 09:30:05"
    assert render(dt.date(1900, 1, 1)) == "1900-01-01"  # placeholders kept: staging's job
    assert render(Decimal("0.80")) == "0.80" and render(0.5) == "0.5" and render(7) == "7"
    assert render(True) == "Y" and render(False) == "N"
    assert render("NULL") == "NULL" and render(" Neglect ") == " Neglect "  # as held


def test_default_export_date_is_the_day_before_the_run_in_the_council_time_zone():
    from csc_pipeline.steps.extract import default_export_date

    assert default_export_date("2026-11-22T02:30:00+00:00", "Europe/London") == "2026-11-21"
    # 00:30 BST on 1 July is still 30 June in UTC: the London date counts
    assert default_export_date("2026-06-30T23:30:00+00:00", "Europe/London") == "2026-06-30"


def test_sql_server_query_names_every_column():
    """SystemC / Mosaic (SQL Server, schema ssd_development): the same named SELECT."""
    from sqlalchemy.dialects import mssql

    from csc_pipeline.steps.extract import TablePlan, wanted_columns

    cols = [(c, c) for c in wanted_columns("ssd_person")]
    plan = TablePlan("ssd_person", "ssd_person", cols, "pers_person_id")
    sql = str(plan.query("ssd_development").compile(dialect=mssql.dialect()))
    assert "*" not in sql and "pers_forename" not in sql and "pers_surname" not in sql
    assert "FROM ssd_development.ssd_person ORDER BY pers_person_id" in " ".join(sql.split())
    assert "pers_upn" in sql and "pers_dob" in sql
