-- The KPI catalogue (seed kpi_catalogue) with, per indicator, whether the feed it needs
-- was supplied in this night (int_feed_availability): unavailable_reason is null when
-- the figure can be computed, else why not ("not supplied: ..."). An indicator that
-- needs no optional feed is always available.
with

catalogue as (
    select * from {{ ref('kpi_catalogue') }}
),

feeds as (
    select * from {{ ref('int_feed_availability') }}
)

select
    catalogue.kpi_code,
    catalogue.kpi_name,
    catalogue.kpi_type,
    catalogue.value_unit,
    catalogue.higher_is_better,
    catalogue.target,
    catalogue.amber_tolerance,
    catalogue.requires_feed,
    catalogue.numerator_definition,
    catalogue.denominator_definition,
    catalogue.spec_reference,
    catalogue.spec_link,
    feeds.unavailable_reason,
    feeds.unavailable_reason is null as is_available
from catalogue
left join feeds on feeds.feed = catalogue.requires_feed
