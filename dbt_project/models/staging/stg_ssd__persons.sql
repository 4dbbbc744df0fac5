with

source as (
    select * from {{ source('ssd', 'ssd_person') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('pers_person_id') }} as person_id,
        {{ parse_sex('pers_sex') }} as sex,
        {{ clean_code('pers_ethnicity') }} as ethnicity,
        {{ date_column('pers_dob', 'date_of_birth') }},
        {{ date_column('pers_expected_dob', 'expected_date_of_birth') }},
        {{ date_column('pers_death_date', 'death_date') }},
        {{ clean_text('pers_common_child_id') }} as upn,
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 'person_id') }}
)

select
    deduplicated.*,
    pseudonyms.person_key
from deduplicated
left join pseudonyms on pseudonyms.person_id = deduplicated.person_id
