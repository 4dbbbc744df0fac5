"""Plain-English issue descriptions and ``dq.dq_issues`` tracking across nights.

``dq.dq_issues`` (internal, not a mart) holds one row per offending record and rule:

  issue_id      stable hash of la_code, rule, table, column and record id (or source
                row when the record has no id), so the same problem on the same record
                is the same issue every night
  rule_id, severity, table_name, column_name, record_id, source_rows
  person_id     the case system's person id (the manager needs it to find the record)
  team_id, worker_id   responsible: the record's own team/worker columns, else the
                child's current allocation (ALLOCATED CASE WORKER open on the export date)
  description   what is wrong, for a team manager; never a name or a date of birth
  first_seen, last_seen   export dates
  resolved_on   the export date on which it was no longer found (null = open)
  reopened_on   the export date on which a resolved issue was found again

Lifecycle for night N (``record_issues``), all in one transaction:
  found and new -> inserted (first_seen = last_seen = N); found and known -> last_seen
  = max(last_seen, N), reopened if it was resolved on or before N; open, not found, last
  seen before N, and its check ran on N -> resolved_on = N. No wall-clock columns, so
  re-running a night leaves the table identical. A quarantined night does not touch
  ``dq.dq_issues`` (its data cannot be trusted to resolve anything).

``dq.dq_runs`` holds, per night, every check that ran (rule, table, column), its
outcome, the failed and total rows and example rows; a re-run replaces the night's rows.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from csc_pipeline.contract import TABLES_BY_NAME, Table
from csc_pipeline.quality.rules import EARLIEST_DOB
from csc_pipeline.quality.suites import ACCEPTED_DATE_FORMATS, DATE_SUFFIX, NUM_SUFFIX
from csc_pipeline.quality.typed import chk, is_case_holder_sql, lit, q

PERSON_REF = "ssd_person.pers_person_id"
TEAM_REF = "ssd_department.dept_team_id"
WORKER_REF = "ssd_professionals.prof_professional_id"

ENTITIES = {
    "ssd_person": "Child",
    "ssd_department": "Team",
    "ssd_professionals": "Worker",
    "ssd_involvements": "Allocation",
    "ssd_cin_episodes": "Referral",
    "ssd_cin_assessments": "Assessment",
    "ssd_s47_enquiry": "Section 47 enquiry",
    "ssd_initial_cp_conference": "Initial child protection conference",
    "ssd_cp_plans": "Child protection plan",
    "ssd_cp_visits": "Child protection visit",
    "ssd_cla_episodes": "Care episode",
    "case_audits": "Case audit",
}
_WORDS = {
    "dob": "date of birth",
    "nfa": "no further action",
    "cp": "CP",
    "cin": "CIN",
    "icpc": "ICPC",
    "s47": "S47",
    "cla": "CLA",
    "ola": "other council",
    "id": "id",
    "std": "practice standard",
}

DQ_DDL = """
create schema if not exists dq;
create table if not exists dq.dq_issues (
    issue_id varchar primary key,
    la_code varchar not null,
    rule_id varchar not null,
    severity varchar not null,
    table_name varchar not null,
    column_name varchar,
    record_id varchar,
    person_id varchar,
    team_id varchar,
    worker_id varchar,
    source_rows varchar,
    description varchar not null,
    first_seen date not null,
    last_seen date not null,
    resolved_on date,
    reopened_on date
);
create table if not exists dq.dq_runs (
    la_code varchar not null,
    export_date date not null,
    rule_id varchar not null,
    table_name varchar not null,
    column_name varchar not null,
    severity varchar not null,
    outcome varchar not null,
    failed_rows bigint not null,
    total_rows bigint,
    examples varchar,
    message varchar,
    primary key (la_code, export_date, rule_id, table_name, column_name)
);
"""

ISSUE_COLUMNS = [
    "issue_id",
    "la_code",
    "rule_id",
    "severity",
    "table_name",
    "column_name",
    "record_id",
    "person_id",
    "team_id",
    "worker_id",
    "source_rows",
    "description",
]
HIT_COLUMNS = ["rule_id", "table_name", "column_name", "source_row", "description"]


# --- labels ---------------------------------------------------------------------------
def entity(table: str) -> str:
    return ENTITIES.get(table, table)


def column_label(table: str, column: str) -> str:
    """'cina_assessment_start_date' -> 'assessment start date', 'pers_dob' -> 'date of birth'."""
    t = TABLES_BY_NAME.get(table)
    name = column
    if t is not None:
        prefix = t.primary_key.split("_")[0] + "_"
        if name.startswith(prefix):
            name = name[len(prefix) :]
    words = [_WORDS.get(w, w) for w in name.split("_")]
    return " ".join(w for w in words if w) or column


def a(label: str) -> str:
    """The label with its indefinite article: 'an assessment start date'."""
    return ("an " if label[:1].lower() in "aeiou" else "a ") + label


def _ref_column(table: Table, ref: str, own_key_table: str) -> str | None:
    if table.name == own_key_table:
        return table.primary_key
    for c in table.columns:
        if c.references == ref:
            return c.name
    return None


def person_column(table: Table) -> str | None:
    return _ref_column(table, PERSON_REF, "ssd_person")


def team_column(table: Table) -> str | None:
    return _ref_column(table, TEAM_REF, "ssd_department")


def worker_column(table: Table) -> str | None:
    return _ref_column(table, WORKER_REF, "ssd_professionals")


# --- descriptions (SQL expressions over alias t = chk_<table>) -----------------------------
def ref_sql(table: Table, alias: str = "t") -> str:
    """'Assessment A123', or 'A record of x.csv (row 57)' when the id is blank."""
    pk = f"{alias}.{q(table.primary_key)}"
    return (
        f"coalesce({lit(entity(table.name) + ' ')} || {pk}, "
        f"{lit('A record of ' + table.file_name + ' (row ')} || {alias}._source_row || ')')"
    )


def day_sql(expr: str) -> str:
    return f"strftime({expr}, '%Y-%m-%d')"


def describe_sql(rule_id: str, table: Table, columns: list[str], export_date: str) -> str:
    """The description of a row-level GX finding, as a SQL expression over ``t``."""
    ref = ref_sql(table)
    col = columns[0] if columns else None
    label = column_label(table.name, col) if col else ""
    d = lit(export_date)
    if rule_id == "pk_missing":
        return f"{lit('A record of ' + table.file_name + ' (row ')} || t._source_row || {lit(') has a blank ' + label)}"
    if rule_id == "pk_duplicate":
        return f"{ref} || {lit(' appears more than once in ' + table.file_name)}"
    if rule_id == "mandatory_missing":
        return f"{ref} || {lit(f' has no {label} ({col} is blank)')}"
    if rule_id == "date_unparseable":
        formats = ", ".join(ACCEPTED_DATE_FORMATS)
        return f"{ref} || {lit(f' has {a(label)} that is not a valid date in an accepted format ({formats})')}"
    if rule_id == "flag_invalid":
        return f"{ref} || {lit(f' has {a(label)} value that is not a recognised flag (Y/N, 1/0, true/false, yes/no)')}"
    if rule_id == "decimal_unparseable":
        return f"{ref} || {lit(f' has {a(label)} that is not a number')}"
    if rule_id == "code_invalid":
        return f"{ref} || {lit(f' has {a(label)} that is not in its code set ({col})')}"
    if rule_id == "fte_out_of_range":
        num = f"t.{q(col + NUM_SUFFIX)}"
        return f"{ref} || {lit(f' has {a(label)} of ')} || {num} || ' (it must be more than 0 and at most 1)'"
    if rule_id in ("end_before_start", "8925"):
        end, start = columns[0], columns[1]
        end_d, start_d = f"t.{q(end + DATE_SUFFIX)}", f"t.{q(start + DATE_SUFFIX)}"
        return (
            f"{ref} || {lit(' has ' + column_label(table.name, end) + ' ')} || {day_sql(end_d)} || "
            f"{lit(', before its ' + column_label(table.name, start) + ' ')} || {day_sql(start_d)}"
        )
    if rule_id == "future_date":
        if table.name == "ssd_person":  # never show a child's personal dates
            return f"{ref} || {lit(f' has {a(label)} after the export date ')} || {d}"
        value = day_sql(f"t.{q(col + DATE_SUFFIX)}")
        return f"{ref} || {lit(f' has {a(label)} of ')} || {value} || ', after the export date ' || {d}"
    if rule_id == "dob_implausible":
        return f"{ref} || {lit(f' has an implausible date of birth (before {EARLIEST_DOB} or after the export date ')} || {d} || ')'"
    return f"{ref} || {lit(' fails check ' + rule_id + (' on ' + col if col else ''))}"


# --- enrichment: hits -> issues --------------------------------------------------------------
def create_allocations(con: duckdb.DuckDBPyConnection, export_date: str) -> None:
    """cur_alloc(person_id, worker_id, team_id): each child's current case holder."""
    d = f"date {lit(export_date)}"
    con.execute(f"""
        create or replace temp table cur_alloc as
        select person_id, worker_id, team_id from (
            select i.invo_person_id as person_id, i.invo_professional_id as worker_id,
                   coalesce(i.invo_professional_team, p.prof_professional_department) as team_id,
                   row_number() over (partition by i.invo_person_id
                       order by i.invo_involvement_start_date__date desc,
                                i.invo_involvements_id desc, p.prof_professional_department) as rn
            from chk_ssd_involvements i
            left join chk_ssd_professionals p on p.prof_professional_id = i.invo_professional_id
            where {is_case_holder_sql("i.invo_professional_role_id")}
              and i.invo_person_id is not null
              and i.invo_involvement_start_date__date <= {d}
              and (i.invo_involvement_end_date__date is null or i.invo_involvement_end_date__date > {d})
        ) where rn = 1
    """)


def create_hits(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "create or replace temp table dq_hits (rule_id varchar, table_name varchar, "
        "column_name varchar, source_row bigint, description varchar)"
    )


def insert_gx_hits(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    rule_id: str,
    columns: list[str],
    source_rows,
    export_date: str,
) -> None:
    """Record the failing source rows of one GX expectation, with their descriptions."""
    rows = pd.DataFrame({"source_row": pd.Series(source_rows, dtype="int64")}).drop_duplicates()
    con.register("_gx_rows", rows)
    try:
        con.execute(
            f"insert into dq_hits select {lit(rule_id)}, {lit(table.name)}, "
            f"{lit(columns[0] if columns else None)}, t._source_row, "
            f"{describe_sql(rule_id, table, columns, export_date)} "
            f"from {chk(table.name)} t semi join _gx_rows r on r.source_row = t._source_row"
        )
    finally:
        con.unregister("_gx_rows")


def issues_frame(
    con: duckdb.DuckDBPyConnection, la_code: str, tables: list[str], severities: dict[str, str]
) -> pd.DataFrame:
    """All hits of the night as issue rows (one per issue_id), with person/team/worker."""
    parts = []
    for name in tables:
        table = TABLES_BY_NAME[name]
        person, team, worker = person_column(table), team_column(table), worker_column(table)
        pcol = f"t.{q(person)}" if person else "null"
        alloc_join = (
            f"left join cur_alloc a on a.person_id = {pcol}"
            if person
            else "left join (select null::varchar as team_id, null::varchar as worker_id) a on false"
        )
        parts.append(f"""
            select h.rule_id, h.table_name, h.column_name, h.source_row, h.description,
                   t.{q(table.primary_key)} as record_id, {pcol} as person_id,
                   coalesce({f"t.{q(team)}" if team else "null"}, a.team_id) as team_id,
                   coalesce({f"t.{q(worker)}" if worker else "null"}, a.worker_id) as worker_id
            from dq_hits h join {chk(name)} t on t._source_row = h.source_row
            {alloc_join}
            where h.table_name = {lit(name)}
        """)
    if not parts:
        return pd.DataFrame(columns=[*ISSUE_COLUMNS, "first_row", "row_count"])
    sev = pd.DataFrame({"rule_id": list(severities), "severity": list(severities.values())})
    con.register("_severity", sev)
    try:
        return con.execute(f"""
            with hits as ({" union all ".join(parts)}),
            keyed as (
                select *, substr(sha256(concat_ws('|', {lit(la_code)}, rule_id, table_name,
                           coalesce(column_name, ''),
                           coalesce(record_id, 'row ' || source_row))), 1, 24) as issue_id
                from hits
            )
            select k.issue_id, {lit(la_code)} as la_code, k.rule_id,
                   coalesce(any_value(s.severity), 'warning') as severity,
                   k.table_name, any_value(k.column_name) as column_name,
                   any_value(k.record_id) as record_id,
                   min(k.person_id) as person_id, min(k.team_id) as team_id,
                   min(k.worker_id) as worker_id,
                   string_agg(distinct k.source_row::varchar, ', '
                              order by k.source_row::varchar) as source_rows,
                   min(k.description) as description,
                   min(k.source_row) as first_row, count(distinct k.source_row) as row_count
            from keyed k left join _severity s on s.rule_id = k.rule_id
            group by k.issue_id, k.rule_id, k.table_name
            order by k.table_name, k.rule_id, first_row
        """).df()
    finally:
        con.unregister("_severity")


# --- writing ------------------------------------------------------------------------------------
def ensure_dq(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DQ_DDL)


def record_runs(
    con: duckdb.DuckDBPyConnection, la_code: str, export_date: str, runs: pd.DataFrame
) -> None:
    """Replace the night's rows of dq.dq_runs."""
    con.execute(
        "delete from dq.dq_runs where la_code = ? and export_date = ?", [la_code, export_date]
    )
    if len(runs):
        con.register("_runs", runs)
        try:
            con.execute(
                "insert into dq.dq_runs select ?, ?::date, rule_id, table_name, column_name, severity, "
                "outcome, failed_rows, total_rows, examples, message from _runs",
                [la_code, export_date],
            )
        finally:
            con.unregister("_runs")


def record_issues(
    con: duckdb.DuckDBPyConnection,
    la_code: str,
    export_date: str,
    current: pd.DataFrame,
    ran: pd.DataFrame,
) -> dict[str, int]:
    """Apply night ``export_date``'s findings to dq.dq_issues (see the module docstring).

    ``current``: issue rows (ISSUE_COLUMNS); ``ran``: (rule_id, table_name, column_name)
    of every check that ran, so only issues of checks that ran can be resolved.
    """
    cur = current[ISSUE_COLUMNS].copy()
    con.register("_cur_df", cur)
    con.register("_ran_df", ran[["rule_id", "table_name", "column_name"]].fillna(""))
    n = f"date {lit(export_date)}"
    try:
        con.execute("create or replace temp table _cur as select * from _cur_df")
        con.execute("create or replace temp table _ran as select distinct * from _ran_df")
        stats = {}
        stats["reopened"] = con.execute(
            f"select count(*) from dq.dq_issues i join _cur c using (issue_id) where i.resolved_on <= {n}"
        ).fetchone()[0]
        stats["new"] = con.execute(
            "select count(*) from _cur c where not exists "
            "(select 1 from dq.dq_issues i where i.issue_id = c.issue_id)"
        ).fetchone()[0]
        newer = f"{n} >= i.last_seen"
        con.execute(f"""
            update dq.dq_issues as i set
                first_seen = least(i.first_seen, {n}),
                last_seen = greatest(i.last_seen, {n}),
                resolved_on = case when i.resolved_on <= {n} then null else i.resolved_on end,
                reopened_on = case when i.resolved_on <= {n} then {n} else i.reopened_on end,
                severity = case when {newer} then c.severity else i.severity end,
                record_id = case when {newer} then c.record_id else i.record_id end,
                person_id = case when {newer} then c.person_id else i.person_id end,
                team_id = case when {newer} then c.team_id else i.team_id end,
                worker_id = case when {newer} then c.worker_id else i.worker_id end,
                source_rows = case when {newer} then c.source_rows else i.source_rows end,
                description = case when {newer} then c.description else i.description end
            from _cur c where i.issue_id = c.issue_id
        """)
        con.execute(f"""
            insert into dq.dq_issues
            select c.issue_id, c.la_code, c.rule_id, c.severity, c.table_name, c.column_name,
                   c.record_id, c.person_id, c.team_id, c.worker_id, c.source_rows, c.description,
                   {n}, {n}, null, null
            from _cur c
            where not exists (select 1 from dq.dq_issues i where i.issue_id = c.issue_id)
        """)
        stats["resolved"] = con.execute(f"""
            update dq.dq_issues as i set resolved_on = {n}
            where i.la_code = {lit(la_code)} and i.resolved_on is null and i.last_seen < {n}
              and not exists (select 1 from _cur c where c.issue_id = i.issue_id)
              and exists (select 1 from _ran r where r.rule_id = i.rule_id
                          and r.table_name = i.table_name
                          and r.column_name = coalesce(i.column_name, ''))
        """).fetchone()[0]
        stats["open"] = con.execute(
            "select count(*) from dq.dq_issues where la_code = ? and resolved_on is null", [la_code]
        ).fetchone()[0]
        return stats
    finally:
        con.execute("drop table if exists _cur; drop table if exists _ran")
        con.unregister("_cur_df")
        con.unregister("_ran_df")
