{#-
    Unit-test fixture for ref('int_calendar'): the real calendar logic (calendar_sql)
    over a window, with England bank holidays 2020-2026 copied from the seed
    (including the one-off 2022-06-03, 2022-09-19, 2023-05-08 and the substitute days
    2020-12-28, 2021-12-27/28, 2022-12-27). Use in a unit test as

        - input: ref('int_calendar')
          format: sql
          rows: "{{ calendar_fixture() }}"

    Ordinals start at the window's first day, so only differences are meaningful --
    which is all that working_days_between / add_working_days use.
-#}
{% macro calendar_fixture(start_date='2020-01-01', end_date='2026-12-31') -%}
    {%- set holidays = [
        '2020-01-01', '2020-04-10', '2020-04-13', '2020-05-08', '2020-05-25', '2020-08-31',
        '2020-12-25', '2020-12-26', '2020-12-28', '2021-01-01', '2021-04-02', '2021-04-05',
        '2021-05-03', '2021-05-31', '2021-08-30', '2021-12-25', '2021-12-26', '2021-12-27',
        '2021-12-28', '2022-01-01', '2022-01-03', '2022-04-15', '2022-04-18', '2022-05-02',
        '2022-06-02', '2022-06-03', '2022-08-29', '2022-09-19', '2022-12-25', '2022-12-26',
        '2022-12-27', '2023-01-01', '2023-01-02', '2023-04-07', '2023-04-10', '2023-05-01',
        '2023-05-08', '2023-05-29', '2023-08-28', '2023-12-25', '2023-12-26', '2024-01-01',
        '2024-03-29', '2024-04-01', '2024-05-06', '2024-05-27', '2024-08-26', '2024-12-25',
        '2024-12-26', '2025-01-01', '2025-04-18', '2025-04-21', '2025-05-05', '2025-05-26',
        '2025-08-25', '2025-12-25', '2025-12-26', '2026-01-01', '2026-04-03', '2026-04-06',
        '2026-05-04', '2026-05-25', '2026-08-31', '2026-12-25', '2026-12-26', '2026-12-28'
    ] -%}
    {%- set holiday_values -%}
        (select holiday_date, 'bank holiday' as holiday_name
         from (values {% for h in holidays %}('{{ h }}'){% if not loop.last %}, {% endif %}{% endfor %})
             as h (holiday_date))
    {%- endset -%}
    {{ calendar_sql(start_date, end_date, holiday_values) }}
{%- endmacro %}
