with

definitions as (
    select * from {{ ref('int_kpi_definitions') }}
)

select
    kpi_code,
    kpi_name,
    kpi_type,
    value_unit,
    higher_is_better,
    target,
    target_var,
    numerator_definition,
    denominator_definition,
    spec_reference
from definitions
