{#-
    Snapshots are stamped with the EXPORT date of the night being built, not the wall
    clock: dbt_valid_from / dbt_valid_to / dbt_updated_at = the as-at date 00:00.
    With the check strategy this makes snapshots idempotent per night (re-running a
    night finds no changed rows and writes nothing) and dates each version by the night
    that first delivered it. Nights must be snapshotted in export-date order (the
    pipeline processes pending nights oldest first). Overrides dbt's dispatched
    snapshot_get_time for both supported adapters.
-#}
{% macro csc_snapshot_time() -%}
    cast('{{ as_at_date_string() }}' as timestamp)
{%- endmacro %}

{% macro duckdb__snapshot_get_time() -%}
    {{ csc_snapshot_time() }}
{%- endmacro %}

{% macro postgres__snapshot_get_time() -%}
    {{ csc_snapshot_time() }}
{%- endmacro %}
