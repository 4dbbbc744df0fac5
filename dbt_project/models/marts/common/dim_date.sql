with

calendar as (
    select * from {{ ref('int_calendar') }}
)

select
    calendar_date,
    calendar_year,
    calendar_month,
    day_of_month,
    iso_day_of_week,
    cast(day_name as varchar) as day_name,
    is_weekend,
    is_bank_holiday,
    cast(bank_holiday_name as varchar) as bank_holiday_name,
    is_working_day,
    working_day_ordinal,
    month_start,
    month_end,
    is_month_end,
    cast(financial_year as varchar) as financial_year,
    financial_year_start_year,
    fiscal_quarter_number,
    cast(fiscal_quarter as varchar) as fiscal_quarter,
    cast(fiscal_quarter_label as varchar) as fiscal_quarter_label
from calendar
