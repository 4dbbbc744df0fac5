-- One row per indicator, month and team (team_id null = whole council) for FLOW and
-- STOCK indicators. value = sum(numerator) / sum(denominator). Months appear from the
-- first with a record to the month of the as-at date (is_complete_month = false for
-- it); a month without any record for an indicator/team has no row. Teams roll up to
-- service areas by summing numerator and denominator (exact for every indicator).
with

events as (
    select * from {{ ref('fct_kpi_events') }}
),

definitions as (
    select * from {{ ref('int_kpi_definitions') }}
    where kpi_type in ('FLOW', 'STOCK')
),

teams as (
    select * from {{ ref('stg_ssd__departments') }}
),

calendar as (
    select * from {{ ref('int_calendar') }}
),

scoped_events as (
    select events.*
    from events
    inner join definitions on definitions.kpi_code = events.kpi_code
),

by_team as (
    select kpi_code, month_start, team_id, sum(numerator) as numerator, sum(denominator) as denominator
    from scoped_events
    where team_id is not null
    group by kpi_code, month_start, team_id
),

council as (
    select kpi_code, month_start, cast(null as varchar) as team_id, sum(numerator) as numerator, sum(denominator) as denominator
    from scoped_events
    group by kpi_code, month_start
),

combined as (
    select * from by_team
    union all
    select * from council
),

valued as (
    select
        combined.*,
        case when combined.denominator > 0 then combined.numerator / combined.denominator end as value
    from combined
)

select
    valued.kpi_code || '|' || cast(valued.month_start as varchar) || '|' || coalesce(valued.team_id, 'ALL')
        as kpi_monthly_id,
    valued.kpi_code,
    definitions.kpi_name,
    valued.month_start,
    calendar.month_end,
    cast(calendar.financial_year as varchar) as financial_year,
    cast(calendar.fiscal_quarter as varchar) as fiscal_quarter,
    valued.team_id,
    teams.team_name,
    teams.service_area_id,
    teams.service_area_name,
    cast(valued.numerator as numeric(18, 4)) as numerator,
    cast(valued.denominator as numeric(18, 4)) as denominator,
    cast(valued.value as numeric(18, 6)) as value,
    definitions.value_unit,
    definitions.target,
    definitions.higher_is_better,
    cast({{ rag_status('valued.value', 'definitions.target', 'definitions.higher_is_better') }} as varchar) as rag,
    calendar.month_end <= {{ as_at_date() }} as is_complete_month,
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from valued
inner join definitions on definitions.kpi_code = valued.kpi_code
inner join calendar on calendar.calendar_date = valued.month_start
left join teams on teams.team_id = valued.team_id
