"""England and Wales bank holidays for the dbt working-day calendar.

The dbt seed ``dbt_project/seeds/england_bank_holidays.csv`` is generated from the
``holidays`` package (England subdivision of GB), which includes one-off holidays
(royal weddings, jubilees, the 2022 state funeral, the 2023 coronation) and substitute
days when a holiday falls at a weekend. The seed is committed so that dbt never needs the
package at run time; ``tests/test_calendar.py`` asserts it matches the package.

Regenerate after upgrading ``holidays`` or extending the range::

    python -m csc_pipeline.calendar            # writes the seed in place
    python -m csc_pipeline.calendar other.csv  # writes elsewhere
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import holidays

from csc_pipeline.config import DBT_PROJECT_DIR

FIRST_YEAR = 2005
LAST_YEAR = 2035
SEED_PATH = DBT_PROJECT_DIR / "seeds" / "england_bank_holidays.csv"
SEED_HEADER = ("holiday_date", "holiday_name")


def bank_holidays(
    start_year: int = FIRST_YEAR, end_year: int = LAST_YEAR
) -> list[tuple[dt.date, str]]:
    """England bank holidays from start_year to end_year inclusive, sorted by date.

    Holidays falling at a weekend are included (with their substitute weekday, which
    the package names "... (observed)"); the calendar treats weekends as non-working
    days anyway.
    """
    if end_year < start_year:
        raise ValueError("end_year must not precede start_year")
    calendar = holidays.country_holidays("GB", subdiv="ENG", years=range(start_year, end_year + 1))
    return sorted((day, str(name)) for day, name in calendar.items())


def write_seed(
    path: Path | str = SEED_PATH, start_year: int = FIRST_YEAR, end_year: int = LAST_YEAR
) -> int:
    """Write the seed CSV (ISO dates, LF line endings); returns the number of holidays."""
    rows = bank_holidays(start_year, end_year)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SEED_HEADER)
        for day, name in rows:
            writer.writerow((day.isoformat(), name))
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else SEED_PATH
    count = write_seed(target)
    print(f"wrote {count} bank holidays {FIRST_YEAR}-{LAST_YEAR} to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
