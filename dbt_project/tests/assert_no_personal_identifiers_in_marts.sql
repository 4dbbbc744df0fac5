{{ config(tags=['code_only']) }}
-- code_only: column names are fixed by the marts' enforced contracts, so CI runs this
-- (make test) and the nightly build skips it (steps/build.py).
-- Privacy guard over the whole `marts` schema (belt and braces with the per-model
-- no_personal_identifiers test): no column may be named like a child's name, date of
-- birth or case-system person id. Children are identified in marts by person_key only.
-- The depends_on lines make dbt build run this after every mart exists.
-- depends_on: {{ ref('dim_date') }}, {{ ref('dim_team') }}, {{ ref('dim_worker') }}, {{ ref('dim_kpi') }}
-- depends_on: {{ ref('fct_assessments') }}, {{ ref('fct_cp_plans') }}, {{ ref('fct_caseloads') }}
-- depends_on: {{ ref('fct_case_audits') }}, {{ ref('fct_referrals') }}, {{ ref('fct_icpc') }}
-- depends_on: {{ ref('fct_cp_visits_due') }}, {{ ref('fct_kpi_events') }}, {{ ref('kpi_monthly') }}
-- depends_on: {{ ref('kpi_headline') }}, {{ ref('kpi_assessment_durations') }}
with

columns as (
    select
        table_name,
        column_name,
        lower(column_name) as column_name_lower
    from information_schema.columns
    where table_schema = 'marts'
)

select
    table_name,
    column_name
from columns
where column_name_lower like '%person_id%'
    or column_name_lower = 'dob'
    or column_name_lower like 'dob\_%' escape '\'
    or column_name_lower like '%\_dob' escape '\'
    or column_name_lower like '%\_dob\_%' escape '\'
    or column_name_lower like '%date_of_birth%'
    or column_name_lower like '%birth%'
    or column_name_lower like '%forename%'
    or column_name_lower like '%surname%'
    or column_name_lower like '%first_name%'
    or column_name_lower like '%last_name%'
    or column_name_lower like '%given_name%'
    or column_name_lower like '%family_name%'
    or column_name_lower like '%full_name%'
    or column_name_lower like 'pers\_%' escape '\'
    or column_name_lower like '%upn%'
    or column_name_lower like '%common_child_id%'
    or column_name_lower like '%professional_name%'
    or column_name_lower like '%staff_name%'
