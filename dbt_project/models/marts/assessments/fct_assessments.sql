with

assessments as (
    select * from {{ ref('int_assessments__timeliness') }}
),

teams as (
    select * from {{ ref('stg_ssd__departments') }}
)

select
    assessments.assessment_id,
    assessments.person_key,
    assessments.referral_id,
    assessments.referral_date,
    assessments.start_date,
    assessments.authorised_date,
    assessments.due_date,
    cast(assessments.working_days_to_authorise as integer) as working_days_to_authorise,
    assessments.is_within_45_working_days,
    assessments.is_open,
    assessments.is_overdue,
    assessments.is_due_soon,
    cast(assessments.working_days_open as integer) as working_days_open,
    cast(assessments.working_days_until_due as integer) as working_days_until_due,
    cast(assessments.working_days_from_referral as integer) as working_days_from_referral,
    cast(assessments.duration_band as varchar) as duration_band,
    assessments.is_child_seen,
    assessments.is_outcome_nfa,
    assessments.team_id,
    teams.team_name,
    teams.service_area_id,
    teams.service_area_name,
    assessments.worker_id,
    assessments.authorised_month_start,
    cast(assessments.authorised_financial_year as varchar) as authorised_financial_year,
    cast(assessments.authorised_fiscal_quarter as varchar) as authorised_fiscal_quarter,
    cast(assessments.dq_issue as varchar) as dq_issue,
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from assessments
left join teams on teams.team_id = assessments.team_id
