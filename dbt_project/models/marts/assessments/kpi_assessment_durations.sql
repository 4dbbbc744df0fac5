-- Assessment durations per month of authorisation and team (team_id null = whole
-- council): the median working days to authorise and the DfE duration bands
-- (spec §1). Records with a dq_issue are excluded.
with

assessments as (
    select * from {{ ref('fct_assessments') }}
    where dq_issue is null and authorised_date is not null
),

calendar as (
    select * from {{ ref('int_calendar') }}
),

scoped as (
    select
        authorised_month_start as month_start,
        team_id,
        working_days_to_authorise,
        duration_band,
        is_within_45_working_days
    from assessments
),

by_team as (
    select * from scoped
    where team_id is not null
    union all
    select
        month_start,
        cast(null as varchar) as team_id,
        working_days_to_authorise,
        duration_band,
        is_within_45_working_days
    from scoped
),

aggregated as (
    select
        month_start,
        team_id,
        count(*) as assessments_authorised,
        sum(case when is_within_45_working_days then 1 else 0 end) as within_45_working_days,
        percentile_cont(0.5) within group (order by working_days_to_authorise) as median_working_days,
        sum(case when duration_band = '0' then 1 else 0 end) as band_0,
        sum(case when duration_band = '1-10' then 1 else 0 end) as band_1_10,
        sum(case when duration_band = '11-20' then 1 else 0 end) as band_11_20,
        sum(case when duration_band = '21-30' then 1 else 0 end) as band_21_30,
        sum(case when duration_band = '31-40' then 1 else 0 end) as band_31_40,
        sum(case when duration_band = '41-45' then 1 else 0 end) as band_41_45,
        sum(case when duration_band = '46-50' then 1 else 0 end) as band_46_50,
        sum(case when duration_band = '51-60' then 1 else 0 end) as band_51_60,
        sum(case when duration_band = '61+' then 1 else 0 end) as band_61_plus
    from by_team
    group by month_start, team_id
)

select
    cast(aggregated.month_start as varchar) || '|' || coalesce(aggregated.team_id, 'ALL')
        as assessment_duration_id,
    aggregated.month_start,
    cast(calendar.financial_year as varchar) as financial_year,
    cast(calendar.fiscal_quarter as varchar) as fiscal_quarter,
    aggregated.team_id,
    cast(aggregated.assessments_authorised as integer) as assessments_authorised,
    cast(aggregated.within_45_working_days as integer) as within_45_working_days,
    cast(aggregated.median_working_days as numeric(9, 1)) as median_working_days,
    cast(aggregated.band_0 as integer) as band_0,
    cast(aggregated.band_1_10 as integer) as band_1_10,
    cast(aggregated.band_11_20 as integer) as band_11_20,
    cast(aggregated.band_21_30 as integer) as band_21_30,
    cast(aggregated.band_31_40 as integer) as band_31_40,
    cast(aggregated.band_41_45 as integer) as band_41_45,
    cast(aggregated.band_46_50 as integer) as band_46_50,
    cast(aggregated.band_51_60 as integer) as band_51_60,
    cast(aggregated.band_61_plus as integer) as band_61_plus,
    {{ la_code() }} as la_code,
    {{ as_at_date() }} as as_at_date
from aggregated
inner join calendar on calendar.calendar_date = aggregated.month_start
