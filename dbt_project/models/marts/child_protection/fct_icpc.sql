with

conferences as (
    select * from {{ ref('int_icpc__timeliness') }}
),

teams as (
    select * from {{ ref('stg_ssd__departments') }}
)

select
    conferences.icpc_id,
    conferences.s47_enquiry_id,
    conferences.person_key,
    conferences.cp_plan_id,
    conferences.referral_id,
    conferences.is_transfer_in,
    conferences.is_outcome_cp_plan,
    conferences.s47_start_date,
    conferences.icpc_date,
    conferences.target_date,
    conferences.export_target_date,
    conferences.is_held,
    cast(conferences.working_days_s47_to_icpc as integer) as working_days_s47_to_icpc,
    conferences.is_within_15_working_days,
    conferences.is_late,
    conferences.is_overdue_not_held,
    conferences.icpc_month_start,
    cast(conferences.icpc_financial_year as varchar) as icpc_financial_year,
    cast(conferences.icpc_fiscal_quarter as varchar) as icpc_fiscal_quarter,
    conferences.team_id,
    teams.team_name,
    teams.service_area_id,
    teams.service_area_name,
    conferences.worker_id,
    cast(conferences.dq_issue as varchar) as dq_issue,
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from conferences
left join teams on teams.team_id = conferences.team_id
