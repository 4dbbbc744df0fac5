"""The night's raw tables, cleaned and parsed once, as DuckDB temp tables.

``prepare(con, export_date)`` creates on the (read-only) connection, in the temp schema:

- ``chk_<table>`` for every contract table: ``_source_row``, every warehouse column
  cleaned as dbt's staging cleans it (``dbt_project/macros/cleaning.sql``: trimmed, blank
  -> null; codes and flags upper-cased; audit grades with spaces/hyphens as
  underscores), plus ``<col>__date`` (DATE) for date columns and ``<col>__num``
  (DOUBLE) for decimals. A value that does not parse is NULL in the derived column while
  the text is not: that is how the gate finds unparseable values, with exactly the
  same acceptance rules as dbt, so every record dbt drops from a figure is reported.
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

from csc_pipeline.contract import AUDIT_GRADES, NULL_DATES, TABLES, Column, Table
from csc_pipeline.quality.suites import DATE_SUFFIX, NUM_SUFFIX

CALENDAR_FIRST_YEAR = 2000
CALENDAR_YEARS_AHEAD = 3

# The same patterns as dbt_project/macros/cleaning.sql (parse_date, parse_decimal).
ISO_DATE_RE = (
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}([.][0-9]{1,7})?)?"
)
DMY_DATE_RE = r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
# contract.NULL_DATES (1900-01-01) in any accepted format, as staging's parse_date nulls it
assert NULL_DATES == ("1900-01-01",)
NULL_DATE_RE = r"1900-0?1-0?1([ T]0?0:0?0:0?0([.]0+)?)?|0?1/0?1/1900"
DECIMAL_RE = r"([0-9]{1,4}([.][0-9]*)?|[.][0-9]+)"

MACROS = f"""
create or replace temp macro csc_text(x) as nullif(trim(x), '');
create or replace temp macro csc_parse_date_(t) as (
    case
        when regexp_full_match(t, '{ISO_DATE_RE}') then
            case when split_part(t, ' ', 2) = ''
                   or (try_cast(split_part(split_part(t, ' ', 2), ':', 1) as integer) <= 23
                       and try_cast(split_part(split_part(t, ' ', 2), ':', 2) as integer) <= 59
                       and try_cast(split_part(split_part(split_part(t, ' ', 2), ':', 3), '.', 1)
                                    as integer) <= 61)
                 then try_strptime(split_part(t, ' ', 1), '%Y-%m-%d')::date
            end
        when regexp_full_match(t, '{DMY_DATE_RE}') then try_strptime(t, '%d/%m/%Y')::date
    end
);
create or replace temp macro csc_parse_date(t) as csc_parse_date_(replace(t, 'T', ' '));
-- the SSD's "no date" placeholder (contract.NULL_DATES) is a null, not a date
create or replace temp macro csc_date_text(x) as (
    case when regexp_full_match(csc_text(x), '{NULL_DATE_RE}') then null else csc_text(x) end
);
create or replace temp macro csc_key(x) as
    nullif(trim(regexp_replace(upper(replace(x, '&', ' AND ')), '[^A-Z0-9]+', ' ', 'g')), '');
"""

# Code normalisation over csc_code_map (create_code_map first).
CODE_MACROS = """
create or replace temp macro csc_mapped(cs, x) as coalesce(
    map_extract_value((select map(list(source_value), list(code)) from csc_code_map
                       where code_set = cs), csc_key(x)),
    case when strpos(csc_key(x), ' ') > 0 then map_extract_value(
        (select map(list(source_value), list(code)) from csc_code_map
         where code_set = cs and is_code), split_part(csc_key(x), ' ', 1)) end);
create or replace temp macro csc_code(cs, x) as coalesce(csc_mapped(cs, x), upper(csc_text(x)));
"""

MACROS += f"""
create or replace temp macro csc_parse_decimal(t) as (
    case when regexp_full_match(t, '{DECIMAL_RE}') then try_cast(t as double) end
);
"""


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value) -> str:
    """A SQL string literal (or NULL)."""
    if value is None:
        return "null"
    return "'" + str(value).replace("'", "''") + "'"


def create_code_map(con: duckdb.DuckDBPyConnection) -> None:
    """csc_code_map: staging's stg_ref__code_map (the generated seed rows UNION the
    council's raw.council_code_map, the council's winning), so codes are checked after
    the same normalisation staging applies (descriptions, leading code tokens)."""
    from csc_pipeline.contract_artifacts import code_map_rows

    rows = pd.DataFrame(code_map_rows(), columns=["code_set", "source_value", "code", "is_code"])
    con.register("_shipped_codes", rows)
    council = (
        "select lower(trim(code_set)), csc_key(source_value), upper(trim(code)), false, 1 "
        "from raw.council_code_map"
        if raw_table_exists(con, "council_code_map")
        else "select null, null, null, null, 1 where false"
    )
    try:
        con.execute(f"""
            create or replace temp table csc_code_map as
            select code_set, source_value, code, is_code from (
                select *, row_number() over (partition by code_set, source_value order by p) rn
                from (select code_set, source_value, code, is_code, 2 as p from _shipped_codes
                      union all {council}) x(code_set, source_value, code, is_code, p)
                where source_value is not null)
            where rn = 1
        """)
    finally:
        con.unregister("_shipped_codes")


def code_expr(column: Column, source: str) -> str:
    """A code column normalised as staging's normalise_code does."""
    return f"csc_code('{column.code_set}', {source})"


def clean_expr(column: Column, source: str) -> str:
    """The cleaned text of a column, as dbt staging cleans it."""
    text = f"csc_text({source})"
    if column.type == "date":
        return f"csc_date_text({source})"
    if column.type == "code":
        if column.name == "cine_referral_source_code":  # its description beside it (SystemC)
            return (
                f"coalesce(csc_mapped('referral_source', {source}), "
                f"csc_mapped('referral_source', cine_referral_source_desc), upper(csc_text({source})))"
            )
        return code_expr(column, source)
    if column.type in ("code", "flag", "flag_na"):
        text = f"upper({text})"
        if column.codes == AUDIT_GRADES:
            text = f"replace(replace({text}, ' ', '_'), '-', '_')"
    return text


def chk(table: str) -> str:
    return f"chk_{table}"


def raw_table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = ?",
            [table],
        ).fetchone()[0]
    )


# Columns the SSD leaves empty or omits on some systems, completed as staging completes
# them (contract Column.derivable; docs/architecture.md): Mosaic's worker id is
# prof_staff_id, and its involvements / visits carry no person id (taken from the
# referral / the plan). Run after every chk_* table exists.
DERIVE_SQL = (
    """update chk_ssd_professionals set prof_professional_id = prof_staff_id
       where prof_professional_id is null""",
    """update chk_ssd_involvements as i set invo_person_id = e.person_id
       from (select cine_referral_id, min(cine_person_id) as person_id
             from chk_ssd_cin_episodes group by 1) as e
       where i.invo_person_id is null and e.cine_referral_id = i.invo_referral_id""",
    """update chk_ssd_cp_visits as v set cppv_person_id = p.person_id
       from (select cppl_cp_plan_id, min(cppl_person_id) as person_id
             from chk_ssd_cp_plans group by 1) as p
       where v.cppv_person_id is null and p.cppl_cp_plan_id = v.cppv_cp_plan_id""",
)


def create_checked_table(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """chk_<table>: cleaned text first, then the typed columns parsed from it (one parse
    per value: nesting the macros made the planner's expressions explode)."""
    cols, typed_cols = ["_source_row"], ["*"]
    for column in table.columns:
        if column.name not in table.warehouse_columns:
            continue
        src = q(column.name)
        cols.append(f"{clean_expr(column, src)} as {src}")
        if column.type == "date":
            typed_cols.append(f"csc_parse_date({src}) as {q(column.name + DATE_SUFFIX)}")
        elif column.type == "decimal":
            typed_cols.append(f"csc_parse_decimal({src}) as {q(column.name + NUM_SUFFIX)}")
    con.execute(
        f"create or replace temp table {chk(table.name)} as "
        f"select {', '.join(typed_cols)} from (select {', '.join(cols)} from raw.{q(table.name)})"
    )


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


def prepare(con: duckdb.DuckDBPyConnection, export_date: str) -> list[str]:
    """Create the macros, chk_* tables and calendar; returns the tables present in raw."""
    con.execute(MACROS)
    create_code_map(con)
    con.execute(CODE_MACROS)
    present = []
    for table in TABLES:
        if raw_table_exists(con, table.name):
            create_checked_table(con, table)
            present.append(table.name)
    for sql in DERIVE_SQL:
        try:
            con.execute(sql)
        except duckdb.CatalogException:  # a table it needs was not landed
            pass
    create_calendar(con, export_date)
    return present


def frame(con: duckdb.DuckDBPyConnection, table: Table, columns: list[str]) -> pd.DataFrame:
    """The DataFrame GX validates: the given delivered columns (cleaned) and their derived
    typed columns, indexed by ``_source_row`` so GX reports source rows directly.

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
    df = con.execute(
        f"select {', '.join(selects)} from {chk(table.name)} order by _source_row"
    ).df()
    df.index = pd.Index(df.pop("_source_row").astype("int64").to_numpy())
    return df
