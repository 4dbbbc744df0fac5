-- Code key -> code per code set: the shipped defaults (seed ref_code_map, generated from
-- contract.py) UNION the council's overrides (raw.council_code_map); the council's row
-- wins for the same key. is_code: the key is a code of the set itself (leading-token
-- lookups only consider those).
with

shipped as (
    select
        code_set,
        source_value,
        code,
        2 as priority
    from {{ ref('ref_code_map') }}
),

council as (
    select
        lower(trim(code_set)) as code_set,
        {{ code_key('source_value') }} as source_value,
        upper(trim(code)) as code,
        1 as priority
    from {{ source('ssd', 'council_code_map') }}
),

code_sets as (
    select
        code_set,
        code
    from {{ ref('ref_code_sets') }}
),

ranked as (
    select
        *,
        row_number() over (partition by code_set, source_value order by priority) as rn
    from (
        select * from shipped
        union all
        select * from council
    ) as all_rows
    where source_value is not null
)

select
    ranked.code_set,
    ranked.source_value,
    ranked.code,
    ranked.priority = 1 as is_council_override,
    exists(
        select 1 from code_sets
        where code_sets.code_set = ranked.code_set and {{ code_key('code_sets.code') }} = ranked.source_value
    ) as is_code
from ranked
where ranked.rn = 1
