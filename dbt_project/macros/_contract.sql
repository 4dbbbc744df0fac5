{# GENERATED from include/csc_pipeline/contract.py by
   `python -m csc_pipeline.contract_artifacts --write`: do not edit by hand. #}

{% macro contract_flag_true() %}('1', 'T', 'TRUE', 'Y', 'YES'){% endmacro %}
{% macro contract_flag_false() %}('0', 'F', 'FALSE', 'N', 'NO'){% endmacro %}
{% macro contract_flag_na() %}('N/A', 'NA'){% endmacro %}
{% macro contract_date_formats() %}['%Y-%m-%d', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%d/%m/%Y']{% endmacro %}
{% macro contract_null_date() %}1900-01-01{% endmacro %}
