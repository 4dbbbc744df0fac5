-- Initial child protection conference timeliness (spec §5), one row per ICPC.
-- working_days_s47_to_icpc = working_days_between(S47 start, ICPC date); within
-- timescale when <= the threshold icpc_timescale_working_days (seed kpi_thresholds:
-- 15). is_late = held after it; is_overdue_not_held = not held and already past it
-- (the team managers' alert list). Transfer-ins are neither. The S47 start comes from
-- the linked enquiry (icpc_s47_enquiry_id); without it the figure is meaningless and
-- the conference is excluded with dq_issue S47_START_UNKNOWN (the export's own
-- target date is shown for reference but not used). Transfer-in conferences are
-- flagged here and excluded from ICPC_15WD_PCT; a missing transfer-in flag = not a
-- transfer-in.
with

conferences as (
    select * from {{ ref('stg_ssd__initial_cp_conferences') }}
),

enquiries as (
    select * from {{ ref('stg_ssd__s47_enquiries') }}
),

joined as (
    select
        conferences.icpc_id,
        conferences.s47_enquiry_id,
        conferences.person_id,
        conferences.person_key,
        conferences.cp_plan_id,
        conferences.referral_id,
        coalesce(conferences.is_transfer_in, false) as is_transfer_in,
        conferences.is_outcome_cp_plan,
        conferences.target_date as export_target_date,
        conferences.icpc_date,
        conferences.icpc_date_is_invalid,
        enquiries.start_date as s47_start_date,
        coalesce(conferences.team_id, enquiries.team_id) as team_id,
        coalesce(conferences.worker_id, enquiries.worker_id) as worker_id
    from conferences
    left join enquiries on enquiries.s47_enquiry_id = conferences.s47_enquiry_id
),

working_days as (
    select
        joined.*,
        cal_target.calendar_date as target_date,
        {{ working_days_between('cal_s47', 'cal_icpc') }} as working_days_s47_to_icpc,
        {{ working_days_between('cal_s47', 'cal_as_at') }} as working_days_since_s47,
        cal_icpc.month_start as icpc_month_start,
        cal_icpc.financial_year as icpc_financial_year,
        cal_icpc.fiscal_quarter as icpc_fiscal_quarter,
        case
            when joined.icpc_date_is_invalid then 'INVALID_ICPC_DATE'
            when joined.s47_start_date is null then 'S47_START_UNKNOWN'
            when joined.icpc_date > {{ as_at_date() }} then 'ICPC_DATE_IN_FUTURE'
            when joined.icpc_date < joined.s47_start_date then 'ICPC_BEFORE_S47_START'
            when cal_s47.calendar_date is null
                or (joined.icpc_date is not null and cal_icpc.calendar_date is null)
                then 'DATE_OUTSIDE_CALENDAR'
        end as dq_issue
    from joined
    {{ join_calendar('joined.s47_start_date', 'cal_s47') }}
    {{ join_calendar('joined.icpc_date', 'cal_icpc') }}
    {{ join_calendar(as_at_date(), 'cal_as_at') }}
    {{ join_add_working_days('cal_s47', threshold('icpc_timescale_working_days'), 'cal_target') }}
)

select
    icpc_id,
    s47_enquiry_id,
    person_id,
    person_key,
    cp_plan_id,
    referral_id,
    is_transfer_in,
    is_outcome_cp_plan,
    s47_start_date,
    icpc_date,
    target_date,
    export_target_date,
    team_id,
    worker_id,
    case when dq_issue is null then icpc_date is not null end as is_held,
    case when dq_issue is null then working_days_s47_to_icpc end as working_days_s47_to_icpc,
    case
        when dq_issue is null and icpc_date is not null
            then working_days_s47_to_icpc <= {{ threshold('icpc_timescale_working_days') }}
    end as is_within_15_working_days,
    case
        when dq_issue is null and icpc_date is not null and not is_transfer_in
            then working_days_s47_to_icpc > {{ threshold('icpc_timescale_working_days') }}
    end as is_late,
    -- transfer-in conferences have no ICPC timescale from our S47: never "overdue"
    case
        when dq_issue is null
            then icpc_date is null
                and not is_transfer_in
                and working_days_since_s47 > {{ threshold('icpc_timescale_working_days') }}
    end as is_overdue_not_held,
    icpc_month_start,
    icpc_financial_year,
    icpc_fiscal_quarter,
    dq_issue
from working_days
