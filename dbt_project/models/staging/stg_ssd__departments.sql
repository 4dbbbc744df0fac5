with

source as (
    select * from {{ source('ssd', 'ssd_department') }}
),

renamed as (
    select
        {{ clean_text('dept_team_id') }} as team_id,
        {{ clean_text('dept_team_name') }} as team_name,
        {{ clean_text('dept_team_parent_id') }} as service_area_id,
        coalesce({{ clean_text('dept_team_parent_name') }}, {{ clean_text('dept_team_parent_id') }})
            as service_area_name,
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 'team_id') }}
)

select * from deduplicated
