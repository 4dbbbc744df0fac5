-- Headline figures for the Improvement Board, per indicator and team (team_id null =
-- whole council), for up to three periods:
--   LATEST_COMPLETE_MONTH   the month containing the as-at date if the as-at date is
--                           its last day (the export covers that whole day), else the
--                           month before (FLOW and STOCK indicators; STOCK uses the
--                           month-end snapshot)
--   FINANCIAL_YEAR_TO_DATE  1 April of the financial year containing the as-at date
--                           to the as-at date, including the part month (FLOW)
--   AS_AT                   the position on the as-at date (STOCK and AS_AT)
with

events as (
    select * from {{ ref('fct_kpi_events') }}
),

definitions as (
    select * from {{ ref('int_kpi_definitions') }}
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
    select 'FINANCIAL_YEAR_TO_DATE', as_at.financial_year_start, as_at.as_at_date, 'FLOW'
    from as_at
    union all
    select 'AS_AT', as_at.as_at_date, as_at.as_at_date, 'STOCK,AS_AT'
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
    inner join definitions on definitions.kpi_code = events.kpi_code
    inner join periods
        on events.event_date between periods.period_start and periods.period_end
        and {{ dbt.position("definitions.kpi_type", "periods.kpi_types") }} > 0
),

combined as (
    select period, period_start, period_end, kpi_code, team_id,
        sum(numerator) as numerator, sum(denominator) as denominator
    from period_events
    where team_id is not null
    group by period, period_start, period_end, kpi_code, team_id
    union all
    select period, period_start, period_end, kpi_code, cast(null as varchar) as team_id,
        sum(numerator) as numerator, sum(denominator) as denominator
    from period_events
    group by period, period_start, period_end, kpi_code
),

valued as (
    select
        combined.*,
        case when combined.denominator > 0 then combined.numerator / combined.denominator end as value
    from combined
)

select
    valued.kpi_code || '|' || valued.period || '|' || coalesce(valued.team_id, 'ALL') as kpi_headline_id,
    valued.kpi_code,
    definitions.kpi_name,
    definitions.kpi_type,
    cast(valued.period as varchar) as period,
    cast(valued.period_start as date) as period_start,
    cast(valued.period_end as date) as period_end,
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
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from valued
inner join definitions on definitions.kpi_code = valued.kpi_code
left join teams on teams.team_id = valued.team_id
