"""Many councils in one DAG run: each council's night is independent, and the hub puts
the good councils' figures side by side.

Three generated councils go through `dag.test()` (temporary AIRFLOW_HOME, SQLite) with
one plain CSC_WAREHOUSE, so each council gets its own DuckDB file. Council 997's night
misses a file (a critical fault): it is quarantined, the other two publish, and the run
fails (a council's failure is never hidden by the hub succeeding).
"""

from __future__ import annotations

import json

import duckdb
import pytest

from csc_pipeline import hub
from csc_pipeline.config import settings

COUNCILS = ("999", "998", "997")  # generate(la_codes=3)
BAD = "997"
GOOD = ("998", "999")


def _write_parquet(path, sql: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"copy ({sql}) to '{path}' (format parquet)")


def _point_latest(council_dir, night: str) -> None:
    (council_dir / "latest").unlink(missing_ok=True)
    (council_dir / "latest").symlink_to(night, target_is_directory=True)


def test_hub_unions_each_councils_latest_published_night(tmp_path, monkeypatch):
    monkeypatch.setenv("CSC_VAR_DIR", str(tmp_path / "var"))
    parquet = tmp_path / "var" / "parquet"
    # council 111: two nights, latest -> the second; council 222: la_code already a column
    _write_parquet(
        parquet / "111" / "2026-01-01" / "kpi_monthly.parquet", "select 'old' as kpi, 1.0 as value"
    )
    _write_parquet(
        parquet / "111" / "2026-01-02" / "kpi_monthly.parquet",
        "select * from (values ('a', 0.5), ('b', 0.25)) t(kpi, value)",
    )
    _point_latest(parquet / "111", "2026-01-02")
    _write_parquet(
        parquet / "222" / "2026-01-01" / "kpi_monthly.parquet",
        "select '222' as la_code, 'a' as kpi, 0.75 as value",
    )
    _point_latest(parquet / "222", "2026-01-01")
    # council 333 never published (no `latest`): not in the hub
    _write_parquet(
        parquet / "333" / "2026-01-02" / "kpi_monthly.parquet", "select 'a' as kpi, 9.0 as value"
    )

    summary = hub.build_hub(settings())

    rows = duckdb.sql(
        f"select la_code, kpi, value, strftime(published_export_date, '%Y-%m-%d') "
        f"from read_parquet('{tmp_path / 'var' / 'hub' / 'kpi_monthly.parquet'}') order by 1, 2"
    ).fetchall()
    assert rows == [
        ("111", "a", 0.5, "2026-01-02"),
        ("111", "b", 0.25, "2026-01-02"),
        ("222", "a", 0.75, "2026-01-01"),
    ]
    assert summary["councils"] == {"111": "2026-01-02", "222": "2026-01-01"}
    assert (
        json.loads((tmp_path / "var" / "hub" / "hub.json").read_text())["tables"]["kpi_monthly"][
            "rows"
        ]
        == 3
    )
    assert not list((tmp_path / "var" / "hub").glob(".*tmp"))


def test_hub_of_many_councils_streams_within_a_small_memory_cap(tmp_path, monkeypatch):
    """33 typical councils are 1.9 M kpi_monthly rows: sorting them in one query ran out
    of the per-process DuckDB cap (the round-5 hub benchmark). The hub streams the
    councils' rows instead (no sort), so a cap far below the rows' size still builds it,
    every council's rows once."""
    monkeypatch.setenv("CSC_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CSC_DUCKDB_MEMORY_LIMIT", "40MB")
    parquet = tmp_path / "var" / "parquet"
    codes = [str(c) for c in range(900, 912)]
    for code in codes:
        _write_parquet(
            parquet / code / "2026-01-02" / "kpi_monthly.parquet",
            f"select '{code}' as la_code, 'KPI' || (i % 40) as kpi_code, "
            "repeat('x', 40) || i as kpi_monthly_id, i * 1.5 as value from range(150000) t(i)",
        )
        _point_latest(parquet / code, "2026-01-02")
    summary = hub.build_hub(settings())
    assert summary["tables"]["kpi_monthly"]["rows"] == 12 * 150_000
    hub_file = tmp_path / "var" / "hub" / "kpi_monthly.parquet"
    counts = duckdb.sql(
        f"select la_code, count(*), count(distinct kpi_monthly_id) from read_parquet('{hub_file}') "
        "group by 1 order by 1"
    ).fetchall()
    assert counts == [(code, 150_000, 150_000) for code in codes]


def test_hub_refuses_a_council_folder_holding_another_councils_figures(tmp_path, monkeypatch):
    monkeypatch.setenv("CSC_VAR_DIR", str(tmp_path / "var"))
    parquet = tmp_path / "var" / "parquet"
    _write_parquet(
        parquet / "111" / "2026-01-01" / "kpi_monthly.parquet", "select '222' as la_code, 1 as v"
    )
    _point_latest(parquet / "111", "2026-01-01")
    with pytest.raises(ValueError, match="does not match"):
        hub.build_hub(settings())


# --- the whole DAG over three councils ------------------------------------------------


@pytest.fixture(scope="module")
def three_councils(tmp_path_factory, airflow_db):
    from airflow.dag_processing.dagbag import DagBag
    from conftest import REPO

    from csc_generator import generate

    root = tmp_path_factory.mktemp("many")
    exports = root / "exports"
    generate(
        exports,
        seed=3,
        referrals_per_year=500,
        years=1,
        nights=1,
        la_codes=len(COUNCILS),
        faults=[f"missing_file=ssd_cp_visits,la={BAD}"],
    )
    env = {
        "CSC_EXPORTS_ROOT": str(exports),
        "CSC_WAREHOUSE": str(root / "wh" / "csc.duckdb"),
        "CSC_VAR_DIR": str(root / "var"),
        "CSC_PSEUDONYM_KEY": "test-only-pseudonym-key-for-sample-councils",
    }
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    try:
        dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("csc_nightly")
        dr = dag.test(run_conf={"wait": False})
        states = _task_states(dr.dag_id, dr.run_id)
        yield {
            "root": root,
            "exports": exports,
            "var": root / "var",
            "state": str(dr.state),
            "states": states,
            "cfg": settings(),
        }
    finally:
        mp.undo()


def _task_states(dag_id: str, run_id: str) -> dict[tuple[str, int], str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        ).all()
        return {(ti.task_id, ti.map_index): str(ti.state) for ti in tis}


def _night(exports, la_code: str) -> str:
    return sorted(p.name for p in (exports / la_code).iterdir())[-1]


@pytest.mark.slow
def test_each_council_is_processed_independently(three_councils):
    states = three_councils["states"]
    by_council = {code: i for i, code in enumerate(sorted(COUNCILS))}  # list_councils() is sorted
    assert states[("council_night.land", by_council[BAD])] == "failed"
    assert states[("council_night.publish", by_council[BAD])] == "upstream_failed"
    for code in GOOD:
        assert states[("council_night.publish", by_council[code])] == "success", (code, states)
    assert states[("build_hub", -1)] == "success"
    assert states[("any_council_failed", -1)] == "failed"
    assert three_councils["state"] == "failed"  # the bad council is not hidden


@pytest.mark.slow
def test_one_warehouse_file_per_council(three_councils):
    cfg = three_councils["cfg"]
    files = {code: cfg.warehouse_for(code, multi=True) for code in COUNCILS}
    assert len(set(files.values())) == 3
    for code in GOOD:
        con = duckdb.connect(str(files[code]), read_only=True)
        try:
            assert con.execute(
                "select la_code, strftime(export_date, '%Y-%m-%d'), status from meta.nights"
            ).fetchall() == [(code, _night(three_councils["exports"], code), "published")]
            assert con.execute("select distinct _la_code from raw.ssd_person").fetchall() == [
                (code,)
            ]
        finally:
            con.close()
    assert not files[BAD].exists()  # nothing published for the quarantined night


@pytest.mark.slow
def test_bad_council_is_quarantined(three_councils):
    night = _night(three_councils["exports"], BAD)
    report = json.loads((three_councils["var"] / "quarantine" / BAD / f"{night}.json").read_text())
    assert report["stage"] == "landing"
    assert "ssd_cp_visits.csv" in report["message"]
    assert not (three_councils["var"] / "parquet" / BAD).exists()


@pytest.mark.slow
def test_hub_holds_the_good_councils_figures(three_councils):
    var = three_councils["var"]
    hub_file = var / "hub" / "kpi_monthly.parquet"
    con = duckdb.connect()
    assert {
        r[0] for r in con.execute(f"select distinct la_code from '{hub_file}'").fetchall()
    } == set(GOOD)
    for code in GOOD:
        own = var / "parquet" / code / "latest" / "kpi_monthly.parquet"
        columns = [r[0] for r in con.execute(f"describe select * from '{own}'").fetchall()]
        select = ", ".join(f'"{c}"' for c in columns)
        diff = con.execute(
            f"(select {select} from '{hub_file}' where la_code = '{code}' except all select {select} from '{own}') "
            f"union all (select {select} from '{own}' except all "
            f"select {select} from '{hub_file}' where la_code = '{code}')"
        ).fetchall()
        assert diff == [], f"hub rows of {code} differ from its published kpi_monthly"
        assert con.execute(f"select count(*) from '{own}'").fetchone()[0] > 0


@pytest.mark.slow
def test_parquet_copies_equal_the_published_marts(three_councils):
    """What BI tools read (var/parquet/<la>/latest/*.parquet) is exactly the warehouse's marts."""
    cfg = three_councils["cfg"]
    for code in GOOD:
        latest = cfg.parquet_dir / code / "latest"
        assert latest.is_symlink() and latest.resolve().name == _night(
            three_councils["exports"], code
        )
        con = duckdb.connect(str(cfg.warehouse_for(code, multi=True)), read_only=True)
        try:
            marts = [
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_schema = 'marts' and table_type = 'BASE TABLE' order by 1"
                ).fetchall()
            ]
            assert "kpi_monthly" in marts
            assert sorted(p.stem for p in latest.glob("*.parquet")) == marts
            for mart in marts:
                path = latest / f"{mart}.parquet"
                types_wh = con.execute(f"describe marts.{mart}").fetchall()
                types_pq = con.execute(f"describe select * from read_parquet('{path}')").fetchall()
                assert [r[:2] for r in types_pq] == [r[:2] for r in types_wh], mart
                diff = con.execute(
                    f"select count(*) from ((select * from marts.{mart} except all "
                    f"select * from read_parquet('{path}')) union all (select * from read_parquet('{path}') "
                    f"except all select * from marts.{mart}))"
                ).fetchone()[0]
                assert diff == 0, f"{code} {mart}: Parquet differs from the warehouse"
                assert (
                    con.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0]
                    == con.execute(f"select count(*) from marts.{mart}").fetchone()[0]
                )
        finally:
            con.close()
