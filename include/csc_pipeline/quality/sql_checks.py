"""Relational and census checks, in DuckDB SQL over the night's ``chk_*`` temp tables.

Each check selects the offending rows of ONE table (``source_row``) with a plain-English
description; results go to the ``dq_hits`` temp table like the GX findings.

- ``orphan``: every ``Column.references`` of contract.py, a value with no matching key
  in the referenced table.
- DfE CIN census validation rules, in their spirit (all warnings):
  1103 assessment starts before its referral; 8840 CP plan starts and ends the same
  day; 8940 CP plans of one child overlap; 8820 CIN episodes of one child overlap; 8565
  assessment / S47 / ICPC / CP plan after its CIN episode was closed; 8670Q assessment
  open more than 45 working days without authorisation; 8675Q S47 enquiry with no ICPC
  held after 15 working days (NFA enquiries excluded). (8925, plan end before start, is a
  GX column-pair expectation in the ssd_cp_plans suite.)
- ``caseload_over_50``: a worker holding more than 50 children per FTE on the export
  date (case-holder allocations: shipped and council role codes, each child counted once per worker), as the
  DfE flags in the workforce census.

Working days use ``wd_cal`` (see ``typed``): working_days_between(a, b) = idx(b) - idx(a);
the n-th working day after a is the working day with idx(a) + n. Records whose own
dates are unusable (unparseable, end before start) are left to the rules that report
those, so one problem is not reported three times.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from csc_pipeline.contract import FLAG_TRUE, TABLES, TABLES_BY_NAME
from csc_pipeline.quality.issues import day_sql, entity, ref_sql
from csc_pipeline.quality.rules import (
    ASSESSMENT_WORKING_DAYS,
    ICPC_WORKING_DAYS,
    MAX_CHILDREN_PER_FTE,
)
from csc_pipeline.quality.suites import DATE_SUFFIX, NUM_SUFFIX
from csc_pipeline.quality.typed import chk, is_case_holder_sql, lit, q


@dataclass(frozen=True)
class SqlCheck:
    rule_id: str
    table: str  # the table whose records are reported
    column: str | None
    requires: tuple[str, ...]  # tables that must be present for the check to run
    sql: str  # select source_row, description


def _d(col: str) -> str:
    return q(col + DATE_SUFFIX)


def _unmatched(col, target: str, key: str) -> str:
    """A reference resolves as staging resolves it (docs/architecture.md): workers by id,
    staff id or name; teams by id or name (ssd-as-deployed.md: SystemC writes names and
    staff ids into worker-id columns, department names into prof_professional_department).

    One NOT EXISTS per way of matching, each an equality: DuckDB runs every one as a hash
    anti-join. The single NOT EXISTS over an OR of the three it replaces was a nested-loop
    join (about 0.5 s per worker column on a large council, 1.9 s of the gate's 2.7 s of
    SQL checks); a NULL never equals, so the rows found are the same.
    """
    v = f"t.{q(col.name)}"
    ways = [f"x.{q(key)} = {v}"]
    if col.resolve == "worker":
        ways += [
            f"x.prof_staff_id = {v}",
            f"upper(x.prof_professional_name) = upper({v})",
        ]
    elif col.resolve == "team":
        ways += [f"upper(x.dept_team_name) = upper({v})"]
    return "\n                  and ".join(
        f"not exists (select 1 from {chk(target)} x where {way})" for way in ways
    )


def orphan_checks() -> list[SqlCheck]:
    out = []
    for table in TABLES:
        ref = ref_sql(table)
        for col in table.columns:
            if not col.references:
                continue
            target, key = col.references.split(".")
            label = entity(target).lower()
            sql = f"""
                select t._source_row as source_row,
                       {ref} || {lit(" refers to " + label + " ")} || t.{q(col.name)}
                       || {lit(", which is not in " + TABLES_BY_NAME[target].file_name)} as description
                from {chk(table.name)} t
                where t.{q(col.name)} is not null
                  and {_unmatched(col, target, key)}
            """
            out.append(SqlCheck("orphan", table.name, col.name, (table.name, target), sql))
    return out


def _overlap(
    rule_id: str, table: str, person: str, key: str, start: str, end: str, what: str
) -> SqlCheck:
    """Two records of one child whose periods overlap; the later-starting one is reported."""
    t = TABLES_BY_NAME[table]
    s, e = _d(start), _d(end)
    sql = f"""
        select b._source_row as source_row,
               {ref_sql(t, "b")} || ' (started ' || {day_sql("b." + s)} || ') overlaps '
               || {lit(what + " ")} || a.{q(key)} || ' of the same child ('
               || {day_sql("a." + s)} || ' to ' || coalesce({day_sql("a." + e)}, 'still open') || ')'
               as description
        from {chk(table)} a
        join {chk(table)} b on a.{q(person)} = b.{q(person)} and a._source_row <> b._source_row
        where a.{s} is not null and b.{s} is not null
          and (a.{s} < b.{s} or (a.{s} = b.{s} and a.{q(key)} < b.{q(key)}))
          and (a.{e} is null or a.{e} > b.{s})
          and (a.{e} is null or a.{e} >= a.{s}) and (b.{e} is null or b.{e} >= b.{s})
    """
    return SqlCheck(rule_id, table, start, (table,), sql)


def _after_closure(table: str, referral_col: str, date_col: str, verb: str) -> SqlCheck:
    t = TABLES_BY_NAME[table]
    sql = f"""
        select a._source_row as source_row,
               {ref_sql(t, "a")} || {lit(" " + verb + " ")} || {day_sql("a." + _d(date_col))}
               || ', after its CIN episode (referral ' || e.cine_referral_id || ') was closed on '
               || {day_sql("e." + _d("cine_close_date"))} as description
        from {chk(table)} a
        join {chk("ssd_cin_episodes")} e on e.cine_referral_id = a.{q(referral_col)}
        where a.{_d(date_col)} > e.{_d("cine_close_date")}
          and e.{_d("cine_close_date")} >= e.{_d("cine_referral_date")}
    """
    return SqlCheck("8565", table, date_col, (table, "ssd_cin_episodes"), sql)


def census_checks(export_date: str) -> list[SqlCheck]:
    d = f"date {lit(export_date)}"
    asm, epi = TABLES_BY_NAME["ssd_cin_assessments"], TABLES_BY_NAME["ssd_cin_episodes"]
    plans, s47 = TABLES_BY_NAME["ssd_cp_plans"], TABLES_BY_NAME["ssd_s47_enquiry"]
    pros = TABLES_BY_NAME["ssd_professionals"]
    nfa_true = ", ".join(lit(v) for v in sorted(FLAG_TRUE))
    checks = [
        SqlCheck(
            "1103",
            asm.name,
            "cina_assessment_start_date",
            (asm.name, epi.name),
            f"""
            select a._source_row as source_row,
                   {ref_sql(asm, "a")} || ' started ' || {day_sql("a." + _d("cina_assessment_start_date"))}
                   || ', before its referral ' || e.cine_referral_id || ' on '
                   || {day_sql("e." + _d("cine_referral_date"))} as description
            from {chk(asm.name)} a
            join {chk(epi.name)} e on e.cine_referral_id = a.cina_referral_id
            where a.{_d("cina_assessment_start_date")} < e.{_d("cine_referral_date")}
        """,
        ),
        SqlCheck(
            "8840",
            plans.name,
            "cppl_cp_plan_end_date",
            (plans.name,),
            f"""
            select p._source_row as source_row,
                   {ref_sql(plans, "p")} || ' starts and ends on the same day ('
                   || {day_sql("p." + _d("cppl_cp_plan_start_date"))} || ')' as description
            from {chk(plans.name)} p
            where p.{_d("cppl_cp_plan_start_date")} = p.{_d("cppl_cp_plan_end_date")}
        """,
        ),
        _overlap(
            "8940",
            plans.name,
            "cppl_person_id",
            "cppl_cp_plan_id",
            "cppl_cp_plan_start_date",
            "cppl_cp_plan_end_date",
            "child protection plan",
        ),
        _overlap(
            "8820",
            epi.name,
            "cine_person_id",
            "cine_referral_id",
            "cine_referral_date",
            "cine_close_date",
            "CIN episode (referral)",
        ),
        _after_closure(asm.name, "cina_referral_id", "cina_assessment_start_date", "started"),
        _after_closure(s47.name, "s47e_referral_id", "s47e_s47_start_date", "started"),
        _after_closure(
            "ssd_initial_cp_conference", "icpc_referral_id", "icpc_icpc_date", "was held"
        ),
        _after_closure(plans.name, "cppl_referral_id", "cppl_cp_plan_start_date", "started"),
        SqlCheck(
            "8670Q",
            asm.name,
            "cina_assessment_auth_date",
            (asm.name,),
            f"""
            select a._source_row as source_row,
                   {ref_sql(asm, "a")} || ' has been open ' || (now_.wd_idx - s.wd_idx)
                   || ' working days with no authorisation (due ' || {day_sql("due.d")} || ')'
                   as description
            from {chk(asm.name)} a
            join wd_cal s on s.d = a.{_d("cina_assessment_start_date")}
            join wd_cal now_ on now_.d = {d}
            join wd_cal due on due.wd_idx = s.wd_idx + {ASSESSMENT_WORKING_DAYS} and due.is_wd
            where a.cina_assessment_auth_date is null
              and now_.wd_idx - s.wd_idx > {ASSESSMENT_WORKING_DAYS}
        """,
        ),
        SqlCheck(
            "8675Q",
            s47.name,
            "s47e_s47_start_date",
            (s47.name, "ssd_initial_cp_conference"),
            f"""
            select e._source_row as source_row,
                   {ref_sql(s47, "e")} || ' started ' || {day_sql("e." + _d("s47e_s47_start_date"))}
                   || ' (' || (now_.wd_idx - s.wd_idx) || ' working days ago) and no initial child '
                   || 'protection conference has been held (due by ' || {day_sql("due.d")} || ')'
                   as description
            from {chk(s47.name)} e
            join wd_cal s on s.d = e.{_d("s47e_s47_start_date")}
            join wd_cal now_ on now_.d = {d}
            join wd_cal due on due.wd_idx = s.wd_idx + {ICPC_WORKING_DAYS} and due.is_wd
            where now_.wd_idx - s.wd_idx > {ICPC_WORKING_DAYS}
              and coalesce(e.s47e_s47_nfa, '') not in ({nfa_true})
              and not exists (
                  select 1 from {chk("ssd_initial_cp_conference")} c
                  where c.icpc_s47_enquiry_id = e.s47e_s47_enquiry_id
                    and c.{_d("icpc_icpc_date")} is not null)
        """,
        ),
        SqlCheck(
            "caseload_over_50",
            pros.name,
            "prof_full_time_equivalency",
            (pros.name, "ssd_involvements"),
            f"""
            with held as (
                select distinct invo_professional_id as worker_id, invo_person_id as person_id
                from {chk("ssd_involvements")}
                where {is_case_holder_sql("invo_professional_role_id")}
                  and invo_person_id is not null
                  and {_d("invo_involvement_start_date")} <= {d}
                  and ({_d("invo_involvement_end_date")} is null or {_d("invo_involvement_end_date")} > {d})
            ), counts as (select worker_id, count(*) as children from held group by worker_id)
            select p._source_row as source_row,
                   {ref_sql(pros, "p")} || ' holds ' || c.children || ' children at '
                   || p.{q("prof_full_time_equivalency" + NUM_SUFFIX)} || ' FTE ('
                   || round(c.children / p.{q("prof_full_time_equivalency" + NUM_SUFFIX)}, 1)
                   || {lit(f" per FTE), above the limit of {MAX_CHILDREN_PER_FTE} per FTE")}
                   as description
            from counts c join {chk(pros.name)} p on p.prof_professional_id = c.worker_id
            where p.{q("prof_full_time_equivalency" + NUM_SUFFIX)} > 0
              and c.children / p.{q("prof_full_time_equivalency" + NUM_SUFFIX)} > {MAX_CHILDREN_PER_FTE}
        """,
        ),
    ]
    return checks


def all_checks(export_date: str) -> list[SqlCheck]:
    return orphan_checks() + census_checks(export_date)


def run_check(con: duckdb.DuckDBPyConnection, check: SqlCheck) -> int:
    """Insert the check's hits into dq_hits; returns how many source rows it found."""
    con.execute(
        f"insert into dq_hits select {lit(check.rule_id)}, {lit(check.table)}, "
        f"{lit(check.column)}, source_row, description from ({check.sql})"
    )
    return con.execute(
        "select count(distinct source_row) from dq_hits where rule_id = ? and table_name = ? "
        "and column_name is not distinct from ?",
        [check.rule_id, check.table, check.column],
    ).fetchone()[0]
