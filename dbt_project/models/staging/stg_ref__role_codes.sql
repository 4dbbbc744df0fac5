-- Case-holder role codes (as code keys): shipped (seed ref_role_codes, generated from
-- contract.CASE_HOLDER_ROLE_CODES) UNION the council's (raw.council_role_codes).
with

shipped as (
    select
        role_code,
        false as is_council_override
    from {{ ref('ref_role_codes') }}
),

council as (
    select
        {{ code_key('role_code') }} as role_code,
        true as is_council_override
    from {{ source('ssd', 'council_role_codes') }}
)

select
    role_code,
    bool_or(is_council_override) as is_council_override
from (
    select * from shipped
    union all
    select * from council
) as all_rows
where role_code is not null
group by role_code
