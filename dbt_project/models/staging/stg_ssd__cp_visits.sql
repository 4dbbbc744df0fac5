with

source as (
    select * from {{ source('ssd', 'ssd_cp_visits') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('cppv_cp_visit_id') }} as cp_visit_id,
        {{ clean_text('cppv_person_id') }} as person_id,
        {{ clean_text('cppv_cp_plan_id') }} as cp_plan_id,
        {{ date_column('cppv_cp_visit_date', 'visit_date') }},
        {{ parse_flag('cppv_cp_visit_seen') }} as is_child_seen,
        {{ parse_flag('cppv_cp_visit_seen_alone') }} as is_child_seen_alone,
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 'cp_visit_id') }}
)

select
    deduplicated.*,
    pseudonyms.person_key
from deduplicated
left join pseudonyms on pseudonyms.person_id = deduplicated.person_id
