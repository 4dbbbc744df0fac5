with

source as (
    select * from {{ source('ssd', 'case_audits') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('audit_id') }} as audit_id,
        {{ clean_text('audit_person_id') }} as person_id,
        {{ clean_text('audit_referral_id') }} as referral_id,
        {{ date_column('audit_completed_date', 'completed_date') }},
        {{ clean_code('audit_type') }} as audit_type,
        {{ clean_text('audit_theme') }} as audit_theme,
        {{ clean_text('audit_team') }} as team_id,
        {{ clean_text('audit_case_worker_id') }} as case_worker_id,
        {{ clean_text('auditor_id') }} as auditor_id,
        {{ clean_code('auditor_role') }} as auditor_role,
        {{ parse_audit_grade('audit_grade') }} as audit_grade,
        {{ clean_text('audit_grade') }} as audit_grade_raw,
        {{ parse_audit_grade('moderated_grade') }} as moderated_grade,
        {{ clean_text('moderated_grade') }} as moderated_grade_raw,
        {{ date_column('moderation_date', 'moderation_date') }},
        {{ clean_text('moderator_id') }} as moderator_id,
        {{ parse_flag_na('std_timescales_met') }} as std_timescales_met,
        {{ parse_flag_na('std_management_oversight_met') }} as std_management_oversight_met,
        {{ parse_flag_na('std_voice_of_child_met') }} as std_voice_of_child_met,
        {{ parse_flag_na('std_analysis_met') }} as std_analysis_met,
        {{ parse_flag_na('std_recording_met') }} as std_recording_met,
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 'audit_id') }}
)

select
    deduplicated.*,
    pseudonyms.person_key
from deduplicated
left join pseudonyms on pseudonyms.person_id = deduplicated.person_id
