-- The records behind every indicator: one row per indicator per counted record
-- (numerator and denominator contributions), so any figure in kpi_monthly or
-- kpi_headline can be drilled to its records. Records with a dq_issue are excluded
-- here (they are reported by the quality layer, never silently changed); audits are
-- excluded per figure (below).
{%- set audit_standards = [] -%}
{%- for kpi in kpi_definitions() if kpi.column is defined -%}
    {%- do audit_standards.append(kpi) -%}
{%- endfor %}

with

assessments as (
    select * from {{ ref('fct_assessments') }}
    where dq_issue is null
),

cp_plans as (
    select * from {{ ref('fct_cp_plans') }}
    where dq_issue is null
),

caseloads as (
    select * from {{ ref('fct_caseloads') }}
    where is_kpi_reporting_snapshot and is_counted_in_fte
),

-- audits: a problem excludes an audit only from the figures it makes meaningless
-- (see int_case_audits__graded): grade figures need a valid final grade, the
-- downgrade figure both grades, practice standards only the completion date
audits as (
    select * from {{ ref('fct_case_audits') }}
    where is_counted_in_kpis
),

referrals as (
    select * from {{ ref('fct_referrals') }}
    where dq_issue is null
),

conferences as (
    select * from {{ ref('fct_icpc') }}
    where dq_issue is null
),

visits_due as (
    select * from {{ ref('fct_cp_visits_due') }}
),

events as (
    select 'ASSESS_45WD_PCT' as kpi_code, assessment_id as record_id, authorised_date as event_date, team_id,
        case when is_within_45_working_days then 1 else 0 end as numerator, 1 as denominator
    from assessments
    where authorised_date is not null

    union all
    select 'ASSESS_OPEN_OVERDUE_PCT', assessment_id, {{ as_at_date() }}, team_id,
        case when is_overdue then 1 else 0 end, 1
    from assessments
    where is_open

    union all
    select 'ASSESS_OPEN_DUE_SOON_PCT', assessment_id, {{ as_at_date() }}, team_id,
        case when is_due_soon then 1 else 0 end, 1
    from assessments
    where is_open

    union all
    select 'CP_REPEAT_EVER_PCT', cp_plan_id, start_date, team_id,
        case when is_second_or_subsequent then 1 else 0 end, 1
    from cp_plans

    union all
    select 'CP_REPEAT_2Y_PCT', cp_plan_id, start_date, team_id,
        case when is_repeat_within_2_years then 1 else 0 end, 1
    from cp_plans

    union all
    select 'CP_2Y_PLUS_ENDED_PCT', cp_plan_id, end_date, team_id,
        case when lasted_2_years_plus then 1 else 0 end, 1
    from cp_plans
    where end_date is not null

    union all
    select 'CP_OPEN_2Y_PLUS_PCT', cp_plan_id, {{ as_at_date() }}, team_id,
        case when open_2_years_plus then 1 else 0 end, 1
    from cp_plans
    where is_open

    union all
    select 'CP_VISIT_OVERDUE_PCT', cp_plan_id, {{ as_at_date() }}, team_id,
        case when is_visit_overdue then 1 else 0 end, 1
    from visits_due

    union all
    select 'CASELOAD_PER_FTE', worker_id, snapshot_date, team_id, children_allocated, fte
    from caseloads

    union all
    select 'AGENCY_RATE', worker_id, snapshot_date, team_id, case when is_agency then fte else 0 end, fte
    from caseloads

    union all
    select 'CASELOAD_ABOVE_THRESHOLD_PCT', worker_id, snapshot_date, team_id,
        case when is_above_threshold then 1 else 0 end, 1
    from caseloads
    where is_as_at_date

    union all
    select 'AUDIT_GOOD_PLUS_PCT', audit_id, completed_date, team_id,
        case when is_good_or_better then 1 else 0 end, 1
    from audits
    where is_good_or_better is not null

    union all
    select 'AUDIT_REQUIRES_IMPROVEMENT_PCT', audit_id, completed_date, team_id,
        case when is_requires_improvement then 1 else 0 end, 1
    from audits
    where is_requires_improvement is not null

    union all
    select 'AUDIT_INADEQUATE_PCT', audit_id, completed_date, team_id,
        case when is_inadequate then 1 else 0 end, 1
    from audits
    where is_inadequate is not null

    union all
    select 'AUDIT_DOWNGRADE_PCT', audit_id, completed_date, team_id,
        case when moderation_outcome = 'DOWNGRADED' then 1 else 0 end, 1
    from audits
    where moderation_outcome in ('AGREED', 'DOWNGRADED', 'UPGRADED')
    {% for kpi in audit_standards %}
    union all
    select '{{ kpi.code }}', audit_id, completed_date, team_id,
        case when {{ kpi.column }} then 1 else 0 end, 1
    from audits
    where {{ kpi.column }} is not null
    {% endfor %}
    union all
    select 'REREFERRAL_12M_PCT', referral_id, referral_date, team_id,
        case when is_rereferral_within_12_months then 1 else 0 end, 1
    from referrals

    union all
    select 'ICPC_15WD_PCT', icpc_id, icpc_date, team_id,
        case when is_within_15_working_days then 1 else 0 end, 1
    from conferences
    where is_held and not is_transfer_in
)

select
    cast(events.kpi_code as varchar) || '|' || cast(events.record_id as varchar) || '|'
        || cast(events.event_date as varchar) as kpi_event_id,
    cast(events.kpi_code as varchar) as kpi_code,
    cast(events.record_id as varchar) as record_id,
    cast(events.event_date as date) as event_date,
    cast({{ dbt.date_trunc('month', 'events.event_date') }} as date) as month_start,
    cast(events.team_id as varchar) as team_id,
    cast(events.numerator as numeric(18, 4)) as numerator,
    cast(events.denominator as numeric(18, 4)) as denominator,
    {{ la_code() }} as la_code
from events
