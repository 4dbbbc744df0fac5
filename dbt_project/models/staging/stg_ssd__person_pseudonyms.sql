with

source as (
    select * from {{ source('ssd', 'person_pseudonyms') }}
),

cleaned as (
    select
        {{ clean_text('person_id') }} as person_id,
        {{ clean_text('person_key') }} as person_key
    from source
)

select
    person_id,
    min(person_key) as person_key
from cleaned
where person_id is not null
group by person_id
