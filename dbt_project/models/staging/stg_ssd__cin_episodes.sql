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
        {{ code_column('cine_cin_primary_need_code', 'primary_need_code', 'cin_primary_need') }},
        -- SystemC: the code column may hold a local lookup id; the description beside it
        -- (cine_referral_source_desc) then gives the code.
        coalesce(
            {{ mapped_code(clean_text('cine_referral_source_code'), 'referral_source') }},
            {{ mapped_code(clean_text('cine_referral_source_desc'), 'referral_source') }},
            {{ clean_code('cine_referral_source_code') }}
        ) as referral_source_code,
        {{ clean_text('cine_referral_source_code') }} as referral_source_code_raw,
        (
            coalesce(
                {{ clean_text('cine_referral_source_code') }}, {{ clean_text('cine_referral_source_desc') }}
            ) is not null
            and {{ mapped_code(clean_text('cine_referral_source_code'), 'referral_source') }} is null
            and {{ mapped_code(clean_text('cine_referral_source_desc'), 'referral_source') }} is null
        ) as referral_source_code_is_invalid,
        {{ flag_column('cine_referral_nfa', 'is_referral_nfa') }},
        {{ code_column('cine_close_reason', 'close_reason', 'close_reason') }},
        {{ date_column('cine_close_date', 'close_date') }},
        {{ resolve_team('cine_referral_team') }} as team_id,
        {{ resolve_worker('cine_referral_worker_id') }} as worker_id,
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
