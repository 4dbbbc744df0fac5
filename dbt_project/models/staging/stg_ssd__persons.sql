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
        {{ code_column('pers_sex', 'sex', 'sex') }},
        {{ code_column('pers_ethnicity', 'ethnicity', 'ethnicity') }},
        {{ date_column('pers_dob', 'date_of_birth') }},
        {{ date_column('pers_expected_dob', 'expected_date_of_birth') }},
        {{ date_column('pers_death_date', 'death_date') }},
        -- SSD v1.4+: the UPN is pers_upn; the contract's pers_common_child_id still accepted
        coalesce({{ clean_text('pers_upn') }}, {{ clean_text('pers_common_child_id') }}) as upn,
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
