-- One row per case-holding worker per snapshot date (int_snapshot_dates).
-- Spec §3: child C is on worker W's caseload on D when a case-holding involvement for
-- W has start_date <= D and (end_date is null or end_date > D); a child counts once per
-- worker however many rows. So on a handover day (old allocation ends D, new starts D)
-- the child counts for the new worker only; duplicate rows count once.
-- Team: a worker's allocations can sit in several teams (the allocation team beats
-- the worker's department). The row's team is the team holding most of the worker's
-- children on D; ties go to the worker's own department, then the lowest team id; a
-- known team beats an unknown (null) one.
with

allocations as (
    select * from {{ ref('int_case_allocations') }}
    where is_counted
),

snapshot_dates as (
    select * from {{ ref('int_snapshot_dates') }}
),

allocated_on_date as (
    select
        snapshot_dates.snapshot_date,
        allocations.worker_id,
        allocations.team_id,
        allocations.worker_team_id,
        allocations.person_id
    from allocations
    inner join snapshot_dates
        on allocations.start_date <= snapshot_dates.snapshot_date
        and (allocations.end_date is null or allocations.end_date > snapshot_dates.snapshot_date)
),

worker_totals as (
    select
        snapshot_date,
        worker_id,
        count(distinct person_id) as children_allocated,
        count(distinct team_id) as teams_allocated
    from allocated_on_date
    group by snapshot_date, worker_id
),

worker_teams as (
    select
        snapshot_date,
        worker_id,
        team_id,
        max(worker_team_id) as worker_team_id,
        count(distinct person_id) as team_children
    from allocated_on_date
    group by snapshot_date, worker_id, team_id
),

ranked_teams as (
    select
        *,
        row_number() over (
            partition by snapshot_date, worker_id
            order by
                case when team_id is null then 1 else 0 end asc,
                team_children desc,
                case when team_id = worker_team_id then 0 else 1 end asc,
                team_id asc
        ) as team_rank
    from worker_teams
)

select
    worker_totals.snapshot_date,
    worker_totals.worker_id,
    ranked_teams.team_id,
    worker_totals.children_allocated,
    worker_totals.teams_allocated,
    snapshot_dates.month_start,
    snapshot_dates.is_month_end,
    snapshot_dates.is_as_at_date,
    snapshot_dates.is_export_date,
    snapshot_dates.is_kpi_reporting_snapshot
from worker_totals
inner join ranked_teams
    on ranked_teams.snapshot_date = worker_totals.snapshot_date
    and ranked_teams.worker_id = worker_totals.worker_id
    and ranked_teams.team_rank = 1
inner join snapshot_dates on snapshot_dates.snapshot_date = worker_totals.snapshot_date
