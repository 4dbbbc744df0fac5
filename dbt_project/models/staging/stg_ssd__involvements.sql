with

source as (
    select * from {{ source('ssd', 'ssd_involvements') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('invo_involvements_id') }} as involvement_id,
        {{ clean_text('invo_professional_id') }} as worker_id,
        {{ clean_code('invo_professional_role_id') }} as role,
        {{ clean_code('invo_professional_role_id') }} = '{{ var("caseload_role") }}' as is_case_holder_role,
        {{ clean_text('invo_professional_team') }} as team_id,
        {{ date_column('invo_involvement_start_date', 'start_date') }},
        {{ date_column('invo_involvement_end_date', 'end_date') }},
        {{ clean_code('invo_worker_change_reason') }} as worker_change_reason,
        {{ clean_text('invo_person_id') }} as person_id,
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
