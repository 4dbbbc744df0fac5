"""One dbt project, two warehouses: DuckDB (default) and PostgreSQL (server option).

The same generated night is landed, validated and built in DuckDB by the pipeline's own
steps, then copied to a fresh PostgreSQL database by csc_pipeline.server_warehouse and
built there with `dbt build --target postgres`. The Improvement Board's figures
(marts.kpi_monthly) must be identical on both.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from airflow_cluster import (
    PG_HOST,
    PG_PASSWORD,
    PG_PORT,
    PG_USER,
    drop_database,
    postgres_unavailable_reason,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def two_targets(small_sample, tmp_path_factory):
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from helpers import copy_exports, pipeline_env

    from csc_pipeline import server_warehouse
    from csc_pipeline.config import settings
    from csc_pipeline.steps import build, discover, land, validate

    root = tmp_path_factory.mktemp("two-targets")
    exports = copy_exports(small_sample, root / "exports")
    mp = pytest.MonkeyPatch()
    for k, v in pipeline_env(exports, root).items():
        mp.setenv(k, v)
    pg = server_warehouse.PgSettings(
        PG_HOST, PG_PORT, PG_USER, PG_PASSWORD, f"csc_two_targets_{secrets.token_hex(4)}"
    )
    try:
        cfg = settings()
        ref = discover.select_night("999", cfg=cfg)
        ref = build.run(validate.run(land.run(ref, cfg), cfg), cfg)  # the DuckDB target
        result = server_warehouse.build_on_postgres(
            Path(ref["work"]), "999", ref["export_date"], pg
        )
        yield {"duckdb": Path(ref["work"]), "pg": pg, "result": result}
    finally:
        mp.undo()
        drop_database(pg.database)


def _normalise(value):
    if isinstance(value, Decimal | float):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sort_key(row):
    """Order rows the same way on both targets (an integer on one may be numeric on the other)."""

    def key(v):
        if v is None:
            return (0, "")
        if isinstance(v, int | float) and not isinstance(v, bool):
            return (1, f"{float(v):.6e}")
        return (2, str(v))

    return tuple(key(v) for v in row)


def _rows_duckdb(path, table: str) -> tuple[list[str], list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' "
                "and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
        ]
        rows = con.execute(f"select * from marts.{table}").fetchall()
    finally:
        con.close()
    return columns, sorted((tuple(_normalise(v) for v in r) for r in rows), key=_sort_key)


def _rows_postgres(pg, table: str, columns: list[str]) -> list[tuple]:
    import psycopg

    with psycopg.connect(pg.conninfo()) as con:
        select = ", ".join(f'"{c}"' for c in columns)
        rows = con.execute(f"select {select} from marts.{table}").fetchall()
    return sorted((tuple(_normalise(v) for v in r) for r in rows), key=_sort_key)


def _assert_same(table: str, columns: list[str], left: list[tuple], right: list[tuple]) -> None:
    assert len(left) == len(right), f"{table}: {len(left)} rows on duckdb, {len(right)} on postgres"
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        for column, x, y in zip(columns, a, b, strict=True):
            if isinstance(x, float) and isinstance(y, float | int):
                same = math.isclose(x, float(y), rel_tol=TOLERANCE, abs_tol=TOLERANCE)
            elif isinstance(x, int) and isinstance(y, float):
                same = math.isclose(float(x), y, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
            else:
                same = x == y
            assert same, (
                f"{table} row {i} column {column}: duckdb {x!r} != postgres {y!r}\n{a}\n{b}"
            )


def test_marts_built_on_postgres(two_targets):
    import psycopg

    with psycopg.connect(two_targets["pg"].conninfo()) as con:
        marts = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        raw = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
    assert "kpi_monthly" in marts
    assert "person_pseudonyms" in raw and "ssd_person" in raw
    assert two_targets["result"]["rows_copied"] > 0


def test_kpi_monthly_identical_on_both_targets(two_targets):
    columns, on_duckdb = _rows_duckdb(two_targets["duckdb"], "kpi_monthly")
    on_postgres = _rows_postgres(two_targets["pg"], "kpi_monthly", columns)
    assert on_duckdb, "kpi_monthly is empty"
    _assert_same("kpi_monthly", columns, on_duckdb, on_postgres)


def test_every_mart_identical_on_both_targets(two_targets):
    con = duckdb.connect(str(two_targets["duckdb"]), read_only=True)
    try:
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
    finally:
        con.close()
    for mart in marts:
        columns, on_duckdb = _rows_duckdb(two_targets["duckdb"], mart)
        _assert_same(mart, columns, on_duckdb, _rows_postgres(two_targets["pg"], mart, columns))
