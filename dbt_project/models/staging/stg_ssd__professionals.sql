-- Staff names (prof_professional_name) are deliberately not carried forward.
with

source as (
    select * from {{ source('ssd', 'ssd_professionals') }}
),

renamed as (
    select
        -- Mosaic: prof_professional_id is NULL and the worker id is prof_staff_id
        coalesce({{ clean_text('prof_professional_id') }}, {{ clean_text('prof_staff_id') }}) as worker_id,
        {{ clean_text('prof_staff_id') }} as staff_id,
        {{ clean_code('prof_social_worker_registration_no') }} as social_work_england_number,
        {{ clean_text('prof_professional_job_title') }} as job_title,
        {{ resolve_team('prof_professional_department') }} as team_id,
        {{ parse_decimal('prof_full_time_equivalency') }} as fte,
        {{ clean_text('prof_full_time_equivalency') }} as fte_raw,
        {{ decimal_is_invalid('prof_full_time_equivalency') }} as fte_is_invalid,
        {{ flag_column('prof_agency_worker_flag', 'is_agency') }},
        {{ lineage_columns() }}
    from source
),

deduplicated as (
    {{ dedupe_on_key('renamed', 'worker_id') }}
)

select * from deduplicated
