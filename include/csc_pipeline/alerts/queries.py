"""The SQL behind the digests: the one place that names warehouse relations and columns.

Every section query returns the same columns (RECORD_COLUMNS), one row per record a
manager should look at, and takes the same named parameters:

    as_at            DATE   the night's export date (never the wall clock)
    icpc_before      DATE   S47 enquiries that started before this date are past the
                            ICPC timescale (working_days_between(start, as_at) > N)
    visit_before     DATE   a child last seen before this date is overdue a CP visit
    caseload_limit   DOUBLE children per FTE above which a worker is listed

Marts carry the pseudonymous person_key only; managers need the case system's person
id to find the record, so it is joined back through raw.person_pseudonyms (internal to
the warehouse). No query selects a name or a date of birth.
"""

from __future__ import annotations

RECORD_COLUMNS = (
    "section", "team_id", "record_type", "record_id", "person_id", "worker_id",
    "date_label", "date_value", "detail", "is_new",
)  # fmt: skip

# person_key -> case-system person id (one row per key).
_PEOPLE = "(select person_key, min(person_id) as person_id from raw.person_pseudonyms group by person_key)"

# detail = the issue's plain-English description, written by quality.issues for team
# managers and guaranteed to hold no name or date of birth (falls back to the rule id).
DQ_ISSUES = """
select 'dq_issue' as section, i.team_id, i.table_name as record_type, i.record_id, i.person_id,
       i.worker_id, 'first seen' as date_label, cast(i.first_seen as date) as date_value,
       coalesce(i.description, i.rule_id) as detail,
       cast(i.first_seen as date) = $as_at as is_new
from dq.dq_issues as i
where i.resolved_on is null and cast(i.first_seen as date) <= $as_at
"""

ASSESSMENTS = f"""
select case when a.is_overdue then 'assessment_overdue' else 'assessment_due_soon' end as section,
       a.team_id, 'assessment' as record_type, a.assessment_id as record_id, p.person_id,
       a.worker_id, 'due' as date_label, a.due_date as date_value,
       'started ' || strftime(a.start_date, '%Y-%m-%d')
           || coalesce('; open ' || cast(a.working_days_open as varchar) || ' working days', '') as detail,
       false as is_new
from marts.fct_assessments as a
left join {_PEOPLE} as p on p.person_key = a.person_key
where a.is_overdue or a.is_due_soon
"""

# An initial conference is due within N working days of the S47 start (kpis.md §5);
# listed while it has not been held. Transfer-in conferences are not counted, nor are
# records whose dates are unusable (dq_issue: they are reported as data-quality issues).
ICPC_OVERDUE = f"""
select 'icpc_overdue' as section, c.team_id, 'initial conference' as record_type,
       c.icpc_id as record_id, p.person_id, c.worker_id, 'S47 started' as date_label,
       c.s47_start_date as date_value,
       'not held' || coalesce('; target date ' || strftime(c.target_date, '%Y-%m-%d'), '') as detail,
       false as is_new
from marts.fct_icpc as c
left join {_PEOPLE} as p on p.person_key = c.person_key
where c.icpc_date is null and c.dq_issue is null and not coalesce(c.is_transfer_in, false)
  and c.s47_start_date < $icpc_before
"""

# A child on an open plan whose last visit where the child was seen is more than N
# working days before the as-at date (never seen: counted from the plan start). Team
# and worker: the child's current case-holding allocation.
CP_VISITS_OVERDUE = f"""
select 'cp_visit_overdue' as section, v.team_id, 'child protection plan' as record_type,
       v.cp_plan_id as record_id, p.person_id, v.worker_id,
       case when v.last_seen_visit_date is null then 'plan started' else 'last seen' end as date_label,
       coalesce(v.last_seen_visit_date, v.plan_start_date) as date_value,
       case when v.last_seen_visit_date is null then 'child not seen on a visit since the plan started'
            else 'child last seen on a visit' end
           || coalesce(' (' || cast(v.working_days_since_seen as varchar) || ' working days)', '') as detail,
       false as is_new
from marts.fct_cp_visits_due as v
left join {_PEOPLE} as p on p.person_key = v.person_key
where coalesce(v.last_seen_visit_date, v.plan_start_date) < $visit_before
"""

CASELOADS = """
select 'caseload' as section, c.team_id, 'worker' as record_type, c.worker_id as record_id,
       null as person_id, c.worker_id, 'as at' as date_label, c.snapshot_date as date_value,
       cast(c.children_allocated as varchar) || ' children, '
           || cast(round(c.fte, 2) as double) || ' FTE: '
           || cast(round(c.children_allocated / c.fte, 1) as double) || ' per FTE' as detail,
       false as is_new
from marts.fct_caseloads as c
where c.snapshot_date = $as_at and c.fte > 0 and c.children_allocated / c.fte > $caseload_limit
"""

# Each query is run once; its rows carry their section.
QUERIES: dict[str, str] = {
    "data-quality issues": DQ_ISSUES,
    "assessments": ASSESSMENTS,
    "initial conferences": ICPC_OVERDUE,
    "child protection visits": CP_VISITS_OVERDUE,
    "caseloads": CASELOADS,
}

# section -> heading (formatted with the night's settings); digests follow this order.
SECTIONS: dict[str, str] = {
    "dq_issue": "Open data-quality issues",
    "assessment_overdue": "Assessments overdue (open over 45 working days)",
    "assessment_due_soon": "Assessments due within 5 working days",
    "icpc_overdue": "Initial conferences not held within {icpc_days} working days of the S47 start",
    "cp_visit_overdue": "Child protection visits overdue (child not seen for over {visit_days} working days)",
    "caseload": "Workers above {caseload_limit:g} children per FTE",
}

# Team names and service areas.
TEAMS = "select team_id, team_name, service_area_id, service_area_name from marts.dim_team"

PUBLISHED_NIGHT = """
select strftime(max(export_date), '%Y-%m-%d') from meta.nights
where la_code = ? and status = 'published'
"""
