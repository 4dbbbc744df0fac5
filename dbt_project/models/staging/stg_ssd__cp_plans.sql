with

source as (
    select * from {{ source('ssd', 'ssd_cp_plans') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('cppl_cp_plan_id') }} as cp_plan_id,
        {{ clean_text('cppl_referral_id') }} as referral_id,
        {{ clean_text('cppl_icpc_id') }} as icpc_id,
        {{ clean_text('cppl_person_id') }} as person_id,
        {{ date_column('cppl_cp_plan_start_date', 'start_date') }},
        {{ date_column('cppl_cp_plan_end_date', 'end_date') }},
        {{ code_column('cppl_cp_plan_initial_category', 'initial_category', 'cp_category') }},
        {{ code_column('cppl_cp_plan_latest_category', 'latest_category', 'cp_category') }},
        {{ flag_column('cppl_cp_plan_ola', 'is_other_la_plan') }},
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 'cp_plan_id') }}
)

select
    deduplicated.*,
    pseudonyms.person_key
from deduplicated
left join pseudonyms on pseudonyms.person_id = deduplicated.person_id
