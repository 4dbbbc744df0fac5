"""The server warehouse option: the same marts, built by the same dbt project, on PostgreSQL.

For councils whose BI tools need a database server rather than a DuckDB file. After a
night is built (or published) in DuckDB:

1. every table dbt reads as a source (raw.* incl. raw.person_pseudonyms, meta.*, as
   declared in dbt_project/models/**/_*sources.yml) is copied from the council's DuckDB
   file into the same schema.table on PostgreSQL, in ONE transaction (PostgreSQL DDL is
   transactional: readers see the previous night or the new one, never half);
2. `dbt build --target postgres` builds staging, intermediate, snapshots and marts there
   (seeds are loaded by dbt itself).

The copy goes through psycopg's COPY protocol, row batches read from a read-only DuckDB
connection: DuckDB's own `postgres` extension would be simpler but must be downloaded
from the internet at first use, which a council server may not allow. Pseudonyms are
copied already computed (the key never leaves the landing step).

Settings (environment): CSC_PG_HOST (127.0.0.1), CSC_PG_PORT (5432), CSC_PG_USER
(postgres), CSC_PG_PASSWORD (empty), CSC_PG_DATABASE (csc_{la_code}; `{la_code}` gives one
database per council, created when missing), CSC_SERVER_WAREHOUSE=postgres to switch
the DAG's server_warehouse task on.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from csc_pipeline import warehouse as wh
from csc_pipeline.config import DBT_PROJECT_DIR

log = logging.getLogger(__name__)

BATCH_ROWS = 50_000
_SIMPLE_TYPES = {
    "VARCHAR": "text",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIME": "time",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "TINYINT": "smallint",
    "UBIGINT": "numeric(20, 0)",
    "UINTEGER": "bigint",
    "HUGEINT": "numeric(38, 0)",
    "BOOLEAN": "boolean",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "UUID": "uuid",
    "BLOB": "bytea",
}


@dataclass(frozen=True)
class PgSettings:
    host: str
    port: int
    user: str
    password: str
    database: str

    def conninfo(self, database: str | None = None) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=database or self.database,
            connect_timeout=10,
            application_name="csc_pipeline",
        )

    def dbt_env(self) -> dict[str, str]:
        """What dbt_project/profiles.yml reads for the postgres target."""
        return {
            "CSC_PG_HOST": self.host,
            "CSC_PG_PORT": str(self.port),
            "CSC_PG_USER": self.user,
            "CSC_PG_PASSWORD": self.password,
            "CSC_PG_DATABASE": self.database,
        }


def pg_settings(la_code: str) -> PgSettings:
    database = os.environ.get("CSC_PG_DATABASE") or "csc_{la_code}"
    return PgSettings(
        host=os.environ.get("CSC_PG_HOST") or "127.0.0.1",
        port=int(os.environ.get("CSC_PG_PORT") or 5432),
        user=os.environ.get("CSC_PG_USER") or "postgres",
        password=os.environ.get("CSC_PG_PASSWORD") or "",
        database=database.format(la_code=la_code),
    )


def pg_type(duckdb_type: str) -> str:
    """PostgreSQL column type for a DuckDB type name (information_schema.columns.data_type)."""
    t = duckdb_type.upper().strip()
    if t.endswith("[]"):
        return pg_type(t[:-2]) + "[]"
    if m := re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", t):
        return f"numeric({m.group(1)}, {m.group(2)})"
    if t.startswith("VARCHAR"):
        return "text"
    if t in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[t]
    raise ValueError(f"no PostgreSQL type for DuckDB type {duckdb_type!r}")


def source_tables(project_dir: Path = DBT_PROJECT_DIR) -> list[tuple[str, str]]:
    """(schema, table) of every dbt source: what the warehouse must hold before dbt runs."""
    out: list[tuple[str, str]] = []
    for path in sorted((project_dir / "models").rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in data.get("sources") or []:
            schema = source.get("schema") or source["name"]
            for table in source.get("tables") or []:
                out.append((schema, table.get("identifier") or table["name"]))
    return sorted(set(out))


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def ensure_database(pg: PgSettings) -> bool:
    """Create the council's database when missing; True when it was created."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as con:
        exists = con.execute(
            "select 1 from pg_database where datname = %s", [pg.database]
        ).fetchone()
        if exists:
            return False
        con.execute(sql.SQL("create database {}").format(sql.Identifier(pg.database)))
        log.info("created database %s on %s:%s", pg.database, pg.host, pg.port)
        return True


def copy_sources(
    warehouse: Path, pg: PgSettings, tables: list[tuple[str, str]] | None = None
) -> dict[str, int]:
    """Copy the dbt source tables from a DuckDB file to PostgreSQL in one transaction.

    Each table is dropped and recreated with the DuckDB column types mapped to
    PostgreSQL's, so the PostgreSQL copy is exactly the night in the DuckDB file.
    Returns rows copied per "schema.table".
    """
    import psycopg

    wanted = tables if tables is not None else source_tables()
    copied: dict[str, int] = {}
    with wh.connect(warehouse, read_only=True) as src:
        present = {
            (s, t)
            for s, t in src.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_type = 'BASE TABLE'"
            ).fetchall()
        }
        missing = [f"{s}.{t}" for s, t in wanted if (s, t) not in present]
        if missing:
            log.warning("source tables not in %s (not copied): %s", warehouse, missing)
        with psycopg.connect(pg.conninfo()) as dst:  # one transaction, committed on exit
            for schema in sorted({s for s, t in wanted if (s, t) in present}):
                dst.execute(f"create schema if not exists {_quote(schema)}")
            for schema, table in wanted:
                if (schema, table) not in present:
                    continue
                columns = src.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                name = f"{_quote(schema)}.{_quote(table)}"
                column_ddl = ", ".join(f"{_quote(c)} {pg_type(t)}" for c, t in columns)
                dst.execute(f"drop table if exists {name} cascade")
                dst.execute(f"create table {name} ({column_ddl})")
                column_list = ", ".join(_quote(c) for c, _ in columns)
                result = src.execute(f"select {column_list} from {name}")
                rows = 0
                with dst.cursor().copy(f"copy {name} ({column_list}) from stdin") as copy:
                    while batch := result.fetchmany(BATCH_ROWS):
                        for row in batch:
                            copy.write_row(row)
                        rows += len(batch)
                copied[f"{schema}.{table}"] = rows
            dst.execute("analyze")  # fresh statistics for dbt's joins
    log.info("copied %d tables (%d rows) to %s", len(copied), sum(copied.values()), pg.database)
    return copied


def _night_in(warehouse: Path) -> tuple[str | None, str | None]:
    """(la_code, export date) of the night in a warehouse's raw layer."""
    with wh.connect(warehouse, read_only=True) as con:
        row = con.execute(
            "select any_value(_la_code), strftime(max(_export_date), '%Y-%m-%d') from raw.ssd_person"
        ).fetchone()
    return row[0], row[1]


def build_on_postgres(
    warehouse: Path,
    la_code: str,
    export_date: str,
    pg: PgSettings | None = None,
    *,
    dbt_command: str = "build",
) -> dict:
    """Land the night of a council's DuckDB file on PostgreSQL and build the marts there."""
    from csc_pipeline.dbt_runner import run_dbt

    pg = pg or pg_settings(la_code)
    night = _night_in(warehouse)
    if night != (la_code, export_date):
        raise ValueError(f"{warehouse} holds night {night}, not ({la_code!r}, {export_date!r})")
    created = ensure_database(pg)
    copied = copy_sources(warehouse, pg)
    result = run_dbt(
        dbt_command,
        warehouse=warehouse,
        la_code=la_code,
        export_date=export_date,
        target="postgres",
        target_path=warehouse.parent / "dbt_target" / f"{la_code}-postgres",
        # dbt's unit tests check the definitions, not the night: they run on DuckDB in CI
        # (their fixtures are written in DuckDB's types), as the nightly build skips them
        extra_args=["--exclude", "test_type:unit"],
        env=pg.dbt_env(),
    )
    return {
        "database": pg.database,
        "host": pg.host,
        "created": created,
        "rows_copied": sum(copied.values()),
        "tables_copied": len(copied),
        "dbt": result.summary(),
    }


def load_published(ref: dict) -> dict:
    """DAG step: after publish, mirror the council's published night on PostgreSQL."""
    return build_on_postgres(Path(ref["warehouse"]), ref["la_code"], ref["export_date"])
