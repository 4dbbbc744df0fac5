-- Case-file audit outcomes (spec §4), one row per audit.
-- final_grade = moderated grade when present, else the first auditor's grade.
-- Grade order best -> worst: OUTSTANDING < GOOD < REQUIRES_IMPROVEMENT < INADEQUATE.
-- moderation_outcome: NOT_MODERATED (no moderated grade), AGREED, DOWNGRADED (the
-- moderator graded worse: the first auditor was over-optimistic), UPGRADED.
-- Legacy grades (1-4, Adequate) are mapped in staging; any other grade is a DQ issue.
-- A problem excludes an audit only from the figures it makes meaningless (kpis.md:
-- "excluded from that figure"): every figure needs a valid completion date on or before
-- the as-at date; the grade figures need a valid final grade (a moderated grade that is
-- present but unknown is NOT replaced by the first grade); the downgrade figure needs
-- both grades; practice standards need neither. dq_issue names the first problem.
with

audits as (
    select * from {{ ref('stg_ssd__case_audits') }}
),

ranked as (
    select
        audits.*,
        {{ audit_grade_rank('audit_grade') }} as audit_grade_rank,
        {{ audit_grade_rank('moderated_grade') }} as moderated_grade_rank
    from audits
),

checked as (
    select
        *,
        not coalesce(completed_date_is_invalid, false)
        and completed_date is not null
        and completed_date <= {{ as_at_date() }} as is_countable,
        case
            when completed_date_is_invalid then 'INVALID_COMPLETED_DATE'
            when completed_date is null then 'MISSING_COMPLETED_DATE'
            when completed_date > {{ as_at_date() }} then 'COMPLETED_DATE_IN_FUTURE'
            when audit_grade_rank is null then 'INVALID_AUDIT_GRADE'
            when moderated_grade is not null and moderated_grade_rank is null then 'INVALID_MODERATED_GRADE'
            when moderation_date_is_invalid then 'INVALID_MODERATION_DATE'
            when moderation_date < completed_date then 'MODERATION_BEFORE_COMPLETION'
        end as dq_issue
    from ranked
)

select
    checked.audit_id,
    checked.person_id,
    checked.person_key,
    checked.referral_id,
    checked.completed_date,
    cal.month_start as completed_month_start,
    cal.financial_year as completed_financial_year,
    cal.fiscal_quarter as completed_fiscal_quarter,
    checked.audit_type,
    checked.audit_theme,
    checked.team_id,
    checked.case_worker_id,
    checked.auditor_id,
    checked.auditor_role,
    checked.audit_grade,
    checked.moderated_grade,
    checked.moderation_date,
    checked.moderator_id,
    coalesce(checked.moderated_grade, checked.audit_grade) as final_grade,
    case
        when checked.moderated_grade is not null then checked.moderated_grade_rank
        else checked.audit_grade_rank
    end as final_grade_rank,
    checked.is_countable,
    case
        when checked.moderated_grade is null then 'NOT_MODERATED'
        when checked.moderated_grade_rank is null or checked.audit_grade_rank is null then null
        when checked.moderated_grade_rank = checked.audit_grade_rank then 'AGREED'
        when checked.moderated_grade_rank > checked.audit_grade_rank then 'DOWNGRADED'
        else 'UPGRADED'
    end as moderation_outcome,
    checked.std_timescales_met,
    checked.std_management_oversight_met,
    checked.std_voice_of_child_met,
    checked.std_analysis_met,
    checked.std_recording_met,
    checked.dq_issue
from checked
{{ join_calendar('checked.completed_date', 'cal') }}
