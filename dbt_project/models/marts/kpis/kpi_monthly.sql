-- One row per indicator, month and team (team_id null = whole council) for FLOW and
-- STOCK indicators. value = sum(numerator) / sum(denominator). Months appear from the
-- first with a record to the month of the as-at date (is_complete_month = false for
-- it); a month without any record for an indicator/team has no row. Teams roll up to
-- service areas by summing numerator and denominator (exact for every indicator).
-- An indicator whose feed was not supplied (int_kpi_catalogue.unavailable_reason) gets
-- a row for every month and team that has any other figure, with null numerator,
-- denominator, value and RAG and the reason: "not available", never 0.
with

events as (
    select * from {{ ref('fct_kpi_events') }}
),

catalogue as (
    select * from {{ ref('int_kpi_catalogue') }}
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
    inner join catalogue on catalogue.kpi_code = events.kpi_code
),

available as (
    {{ kpi_rollup('scoped_events', ['kpi_code', 'month_start']) }}
),

reporting_grid as (
    select distinct
        month_start,
        team_id
    from available
),

not_available as (
    {{ kpi_not_available(['kpi_code', 'month_start']) }}
),

figures as (
    select * from available
    union all
    select * from not_available
)

select
    figures.kpi_code || '|' || cast(figures.month_start as varchar) || '|' || coalesce(figures.team_id, 'ALL')
        as kpi_monthly_id,
    figures.kpi_code,
    catalogue.kpi_name,
    figures.month_start,
    calendar.month_end,
    cast(calendar.financial_year as varchar) as financial_year,
    cast(calendar.fiscal_quarter as varchar) as fiscal_quarter,
    figures.team_id,
    teams.team_name,
    teams.service_area_id,
    teams.service_area_name,
    {{ kpi_figure_columns('figures', 'catalogue') }},
    calendar.month_end <= {{ as_at_date() }} as is_complete_month,
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from figures
inner join catalogue on catalogue.kpi_code = figures.kpi_code
inner join calendar on calendar.calendar_date = figures.month_start
left join teams on teams.team_id = figures.team_id
