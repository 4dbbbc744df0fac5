-- Headline figures for the Improvement Board, per indicator and team (team_id null =
-- whole council), for up to three periods:
--   LATEST_COMPLETE_MONTH   the month containing the as-at date if the as-at date is
--                           its last day (the export covers that whole day), else the
--                           month before (FLOW and STOCK indicators; STOCK uses the
--                           month-end snapshot)
--   FINANCIAL_YEAR_TO_DATE  1 April of the financial year containing the as-at date
--                           to the as-at date, including the part month (FLOW)
--   AS_AT                   the position on the as-at date (STOCK and AS_AT)
-- An indicator whose feed was not supplied (int_kpi_catalogue.unavailable_reason) gets
-- a row for every period and team of its type that has any other figure, with null
-- numerator, denominator, value and RAG and the reason: "not available", never 0.
with

events as (
    select * from {{ ref('fct_kpi_events') }}
),

catalogue as (
    select * from {{ ref('int_kpi_catalogue') }}
),

teams as (
    select * from {{ ref('stg_ssd__departments') }}
),

calendar as (
    select * from {{ ref('int_calendar') }}
),

as_at as (
    select
        calendar_date as as_at_date,
        case when is_month_end then month_start else {{ add_interval('month', -1, 'month_start') }} end
            as latest_complete_month_start,
        cast(cast(financial_year_start_year as varchar) || '-04-01' as date) as financial_year_start
    from calendar
    where calendar_date = {{ as_at_date() }}
),

periods as (
    select
        'LATEST_COMPLETE_MONTH' as period,
        as_at.latest_complete_month_start as period_start,
        {{ add_interval('day', -1, add_interval('month', 1, 'as_at.latest_complete_month_start')) }} as period_end,
        'FLOW,STOCK' as kpi_types
    from as_at
    union all
    select
        'FINANCIAL_YEAR_TO_DATE' as period,
        as_at.financial_year_start as period_start,
        as_at.as_at_date as period_end,
        'FLOW' as kpi_types
    from as_at
    union all
    select
        'AS_AT' as period,
        as_at.as_at_date as period_start,
        as_at.as_at_date as period_end,
        'STOCK,AS_AT' as kpi_types
    from as_at
),

period_events as (
    select
        periods.period,
        periods.period_start,
        periods.period_end,
        events.kpi_code,
        events.team_id,
        events.numerator,
        events.denominator
    from events
    inner join catalogue on catalogue.kpi_code = events.kpi_code
    inner join periods
        on events.event_date between periods.period_start and periods.period_end
        and {{ dbt.position("catalogue.kpi_type", "periods.kpi_types") }} > 0
),

available as (
    {{ kpi_rollup('period_events', ['period', 'period_start', 'period_end', 'kpi_code']) }}
),

reporting_grid as (
    select distinct
        available.period,
        available.period_start,
        available.period_end,
        available.team_id,
        periods.kpi_types
    from available
    inner join periods on periods.period = available.period
),

not_available as (
    {{ kpi_not_available(['period', 'period_start', 'period_end', 'kpi_code'],
        condition=dbt.position("catalogue.kpi_type", "reporting_grid.kpi_types") ~ ' > 0') }}
),

figures as (
    select * from available
    union all
    select * from not_available
)

select
    figures.kpi_code || '|' || figures.period || '|' || coalesce(figures.team_id, 'ALL') as kpi_headline_id,
    figures.kpi_code,
    catalogue.kpi_name,
    catalogue.kpi_type,
    cast(figures.period as varchar) as period,
    cast(figures.period_start as date) as period_start,
    cast(figures.period_end as date) as period_end,
    figures.team_id,
    teams.team_name,
    teams.service_area_id,
    teams.service_area_name,
    {{ kpi_figure_columns('figures', 'catalogue') }},
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from figures
inner join catalogue on catalogue.kpi_code = figures.kpi_code
left join teams on teams.team_id = figures.team_id
