with

source as (
    select * from {{ source('ssd', 'ssd_involvements') }}
),

episodes as (
    select
        {{ clean_text('cine_referral_id') }} as referral_id,
        min({{ clean_text('cine_person_id') }}) as person_id
    from {{ source('ssd', 'ssd_cin_episodes') }}
    group by 1
),

role_codes as (
    select role_code from {{ ref('stg_ref__role_codes') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('invo_involvements_id') }} as involvement_id,
        {{ resolve_worker('invo_professional_id') }} as worker_id,
        {{ clean_code('invo_professional_role_id') }} as role,
        -- CW (SystemC v1.4.5), ALLOCATED CASE WORKER, ALLWKR / its description (Mosaic), and
        -- the council's own codes (stg_ref__role_codes)
        coalesce({{ code_key('invo_professional_role_id') }} in (select role_codes.role_code from role_codes), false)
            as is_case_holder_role,
        {{ resolve_team('invo_professional_team') }} as team_id,
        {{ date_column('invo_involvement_start_date', 'start_date') }},
        {{ date_column('invo_involvement_end_date', 'end_date') }},
        {{ code_column('invo_worker_change_reason', 'worker_change_reason', 'worker_change_reason') }},
        -- Mosaic has no invo_person_id: the child of the involvement's referral
        coalesce(
            {{ clean_text('invo_person_id') }},
            (
                select episodes.person_id from episodes
                where episodes.referral_id = {{ clean_text('invo_referral_id') }}
            )
        ) as person_id,
        {{ clean_text('invo_person_id') }} is null as person_id_is_derived,
        {{ clean_text('invo_referral_id') }} as referral_id,
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 'involvement_id') }}
)

select
    deduplicated.*,
    pseudonyms.person_key
from deduplicated
left join pseudonyms on pseudonyms.person_id = deduplicated.person_id
