{#-
    Project generic tests (no dbt packages: `dbt deps` needs the internet).
-#}

{#- Rows where a boolean SQL expression is not true (NULL counts as failure unless allow_null). -#}
{% test expression_is_true(model, expression, where_clause=none, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{%- if where_clause %}
    and ({{ where_clause }})
{%- endif %}
{% endtest %}

{#-
    Privacy guard for marts: fails (one row per offending column) if the built relation
    has a column that could carry a child's name, date of birth or case-system person id.
    Children are identified in marts by person_key only. Checked against the database
    catalogue, so it also catches columns that are not documented in YAML.
-#}
{% macro personal_identifier_patterns() %}
    {{ return(['person_id', 'dob', 'date_of_birth', 'birth', 'forename', 'surname', 'first_name',
               'last_name', 'given_name', 'family_name', 'full_name', 'pers_', 'upn',
               'common_child_id', 'professional_name', 'staff_name']) }}
{% endmacro %}

{% test no_personal_identifiers(model) %}
    {#- Column names only: fixed by each mart's enforced contract, so the outcome depends
        on the code, not the night's data. Tagged code_only: CI runs it (make test), the
        nightly build skips it (steps/build.py). -#}
    {{ config(tags=['code_only']) }}
    {%- set offending = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(model) -%}
            {%- set name = column.name | lower -%}
            {%- for pattern in personal_identifier_patterns() -%}
                {%- if (pattern == 'dob' and (name == 'dob' or name.startswith('dob_') or name.endswith('_dob') or '_dob_' in name))
                      or (pattern != 'dob' and pattern in name) -%}
                    {%- do offending.append(column.name) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif %}
    {%- if offending %}
        {%- for name in offending | unique %}
select '{{ name }}' as offending_column
            {%- if not loop.last %} union all {% endif %}
        {%- endfor %}
    {%- else %}
select cast(null as varchar) as offending_column
where 1 = 0
    {%- endif %}
{% endtest %}
