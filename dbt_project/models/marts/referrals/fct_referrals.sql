with

referrals as (
    select * from {{ ref('int_referrals__rereferrals') }}
),

teams as (
    select * from {{ ref('stg_ssd__departments') }}
),

calendar as (
    select * from {{ ref('int_calendar') }}
)

select
    referrals.referral_id,
    referrals.person_key,
    referrals.referral_date,
    calendar.month_start as referral_month_start,
    cast(calendar.financial_year as varchar) as referral_financial_year,
    cast(calendar.fiscal_quarter as varchar) as referral_fiscal_quarter,
    referrals.close_date,
    referrals.is_open,
    referrals.primary_need_code,
    referrals.referral_source_code,
    referrals.is_referral_nfa,
    referrals.close_reason,
    referrals.team_id,
    teams.team_name,
    teams.service_area_id,
    teams.service_area_name,
    referrals.worker_id,
    referrals.previous_referral_date,
    referrals.previous_referral_count,
    referrals.rereferral_window_start_date,
    referrals.is_rereferral_within_12_months,
    cast(referrals.dq_issue as varchar) as dq_issue,
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from referrals
left join teams on teams.team_id = referrals.team_id
left join calendar on calendar.calendar_date = referrals.referral_date
