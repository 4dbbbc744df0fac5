-- The records behind every indicator: one row per indicator per counted record
-- (numerator and denominator contributions), so any figure in kpi_monthly or
-- kpi_headline can be drilled to its records. Each indicator's counting rule is ONE
-- kpi_event() line below; the per-record flags it reads are defined in the domain facts
-- (fct_assessments, fct_cp_plans, ...). Records with a dq_issue are excluded here (they
-- are reported by the quality layer, never silently changed); audits are excluded per
-- figure (below). Indicators whose feed was not supplied (int_kpi_catalogue) have no
-- events: kpi_monthly and kpi_headline show them as not available, never as 0.
{%- set audit_standards = {
    'AUDIT_STD_TIMESCALES_PCT': 'std_timescales_met',
    'AUDIT_STD_MANAGEMENT_OVERSIGHT_PCT': 'std_management_oversight_met',
    'AUDIT_STD_VOICE_OF_CHILD_PCT': 'std_voice_of_child_met',
    'AUDIT_STD_ANALYSIS_PCT': 'std_analysis_met',
    'AUDIT_STD_RECORDING_PCT': 'std_recording_met',
} %}

with

assessments as (
    select * from {{ ref('fct_assessments') }}
    where dq_issue is null
),

cp_plans as (
    select * from {{ ref('fct_cp_plans') }}
    where dq_issue is null
),

-- every case-holding worker on the month's reporting snapshot (headcount figure)
case_holders as (
    select * from {{ ref('fct_caseloads') }}
    where is_kpi_reporting_snapshot
),

-- per-FTE figures: workers with FTE > 0 only (kpis.md §3)
caseloads as (
    select * from case_holders
    where is_counted_in_fte
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

available_kpis as (
    select kpi_code from {{ ref('int_kpi_catalogue') }}
    where is_available
),

events as (
    {{ kpi_event('ASSESS_45WD_PCT', 'assessments', 'assessment_id', 'authorised_date',
        hit='is_within_45_working_days', where='authorised_date is not null') }}
    union all
    {{ kpi_event('ASSESS_OPEN_OVERDUE_PCT', 'assessments', 'assessment_id', as_at_date(),
        hit='is_overdue', where='is_open') }}
    union all
    {{ kpi_event('ASSESS_OPEN_DUE_SOON_PCT', 'assessments', 'assessment_id', as_at_date(),
        hit='is_due_soon', where='is_open') }}
    union all
    {{ kpi_event('CP_REPEAT_EVER_PCT', 'cp_plans', 'cp_plan_id', 'start_date',
        hit='is_second_or_subsequent') }}
    union all
    {{ kpi_event('CP_REPEAT_2Y_PCT', 'cp_plans', 'cp_plan_id', 'start_date',
        hit='is_repeat_within_2_years') }}
    union all
    {{ kpi_event('CP_2Y_PLUS_ENDED_PCT', 'cp_plans', 'cp_plan_id', 'end_date',
        hit='lasted_2_years_plus', where='end_date is not null') }}
    union all
    {{ kpi_event('CP_OPEN_2Y_PLUS_PCT', 'cp_plans', 'cp_plan_id', as_at_date(),
        hit='open_2_years_plus', where='is_open') }}
    union all
    {{ kpi_event('CP_VISIT_OVERDUE_PCT', 'visits_due', 'cp_plan_id', as_at_date(),
        hit='is_visit_overdue') }}
    union all
    {{ kpi_event('CASELOAD_PER_FTE', 'caseloads', 'worker_id', 'snapshot_date',
        numerator='children_allocated', denominator='fte') }}
    union all
    {{ kpi_event('CASELOAD_PER_WORKER', 'case_holders', 'worker_id', 'snapshot_date',
        numerator='children_allocated') }}
    union all
    {{ kpi_event('AGENCY_RATE', 'caseloads', 'worker_id', 'snapshot_date',
        numerator='case when is_agency then fte else 0 end', denominator='fte') }}
    union all
    {{ kpi_event('CASELOAD_ABOVE_THRESHOLD_PCT', 'caseloads', 'worker_id', 'snapshot_date',
        hit='is_above_threshold', where='is_as_at_date') }}
    union all
    {{ kpi_event('AUDIT_GOOD_PLUS_PCT', 'audits', 'audit_id', 'completed_date',
        hit='is_good_or_better', where='is_good_or_better is not null') }}
    union all
    {{ kpi_event('AUDIT_REQUIRES_IMPROVEMENT_PCT', 'audits', 'audit_id', 'completed_date',
        hit='is_requires_improvement', where='is_requires_improvement is not null') }}
    union all
    {{ kpi_event('AUDIT_INADEQUATE_PCT', 'audits', 'audit_id', 'completed_date',
        hit='is_inadequate', where='is_inadequate is not null') }}
    union all
    {{ kpi_event('AUDIT_DOWNGRADE_PCT', 'audits', 'audit_id', 'completed_date',
        hit="moderation_outcome = 'DOWNGRADED'",
        where="moderation_outcome in ('AGREED', 'DOWNGRADED', 'UPGRADED')") }}
    {%- for kpi_code, column in audit_standards.items() %}
    union all
    {{ kpi_event(kpi_code, 'audits', 'audit_id', 'completed_date',
        hit=column, where=column ~ ' is not null') }}
    {%- endfor %}
    union all
    {{ kpi_event('REREFERRAL_12M_PCT', 'referrals', 'referral_id', 'referral_date',
        hit='is_rereferral_within_12_months') }}
    union all
    {{ kpi_event('ICPC_15WD_PCT', 'conferences', 'icpc_id', 'icpc_date',
        hit='is_within_15_working_days', where='is_held and not is_transfer_in') }}
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
inner join available_kpis on available_kpis.kpi_code = events.kpi_code
