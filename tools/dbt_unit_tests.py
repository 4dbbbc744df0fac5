"""Run the dbt unit tests (every KPI definition) fast, with no data and no network.

    python tools/dbt_unit_tests.py [extra dbt args, e.g. --select fct_kpi_events]

dbt unit tests need their models' parents to exist in the warehouse (dbt reads their
column types), but not their data. So this builds, in a temporary DuckDB file, every
source table the sources YAML declares (empty, with its declared types), then ONE
`dbt build --empty` of the seeds and models (each an empty table; `--empty` reads no
rows) with the unit tests, skipping the data tests (no data to test). The warehouse and
dbt's target folder keep fixed paths under var/dbt-unit/ so that dbt's partial parsing
is reused from one run to the next (a new path would force a full parse). Used by
`make test-dbt-unit` (and so `make test-fast`); CI also runs the unit tests on a real
warehouse in tests/test_pipeline_e2e.py. Never `dbt deps`: the project has no packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = ROOT / "dbt_project"
AS_AT_DATE = "2024-05-15"  # any date: every unit test sets the as-at date it pins


def source_tables() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) -> [(column, type)] for every source of every YAML under models/."""
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for source in doc.get("sources") or []:
            schema = source.get("schema") or source["name"]
            for table in source.get("tables") or []:
                columns = [
                    (c["name"], c.get("data_type") or "varchar") for c in table.get("columns") or []
                ]
                tables[(schema, table.get("identifier") or table["name"])] = columns
    return tables


def create_empty_sources(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        for (schema, table), columns in source_tables().items():
            con.execute(f'create schema if not exists "{schema}"')
            body = ", ".join(f'"{name}" {kind}' for name, kind in columns) or "_empty varchar"
            con.execute(f'create table "{schema}"."{table}" ({body})')
    finally:
        con.close()


def main(argv: list[str]) -> int:
    dbt = Path(sys.executable).with_name("dbt")
    work = Path(os.environ.get("CSC_DBT_UNIT_DIR") or ROOT / "var" / "dbt-unit")
    work.mkdir(parents=True, exist_ok=True)
    warehouse = work / "unit.duckdb"
    for stale in (warehouse, warehouse.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    create_empty_sources(warehouse)
    env = {
        **os.environ,
        "CSC_DBT_WAREHOUSE": str(warehouse),
        "CSC_AS_AT_DATE": AS_AT_DATE,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_LOG_PATH": str(work / "logs"),
    }
    args = [
        str(dbt if dbt.exists() else "dbt"),
        "build",
        "--empty",
        "--exclude-resource-type",
        "test",
        "snapshot",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(work / "target"),
        *argv,
    ]
    return subprocess.run(args, cwd=DBT_PROJECT_DIR, env=env).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
