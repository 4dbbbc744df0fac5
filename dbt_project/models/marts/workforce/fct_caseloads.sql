-- FTE and agency status come from the latest export (the SSD keeps no workforce
-- history), so historical month ends use today's FTE.
with

worker_snapshots as (
    select * from {{ ref('int_caseloads__worker_snapshots') }}
),

professionals as (
    select * from {{ ref('stg_ssd__professionals') }}
),

teams as (
    select * from {{ ref('stg_ssd__departments') }}
)

select
    worker_snapshots.worker_id || '|' || cast(worker_snapshots.snapshot_date as varchar) as caseload_snapshot_id,
    worker_snapshots.snapshot_date,
    worker_snapshots.month_start,
    worker_snapshots.is_month_end,
    worker_snapshots.is_as_at_date,
    worker_snapshots.is_export_date,
    worker_snapshots.is_kpi_reporting_snapshot,
    worker_snapshots.worker_id,
    worker_snapshots.team_id,
    teams.team_name,
    teams.service_area_id,
    teams.service_area_name,
    cast(professionals.job_title as varchar) as job_title,
    cast(professionals.fte as numeric(9, 4)) as fte,
    coalesce(professionals.is_agency, false) as is_agency,
    cast(worker_snapshots.children_allocated as integer) as children_allocated,
    cast(worker_snapshots.teams_allocated as integer) as teams_allocated,
    coalesce(professionals.fte > 0, false) as is_counted_in_fte,
    cast(
        case when professionals.fte > 0 then worker_snapshots.children_allocated / professionals.fte end
        as numeric(18, 6)
    ) as caseload_per_fte,
    coalesce(
        professionals.fte > 0
        and worker_snapshots.children_allocated / professionals.fte
        > {{ threshold('caseload_flag_per_fte', 'decimal(9, 2)') }},
        false
    ) as is_above_threshold,
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from worker_snapshots
left join professionals on professionals.worker_id = worker_snapshots.worker_id
left join teams on teams.team_id = worker_snapshots.team_id
