with

source as (
    select * from {{ source('ssd', 'ssd_initial_cp_conference') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('icpc_icpc_id') }} as icpc_id,
        {{ clean_text('icpc_s47_enquiry_id') }} as s47_enquiry_id,
        {{ clean_text('icpc_person_id') }} as person_id,
        {{ clean_text('icpc_cp_plan_id') }} as cp_plan_id,
        {{ clean_text('icpc_referral_id') }} as referral_id,
        {{ flag_column('icpc_icpc_transfer_in', 'is_transfer_in') }},
        {{ date_column('icpc_icpc_target_date', 'target_date') }},
        {{ date_column('icpc_icpc_date', 'icpc_date') }},
        {{ flag_column('icpc_icpc_outcome_cp_flag', 'is_outcome_cp_plan') }},
        {{ resolve_team('icpc_icpc_team') }} as team_id,
        {{ resolve_worker('icpc_icpc_worker_id') }} as worker_id,
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 'icpc_id') }}
)

select
    deduplicated.*,
    pseudonyms.person_key
from deduplicated
left join pseudonyms on pseudonyms.person_id = deduplicated.person_id
