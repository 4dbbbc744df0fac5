-- Case-holding allocations (stg_ssd__involvements.is_case_holder_role: shipped and council role codes),
-- one row per involvement, with the team the allocation counts towards and a
-- data-quality verdict. Other roles (IRO, PERSONAL ADVISOR...) never count.
with

involvements as (
    select * from {{ ref('stg_ssd__involvements') }}
),

professionals as (
    select * from {{ ref('stg_ssd__professionals') }}
),

case_holding as (
    select
        involvements.involvement_id,
        involvements.worker_id,
        involvements.person_id,
        involvements.person_key,
        involvements.referral_id,
        involvements.start_date,
        involvements.end_date,
        involvements.team_id as involvement_team_id,
        professionals.team_id as worker_team_id,
        -- spec §3: team of an allocation = invo_professional_team, else the worker's department
        coalesce(involvements.team_id, professionals.team_id) as team_id,
        involvements.worker_change_reason,
        case
            when involvements.worker_id is null then 'MISSING_WORKER'
            when involvements.person_id is null then 'MISSING_PERSON'
            when involvements.start_date_is_invalid then 'INVALID_START_DATE'
            when involvements.start_date is null then 'MISSING_START_DATE'
            when involvements.end_date_is_invalid then 'INVALID_END_DATE'
            when involvements.end_date < involvements.start_date then 'END_BEFORE_START'
            when involvements.start_date > {{ as_at_date() }} then 'START_DATE_IN_FUTURE'
        end as dq_issue
    from involvements
    left join professionals on professionals.worker_id = involvements.worker_id
    where involvements.is_case_holder_role
)

select
    *,
    dq_issue is null as is_counted
from case_holding
