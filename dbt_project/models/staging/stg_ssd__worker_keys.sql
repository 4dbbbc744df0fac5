-- Every way the SSD refers to a worker (ssd-as-deployed.md), key -> worker id:
--   id    prof_professional_id (Mosaic: NULL, its id is prof_staff_id)
--   staff prof_staff_id (SystemC writes it into s47 / ICPC worker columns)
--   name  md5 of the normalised prof_professional_name (SystemC writes the name into
--         cine_referral_worker_id); no staff name is stored.
-- A key that points at two different workers is ambiguous and left out.
with

source as (
    select * from {{ source('ssd', 'ssd_professionals') }}
),

workers as (
    select
        coalesce({{ clean_text('prof_professional_id') }}, {{ clean_text('prof_staff_id') }}) as worker_id,
        {{ clean_text('prof_staff_id') }} as staff_id,
        {{ clean_text('prof_professional_name') }} as worker_name
    from source
),

keys as (
    select
        'id' as key_type,
        worker_id as key_value,
        worker_id
    from workers
    union all
    select
        'staff' as key_type,
        staff_id as key_value,
        worker_id
    from workers
    union all
    select
        'name' as key_type,
        {{ name_key('worker_name') }} as key_value,
        worker_id
    from workers
    where worker_name is not null
)

select
    key_type,
    key_value,
    min(worker_id) as worker_id
from keys
where key_value is not null and worker_id is not null
group by key_type, key_value
having count(distinct worker_id) = 1
