"""The night's typed tables, as dbt staging typed them: the gate never parses a value.

Parse once (docs/architecture.md): dbt staging is the one place a column is typed and
cleaned, with a per-row flag ``<staging column>_is_invalid`` when a delivered value could
not be typed (not a date, not a Y/N spelling, not a number, a code that maps to no code
of its set). The validate step builds staging in the night's working copy first; then
``prepare(con, export_date)`` creates on the gate's (read-only) connection, in the temp
schema:

- ``chk_<table>`` for every contract table landed: one row per raw row
  (``_source_row``), raw LEFT JOIN staging on ``_source_row`` (staging keeps one row per
  non-blank key; the raw side keeps the blank and duplicated keys the gate reports).
  Per warehouse column ``c`` (names as in contract.py, so suites, SQL checks and
  findings name the delivered file's column):
    ``c``            the staging value (codes normalised, workers/teams resolved, person
                     ids derived) or, where staging has none, the delivered text trimmed
                     (for codes upper-cased) so a report can show what was sent;
                     dates and decimals: the delivered text trimmed;
    ``c__date``      (dates) staging's DATE;  ``c__num`` (decimals) staging's number;
    ``c__unparsed``  (dates, codes, flags, decimals) staging's ``_is_invalid`` flag.
  Which staging model and column hold ``c`` comes from contract.py
  (``Table.staging_model``, ``Column.staging``): one definition, no copy here.
- ``wd_cal(d, is_wd, wd_idx)``: a working-day calendar (Mon-Fri minus England bank
  holidays) where ``wd_idx`` counts working days up to and including ``d``, so
  ``working_days_between(a, b) = idx(b) - idx(a)`` (spec/kpis.md) and the n-th working
  day after ``a`` is the working day with ``idx(a) + n``.

Everything is temp: nothing is written to the warehouse file.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from csc_pipeline import warehouse as wh
from csc_pipeline.contract import TABLES, Column, Table
from csc_pipeline.quality.suites import DATE_SUFFIX, NUM_SUFFIX, TYPED, UNPARSED_SUFFIX

CALENDAR_FIRST_YEAR = 2000
CALENDAR_YEARS_AHEAD = 3
STAGING_SCHEMA = "staging"
STAGING_FLAG_SUFFIX = "_is_invalid"  # the staging side of the flag convention


class StagingMissing(RuntimeError):
    """Staging was not built for the night (or lacks a contract column): the gate
    validates staging, it does not parse raw itself."""


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value) -> str:
    """A SQL string literal (or NULL)."""
    return wh.sql_literal(value)


def chk(table: str) -> str:
    return f"chk_{table}"


def raw_table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return wh.table_exists(con, "raw", table)


def _staging_columns(con: duckdb.DuckDBPyConnection, model: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [STAGING_SCHEMA, model],
        ).fetchall()
    }


def column_selects(column: Column, staged: set[str]) -> list[str]:
    """The chk_ columns of one contract column (see the module docstring)."""
    name = q(column.name)
    text = f"nullif(trim(r.{name}), '')"
    s = column.staging
    if not s:  # not carried by staging (never typed): the delivered text
        return [f"{text} as {name}"]
    if s not in staged:
        raise StagingMissing(f"staging has no column {s} (contract column {column.name})")
    value = f"s.{q(s)}"
    out = []
    if column.type == "date":
        out += [f"{text} as {name}", f"{value}::date as {q(column.name + DATE_SUFFIX)}"]
    elif column.type == "decimal":
        out += [f"{text} as {name}", f"{value}::double as {q(column.name + NUM_SUFFIX)}"]
    elif column.type in ("flag", "flag_na"):
        out.append(f"upper({text}) as {name}")
    elif column.type == "code":
        out.append(f"coalesce({value}::varchar, upper({text})) as {name}")
    else:
        out.append(f"coalesce({value}::varchar, {text}) as {name}")
    if column.type in TYPED:
        flag = s + STAGING_FLAG_SUFFIX
        if flag not in staged:
            raise StagingMissing(f"staging has no flag {flag} (contract column {column.name})")
        out.append(f"coalesce(s.{q(flag)}, false) as {q(column.name + UNPARSED_SUFFIX)}")
    return out


def create_checked_table(
    con: duckdb.DuckDBPyConnection, table: Table, export_date: str | None = None
) -> str | None:
    """chk_<table>: raw rows joined to their staging row (no value parsed here).

    Returns None, or why staging could not be read (its model was not built: dbt failed
    upstream, e.g. on a table missing from raw). Then chk_<table> holds the delivered
    text only, typed columns null and no flags, and the gate reports the table as not
    validated (check_error, critical): a night that cannot be validated is not
    published."""
    model = table.staging_model
    staged = _staging_columns(con, model) if model else set()
    problem = None
    if model and not staged:
        problem = (
            f"staging.{model} was not built (dbt failed before it), so the values of "
            f"{table.file_name} could not be validated"
        )
    elif model and export_date and "_export_date" in staged:
        stale = con.execute(
            f"select count(*) from {STAGING_SCHEMA}.{q(model)} s anti join raw.{q(table.name)} r "
            "on r._source_row = s._source_row and r._export_date is not distinct from s._export_date"
        ).fetchone()[0]
        if stale:  # rows raw does not hold: a previous night's table dbt did not rebuild
            problem = (
                f"staging.{model} holds another night's rows (dbt did not rebuild it), "
                f"so the values of {table.file_name} could not be validated"
            )
    cols = ["r._source_row"]
    for column in table.columns:
        if column.name not in table.warehouse_columns:
            continue
        if problem:
            cols += _unvalidated(column)
            continue
        try:
            cols += column_selects(column, staged)
        except StagingMissing as exc:
            raise StagingMissing(f"staging.{model}: {exc}") from None
    source = f"raw.{q(table.name)} r"
    if not problem and model:
        # one staging row per source row (a model that attaches rows may repeat one)
        source += (
            f" left join (select * from {STAGING_SCHEMA}.{q(model)} qualify row_number() "
            "over (partition by _source_row order by _source_row) = 1) s "
            "on s._source_row = r._source_row"
        )
    con.execute(
        f"create or replace temp table {chk(table.name)} as select {', '.join(cols)} from {source}"
    )
    return problem


def _unvalidated(column: Column) -> list[str]:
    name = q(column.name)
    out = [f"nullif(trim(r.{name}), '') as {name}"]
    if column.type == "date":
        out.append(f"null::date as {q(column.name + DATE_SUFFIX)}")
    elif column.type == "decimal":
        out.append(f"null::double as {q(column.name + NUM_SUFFIX)}")
    if column.type in TYPED and column.staging:
        out.append(f"false as {q(column.name + UNPARSED_SUFFIX)}")
    return out


def create_calendar(con: duckdb.DuckDBPyConnection, export_date: str) -> None:
    from csc_pipeline.calendar import bank_holidays

    last_year = dt.date.fromisoformat(export_date).year + CALENDAR_YEARS_AHEAD
    days = pd.DataFrame({"d": [d for d, _ in bank_holidays(CALENDAR_FIRST_YEAR, last_year)]})
    days["d"] = pd.to_datetime(days["d"])
    con.register("_bank_holidays", days)
    try:
        con.execute(f"""
            create or replace temp table wd_cal as
            with days as (
                select g::date as d from generate_series(
                    date '{CALENDAR_FIRST_YEAR}-01-01', date '{last_year}-12-31', interval 1 day) t(g)
            ), flagged as (
                select d, isodow(d) <= 5 and d not in (select d::date from _bank_holidays) as is_wd
                from days
            )
            select d, is_wd, sum(is_wd::integer) over (order by d)::integer as wd_idx from flagged
        """)
    finally:
        con.unregister("_bank_holidays")


def create_case_holder_roles(con: duckdb.DuckDBPyConnection) -> None:
    """case_holder_roles(role_code): the shipped case-holder role codes and the council's
    own (raw.council_role_codes, from its profile), as code keys: the set staging's
    ``is_case_holder_role`` uses (stg_ref__role_codes), so the gate's caseload checks
    count the allocations the marts count."""
    from csc_pipeline.contract import CASE_HOLDER_ROLE_CODES, code_key, code_key_sql

    shipped = " union ".join(f"select {lit(code_key(c))}" for c in CASE_HOLDER_ROLE_CODES)
    council = (
        f" union select {code_key_sql('role_code')} from raw.council_role_codes"
        if raw_table_exists(con, "council_role_codes")
        else ""
    )
    con.execute(
        "create or replace temp table case_holder_roles as select * from "
        f"({shipped}{council}) t(role_code) where role_code is not null"
    )


def is_case_holder_sql(expression: str) -> str:
    """SQL: the role in `expression` is a case holder's (needs case_holder_roles)."""
    from csc_pipeline.contract import code_key_sql

    return f"{code_key_sql(expression)} in (select role_code from case_holder_roles)"


def prepare(con: duckdb.DuckDBPyConnection, export_date: str) -> tuple[list[str], dict[str, str]]:
    """Create the chk_* tables and the calendar. Returns the tables present in raw and,
    per table, why its staging could not be read (see create_checked_table)."""
    present, unvalidated = [], {}
    for table in TABLES:
        if raw_table_exists(con, table.name):
            problem = create_checked_table(con, table, export_date)
            if problem:
                unvalidated[table.name] = problem
            present.append(table.name)
    create_calendar(con, export_date)
    create_case_holder_roles(con)
    return present, unvalidated


def frame(con: duckdb.DuckDBPyConnection, table: Table, columns: list[str]) -> pd.DataFrame:
    """The DataFrame GX validates: the given delivered columns, their typed columns and
    parse flags, indexed by ``_source_row`` so GX reports source rows directly.

    Dates become nanosecond timestamps (GX compares those vectorised); values outside
    that range (years before 1678 or after 2261) are clamped to its ends, which keeps
    them failing the same range checks.
    """
    selects = ["_source_row"]
    for name in columns:
        column = table.column(name)
        selects.append(q(name))
        if column.type == "date":
            d = q(name + DATE_SUFFIX)
            selects.append(
                f"(case when {d} < date '1678-01-01' then date '1678-01-01' "
                f"when {d} > date '2261-12-31' then date '2261-12-31' else {d} end)"
                f"::timestamp_ns as {d}"
            )
        elif column.type == "decimal":
            selects.append(q(name + NUM_SUFFIX))
        if column.type in TYPED and column.staging:
            selects.append(q(name + UNPARSED_SUFFIX))
    df = con.execute(
        f"select {', '.join(selects)} from {chk(table.name)} order by _source_row"
    ).df()
    df.index = pd.Index(df.pop("_source_row").astype("int64").to_numpy())
    return df
