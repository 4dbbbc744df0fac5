"""The SQL behind the digests: the one place that names warehouse relations and columns.

The alerts READ the marts' flags and never recompute a definition (spec/kpis.md lives
in dbt, once): `fct_assessments.is_overdue` / `is_due_soon`, `fct_icpc.is_overdue_not_held`,
`fct_cp_visits_due.is_visit_overdue`, `fct_caseloads.caseload_per_fte`. The only number
the alerts own is the caseload level at which a manager is told about a worker
(CSC_CASELOAD_ALERT_THRESHOLD, compared with the mart's caseload_per_fte): a
management attention level, not a definition.

Every section query returns the same columns (RECORD_COLUMNS), one row per record a
manager should look at, and takes the named parameters it uses:

    as_at            DATE   the night's export date (never the wall clock)
    caseload_limit   DOUBLE children per FTE above which a worker is listed

`source_keys` names the export rows a record stands for ("table:id"): a data-quality
issue on one of those rows is the same fact and is shown with the record, once.

Marts carry the pseudonymous person_key only; managers need the case system's person
id to find the record, and think of workers by name: both come from the schema
`restricted` (dbt models/restricted/, kept out of marts). No query selects a child's
name or a date of birth.
"""

from __future__ import annotations

RECORD_COLUMNS = (
    "section", "team_id", "record_type", "record_id", "person_id", "worker_id",
    "worker_name", "date_label", "date_value", "detail", "is_new", "source_keys",
    "rule_id",
)  # fmt: skip

# Used when the warehouse predates the restricted schema: ids and names left blank.
RESTRICTED_FALLBACK = {
    "restricted.restricted_person_ids": "(select null::varchar as person_key, null::varchar as person_id)",
    "restricted.restricted_worker_names": "(select null::varchar as worker_id, null::varchar as worker_name)",
}
# placeholders replaced by the relation (or its fallback) when the query runs
PEOPLE = "@restricted.restricted_person_ids@"
WORKERS = "@restricted.restricted_worker_names@"

# detail = the issue's plain-English description, written by quality.issues for team
# managers and guaranteed to hold no name or date of birth (falls back to the rule id).
DQ_ISSUES = f"""
select 'dq_issue' as section, i.team_id, i.table_name as record_type, i.record_id, i.person_id,
       i.worker_id, w.worker_name, 'first seen' as date_label, cast(i.first_seen as date) as date_value,
       coalesce(i.description, i.rule_id) as detail,
       cast(i.first_seen as date) = $as_at as is_new,
       [i.table_name || ':' || i.record_id] as source_keys, i.rule_id
from dq.dq_issues as i
left join {WORKERS} as w on w.worker_id = i.worker_id
where i.resolved_on is null and cast(i.first_seen as date) <= $as_at
"""

ASSESSMENTS = f"""
select case when a.is_overdue then 'assessment_overdue' else 'assessment_due_soon' end as section,
       a.team_id, 'assessment' as record_type, a.assessment_id as record_id, p.person_id,
       a.worker_id, w.worker_name, 'due' as date_label, a.due_date as date_value,
       'started ' || strftime(a.start_date, '%Y-%m-%d')
           || coalesce('; open ' || cast(a.working_days_open as varchar) || ' working days', '') as detail,
       false as is_new, ['ssd_cin_assessments:' || a.assessment_id] as source_keys,
       null as rule_id
from marts.fct_assessments as a
left join {PEOPLE} as p on p.person_key = a.person_key
left join {WORKERS} as w on w.worker_id = a.worker_id
where a.is_overdue or a.is_due_soon
"""

# The mart's flag: not held and past the ICPC timescale (kpis.md section 5). Transfer-in
# conferences are another council's timescale and are not listed (as the KPI excludes
# them); records with unusable dates carry dq_issue and no flag (reported as DQ issues).
ICPC_OVERDUE = f"""
select 'icpc_overdue' as section, c.team_id, 'initial conference' as record_type,
       c.icpc_id as record_id, p.person_id, c.worker_id, w.worker_name,
       'S47 started' as date_label, c.s47_start_date as date_value,
       'not held' || coalesce('; target date ' || strftime(c.target_date, '%Y-%m-%d'), '') as detail,
       false as is_new,
       ['ssd_initial_cp_conference:' || c.icpc_id, 'ssd_s47_enquiry:' || c.s47_enquiry_id] as source_keys,
       null as rule_id
from marts.fct_icpc as c
left join {PEOPLE} as p on p.person_key = c.person_key
left join {WORKERS} as w on w.worker_id = c.worker_id
where coalesce(c.is_overdue_not_held, false) and not coalesce(c.is_transfer_in, false)
"""

# The mart's flag (a child on an open plan not seen on a visit for more than the
# practice standard's working days; never seen: counted from the plan start). Team and
# worker: the child's current case-holding allocation (as the mart gives them).
CP_VISITS_OVERDUE = f"""
select 'cp_visit_overdue' as section, v.team_id, 'child protection plan' as record_type,
       v.cp_plan_id as record_id, p.person_id, v.worker_id, w.worker_name,
       case when v.last_seen_visit_date is null then 'plan started' else 'last seen' end as date_label,
       coalesce(v.last_seen_visit_date, v.plan_start_date) as date_value,
       case when v.last_seen_visit_date is null then 'child not seen on a visit since the plan started'
            else 'child last seen on a visit' end
           || coalesce(' (' || cast(v.working_days_since_seen as varchar) || ' working days)', '') as detail,
       false as is_new, ['ssd_cp_plans:' || v.cp_plan_id] as source_keys, null as rule_id
from marts.fct_cp_visits_due as v
left join {PEOPLE} as p on p.person_key = v.person_key
left join {WORKERS} as w on w.worker_id = v.worker_id
where coalesce(v.is_visit_overdue, false)
"""

CASELOADS = f"""
select 'caseload' as section, c.team_id, 'worker' as record_type, c.worker_id as record_id,
       null as person_id, c.worker_id, w.worker_name, 'as at' as date_label, c.snapshot_date as date_value,
       cast(c.children_allocated as varchar) || ' children, '
           || cast(round(c.fte, 2) as double) || ' FTE: '
           || cast(round(c.caseload_per_fte, 1) as double) || ' per FTE' as detail,
       false as is_new, ['ssd_professionals:' || c.worker_id] as source_keys, null as rule_id
from marts.fct_caseloads as c
left join {WORKERS} as w on w.worker_id = c.worker_id
where c.snapshot_date = $as_at and c.caseload_per_fte > $caseload_limit
"""

# Each query is run once; its rows carry their section.
QUERIES: dict[str, str] = {
    "data-quality issues": DQ_ISSUES,
    "assessments": ASSESSMENTS,
    "initial conferences": ICPC_OVERDUE,
    "child protection visits": CP_VISITS_OVERDUE,
    "caseloads": CASELOADS,
}

# The export tables each query's records come from: a table the night did not supply
# makes the section "not supplied" (never 0).
SOURCES: dict[str, tuple[str, ...]] = {
    "data-quality issues": (),
    "assessments": ("ssd_cin_assessments",),
    "initial conferences": ("ssd_initial_cp_conference", "ssd_s47_enquiry"),
    "child protection visits": ("ssd_cp_plans", "ssd_cp_visits"),
    "caseloads": ("ssd_involvements", "ssd_professionals"),
}

# section -> heading; digests follow this order. The numbers are read from the dbt
# thresholds seed (kpi_definitions.threshold), where the marts' flags take them: the
# heading can never disagree with the flag.
SECTIONS: dict[str, str] = {
    "dq_issue": "Open data-quality issues",
    "assessment_overdue": "Assessments overdue (open over {assessment_timescale_working_days} working days)",
    "assessment_due_soon": "Assessments due within {assessment_due_soon_working_days} working days",
    "icpc_overdue": "Initial conferences not held within {icpc_timescale_working_days} working days of the S47 start",
    "cp_visit_overdue": "Child protection visits overdue (child not seen for over {cp_visit_overdue_working_days} working days)",
    "caseload": "Workers above {caseload_limit:g} children per FTE",
}
# section -> the query that fills it
SECTION_QUERY: dict[str, str] = {
    "dq_issue": "data-quality issues",
    "assessment_overdue": "assessments",
    "assessment_due_soon": "assessments",
    "icpc_overdue": "initial conferences",
    "cp_visit_overdue": "child protection visits",
    "caseload": "caseloads",
}

# Team names and service areas.
TEAMS = "select team_id, team_name, service_area_id, service_area_name from marts.dim_team"

PUBLISHED_NIGHT = """
select strftime(max(export_date), '%Y-%m-%d') from meta.nights
where la_code = ? and status = 'published'
"""

# The night's delivered files: a table with no load_log row, or no delivered file (no
# sha256), was not supplied (the convention of dbt's int_feed_availability).
SUPPLIED_TABLES = """
select table_name from meta.load_log
where la_code = ? and export_date = ? and sha256 is not null
"""

# Figures the marts say cannot be computed tonight (a feed the council does not
# supply, e.g. no worker has an FTE): query -> the KPI whose availability it shares.
FEED_KPI: dict[str, str] = {"caseloads": "CASELOAD_PER_FTE"}
KPI_AVAILABILITY = "select kpi_code, is_available, unavailable_reason from marts.dim_kpi"
