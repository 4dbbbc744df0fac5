-- The dates on which caseloads are measured (spec §3 "History"): every month end from
-- the month of the earliest case-holding allocation up to the as-at date, the as-at
-- date itself, and the export date of every night landed or published for this
-- council up to the as-at date (meta.nights, when that table exists).
-- is_kpi_reporting_snapshot marks the one snapshot per month used by kpi_monthly:
-- the month end, or the as-at date for the month that contains it.
{%- set nights_relation = source('meta', 'nights') -%}
{#- in a unit test the source is a fixture CTE (no schema): the branch is skipped there -#}
{%- set include_nights = execute and nights_relation.schema is not none
    and load_relation(nights_relation) is not none %}

with

calendar as (
    select * from {{ ref('int_calendar') }}
),

allocations as (
    select * from {{ ref('int_case_allocations') }}
),

first_allocation as (
    select min(start_date) as first_start_date
    from allocations
    where is_counted
),

candidate_dates as (
    select
        calendar.calendar_date as snapshot_date,
        1 as is_month_end,
        0 as is_as_at_date,
        0 as is_export_date
    from calendar
    inner join first_allocation
        on calendar.calendar_date >= first_allocation.first_start_date
    where calendar.is_month_end
        and calendar.calendar_date <= {{ as_at_date() }}

    union all

    select
        {{ as_at_date() }} as snapshot_date,
        0 as is_month_end,
        1 as is_as_at_date,
        0 as is_export_date

    {%- if include_nights %}

    union all

    select distinct
        cast(export_date as date) as snapshot_date,
        0 as is_month_end,
        0 as is_as_at_date,
        1 as is_export_date
    from {{ nights_relation }}
    where la_code = '{{ var("la_code") }}'
        and status in ('landed', 'published')
        and cast(export_date as date) <= {{ as_at_date() }}
    {%- endif %}
),

snapshot_dates as (
    select
        snapshot_date,
        max(is_month_end) = 1 as is_month_end,
        max(is_as_at_date) = 1 as is_as_at_date,
        max(is_export_date) = 1 as is_export_date
    from candidate_dates
    group by snapshot_date
)

select
    snapshot_dates.snapshot_date,
    calendar.month_start,
    calendar.calendar_date = calendar.month_end as is_month_end,
    snapshot_dates.is_as_at_date,
    snapshot_dates.is_export_date,
    (calendar.calendar_date = calendar.month_end or snapshot_dates.is_as_at_date)
        as is_kpi_reporting_snapshot
from snapshot_dates
inner join calendar on calendar.calendar_date = snapshot_dates.snapshot_date
