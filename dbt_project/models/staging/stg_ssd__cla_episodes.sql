with

source as (
    select * from {{ source('ssd', 'ssd_cla_episodes') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('clae_cla_episode_id') }} as cla_episode_id,
        {{ clean_text('clae_person_id') }} as person_id,
        {{ date_column('clae_cla_episode_start_date', 'start_date') }},
        {{ code_column('clae_cla_episode_start_reason', 'start_reason', 'cla_start_reason') }},
        {{ code_column('clae_cla_primary_need_code', 'primary_need_code', 'cla_primary_need') }},
        {{ date_column('clae_cla_episode_ceased_date', 'ceased_date') }},
        {{ code_column('clae_cla_episode_ceased_reason', 'ceased_reason', 'cla_ceased_reason') }},
        {{ clean_text('clae_referral_id') }} as referral_id,
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 'cla_episode_id') }}
)

select
    deduplicated.*,
    pseudonyms.person_key
from deduplicated
left join pseudonyms on pseudonyms.person_id = deduplicated.person_id
