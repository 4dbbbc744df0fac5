with

source as (
    select * from {{ source('ssd', 'ssd_cin_episodes') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('cine_referral_id') }} as referral_id,
        {{ clean_text('cine_person_id') }} as person_id,
        {{ date_column('cine_referral_date', 'referral_date') }},
        {{ clean_code('cine_cin_primary_need_code') }} as primary_need_code,
        {{ clean_code('cine_referral_source_code') }} as referral_source_code,
        {{ parse_flag('cine_referral_nfa') }} as is_referral_nfa,
        {{ clean_code('cine_close_reason') }} as close_reason,
        {{ date_column('cine_close_date', 'close_date') }},
        {{ clean_text('cine_referral_team') }} as team_id,
        {{ clean_text('cine_referral_worker_id') }} as worker_id,
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 'referral_id') }}
)

select
    deduplicated.*,
    pseudonyms.person_key
from deduplicated
left join pseudonyms on pseudonyms.person_id = deduplicated.person_id
