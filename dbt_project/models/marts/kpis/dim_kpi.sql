with

catalogue as (
    select * from {{ ref('int_kpi_catalogue') }}
)

select
    kpi_code,
    kpi_name,
    kpi_type,
    value_unit,
    higher_is_better,
    target,
    amber_tolerance,
    requires_feed,
    is_available,
    unavailable_reason,
    numerator_definition,
    denominator_definition,
    spec_reference,
    spec_link
from catalogue
