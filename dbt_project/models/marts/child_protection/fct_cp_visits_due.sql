-- Statutory visit status of every open child protection plan as at var('as_at_date')
-- (spec §5): one row per open plan of this council. The last visit counted is the
-- latest visit recorded against the plan (cppv_cp_plan_id) with the child seen and a
-- valid date on or before the as-at date. A plan with no such visit is measured from
-- its start date. Overdue when working_days_between(that date, as_at) > the threshold
-- cp_visit_overdue_working_days (seed kpi_thresholds: 10). Team/worker: the child's
-- current case-holding allocation (allocation_on_date on the as-at date), for alerts.
with

plans as (
    select * from {{ ref('int_cp_plans__sequenced') }}
    where is_open
),

visits as (
    select * from {{ ref('stg_ssd__cp_visits') }}
),

allocations as (
    select * from {{ ref('int_case_allocations') }}
    where is_counted
),

teams as (
    select * from {{ ref('stg_ssd__departments') }}
),

plan_visits as (
    select
        plans.cp_plan_id,
        max(case when visits.is_child_seen then visits.visit_date end) as last_seen_visit_date,
        max(visits.visit_date) as last_visit_date,
        count(case when visits.is_child_seen then visits.cp_visit_id end) as seen_visit_count
    from plans
    inner join visits
        on visits.cp_plan_id = plans.cp_plan_id
        and visits.visit_date <= {{ as_at_date() }}
    group by plans.cp_plan_id
),

current_allocation as (
    {{ allocation_on_date('plans', 'cp_plan_id', as_at_date()) }}
),

measured as (
    select
        plans.cp_plan_id,
        plans.person_key,
        plans.start_date as plan_start_date,
        plan_visits.last_seen_visit_date,
        plan_visits.last_visit_date,
        coalesce(plan_visits.seen_visit_count, 0) as seen_visit_count,
        coalesce(plan_visits.last_seen_visit_date, plans.start_date) as measured_from_date,
        current_allocation.worker_id,
        current_allocation.team_id
    from plans
    left join plan_visits on plan_visits.cp_plan_id = plans.cp_plan_id
    left join current_allocation
        on current_allocation.cp_plan_id = plans.cp_plan_id
        and current_allocation.allocation_rank = 1
),

with_working_days as (
    select
        measured.*,
        {{ working_days_between('cal_from', 'cal_as_at') }} as working_days_since_seen,
        cal_next_due.calendar_date as visit_due_date
    from measured
    {{ join_calendar('measured.measured_from_date', 'cal_from') }}
    {{ join_calendar(as_at_date(), 'cal_as_at') }}
    {{ join_add_working_days('cal_from', threshold('cp_visit_overdue_working_days'), 'cal_next_due') }}
)

select
    with_working_days.cp_plan_id,
    with_working_days.person_key,
    with_working_days.plan_start_date,
    with_working_days.last_seen_visit_date,
    with_working_days.last_visit_date,
    cast(with_working_days.seen_visit_count as integer) as seen_visit_count,
    with_working_days.measured_from_date,
    with_working_days.visit_due_date,
    cast(with_working_days.working_days_since_seen as integer) as working_days_since_seen,
    with_working_days.working_days_since_seen > {{ threshold('cp_visit_overdue_working_days') }} as is_visit_overdue,
    cast({{ threshold('cp_visit_overdue_working_days') }} as integer) as overdue_after_working_days,
    with_working_days.worker_id,
    with_working_days.team_id,
    teams.team_name,
    teams.service_area_id,
    teams.service_area_name,
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from with_working_days
left join teams on teams.team_id = with_working_days.team_id
