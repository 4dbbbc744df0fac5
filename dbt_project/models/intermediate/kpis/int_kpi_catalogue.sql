-- The KPI catalogue (seed kpi_catalogue) with, per indicator, whether the feed it needs
-- was supplied in this night (int_feed_availability): unavailable_reason is null when
-- the figure can be computed, else why not ("not supplied: ..."). An indicator that
-- needs no optional feed is always available. requires_feed may name several feeds,
-- space-separated ("case_holders fte"): the figure needs all of them, and the reason
-- lists every one missing.
with

catalogue as (
    select * from {{ ref('kpi_catalogue') }}
),

feeds as (
    select * from {{ ref('int_feed_availability') }}
),

-- one row per indicator: every feed it names that was not supplied
missing_feeds as (
    select
        catalogue.kpi_code,
        string_agg(feeds.unavailable_reason, '; ' order by feeds.feed) as unavailable_reason
    from catalogue
    inner join feeds
        on (' ' || catalogue.requires_feed || ' ') like ('% ' || feeds.feed || ' %')
    where feeds.unavailable_reason is not null
    group by catalogue.kpi_code
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
    missing_feeds.unavailable_reason,
    missing_feeds.kpi_code is null as is_available
from catalogue
left join missing_feeds on missing_feeds.kpi_code = catalogue.kpi_code
