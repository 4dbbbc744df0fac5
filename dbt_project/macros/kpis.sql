{#-
    The indicator catalogue (spec/kpis.md). kpi_type:
      FLOW   events dated in a period (authorisations, plan starts, audits...): monthly,
             latest complete month and financial year to date
      STOCK  a position on a date (caseloads): the month-end snapshot per month (the
             as-at date for the month containing it), latest complete month and as at
      AS_AT  the current position only (kpi_headline)
    value = numerator / denominator: a fraction 0-1, or children per FTE.
    target_var names the dbt var holding the RAG target (none = no RAG).
-#}
{% macro kpi_definitions() %}
    {{ return([
        {'code': 'ASSESS_45WD_PCT', 'name': 'Assessments authorised within 45 working days', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': true, 'target_var': 'assessment_45wd_target', 'spec': '1',
         'numerator': 'assessments authorised in the period within 45 working days of their start', 'denominator': 'assessments authorised in the period'},
        {'code': 'CP_REPEAT_EVER_PCT', 'name': 'CP plans that are second or subsequent (ever)', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': false, 'target_var': 'cp_repeat_ever_target', 'spec': '2',
         'numerator': 'plans starting in the period that are the second or later plan of the child (DfE measure)', 'denominator': 'plans starting in the period (plans held by other councils excluded)'},
        {'code': 'CP_REPEAT_2Y_PCT', 'name': 'CP plans repeating within 2 years', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': false, 'target_var': 'cp_repeat_2y_target', 'spec': '2',
         'numerator': 'plans starting in the period where an earlier plan ended within the 2 calendar years before the start', 'denominator': 'plans starting in the period'},
        {'code': 'CP_2Y_PLUS_ENDED_PCT', 'name': 'Ended CP plans that lasted 2 years or more', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': false, 'target_var': 'cp_2y_plus_ended_target', 'spec': '2',
         'numerator': 'plans ended in the period on or after their 2-year anniversary', 'denominator': 'plans ended in the period'},
        {'code': 'CASELOAD_PER_FTE', 'name': 'Average caseload per FTE', 'type': 'STOCK', 'unit': 'children_per_fte', 'higher_is_better': false, 'target_var': 'caseload_per_fte_target', 'spec': '3',
         'numerator': 'children allocated to case-holding workers on the snapshot date', 'denominator': 'FTE of those workers (workers with at least one child and FTE > 0)'},
        {'code': 'AGENCY_RATE', 'name': 'Agency worker rate (FTE)', 'type': 'STOCK', 'unit': 'fraction', 'higher_is_better': false, 'target_var': 'agency_rate_target', 'spec': '3',
         'numerator': 'FTE of agency case-holding workers on the snapshot date', 'denominator': 'FTE of all case-holding workers on the snapshot date'},
        {'code': 'AUDIT_GOOD_PLUS_PCT', 'name': 'Audits graded good or better', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': true, 'target_var': 'audit_good_plus_target', 'spec': '4',
         'numerator': 'audits completed in the period with final grade OUTSTANDING or GOOD', 'denominator': 'audits completed in the period'},
        {'code': 'AUDIT_REQUIRES_IMPROVEMENT_PCT', 'name': 'Audits graded requires improvement', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': false, 'target_var': 'audit_requires_improvement_target', 'spec': '4',
         'numerator': 'audits completed in the period with final grade REQUIRES_IMPROVEMENT', 'denominator': 'audits completed in the period'},
        {'code': 'AUDIT_INADEQUATE_PCT', 'name': 'Audits graded inadequate', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': false, 'target_var': 'audit_inadequate_target', 'spec': '4',
         'numerator': 'audits completed in the period with final grade INADEQUATE', 'denominator': 'audits completed in the period'},
        {'code': 'AUDIT_DOWNGRADE_PCT', 'name': 'Moderated audits downgraded', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': false, 'target_var': 'audit_downgrade_target', 'spec': '4',
         'numerator': 'audits completed in the period whose moderator graded worse than the first auditor', 'denominator': 'audits completed in the period that were moderated'},
        {'code': 'AUDIT_STD_TIMESCALES_PCT', 'name': 'Practice standard met: statutory timescales', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': true, 'target_var': 'audit_standard_met_target', 'spec': '4',
         'numerator': 'audits completed in the period answering Y', 'denominator': 'audits completed in the period answering Y or N', 'column': 'std_timescales_met'},
        {'code': 'AUDIT_STD_MANAGEMENT_OVERSIGHT_PCT', 'name': 'Practice standard met: management oversight', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': true, 'target_var': 'audit_standard_met_target', 'spec': '4',
         'numerator': 'audits completed in the period answering Y', 'denominator': 'audits completed in the period answering Y or N', 'column': 'std_management_oversight_met'},
        {'code': 'AUDIT_STD_VOICE_OF_CHILD_PCT', 'name': 'Practice standard met: voice of the child', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': true, 'target_var': 'audit_standard_met_target', 'spec': '4',
         'numerator': 'audits completed in the period answering Y', 'denominator': 'audits completed in the period answering Y or N', 'column': 'std_voice_of_child_met'},
        {'code': 'AUDIT_STD_ANALYSIS_PCT', 'name': 'Practice standard met: quality of analysis', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': true, 'target_var': 'audit_standard_met_target', 'spec': '4',
         'numerator': 'audits completed in the period answering Y', 'denominator': 'audits completed in the period answering Y or N', 'column': 'std_analysis_met'},
        {'code': 'AUDIT_STD_RECORDING_PCT', 'name': 'Practice standard met: chronology and recording', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': true, 'target_var': 'audit_standard_met_target', 'spec': '4',
         'numerator': 'audits completed in the period answering Y', 'denominator': 'audits completed in the period answering Y or N', 'column': 'std_recording_met'},
        {'code': 'REREFERRAL_12M_PCT', 'name': 'Re-referrals within 12 months', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': false, 'target_var': 'rereferral_12m_target', 'spec': '5',
         'numerator': 'referrals in the period where the child had a previous referral in the 12 calendar months before', 'denominator': 'referrals in the period'},
        {'code': 'ICPC_15WD_PCT', 'name': 'Initial CP conferences within 15 working days of the S47 start', 'type': 'FLOW', 'unit': 'fraction', 'higher_is_better': true, 'target_var': 'icpc_15wd_target', 'spec': '5',
         'numerator': 'conferences held in the period within 15 working days of the S47 start', 'denominator': 'conferences held in the period (transfer-ins excluded)'},
        {'code': 'ASSESS_OPEN_OVERDUE_PCT', 'name': 'Open assessments overdue (as at)', 'type': 'AS_AT', 'unit': 'fraction', 'higher_is_better': false, 'target_var': none, 'spec': '1',
         'numerator': 'open assessments more than 45 working days old as at the as-at date', 'denominator': 'open assessments as at the as-at date'},
        {'code': 'ASSESS_OPEN_DUE_SOON_PCT', 'name': 'Open assessments due within 5 working days (as at)', 'type': 'AS_AT', 'unit': 'fraction', 'higher_is_better': false, 'target_var': none, 'spec': '1',
         'numerator': 'open assessments, not overdue, due within 5 working days of the as-at date', 'denominator': 'open assessments as at the as-at date'},
        {'code': 'CP_OPEN_2Y_PLUS_PCT', 'name': 'Open CP plans that have reached 2 years (as at)', 'type': 'AS_AT', 'unit': 'fraction', 'higher_is_better': false, 'target_var': none, 'spec': '2',
         'numerator': 'open plans on or past their 2-year anniversary as at the as-at date (the count)', 'denominator': 'open plans as at the as-at date'},
        {'code': 'CP_VISIT_OVERDUE_PCT', 'name': 'Children on open CP plans with a statutory visit overdue (as at)', 'type': 'AS_AT', 'unit': 'fraction', 'higher_is_better': false, 'target_var': none, 'spec': '5',
         'numerator': 'open plans whose last visit with the child seen is more than N working days before the as-at date', 'denominator': 'open plans as at the as-at date'},
        {'code': 'CASELOAD_ABOVE_THRESHOLD_PCT', 'name': 'Case-holding workers above the caseload flag (as at)', 'type': 'AS_AT', 'unit': 'fraction', 'higher_is_better': false, 'target_var': none, 'spec': '3',
         'numerator': 'case-holding workers with more than var(caseload_flag_per_fte) children per FTE (a DQ flag, as the DfE does)', 'denominator': 'case-holding workers with FTE > 0 as at the as-at date'},
    ]) }}
{% endmacro %}

{# RAG status of a value against a target; AMBER within var('rag_amber_tolerance') (relative) on the wrong side. #}
{% macro rag_status(value, target, higher_is_better) -%}
    case
        when {{ value }} is null or {{ target }} is null then null
        when {{ higher_is_better }} then
            case
                when {{ value }} >= {{ target }} then 'GREEN'
                when {{ value }} >= {{ target }} * (1 - {{ var('rag_amber_tolerance') }}) then 'AMBER'
                else 'RED'
            end
        else
            case
                when {{ value }} <= {{ target }} then 'GREEN'
                when {{ value }} <= {{ target }} * (1 + {{ var('rag_amber_tolerance') }}) then 'AMBER'
                else 'RED'
            end
    end
{%- endmacro %}

{# The council code as a column value. #}
{% macro la_code() -%}
    cast('{{ var("la_code") }}' as varchar)
{%- endmacro %}
