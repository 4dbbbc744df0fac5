-- Re-referrals within 12 months (spec §5), one row per referral. The previous referral
-- is the child's latest referral dated STRICTLY before this one (a same-day referral
-- is not "previous"); it is a re-referral when previous_referral_date >= this date
-- minus 12 calendar months (29 Feb - 12 months = 28 Feb). Earlier referrals count
-- whatever their own outcome or data-quality state, as long as their date is valid.
with

referrals as (
    select * from {{ ref('stg_ssd__cin_episodes') }}
),

checked as (
    select
        referral_id,
        person_id,
        person_key,
        referral_date,
        close_date,
        primary_need_code,
        referral_source_code,
        is_referral_nfa,
        close_reason,
        team_id,
        worker_id,
        {{ add_interval('month', -12, 'referral_date') }} as rereferral_window_start_date,
        case
            when person_id is null then 'MISSING_PERSON'
            when referral_date_is_invalid then 'INVALID_REFERRAL_DATE'
            when referral_date is null then 'MISSING_REFERRAL_DATE'
            when close_date_is_invalid then 'INVALID_CLOSE_DATE'
            when close_date < referral_date then 'CLOSE_BEFORE_REFERRAL'
            when referral_date > {{ as_at_date() }} then 'REFERRAL_DATE_IN_FUTURE'
        end as dq_issue
    from referrals
),

previous_referrals as (
    select
        this_referral.referral_id,
        max(previous.referral_date) as previous_referral_date,
        count(previous.referral_id) as previous_referral_count
    from checked as this_referral
    inner join checked as previous
        on previous.person_id = this_referral.person_id
        and previous.referral_date < this_referral.referral_date
    group by this_referral.referral_id
)

select
    checked.referral_id,
    checked.person_id,
    checked.person_key,
    checked.referral_date,
    checked.close_date,
    checked.primary_need_code,
    checked.referral_source_code,
    checked.is_referral_nfa,
    checked.close_reason,
    checked.team_id,
    checked.worker_id,
    case when checked.dq_issue is null then checked.close_date is null end as is_open,
    previous_referrals.previous_referral_date,
    cast(coalesce(previous_referrals.previous_referral_count, 0) as integer) as previous_referral_count,
    checked.rereferral_window_start_date,
    case
        when checked.dq_issue is null
            then coalesce(previous_referrals.previous_referral_date >= checked.rereferral_window_start_date, false)
    end as is_rereferral_within_12_months,
    checked.dq_issue
from checked
left join previous_referrals on previous_referrals.referral_id = checked.referral_id
