{#-
    KPI helpers. The catalogue (codes, names, FLOW/STOCK/AS_AT type, unit, direction,
    target, amber tolerance, the feed a KPI needs) is the seed seeds/kpi_catalogue.csv;
    every threshold of docs/spec/kpis.md (45, 15, 10, 5, 50...) is ONE row of the seed
    seeds/kpi_thresholds.csv, which Python reads too (csc_pipeline.kpi_definitions).
    Models never write a threshold's number: they call threshold().
-#}

{#-
    threshold(code): the value of one row of seeds/kpi_thresholds.csv as a scalar
    subquery (evaluated once per query; unit tests read the seed file itself). A code
    that is not in the seed gives NULL, which the unit tests pinning every definition
    catch (no flag could then be true).
-#}
{% macro threshold(code, data_type='integer') -%}
    (select cast(kpi_thresholds.value as {{ data_type }}) from {{ ref('kpi_thresholds') }} as kpi_thresholds where kpi_thresholds.threshold_code = '{{ code }}')
{%- endmacro %}

{# RAG status of a value against a target; AMBER within `tolerance` (relative) on the wrong side. #}
{% macro rag_status(value, target, higher_is_better, tolerance) -%}
    case
        when {{ value }} is null or {{ target }} is null then null
        when {{ higher_is_better }} then
            case
                when {{ value }} >= {{ target }} then 'GREEN'
                when {{ value }} >= {{ target }} * (1 - {{ tolerance }}) then 'AMBER'
                else 'RED'
            end
        else
            case
                when {{ value }} <= {{ target }} then 'GREEN'
                when {{ value }} <= {{ target }} * (1 + {{ tolerance }}) then 'AMBER'
                else 'RED'
            end
    end
{%- endmacro %}

{# The council code as a column value. #}
{% macro la_code() -%}
    cast('{{ var("la_code") }}' as varchar)
{%- endmacro %}

{#-
    kpi_event: one SELECT of fct_kpi_events = the records one indicator counts.
      relation     the CTE holding the records (already stripped of dq issues)
      record_id    the record's key; event_date: the date that places it in a period
      hit          boolean expression: the record is in the numerator (counts 1)
      numerator / denominator: explicit expressions instead (caseloads: children / FTE)
      where        which records are in the denominator at all
-#}
{% macro kpi_event(kpi_code, relation, record_id, event_date, hit=none, where=none, numerator=none, denominator='1') -%}
    select
        '{{ kpi_code }}' as kpi_code,
        {{ record_id }} as record_id,
        {{ event_date }} as event_date,
        team_id,
        {{ numerator if numerator is not none else 'case when ' ~ hit ~ ' then 1 else 0 end' }} as numerator,
        {{ denominator }} as denominator
    from {{ relation }}
    {%- if where is not none %}
    where {{ where }}
    {%- endif %}
{%- endmacro %}

{#-
    kpi_rollup: sum numerator and denominator of `relation` by `group_columns` per team
    AND for the whole council (team_id null; records with no team count there only).
    Teams roll up to service areas the same way (summing is exact for every indicator).
-#}
{% macro kpi_rollup(relation, group_columns) -%}
    {%- set columns = group_columns | join(', ') -%}
    select
        {{ columns }},
        team_id,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from {{ relation }}
    where team_id is not null
    group by {{ columns }}, team_id
    union all
    select
        {{ columns }},
        cast(null as varchar) as team_id,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from {{ relation }}
    group by {{ columns }}
{%- endmacro %}

{#-
    kpi_figure_columns: the figure columns kpi_monthly and kpi_headline share, from a
    rolled-up row `figures` (numerator, denominator: null when not available) and its
    catalogue row `catalogue` (int_kpi_catalogue). value = numerator / denominator
    (null without a denominator above 0); rag against the catalogue's target and
    tolerance; unavailable_reason says why a figure is null because a feed was not
    supplied (never shown as 0).
-#}
{% macro kpi_figure_columns(figures, catalogue) -%}
    cast({{ figures }}.numerator as numeric(18, 4)) as numerator,
    cast({{ figures }}.denominator as numeric(18, 4)) as denominator,
    cast(
        case when {{ figures }}.denominator > 0 then {{ figures }}.numerator / {{ figures }}.denominator end
        as numeric(18, 6)
    ) as value,
    {{ catalogue }}.value_unit,
    {{ catalogue }}.target,
    {{ catalogue }}.higher_is_better,
    cast(
        {{ rag_status(
            'case when ' ~ figures ~ '.denominator > 0 then ' ~ figures ~ '.numerator / ' ~ figures ~ '.denominator end',
            catalogue ~ '.target', catalogue ~ '.higher_is_better', catalogue ~ '.amber_tolerance') }}
        as varchar
    ) as rag,
    {{ catalogue }}.unavailable_reason
{%- endmacro %}

{#-
    kpi_not_available: the rows of an indicator whose feed was not supplied
    (int_kpi_catalogue.is_available false, CTE `catalogue`): one per row of the
    reporting grid `grid` (the months or periods and teams that have any other figure),
    with null numerator and denominator, in kpi_rollup's column order (group_columns,
    team_id, numerator, denominator). `condition` limits which grid rows an indicator
    gets (kpi_headline: the periods of its kpi_type).
-#}
{% macro kpi_not_available(group_columns, grid='reporting_grid', condition='true') -%}
    select
        {%- for column in group_columns %}
        {{ 'catalogue.kpi_code' if column == 'kpi_code' else grid ~ '.' ~ column }},
        {%- endfor %}
        {{ grid }}.team_id,
        cast(null as numeric(18, 4)) as numerator,
        cast(null as numeric(18, 4)) as denominator
    from catalogue
    inner join {{ grid }} on {{ condition }}
    where not catalogue.is_available
{%- endmacro %}
