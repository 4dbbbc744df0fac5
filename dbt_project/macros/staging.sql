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
    Typed-column helpers. Every typed staging column <name> has <name>_is_invalid: TRUE
    when a value was delivered but could not be typed (docs/architecture.md, "Flag
    convention"); the quality gate reads those flags instead of parsing again.
-#}
{% macro code_column(raw_column, name, code_set) -%}
    {{ normalise_code(raw_column, code_set) }} as {{ name }},
    {{ clean_text(raw_column) }} as {{ name }}_raw,
    {{ code_is_invalid(raw_column, code_set) }} as {{ name }}_is_invalid
{%- endmacro %}

{% macro flag_column(raw_column, name, allow_na=false) -%}
    {{ parse_flag(raw_column) }} as {{ name }},
    {{ flag_is_invalid(raw_column, allow_na) }} as {{ name }}_is_invalid
{%- endmacro %}

{#-
    Workers and teams referred to by id, staff id or name (ssd-as-deployed.md): the
    professional's worker id when the value matches, in this order, a worker id, a
    staff id, or the (unambiguous, case- and space-insensitive) name; otherwise the value
    as delivered, so the orphan check still reports it. Names are matched through
    md5 keys in stg_ssd__worker_keys: no staff name is stored.
-#}
{% macro resolve_worker(column) -%}
    {%- set v = clean_text(column) -%}
    coalesce(
        {{ _key_lookup('stg_ssd__worker_keys', 'worker_id', 'id', v) }},
        {{ _key_lookup('stg_ssd__worker_keys', 'worker_id', 'staff', v) }},
        {{ _key_lookup('stg_ssd__worker_keys', 'worker_id', 'name', name_key(v)) }},
        {{ v }}
    )
{%- endmacro %}

{% macro resolve_team(column) -%}
    {%- set v = clean_text(column) -%}
    coalesce(
        {{ _key_lookup('stg_ssd__team_keys', 'team_id', 'id', v) }},
        {{ _key_lookup('stg_ssd__team_keys', 'team_id', 'name', name_key(v)) }},
        {{ v }}
    )
{%- endmacro %}

{% macro _key_lookup(model, id_column, key_type, value) -%}
    {{ return(adapter.dispatch('_key_lookup', 'csc')(model, id_column, key_type, value)) }}
{%- endmacro %}

{% macro default___key_lookup(model, id_column, key_type, value) -%}
    (select k.{{ id_column }} from {{ ref(model) }} as k
     where k.key_type = '{{ key_type }}' and k.key_value = {{ value }})
{%- endmacro %}

{#- DuckDB: one map per query, looked up per row (see duckdb__mapped_code). -#}
{% macro duckdb___key_lookup(model, id_column, key_type, value) -%}
    map_extract_value(
        (select map(list(k.key_value), list(k.{{ id_column }})) from {{ ref(model) }} as k
         where k.key_type = '{{ key_type }}'),
        {{ value }})
{%- endmacro %}

{# The matching key of a name: md5 of the upper-cased text with runs of spaces as one. #}
{% macro name_key(expression) -%}
    md5(upper(regexp_replace(trim({{ expression }}), '\s+', ' ', 'g')))
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
