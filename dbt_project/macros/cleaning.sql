{#-
    Cleaning and parsing of the raw layer. raw.* holds every column as VARCHAR exactly
    as delivered; these macros turn text into typed values in staging. All of them are
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

{% macro parse_date(column) -%}
    {{ return(adapter.dispatch('parse_date', 'csc')(column)) }}
{%- endmacro %}

{#- Portable version (PostgreSQL and any other adapter): regex, range checks, make_date. -#}
{% macro default__parse_date(column) -%}
    {%- set t = clean_text(column) -%}
    {%- set iso_day = "split_part(" ~ t ~ ", ' ', 1)" -%}
    {%- set iso_y = "cast(split_part(" ~ iso_day ~ ", '-', 1) as integer)" -%}
    {%- set iso_m = "cast(split_part(" ~ iso_day ~ ", '-', 2) as integer)" -%}
    {%- set iso_d = "cast(split_part(" ~ iso_day ~ ", '-', 3) as integer)" -%}
    {%- set iso_time = "split_part(" ~ t ~ ", ' ', 2)" -%}
    {%- set dmy_d = "cast(split_part(" ~ t ~ ", '/', 1) as integer)" -%}
    {%- set dmy_m = "cast(split_part(" ~ t ~ ", '/', 2) as integer)" -%}
    {%- set dmy_y = "cast(split_part(" ~ t ~ ", '/', 3) as integer)" -%}
    (case
        when {{ regex_match(t, '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}( [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}([.][0-9]{1,6})?)?$') }}
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
    {%- set t = clean_text(column) -%}
    (case
        when regexp_full_match({{ t }}, '([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}( .+)?|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4})')
            and not starts_with({{ t }}, '0000') and not ends_with({{ t }}, '/0000')
        then cast(try_strptime({{ t }}, ['%Y-%m-%d', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%d/%m/%Y']) as date)
    end)
{%- endmacro %}

{# TRUE when a value was delivered but is not a date in an accepted format. #}
{% macro date_is_invalid(column) -%}
    ({{ clean_text(column) }} is not null and {{ parse_date(column) }} is null)
{%- endmacro %}

{#-
    parse_flag: Y/N, 1/0, true/false, Yes/No, T/F in any case -> boolean
    (contract.FLAG_TRUE / FLAG_FALSE). Anything else, including NA, -> NULL.
-#}
{% macro parse_flag(column) -%}
    (case
        when {{ clean_code(column) }} in ('Y', '1', 'TRUE', 'YES', 'T') then true
        when {{ clean_code(column) }} in ('N', '0', 'FALSE', 'NO', 'F') then false
    end)
{%- endmacro %}

{# flag/NA columns (std_*): as parse_flag; NA or N/A means "not applicable" = NULL. #}
{% macro parse_flag_na(column) -%}
    {{ parse_flag(column) }}
{%- endmacro %}

{# TRUE when a flag was delivered but is not a recognised spelling (NA allowed if allow_na). #}
{% macro flag_is_invalid(column, allow_na=false) -%}
    ({{ clean_text(column) }} is not null and {{ parse_flag(column) }} is null
     {%- if allow_na %} and {{ clean_code(column) }} not in ('NA', 'N/A'){% endif %})
{%- endmacro %}

{# Sex: M/F/U; older systems 1=M, 2=F, 0/9=U (contract.SEX_LEGACY). Other codes kept as delivered. #}
{% macro parse_sex(column) -%}
    (case {{ clean_code(column) }}
        when '1' then 'M'
        when '2' then 'F'
        when '0' then 'U'
        when '9' then 'U'
        else {{ clean_code(column) }}
    end)
{%- endmacro %}

{#-
    Audit grade: OUTSTANDING, GOOD, REQUIRES_IMPROVEMENT, INADEQUATE. Older tools:
    1-4 and "Adequate" (= REQUIRES_IMPROVEMENT) (contract.AUDIT_GRADE_LEGACY). Spaces and
    hyphens become underscores ("Requires improvement"). Other codes kept as delivered,
    so accepted_values tests and DQ can see them.
-#}
{% macro parse_audit_grade(column) -%}
    {%- set g = "replace(replace(" ~ clean_code(column) ~ ", ' ', '_'), '-', '_')" -%}
    (case {{ g }}
        when '1' then 'OUTSTANDING'
        when '2' then 'GOOD'
        when '3' then 'REQUIRES_IMPROVEMENT'
        when '4' then 'INADEQUATE'
        when 'ADEQUATE' then 'REQUIRES_IMPROVEMENT'
        else {{ g }}
    end)
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
