-- Assessment timeliness (spec §1), one row per assessment, as at var('as_at_date').
with

assessments as (
    select * from {{ ref('stg_ssd__cin_assessments') }}
),

referrals as (
    select * from {{ ref('stg_ssd__cin_episodes') }}
),

joined as (
    select
        assessments.assessment_id,
        assessments.person_id,
        assessments.person_key,
        assessments.referral_id,
        referrals.referral_date,
        assessments.start_date,
        assessments.start_date_is_invalid,
        assessments.authorised_date,
        assessments.authorised_date_is_invalid,
        assessments.is_child_seen,
        assessments.is_outcome_nfa,
        assessments.team_id,
        assessments.worker_id
    from assessments
    left join referrals on referrals.referral_id = assessments.referral_id
),

working_days as (
    select
        joined.*,
        cal_due.calendar_date as due_date,
        {{ working_days_between('cal_start', 'cal_auth') }} as working_days_to_authorise,
        {{ working_days_between('cal_referral', 'cal_auth') }} as working_days_from_referral,
        {{ working_days_between('cal_start', 'cal_as_at') }} as working_days_open,
        {{ working_days_between('cal_as_at', 'cal_due') }} as working_days_until_due,
        cal_start.calendar_date is not null as is_start_in_calendar,
        cal_auth.calendar_date is not null as is_authorised_in_calendar,
        cal_auth.month_start as authorised_month_start,
        cal_auth.financial_year as authorised_financial_year,
        cal_auth.fiscal_quarter as authorised_fiscal_quarter
    from joined
    {{ join_calendar('joined.start_date', 'cal_start') }}
    {{ join_calendar('joined.authorised_date', 'cal_auth') }}
    {{ join_calendar('joined.referral_date', 'cal_referral') }}
    {{ join_calendar(as_at_date(), 'cal_as_at') }}
    {{ join_add_working_days('cal_start', threshold('assessment_timescale_working_days'), 'cal_due') }}
),

checked as (
    select
        *,
        case
            when start_date_is_invalid then 'INVALID_START_DATE'
            when start_date is null then 'MISSING_START_DATE'
            when authorised_date_is_invalid then 'INVALID_AUTHORISED_DATE'
            when start_date > {{ as_at_date() }} then 'START_DATE_IN_FUTURE'
            when authorised_date > {{ as_at_date() }} then 'AUTHORISED_DATE_IN_FUTURE'
            when authorised_date < start_date then 'AUTHORISED_BEFORE_START'
            when not is_start_in_calendar
                or (authorised_date is not null and not is_authorised_in_calendar)
                then 'DATE_OUTSIDE_CALENDAR'
        end as dq_issue
    from working_days
)

select
    assessment_id,
    person_id,
    person_key,
    referral_id,
    referral_date,
    start_date,
    authorised_date,
    due_date,
    is_child_seen,
    is_outcome_nfa,
    team_id,
    worker_id,
    case when dq_issue is null then working_days_to_authorise end as working_days_to_authorise,
    -- reported, not the headline; null when the referral is unknown or dated after authorisation
    case
        when dq_issue is null and working_days_from_referral >= 0 then working_days_from_referral
    end as working_days_from_referral,
    case
        when dq_issue is null
            then authorised_date is not null
                and working_days_to_authorise <= {{ threshold('assessment_timescale_working_days') }}
    end as is_within_45_working_days,
    case when dq_issue is null then authorised_date is null end as is_open,
    case when dq_issue is null and authorised_date is null then working_days_open end as working_days_open,
    case
        when dq_issue is null
            then authorised_date is null and working_days_open > {{ threshold('assessment_timescale_working_days') }}
    end as is_overdue,
    case
        when dq_issue is null
            then authorised_date is null
                and working_days_open <= {{ threshold('assessment_timescale_working_days') }}
                and working_days_until_due <= {{ threshold('assessment_due_soon_working_days') }}
    end as is_due_soon,
    case when dq_issue is null and authorised_date is null then working_days_until_due end
        as working_days_until_due,
    case
        when dq_issue is not null or authorised_date is null then null
        when working_days_to_authorise = 0 then '0'
        when working_days_to_authorise <= 10 then '1-10'
        when working_days_to_authorise <= 20 then '11-20'
        when working_days_to_authorise <= 30 then '21-30'
        when working_days_to_authorise <= 40 then '31-40'
        when working_days_to_authorise <= 45 then '41-45'
        when working_days_to_authorise <= 50 then '46-50'
        when working_days_to_authorise <= 60 then '51-60'
        else '61+'
    end as duration_band,
    authorised_month_start,
    authorised_financial_year,
    authorised_fiscal_quarter,
    dq_issue
from checked
