-- Team of a plan (the plans table has none): the team of the child's case-holding
-- allocation on the plan start date (start <= D and (end is null or end > D); if
-- several, the latest-starting, then highest involvement id), else the team of the
-- initial conference that led to it. team_source says which.
with

plans as (
    select * from {{ ref('int_cp_plans__sequenced') }}
),

allocations as (
    select * from {{ ref('int_case_allocations') }}
    where is_counted
),

conferences as (
    select * from {{ ref('stg_ssd__initial_cp_conferences') }}
),

teams as (
    select * from {{ ref('stg_ssd__departments') }}
),

calendar as (
    select * from {{ ref('int_calendar') }}
),

allocation_at_start as (
    {{ allocation_on_date('plans', 'cp_plan_id', 'plans.start_date') }}
),

plans_with_team as (
    select
        plans.*,
        allocation_at_start.worker_id as allocated_worker_id,
        coalesce(allocation_at_start.team_id, conferences.team_id) as team_id,
        case
            when allocation_at_start.team_id is not null then 'ALLOCATION'
            when conferences.team_id is not null then 'ICPC'
        end as team_source
    from plans
    left join allocation_at_start
        on allocation_at_start.cp_plan_id = plans.cp_plan_id
        and allocation_at_start.allocation_rank = 1
    left join conferences on conferences.icpc_id = plans.icpc_id
)

select
    plans_with_team.cp_plan_id,
    plans_with_team.person_key,
    plans_with_team.referral_id,
    plans_with_team.icpc_id,
    plans_with_team.start_date,
    plans_with_team.end_date,
    cast(plans_with_team.initial_category as varchar) as initial_category,
    cast(plans_with_team.latest_category as varchar) as latest_category,
    plans_with_team.plan_sequence,
    plans_with_team.is_second_or_subsequent,
    plans_with_team.is_repeat_within_2_years,
    plans_with_team.previous_plan_end_date,
    plans_with_team.two_year_anniversary_date,
    plans_with_team.is_open,
    plans_with_team.lasted_2_years_plus,
    plans_with_team.open_2_years_plus,
    cast(plans_with_team.duration_days as integer) as duration_days,
    cast(plans_with_team.duration_band as varchar) as duration_band,
    plans_with_team.team_id,
    cast(plans_with_team.team_source as varchar) as team_source,
    teams.team_name,
    teams.service_area_id,
    teams.service_area_name,
    plans_with_team.allocated_worker_id,
    start_calendar.month_start as start_month_start,
    cast(start_calendar.financial_year as varchar) as start_financial_year,
    cast(start_calendar.fiscal_quarter as varchar) as start_fiscal_quarter,
    end_calendar.month_start as end_month_start,
    cast(end_calendar.financial_year as varchar) as end_financial_year,
    cast(end_calendar.fiscal_quarter as varchar) as end_fiscal_quarter,
    cast(plans_with_team.dq_issue as varchar) as dq_issue,
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from plans_with_team
left join teams on teams.team_id = plans_with_team.team_id
left join calendar as start_calendar on start_calendar.calendar_date = plans_with_team.start_date
left join calendar as end_calendar on end_calendar.calendar_date = plans_with_team.end_date
