-- One row per indicator, from the kpi_definitions() macro, with its RAG target taken
-- from the project vars (dbt_project.yml; override with --vars).
{% for kpi in kpi_definitions() %}
select
    cast('{{ kpi.code }}' as varchar) as kpi_code,
    cast('{{ kpi.name }}' as varchar) as kpi_name,
    cast('{{ kpi.type }}' as varchar) as kpi_type,
    cast('{{ kpi.unit }}' as varchar) as value_unit,
    {{ 'true' if kpi.higher_is_better else 'false' }} as higher_is_better,
    cast({{ var(kpi.target_var) if kpi.target_var else 'null' }} as numeric(18, 6)) as target,
    cast({{ "'" ~ kpi.target_var ~ "'" if kpi.target_var else 'null' }} as varchar) as target_var,
    cast('{{ kpi.numerator | replace("'", "''") }}' as varchar) as numerator_definition,
    cast('{{ kpi.denominator | replace("'", "''") }}' as varchar) as denominator_definition,
    cast('kpis.md section {{ kpi.spec }}' as varchar) as spec_reference
{% if not loop.last %}union all{% endif %}
{% endfor %}
