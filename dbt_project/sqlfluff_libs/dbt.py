"""Lint-time stand-ins for dbt's cross-database macros (sqlfluff's jinja templater).

sqlfluff lints the SQL dbt would send to DuckDB without running dbt (offline, no
connection): these functions render the same DuckDB SQL dbt-duckdb renders, closely
enough for the parser and the style rules. They are never used by dbt itself.
"""


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def position(substring_text, string_text):
    return f"position({substring_text} in {string_text})"
