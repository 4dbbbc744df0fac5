"""The committed bank-holiday seed matches the holidays package and the KPI spec."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from csc_pipeline import calendar

ONE_OFF_DAYS = ("2011-04-29", "2012-06-05", "2022-06-03", "2022-09-19", "2023-05-08")
SUBSTITUTE_DAYS = ("2020-12-28", "2021-12-27", "2021-12-28", "2022-12-27")


@pytest.fixture(scope="module")
def seed_rows() -> list[dict[str, str]]:
    with calendar.SEED_PATH.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_seed_header(seed_rows):
    assert tuple(seed_rows[0].keys()) == calendar.SEED_HEADER


def test_committed_seed_equals_holidays_output(seed_rows):
    expected = [(d.isoformat(), name) for d, name in calendar.bank_holidays(2005, 2035)]
    actual = [(r["holiday_date"], r["holiday_name"]) for r in seed_rows]
    assert actual == expected, "seed is stale: run `python -m csc_pipeline.calendar`"


def test_seed_covers_2005_to_2035(seed_rows):
    years = {int(r["holiday_date"][:4]) for r in seed_rows}
    assert years == set(range(2005, 2036))
    dates = [r["holiday_date"] for r in seed_rows]
    assert len(dates) == len(set(dates)), "one row per date"


@pytest.mark.parametrize("day", ONE_OFF_DAYS)
def test_one_off_holidays_present(seed_rows, day):
    assert day in {r["holiday_date"] for r in seed_rows}


@pytest.mark.parametrize("day", SUBSTITUTE_DAYS)
def test_substitute_days_present(seed_rows, day):
    assert day in {r["holiday_date"] for r in seed_rows}
    assert dt.date.fromisoformat(day).weekday() < 5, "a substitute day is a weekday"


def test_write_seed_is_reproducible(tmp_path):
    out = tmp_path / "holidays.csv"
    count = calendar.write_seed(out)
    assert count == len(calendar.bank_holidays(2005, 2035))
    assert out.read_bytes() == calendar.SEED_PATH.read_bytes()


def test_bank_holidays_rejects_reversed_range():
    with pytest.raises(ValueError):
        calendar.bank_holidays(2030, 2020)
