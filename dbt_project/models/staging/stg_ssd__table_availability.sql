-- Which tables the night supplied (meta.load_log of the landed night). case_audits is an
-- optional feed: when it is not supplied, figures built on it are NULL with this reason,
-- never 0 (docs/architecture.md; kpi_monthly reads it).
with

log as (
    select * from {{ source('meta', 'load_log') }}
),

night as (
    select * from log
    where export_date = {{ as_at_date() }} and la_code = '{{ var("la_code") }}'
)

select
    table_name,
    coalesce(status, 'loaded') = 'loaded' as is_supplied,
    case
        when coalesce(status, 'loaded') <> 'loaded' then table_name || ' not supplied'
    end as reason,
    rows_loaded
from night
