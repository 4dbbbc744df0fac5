-- One row per date from var('calendar_start_date') to var('calendar_end_date')
-- (2005-01-01 to 2035-12-31): the working-day calendar every timeliness figure uses.
-- All logic lives in the calendar_sql macro, shared with the unit-test fixture.
{{ calendar_sql(var('calendar_start_date'), var('calendar_end_date'), ref('england_bank_holidays')) }}
