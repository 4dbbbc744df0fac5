{#-
    Cleaning and parsing of the raw layer. The literal lists (flag spellings, date
    formats, the SSD's null date) come from contract.py through the generated
    macros/_contract.sql; code sets and description maps through the generated seeds.
    raw.* holds every column as VARCHAR exactly as delivered; these macros turn text into typed values in staging. All of them are
    portable to duckdb and postgres (only regex_match dispatches), and all return NULL
    instead of failing on bad input, so one bad row can never break a night's build.
-#}

{# A regular-expression match (the pattern is anchored by the caller). #}
{% macro regex_match(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_match', 'csc')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_match(expression, pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regex_match(expression, pattern) -%}
    ({{ expression }} ~ '{{ pattern }}')
{%- endmacro %}

{# Trimmed text; empty or blank becomes NULL. #}
{% macro clean_text(column) -%}
    cast(nullif(trim({{ column }}), '') as varchar)
{%- endmacro %}

{# A code: trimmed, upper-cased, blank -> NULL. #}
{% macro clean_code(column) -%}
    upper({{ clean_text(column) }})
{%- endmacro %}

{#-
    parse_date: the export's accepted date formats (contract.DATE_FORMATS)
        YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, YYYY-MM-DD HH:MM:SS.fff, DD/MM/YYYY
    (like Python's strptime, day and month may have one or two digits). The time of
    day is dropped. Anything else -- including impossible dates such as 2023-02-30 --
    is NULL; date_is_invalid() tells a bad value apart from a missing one.
    Nested CASEs guarantee no cast or make_date runs on text that did not match.
-#}
{% macro _valid_ymd(y, m, d) -%}
    ({{ y }} between 1 and 9999 and {{ m }} between 1 and 12 and {{ d }} >= 1
     and {{ d }} <= case
            when {{ m }} in (4, 6, 9, 11) then 30
            when {{ m }} = 2 then
                case when ({{ y }} % 4 = 0 and {{ y }} % 100 <> 0) or {{ y }} % 400 = 0
                     then 29 else 28 end
            else 31
        end)
{%- endmacro %}

{#- 1900-01-01 is the SSD's "no date" placeholder (contract.NULL_DATES): NULL, not unparsed. -#}
{% macro parse_date(column) -%}
    nullif({{ _parse_date_any(column) }}, date '{{ contract_null_date() }}')
{%- endmacro %}

{#- Portable version (PostgreSQL and any other adapter): regex, range checks, make_date. -#}
{#- The delivered date text: trimmed, blank -> NULL, an ISO `T` read as a space. -#}
{% macro date_text(column) -%}
    replace({{ clean_text(column) }}, 'T', ' ')
{%- endmacro %}

{#- parse_date without the 1900-01-01 placeholder rule (see parse_date). -#}
{% macro _parse_date_any(column) -%}
    {{ return(adapter.dispatch('parse_date', 'csc')(column)) }}
{%- endmacro %}

{% macro default__parse_date(column) -%}
    {%- set t = date_text(column) -%}
    {%- set iso_day = "split_part(" ~ t ~ ", ' ', 1)" -%}
    {%- set iso_y = "cast(split_part(" ~ iso_day ~ ", '-', 1) as integer)" -%}
    {%- set iso_m = "cast(split_part(" ~ iso_day ~ ", '-', 2) as integer)" -%}
    {%- set iso_d = "cast(split_part(" ~ iso_day ~ ", '-', 3) as integer)" -%}
    {%- set iso_time = "split_part(" ~ t ~ ", ' ', 2)" -%}
    {%- set dmy_d = "cast(split_part(" ~ t ~ ", '/', 1) as integer)" -%}
    {%- set dmy_m = "cast(split_part(" ~ t ~ ", '/', 2) as integer)" -%}
    {%- set dmy_y = "cast(split_part(" ~ t ~ ", '/', 3) as integer)" -%}
    (case
        when {{ regex_match(t, '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}( [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}([.][0-9]{1,7})?)?$') }}
        then case
            when {{ _valid_ymd(iso_y, iso_m, iso_d) }}
                and ({{ iso_time }} = ''
                     or (cast(split_part({{ iso_time }}, ':', 1) as integer) <= 23
                         and cast(split_part({{ iso_time }}, ':', 2) as integer) <= 59
                         and cast(split_part(split_part({{ iso_time }}, ':', 3), '.', 1) as integer) <= 61))
            then make_date({{ iso_y }}, {{ iso_m }}, {{ iso_d }})
        end
        when {{ regex_match(t, '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$') }}
        then case
            when {{ _valid_ymd(dmy_y, dmy_m, dmy_d) }}
            then make_date({{ dmy_y }}, {{ dmy_m }}, {{ dmy_d }})
        end
    end)
{%- endmacro %}

{#-
    DuckDB version: same accepted set, but one try_strptime over the format list (the
    portable expression is large enough to make DuckDB's planner slow on every query of
    a staging view). The regex pins 4-digit years, as Python's %Y does.
-#}
{% macro duckdb__parse_date(column) -%}
    {%- set t = date_text(column) -%}
    (case
        when regexp_full_match({{ t }}, '([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}( .+)?|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4})')
            and not starts_with({{ t }}, '0000') and not ends_with({{ t }}, '/0000')
        then cast(try_strptime(regexp_replace({{ t }}, '([.][0-9]{6})[0-9]+$', '\1'), {{ contract_date_formats() }}) as date)
    end)
{%- endmacro %}

{# TRUE when a value was delivered but is not a date in an accepted format. #}
{% macro date_is_invalid(column) -%}
    ({{ clean_text(column) }} is not null and {{ _parse_date_any(column) }} is null)
{%- endmacro %}

{#-
    parse_flag: Y/N, 1/0, true/false, Yes/No, T/F in any case -> boolean
    (contract.FLAG_TRUE / FLAG_FALSE). Anything else, including NA, -> NULL.
-#}
{% macro parse_flag(column) -%}
    (case
        when {{ clean_code(column) }} in {{ contract_flag_true() }} then true
        when {{ clean_code(column) }} in {{ contract_flag_false() }} then false
    end)
{%- endmacro %}

{# flag/NA columns (std_*): as parse_flag; NA or N/A means "not applicable" = NULL. #}
{% macro parse_flag_na(column) -%}
    {{ parse_flag(column) }}
{%- endmacro %}

{# TRUE when a flag was delivered but is not a recognised spelling (NA allowed if allow_na). #}
{% macro flag_is_invalid(column, allow_na=false) -%}
    ({{ clean_text(column) }} is not null and {{ parse_flag(column) }} is null
     {%- if allow_na %} and {{ clean_code(column) }} not in {{ contract_flag_na() }}{% endif %})
{%- endmacro %}

{#-
    Codes (docs/architecture.md, "Codes"). code_key: upper case, "&" as AND, every run of
    non-alphanumerics one space (contract.code_key). normalise_code: the key looked up in
    stg_ref__code_map (shipped seed ref_code_map UNION the council's raw.council_code_map;
    every code maps to itself, plus legacy codes and descriptions); failing that the
    leading code token ("3A - GP", "RC8 - ...", "E11 - Adopted ...", "S - Single period")
    when it is a code of the set; failing that the delivered text upper-cased (kept so DQ
    can show it; <name>_is_invalid is then true).
-#}
{% macro code_key(expression) -%}
    nullif(trim(regexp_replace(upper(replace({{ expression }}, '&', ' AND ')), '[^A-Z0-9]+', ' ', 'g')), '')
{%- endmacro %}

{% macro mapped_code(expression, code_set) -%}
    {{ return(adapter.dispatch('mapped_code', 'csc')(code_key(expression), code_set)) }}
{%- endmacro %}

{#- Portable: correlated scalar subqueries (postgres plans them as index lookups). -#}
{% macro default__mapped_code(key, code_set) -%}
    coalesce(
        (select m.code from {{ ref('stg_ref__code_map') }} as m
         where m.code_set = '{{ code_set }}' and m.source_value = {{ key }}),
        (select m.code from {{ ref('stg_ref__code_map') }} as m
         where m.code_set = '{{ code_set }}' and m.is_code
           and strpos({{ key }}, ' ') > 0 and m.source_value = split_part({{ key }}, ' ', 1))
    )
{%- endmacro %}

{#- DuckDB: the code set's map is built once per query (an uncorrelated subquery) and
    looked up per row; correlated subqueries made staging 10x slower. -#}
{% macro duckdb__mapped_code(key, code_set) -%}
    coalesce(
        map_extract_value(
            (select map(list(m.source_value), list(m.code)) from {{ ref('stg_ref__code_map') }} as m
             where m.code_set = '{{ code_set }}'),
            {{ key }}),
        case when strpos({{ key }}, ' ') > 0 then map_extract_value(
            (select map(list(m.source_value), list(m.code)) from {{ ref('stg_ref__code_map') }} as m
             where m.code_set = '{{ code_set }}' and m.is_code),
            split_part({{ key }}, ' ', 1)) end
    )
{%- endmacro %}

{% macro normalise_code(column, code_set) -%}
    coalesce({{ mapped_code(clean_text(column), code_set) }}, {{ clean_code(column) }})
{%- endmacro %}

{% macro code_is_invalid(column, code_set) -%}
    ({{ clean_text(column) }} is not null and {{ mapped_code(clean_text(column), code_set) }} is null)
{%- endmacro %}

{# Rank of a canonical grade, best (1) to worst (4); NULL for anything else. #}
{% macro audit_grade_rank(column) -%}
    (case {{ column }}
        when 'OUTSTANDING' then 1
        when 'GOOD' then 2
        when 'REQUIRES_IMPROVEMENT' then 3
        when 'INADEQUATE' then 4
    end)
{%- endmacro %}

{# A non-negative decimal such as an FTE ("1", "0.6", ".5", "1.00"); anything else -> NULL. #}
{% macro parse_decimal(column, precision=9, scale=4) -%}
    (case
        when {{ regex_match(clean_text(column), '^([0-9]{1,4}([.][0-9]*)?|[.][0-9]+)$') }}
        then cast({{ clean_text(column) }} as numeric({{ precision }}, {{ scale }}))
    end)
{%- endmacro %}

{# TRUE when a decimal was delivered but could not be parsed. #}
{% macro decimal_is_invalid(column) -%}
    ({{ clean_text(column) }} is not null and {{ parse_decimal(column) }} is null)
{%- endmacro %}
