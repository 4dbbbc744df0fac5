-- worker_id -> the worker's name as the case system holds it (ssd_professionals.
-- prof_professional_name), so worklists and digests show "Name (W123)" where a manager
-- thinks in names. Staff names are deliberately not in `marts` (dim_worker has none);
-- this table lives in the schema `restricted` with the person ids. One row per worker
-- id (the first delivered row, as staging keeps); a blank name is null.
with

source as (
    select * from {{ source('ssd', 'ssd_professionals') }}
),

named as (
    select
        {{ clean_text('prof_professional_id') }} as worker_id,
        {{ clean_text('prof_professional_name') }} as worker_name,
        _source_row
    from source
),

ranked as (
    select
        worker_id,
        worker_name,
        row_number() over (partition by worker_id order by _source_row) as row_rank
    from named
    where worker_id is not null
)

select
    worker_id,
    worker_name
from ranked
where row_rank = 1
