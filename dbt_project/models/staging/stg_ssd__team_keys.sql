-- Every way the SSD refers to a team, key -> team id: id (dept_team_id) or the
-- normalised team name (SystemC and Mosaic write the department NAME into
-- prof_professional_department). Ambiguous names are left out.
with

source as (
    select * from {{ source('ssd', 'ssd_department') }}
),

teams as (
    select
        {{ clean_text('dept_team_id') }} as team_id,
        {{ clean_text('dept_team_name') }} as team_name
    from source
),

keys as (
    select
        'id' as key_type,
        team_id as key_value,
        team_id
    from teams
    union all
    select
        'name' as key_type,
        {{ name_key('team_name') }} as key_value,
        team_id
    from teams
    where team_name is not null
)

select
    key_type,
    key_value,
    min(team_id) as team_id
from keys
where key_value is not null and team_id is not null
group by key_type, key_value
having count(distinct team_id) = 1
