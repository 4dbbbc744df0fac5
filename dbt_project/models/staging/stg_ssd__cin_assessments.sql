with

source as (
    select * from {{ source('ssd', 'ssd_cin_assessments') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('cina_assessment_id') }} as assessment_id,
        {{ clean_text('cina_person_id') }} as person_id,
        {{ clean_text('cina_referral_id') }} as referral_id,
        {{ date_column('cina_assessment_start_date', 'start_date') }},
        {{ flag_column('cina_assessment_child_seen', 'is_child_seen') }},
        {{ date_column('cina_assessment_auth_date', 'authorised_date') }},
        {{ flag_column('cina_assessment_outcome_nfa', 'is_outcome_nfa') }},
        {{ resolve_team('cina_assessment_team') }} as team_id,
        {{ resolve_worker('cina_assessment_worker_id') }} as worker_id,
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 'assessment_id') }}
)

select
    deduplicated.*,
    pseudonyms.person_key
from deduplicated
left join pseudonyms on pseudonyms.person_id = deduplicated.person_id
