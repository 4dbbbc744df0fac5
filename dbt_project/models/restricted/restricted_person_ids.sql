-- person_key -> the case system's person id, for the few readers allowed to name a
-- child's record (team managers' worklists and digests). Kept OUT of `marts` (which
-- stay pseudonymous and are what BI tools and the Parquet export read) in the schema
-- `restricted`. Never a name or a date of birth: only the id a worker searches for in
-- the case system. See docs/dashboard.md "Child-level data".
with

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
)

select
    person_key,
    min(person_id) as person_id
from pseudonyms
where person_key is not null
group by person_key
