with

departments as (
    select * from {{ ref('stg_ssd__departments') }}
)

select
    team_id,
    team_name,
    service_area_id,
    service_area_name,
    {{ la_code() }} as la_code
from departments
