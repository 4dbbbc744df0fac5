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
        {{ code_column('audit_type', 'audit_type', 'audit_type') }},
        {{ clean_text('audit_theme') }} as audit_theme,
        {{ resolve_team('audit_team') }} as team_id,
        {{ resolve_worker('audit_case_worker_id') }} as case_worker_id,
        {{ resolve_worker('auditor_id') }} as auditor_id,
        {{ code_column('auditor_role', 'auditor_role', 'auditor_role') }},
        {{ code_column('audit_grade', 'audit_grade', 'audit_grade') }},
        {{ code_column('moderated_grade', 'moderated_grade', 'audit_grade') }},
        {{ date_column('moderation_date', 'moderation_date') }},
        {{ resolve_worker('moderator_id') }} as moderator_id,
        {{ flag_column('std_timescales_met', 'std_timescales_met', allow_na=true) }},
        {{ flag_column('std_management_oversight_met', 'std_management_oversight_met', allow_na=true) }},
        {{ flag_column('std_voice_of_child_met', 'std_voice_of_child_met', allow_na=true) }},
        {{ flag_column('std_analysis_met', 'std_analysis_met', allow_na=true) }},
        {{ flag_column('std_recording_met', 'std_recording_met', allow_na=true) }},
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
