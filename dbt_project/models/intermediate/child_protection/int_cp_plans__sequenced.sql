-- Child protection plans of this council (spec §2), one row per plan. Plans held by
-- another council (cppl_cp_plan_ola = Y) are removed first, so they are neither
-- reported nor counted in any other plan's sequence; a missing or unreadable OLA flag
-- counts as this council's plan.
-- plan_sequence = 1 + the child's plans that started STRICTLY before this one: two
-- plans of one child starting the same day get the same sequence and neither is
-- "earlier" than the other (the literal spec reading; such pairs are usually
-- duplicates and are left to the quality report).
-- is_repeat_within_2_years: an earlier plan (as above) ended on or after the day two
-- calendar years before this plan's start (29 Feb - 2 years = 28 Feb). Earlier plans
-- with no valid end date, or an end before their own start, cannot satisfy it.
with

plans as (
    select * from {{ ref('stg_ssd__cp_plans') }}
    where is_other_la_plan is null or not is_other_la_plan
),

checked as (
    select
        cp_plan_id,
        person_id,
        person_key,
        referral_id,
        icpc_id,
        start_date,
        end_date,
        initial_category,
        latest_category,
        {{ add_interval('year', -2, 'start_date') }} as repeat_window_start_date,
        {{ add_interval('year', 2, 'start_date') }} as two_year_anniversary_date,
        end_date is not null and not end_date_is_invalid and end_date >= start_date as has_valid_end,
        case
            when person_id is null then 'MISSING_PERSON'
            when start_date_is_invalid then 'INVALID_START_DATE'
            when start_date is null then 'MISSING_START_DATE'
            when end_date_is_invalid then 'INVALID_END_DATE'
            when end_date < start_date then 'END_BEFORE_START'
            when start_date > {{ as_at_date() }} then 'START_DATE_IN_FUTURE'
            when end_date > {{ as_at_date() }} then 'END_DATE_IN_FUTURE'
        end as dq_issue
    from plans
),

earlier_plans as (
    select
        this_plan.cp_plan_id,
        count(earlier.cp_plan_id) as earlier_plan_count,
        max(case when earlier.has_valid_end then earlier.end_date end) as previous_plan_end_date,
        max(
            case
                when earlier.has_valid_end
                    and earlier.end_date >= this_plan.repeat_window_start_date then 1
                else 0
            end
        ) as has_plan_ended_within_2_years
    from checked as this_plan
    left join checked as earlier
        on earlier.person_id = this_plan.person_id
        and earlier.start_date < this_plan.start_date
    where this_plan.start_date is not null
    group by this_plan.cp_plan_id
)

select
    checked.cp_plan_id,
    checked.person_id,
    checked.person_key,
    checked.referral_id,
    checked.icpc_id,
    checked.start_date,
    checked.end_date,
    checked.initial_category,
    checked.latest_category,
    cast(1 + earlier_plans.earlier_plan_count as integer) as plan_sequence,
    earlier_plans.earlier_plan_count >= 1 as is_second_or_subsequent,
    earlier_plans.previous_plan_end_date,
    earlier_plans.has_plan_ended_within_2_years = 1 as is_repeat_within_2_years,
    checked.two_year_anniversary_date,
    case when checked.dq_issue is null then checked.end_date is null end as is_open,
    case
        when checked.dq_issue is null and checked.end_date is not null
            then checked.end_date >= checked.two_year_anniversary_date
    end as lasted_2_years_plus,
    case
        when checked.dq_issue is null and checked.end_date is null
            then {{ as_at_date() }} >= checked.two_year_anniversary_date
    end as open_2_years_plus,
    case
        when checked.dq_issue is null
            then {{ dbt.datediff('checked.start_date', 'coalesce(checked.end_date, ' ~ as_at_date() ~ ')', 'day') }}
    end as duration_days,
    -- DfE CIN census duration bands; open plans are measured to the as-at date
    case
        when checked.dq_issue is not null then null
        when coalesce(checked.end_date, {{ as_at_date() }}) < {{ add_interval('month', 3, 'checked.start_date') }}
            then 'Under 3 months'
        when coalesce(checked.end_date, {{ as_at_date() }}) < {{ add_interval('month', 6, 'checked.start_date') }}
            then '3 months to under 6 months'
        when coalesce(checked.end_date, {{ as_at_date() }}) < {{ add_interval('year', 1, 'checked.start_date') }}
            then '6 months to under 1 year'
        when coalesce(checked.end_date, {{ as_at_date() }}) < checked.two_year_anniversary_date
            then '1 year to under 2 years'
        else '2 years and over'
    end as duration_band,
    checked.dq_issue
from checked
left join earlier_plans on earlier_plans.cp_plan_id = checked.cp_plan_id
