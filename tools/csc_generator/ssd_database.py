"""Load a generated night into PostgreSQL as OLM Eclipse's SSD deployment holds it.

For demos and tests of database delivery (csc_pipeline.steps.extract): the `ssd_*`
tables with the shape D2I's Eclipse PostgreSQL scripts create
(data-to-insight/ssd-data-model, deployment_extracts/eclipse/live/
ssd_deployment_individual_files/ssd_<table>.sql; column list as in
analysis/ddl_reference/ssd_ddl_reference_eclipse.csv): TIMESTAMP dates, CHAR(1)
flags, VARCHAR codes, every column nullable except the primary key, and the SSD-only
columns present - including the children's names and the free-text `*_json` outcome
columns that extract must never select (they are filled with a recognisable marker so a
test can prove it).

The source is a night folder written by the generator: the `eclipse` flavour when
written with it (values already as Eclipse holds them), or the canonical one. Values
are converted only as far as the column types force a database to: dates parsed (any
accepted contract format or ISO with `T`), flags to Y/N, numbers to numbers, and
empty fields or the text NULL (a file export's way of writing NULL) to NULL. The
canonical `pers_common_child_id` (the UPN) goes to `pers_upn`. Like the
SSD's own refresh, each load replaces the tables (drop, create, COPY).

`case_audits` is not an SSD table; with include_audits it is loaded beside the SSD as
a plain all-text table (a council keeping its QA tool's export in the same database).

    python -m csc_generator.ssd_database --night var/exports/999/2026-11-20 \\
        --url postgresql://postgres@127.0.0.1:5432/ssd_demo --create-database
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from csc_pipeline import contract

# Free-text outcome JSON as the SSD builds it (including COMMENTS): a marker no pipeline
# output may ever contain.
JSON_MARKER = "SSD-FREE-TEXT-NEVER-EXTRACT"
JSON_VALUE = '{"OUTCOME_COMMENTS": "' + JSON_MARKER + ' case note text", "NFA_FLAG": "N"}'

# (column, PostgreSQL type) per table, in the scripts' column order; the first column
# of each list named as the contract's primary key is the PRIMARY KEY.
ECLIPSE_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "ssd_person": (
        ("pers_legacy_id", "varchar(48)"),
        ("pers_person_id", "varchar(48)"),
        ("pers_upn", "varchar(13)"),
        ("pers_forename", "varchar(100)"),
        ("pers_surname", "varchar(255)"),
        ("pers_sex", "varchar(20)"),
        ("pers_gender", "varchar(10)"),
        ("pers_ethnicity", "varchar(48)"),
        ("pers_dob", "timestamp"),
        ("pers_single_unique_id", "varchar(48)"),
        ("pers_upn_unknown", "varchar(6)"),
        ("pers_send_flag", "char(5)"),
        ("pers_expected_dob", "timestamp"),
        ("pers_death_date", "timestamp"),
        ("pers_is_mother", "char(1)"),
        ("pers_nationality", "varchar(48)"),
    ),
    "ssd_department": (
        ("dept_team_id", "varchar(48)"),
        ("dept_team_name", "varchar(255)"),
        ("dept_team_parent_id", "varchar(48)"),
        ("dept_team_parent_name", "varchar(255)"),
    ),
    "ssd_professionals": (
        ("prof_professional_id", "varchar(48)"),
        ("prof_staff_id", "varchar(48)"),
        ("prof_professional_name", "varchar(300)"),
        ("prof_social_worker_registration_no", "varchar(48)"),
        ("prof_agency_worker_flag", "char(1)"),
        ("prof_professional_job_title", "varchar(500)"),
        ("prof_professional_caseload", "integer"),
        ("prof_professional_department", "varchar(100)"),
        ("prof_full_time_equivalency", "double precision"),
    ),
    "ssd_involvements": (
        ("invo_involvements_id", "varchar(48)"),
        ("invo_professional_id", "varchar(48)"),
        ("invo_professional_role_id", "varchar(200)"),
        ("invo_professional_team", "varchar(48)"),
        ("invo_person_id", "varchar(48)"),
        ("invo_involvement_start_date", "timestamp"),
        ("invo_involvement_end_date", "timestamp"),
        ("invo_worker_change_reason", "varchar(200)"),
        ("invo_referral_id", "varchar(48)"),
    ),
    "ssd_cin_episodes": (
        ("cine_referral_id", "varchar(48)"),
        ("cine_person_id", "varchar(48)"),
        ("cine_referral_date", "timestamp"),
        ("cine_cin_primary_need_code", "varchar(3)"),
        ("cine_referral_source_code", "varchar(48)"),
        ("cine_referral_source_desc", "varchar(255)"),
        ("cine_referral_outcome_json", "varchar(4000)"),
        ("cine_referral_nfa", "char(1)"),
        ("cine_close_reason", "varchar(100)"),
        ("cine_close_date", "timestamp"),
        ("cine_referral_team", "varchar(48)"),
        ("cine_referral_worker_id", "varchar(100)"),
    ),
    "ssd_cin_assessments": (
        ("cina_assessment_id", "varchar(48)"),
        ("cina_person_id", "varchar(48)"),
        ("cina_referral_id", "varchar(48)"),
        ("cina_assessment_start_date", "timestamp"),
        ("cina_assessment_child_seen", "char(1)"),
        ("cina_assessment_auth_date", "timestamp"),
        ("cina_assessment_outcome_json", "varchar(1000)"),
        ("cina_assessment_outcome_nfa", "char(1)"),
        ("cina_assessment_team", "varchar(48)"),
        ("cina_assessment_worker_id", "varchar(100)"),
    ),
    "ssd_s47_enquiry": (
        ("s47e_s47_enquiry_id", "varchar(48)"),
        ("s47e_referral_id", "varchar(48)"),
        ("s47e_person_id", "varchar(48)"),
        ("s47e_s47_start_date", "timestamp"),
        ("s47e_s47_end_date", "timestamp"),
        ("s47e_s47_nfa", "char(1)"),
        ("s47e_s47_outcome_json", "varchar(1000)"),
        ("s47e_s47_completed_by_team", "varchar(48)"),
        ("s47e_s47_completed_by_worker_id", "varchar(100)"),
    ),
    "ssd_initial_cp_conference": (
        ("icpc_icpc_id", "varchar(48)"),
        ("icpc_icpc_meeting_id", "varchar(48)"),
        ("icpc_s47_enquiry_id", "varchar(48)"),
        ("icpc_person_id", "varchar(48)"),
        ("icpc_cp_plan_id", "varchar(48)"),
        ("icpc_referral_id", "varchar(48)"),
        ("icpc_icpc_transfer_in", "char(1)"),
        ("icpc_icpc_target_date", "timestamp"),
        ("icpc_icpc_date", "timestamp"),
        ("icpc_icpc_outcome_cp_flag", "char(1)"),
        ("icpc_icpc_outcome_json", "varchar(1000)"),
        ("icpc_icpc_team", "varchar(48)"),
        ("icpc_icpc_worker_id", "varchar(100)"),
    ),
    "ssd_cp_plans": (
        ("cppl_cp_plan_id", "varchar(48)"),
        ("cppl_referral_id", "varchar(48)"),
        ("cppl_icpc_id", "varchar(48)"),
        ("cppl_person_id", "varchar(48)"),
        ("cppl_cp_plan_start_date", "timestamp"),
        ("cppl_cp_plan_end_date", "timestamp"),
        ("cppl_cp_plan_ola", "char(1)"),
        ("cppl_cp_plan_initial_category", "varchar(100)"),
        ("cppl_cp_plan_latest_category", "varchar(100)"),
    ),
    "ssd_cp_visits": (
        ("cppv_cp_visit_id", "varchar(48)"),
        ("cppv_person_id", "varchar(48)"),
        ("cppv_cp_plan_id", "varchar(48)"),
        ("cppv_cp_visit_date", "timestamp"),
        ("cppv_cp_visit_seen", "char(1)"),
        ("cppv_cp_visit_seen_alone", "char(1)"),
        ("cppv_cp_visit_bedroom", "char(1)"),
    ),
    "ssd_cla_episodes": (
        ("clae_cla_episode_id", "varchar(48)"),
        ("clae_person_id", "varchar(48)"),
        ("clae_cla_placement_id", "varchar(48)"),
        ("clae_cla_episode_start_date", "timestamp"),
        ("clae_cla_episode_start_reason", "varchar(100)"),
        ("clae_cla_primary_need_code", "varchar(3)"),
        ("clae_cla_episode_ceased_date", "timestamp"),
        ("clae_cla_episode_ceased_reason", "varchar(255)"),
        ("clae_cla_id", "varchar(48)"),
        ("clae_referral_id", "varchar(48)"),
        ("clae_cla_last_iro_contact_date", "timestamp"),
        ("clae_entered_care_date", "timestamp"),
    ),
}

RENAMED = {"pers_common_child_id": "pers_upn"}  # contract name -> SSD v1.4 name


def _date(text: str) -> dt.datetime | None:
    if not text or text.strip().upper() == "NULL":
        return None
    try:  # ISO, with a space or a `T`, optional fraction (SQL Server's .000, Eclipse's T)
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        pass
    for fmt in contract.DATE_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r}")


def _flag(text: str, width: int) -> str | None:
    if not text or text.strip().upper() == "NULL":
        return None
    value = text.strip().upper()
    if value in contract.FLAG_TRUE:
        return "Y"
    if value in contract.FLAG_FALSE:
        return "N"
    if len(value) <= width:
        return value
    raise ValueError(f"not a flag: {text!r}")


def convert(value: str, pg_type: str):
    """A CSV cell as the typed column holds it (see the module docstring). The text
    NULL is how SQL Server tools write a NULL into a file: in the database it is NULL."""
    if value.strip().upper() == "NULL":
        return None
    if pg_type == "timestamp":
        return _date(value)
    if pg_type.startswith("char("):
        width = int(pg_type[5:-1])
        return _flag(value, width) if width == 1 else (value or None)
    if pg_type == "integer":
        return int(value) if value.strip() else None
    if pg_type == "double precision":
        return float(value) if value.strip() else None
    return value if value != "" else None


def _ddl(table: str, columns: Sequence[tuple[str, str]], schema: str | None) -> str:
    pk = contract.TABLES_BY_NAME[table].primary_key
    cols = ",\n    ".join(f"{c} {t}{' PRIMARY KEY' if c == pk else ''}" for c, t in columns)
    return f"CREATE TABLE {_qualified(table, schema)} (\n    {cols}\n)"


def _qualified(table: str, schema: str | None) -> str:
    return f'"{schema}".{table}' if schema else table


def _rows(path: Path, table: str, columns: Sequence[tuple[str, str]]):
    """The file's rows in the table's column order, converted; errors name row/column."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader)]
        index = {h: i for i, h in enumerate(header)}
        for old, new in RENAMED.items():
            if old in index and new not in index:
                index[new] = index.pop(old)
        for number, row in enumerate(reader, start=1):
            out = []
            for name, pg_type in columns:
                if name in index:
                    cell = row[index[name]]
                    try:
                        out.append(convert(cell, pg_type))
                    except ValueError as exc:
                        raise ValueError(f"{path}: row {number}, column {name}: {exc}") from None
                elif name.endswith("_json"):
                    out.append(JSON_VALUE)
                else:
                    out.append(None)
            yield out


def _copy(cur, table: str, schema: str | None, names: Sequence[str], rows) -> int:
    n = 0
    sql = f"COPY {_qualified(table, schema)} ({', '.join(names)}) FROM STDIN"
    with cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def load_night(
    night_dir: Path,
    url: str,
    *,
    schema: str | None = None,
    include_audits: bool = True,
    audits_from: Path | None = None,
) -> dict[str, int]:
    """Replace the database's ssd_* tables with the night's files; rows per table.
    `audits_from`: a night folder to take case_audits.csv from instead (the Eclipse
    flavour has none: the SSD has no audit table)."""
    import psycopg

    counts: dict[str, int] = {}
    with psycopg.connect(url) as con, con.cursor() as cur:
        if schema:
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for table, columns in ECLIPSE_TABLES.items():
            cur.execute(f"DROP TABLE IF EXISTS {_qualified(table, schema)}")
            cur.execute(_ddl(table, columns, schema))
            path = night_dir / f"{table}.csv"
            rows = _rows(path, table, columns) if path.is_file() else iter(())
            counts[table] = _copy(cur, table, schema, [c for c, _ in columns], rows)
        audits = (audits_from or night_dir) / "case_audits.csv"
        cur.execute(f"DROP TABLE IF EXISTS {_qualified('case_audits', schema)}")
        if include_audits and audits.is_file():
            columns = tuple(
                (c, "varchar(255)") for c in contract.TABLES_BY_NAME["case_audits"].column_names
            )
            cur.execute(_ddl("case_audits", columns, schema))
            counts["case_audits"] = _copy(
                cur,
                "case_audits",
                schema,
                [c for c, _ in columns],
                _rows(audits, "case_audits", columns),
            )
        con.commit()
    return counts


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def create_database(url: str, *, drop: bool = False) -> None:
    """CREATE DATABASE for the URL's database (through the server's `postgres` db)."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as con:
        exists = con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and drop:
            con.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as con:
        con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m csc_generator.ssd_database",
        description="Load a generated night into PostgreSQL in OLM Eclipse's SSD shape.",
    )
    p.add_argument("--night", type=Path, required=True, help="a night folder <la>/<date>/")
    p.add_argument("--url", required=True, help="postgresql://user@host:port/database")
    p.add_argument("--schema", help="schema for the ssd_* tables (default: search_path)")
    p.add_argument("--create-database", action="store_true", help="create it if missing")
    p.add_argument("--no-audits", action="store_true", help="do not load case_audits")
    args = p.parse_args(argv)
    if args.create_database:
        create_database(args.url)
    try:
        counts = load_night(
            args.night, args.url, schema=args.schema, include_audits=not args.no_audits
        )
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for table, n in counts.items():
        print(f"  {table:<28}{n:>9,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
