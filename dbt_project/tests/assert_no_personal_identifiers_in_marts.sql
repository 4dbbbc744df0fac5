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
        lower(column_name) as name
    from information_schema.columns
    where table_schema = 'marts'
)

select table_name, column_name
from columns
where name like '%person_id%'
    or name = 'dob' or name like 'dob\_%' escape '\' or name like '%\_dob' escape '\'
    or name like '%\_dob\_%' escape '\'
    or name like '%date_of_birth%'
    or name like '%birth%'
    or name like '%forename%'
    or name like '%surname%'
    or name like '%first_name%'
    or name like '%last_name%'
    or name like '%given_name%'
    or name like '%family_name%'
    or name like '%full_name%'
    or name like 'pers\_%' escape '\'
    or name like '%upn%'
    or name like '%common_child_id%'
    or name like '%professional_name%'
    or name like '%staff_name%'
