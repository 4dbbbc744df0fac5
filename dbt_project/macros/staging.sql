{#-
    Helpers for staging models.
-#}

{#-
    date_column: a raw date column as three staging columns
        <name>             DATE, NULL when missing or unparseable (parse_date)
        <name>_raw         the delivered text (trimmed), kept for data-quality reports
        <name>_is_invalid  TRUE when text was delivered but is not a valid date
-#}
{% macro date_column(raw_column, name) -%}
    {{ parse_date(raw_column) }} as {{ name }},
    {{ clean_text(raw_column) }} as {{ name }}_raw,
    {{ date_is_invalid(raw_column) }} as {{ name }}_is_invalid
{%- endmacro %}

{#-
    dedupe_on_key: one row per primary key from the CTE `cte`. Duplicate primary keys
    can reach raw on a warning night (the quality gate reports them); staging keeps the
    FIRST delivered row (lowest _source_row) so the choice is deterministic and the
    primary-key tests hold. Rows with a blank key are dropped here (they are reported by
    the quality gate). _rows_with_same_key > 1 marks a key that was duplicated.
-#}
{% macro dedupe_on_key(cte, key) -%}
    select
        {{ cte }}.*,
        key_rows._rows_with_same_key
    from {{ cte }}
    inner join (
        select
            {{ key }} as _key,
            min(_source_row) as _first_source_row,
            count(*) as _rows_with_same_key
        from {{ cte }}
        where {{ key }} is not null
        group by {{ key }}
    ) as key_rows
        on key_rows._key = {{ cte }}.{{ key }}
        and key_rows._first_source_row = {{ cte }}._source_row
{%- endmacro %}

{# The lineage columns staging carries forward. #}
{% macro lineage_columns() -%}
    _export_date,
    _la_code,
    _source_row
{%- endmacro %}
