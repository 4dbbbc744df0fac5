with

source as (
    select * from {{ source('ssd', 'ssd_s47_enquiry') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('s47e_s47_enquiry_id') }} as s47_enquiry_id,
        {{ clean_text('s47e_referral_id') }} as referral_id,
        {{ clean_text('s47e_person_id') }} as person_id,
        {{ date_column('s47e_s47_start_date', 'start_date') }},
        {{ date_column('s47e_s47_end_date', 'end_date') }},
        {{ flag_column('s47e_s47_nfa', 'is_nfa') }},
        {{ resolve_team('s47e_s47_completed_by_team') }} as team_id,
        {{ resolve_worker('s47e_s47_completed_by_worker_id') }} as worker_id,
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 's47_enquiry_id') }}
)

select
    deduplicated.*,
    pseudonyms.person_key
from deduplicated
left join pseudonyms on pseudonyms.person_id = deduplicated.person_id
