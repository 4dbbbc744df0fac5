-- One row per worker in the latest export. No staff names or HR numbers.
with

professionals as (
    select * from {{ ref('stg_ssd__professionals') }}
),

teams as (
    select * from {{ ref('stg_ssd__departments') }}
),

as_at_caseloads as (
    select * from {{ ref('int_caseloads__worker_snapshots') }}
    where is_as_at_date
)

select
    professionals.worker_id,
    cast(professionals.job_title as varchar) as job_title,
    professionals.team_id,
    teams.team_name,
    teams.service_area_id,
    teams.service_area_name,
    cast(professionals.fte as numeric(9, 4)) as fte,
    professionals.is_agency,
    professionals.social_work_england_number is not null as has_social_work_registration,
    coalesce(as_at_caseloads.children_allocated, 0) > 0 as is_case_holder,
    cast(coalesce(as_at_caseloads.children_allocated, 0) as integer) as children_allocated_as_at,
    cast(
        case
            when professionals.fte > 0
                then as_at_caseloads.children_allocated / professionals.fte
        end as numeric(18, 6)
    ) as caseload_per_fte_as_at,
    professionals.fte_is_invalid,
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from professionals
left join teams on teams.team_id = professionals.team_id
left join as_at_caseloads on as_at_caseloads.worker_id = professionals.worker_id
