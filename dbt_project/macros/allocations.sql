{#-
    allocation_on_date: the child's case-holding allocation on a date, for each record
    of `records` (a CTE with `record_key` and person_id): allocations (CTE
    `allocations`, counted rows of int_case_allocations) with start_date <= D and
    (end_date is null or end_date > D), ranked latest-starting first, then highest
    involvement id (allocation_rank = 1 is the one used). kpis.md §3: the same
    "allocated on D" rule as the caseloads. `on_date` is an expression (a column of
    `records`, or as_at_date()).
-#}
{% macro allocation_on_date(records, record_key, on_date) -%}
    select
        {{ records }}.{{ record_key }},
        allocations.team_id,
        allocations.worker_id,
        row_number() over (
            partition by {{ records }}.{{ record_key }}
            order by allocations.start_date desc, allocations.involvement_id desc
        ) as allocation_rank
    from {{ records }}
    inner join allocations
        on allocations.person_id = {{ records }}.person_id
        and allocations.start_date <= {{ on_date }}
        and (allocations.end_date is null or allocations.end_date > {{ on_date }})
{%- endmacro %}
