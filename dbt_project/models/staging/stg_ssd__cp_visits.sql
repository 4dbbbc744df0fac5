-- ssd_cp_visits as deployed: cppv_cp_plan_id is often NULL by design and Mosaic has no
-- cppv_person_id. The person comes from the plan when absent; a visit with no plan id
-- attaches to the child's plan open on the visit date (the latest-starting one when two
-- overlap). *_is_derived says which rows were completed that way.
with

source as (
    select * from {{ source('ssd', 'ssd_cp_visits') }}
),

plans as (
    select
        cp_plan_id,
        person_id,
        start_date,
        end_date
    from {{ ref('stg_ssd__cp_plans') }}
),

pseudonyms as (
    select * from {{ ref('stg_ssd__person_pseudonyms') }}
),

renamed as (
    select
        {{ clean_text('cppv_cp_visit_id') }} as cp_visit_id,
        {{ clean_text('cppv_person_id') }} as delivered_person_id,
        {{ clean_text('cppv_cp_plan_id') }} as delivered_cp_plan_id,
        {{ date_column('cppv_cp_visit_date', 'visit_date') }},
        {{ flag_column('cppv_cp_visit_seen', 'is_child_seen') }},
        {{ flag_column('cppv_cp_visit_seen_alone', 'is_child_seen_alone') }},
        {{ lineage_columns() }}
    from source
),

with_person as (
    select
        renamed.*,
        coalesce(renamed.delivered_person_id, delivered_plan.person_id) as person_id
    from renamed
    left join plans as delivered_plan on delivered_plan.cp_plan_id = renamed.delivered_cp_plan_id
),

open_plan as (
    select
        with_person.cp_visit_id,
        with_person._source_row,
        plans.cp_plan_id,
        row_number() over (
            partition by with_person._source_row
            order by plans.start_date desc, plans.cp_plan_id desc
        ) as rn
    from with_person
    inner join plans
        on plans.person_id = with_person.person_id
        and plans.start_date <= with_person.visit_date
        and (plans.end_date is null or plans.end_date >= with_person.visit_date)
    where with_person.delivered_cp_plan_id is null
),

completed as (
    select
        with_person.cp_visit_id,
        with_person.person_id,
        coalesce(with_person.delivered_cp_plan_id, open_plan.cp_plan_id) as cp_plan_id,
        with_person.delivered_person_id is null and with_person.person_id is not null
            as person_id_is_derived,
        with_person.delivered_cp_plan_id is null and open_plan.cp_plan_id is not null
            as cp_plan_id_is_derived,
        with_person.visit_date,
        with_person.visit_date_raw,
        with_person.visit_date_is_invalid,
        with_person.is_child_seen,
        with_person.is_child_seen_is_invalid,
        with_person.is_child_seen_alone,
        with_person.is_child_seen_alone_is_invalid,
        with_person._export_date,
        with_person._la_code,
        with_person._source_row
    from with_person
    left join open_plan on open_plan._source_row = with_person._source_row and open_plan.rn = 1
),

deduplicated as (
    {{ dedupe_on_key('completed', 'cp_visit_id') }}
)

select
    deduplicated.*,
    pseudonyms.person_key
from deduplicated
left join pseudonyms on pseudonyms.person_id = deduplicated.person_id
