-- Which optional feeds the council supplied in the night being built (kpis.md: what a
-- council does not supply is "not available", never zero). One row per feed:
--   case_audits   the optional local case-file audit file: supplied when meta.load_log
--                 records a delivered file (a sha256) for the as-at night. A night that
--                 logged its files but has no delivered case_audits row did not supply
--                 it. A supplied file with 0 records IS supplied (its figures are 0 of 0).
--                 Without any load_log row for the night (dbt run outside the pipeline)
--                 the feed counts as supplied.
--   fte           supplied when at least one worker has an FTE above 0
--   agency_flags  supplied when at least one worker has an agency flag (SSD's
--                 prof_agency_worker_flag is NULL in every system as deployed)
--   case_holders  supplied when at least one involvement has a case-holder role code
--                 (shipped or the council's: stg_ssd__involvements.is_case_holder_role).
--                 A system whose role codes we do not recognise (Eclipse writes local
--                 relationship classes) would otherwise show caseloads of 0.
{%- set load_log_relation = source('meta', 'load_log') -%}
{#- in a unit test the source is a fixture CTE (no schema); outside the pipeline the table may not exist -#}
{%- set has_load_log = not execute or load_log_relation.schema is none
    or load_relation(load_log_relation) is not none %}

with

professionals as (
    select * from {{ ref('stg_ssd__professionals') }}
),

involvements as (
    select * from {{ ref('stg_ssd__involvements') }}
),

{% if has_load_log -%}
night_files as (
    select
        table_name,
        sha256
    from {{ load_log_relation }}
    where la_code = '{{ var("la_code") }}'
        and cast(export_date as date) = {{ as_at_date() }}
),
{%- else -%}
night_files as (
    select
        cast(null as varchar) as table_name,
        cast(null as varchar) as sha256
    where false
),
{%- endif %}

case_audits as (
    select
        'case_audits' as feed,
        count(*) = 0
        or count(case when table_name = 'case_audits' and sha256 is not null then 1 end) > 0
            as is_supplied,
        'not supplied: no case_audits file in this night (optional local feed)' as reason_if_absent
    from night_files
),

workforce as (
    select
        'fte' as feed,
        count(case when fte > 0 then 1 end) > 0 as is_supplied,
        'not supplied: no worker has an FTE (prof_full_time_equivalency)' as reason_if_absent
    from professionals
    union all
    select
        'agency_flags' as feed,
        count(is_agency) > 0 as is_supplied,
        'not supplied: no worker has an agency flag (prof_agency_worker_flag)' as reason_if_absent
    from professionals
),

case_holders as (
    select
        'case_holders' as feed,
        count(case when is_case_holder_role then 1 end) > 0 as is_supplied,
        'not available: no involvement has a recognised case-holder role code '
        || '(invo_professional_role_id); add the council''s code to its profile (extra_role_codes)'
            as reason_if_absent
    from involvements
),

feeds as (
    select * from case_audits
    union all
    select * from workforce
    union all
    select * from case_holders
)

select
    cast(feed as varchar) as feed,
    is_supplied,
    cast(case when not is_supplied then reason_if_absent end as varchar) as unavailable_reason
from feeds
