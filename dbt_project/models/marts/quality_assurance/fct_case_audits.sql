with

audits as (
    select * from {{ ref('int_case_audits__graded') }}
),

teams as (
    select * from {{ ref('stg_ssd__departments') }}
)

select
    audits.audit_id,
    audits.person_key,
    audits.referral_id,
    audits.completed_date,
    audits.completed_month_start,
    cast(audits.completed_financial_year as varchar) as completed_financial_year,
    cast(audits.completed_fiscal_quarter as varchar) as completed_fiscal_quarter,
    audits.audit_type,
    audits.audit_theme,
    audits.team_id,
    teams.team_name,
    teams.service_area_id,
    teams.service_area_name,
    audits.case_worker_id,
    audits.auditor_id,
    audits.auditor_role,
    cast(audits.audit_grade as varchar) as audit_grade,
    cast(audits.moderated_grade as varchar) as moderated_grade,
    audits.moderation_date,
    audits.moderator_id,
    cast(audits.final_grade as varchar) as final_grade,
    cast(audits.moderation_outcome as varchar) as moderation_outcome,
    audits.is_countable as is_counted_in_kpis,
    case
        when audits.is_countable and audits.final_grade_rank is not null
            then audits.final_grade in ('OUTSTANDING', 'GOOD')
    end as is_good_or_better,
    case
        when audits.is_countable and audits.final_grade_rank is not null
            then audits.final_grade = 'REQUIRES_IMPROVEMENT'
    end as is_requires_improvement,
    case
        when audits.is_countable and audits.final_grade_rank is not null
            then audits.final_grade = 'INADEQUATE'
    end as is_inadequate,
    audits.std_timescales_met,
    audits.std_management_oversight_met,
    audits.std_voice_of_child_met,
    audits.std_analysis_met,
    audits.std_recording_met,
    cast(audits.dq_issue as varchar) as dq_issue,
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from audits
left join teams on teams.team_id = audits.team_id
