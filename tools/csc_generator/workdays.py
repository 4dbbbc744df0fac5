"""England working-day arithmetic on whole numpy arrays.

The simulation places every timed event (assessment authorisations, conferences,
statutory visits) a number of *working* days after another, because that is how the
statutory timescales in ../shared/spec/kpis.md are defined. Doing it per row with
Python dates would dominate the run time, so dates are int64 day numbers (days since
1970-01-01) and numpy's business-day functions do the work with England's bank
holidays from the `holidays` package (which includes the one-off and substitute days).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np

from csc_pipeline.calendar import bank_holidays

EPOCH = dt.date(1970, 1, 1)
# Sentinels for day numbers: "no such date" and "not (yet) happened / never".
NULL_DAY = -1_000_000
FAR_DAY = 1_000_000


def to_day(value: dt.date) -> int:
    """Day number of a date."""
    return (value - EPOCH).days


def from_day(day: int) -> dt.date:
    """Date of a day number."""
    return EPOCH + dt.timedelta(days=int(day))


class WorkCalendar:
    """Working days (Mon-Fri excluding England bank holidays) between two years."""

    def __init__(self, first_year: int, last_year: int) -> None:
        hols = [day for day, _ in bank_holidays(first_year, last_year)]
        self.first = np.datetime64(f"{first_year}-01-01", "D").astype(np.int64)
        self.last = np.datetime64(f"{last_year}-12-31", "D").astype(np.int64)
        self._cal = np.busdaycalendar(
            weekmask="1111100", holidays=np.array(hols, dtype="datetime64[D]")
        )

    def _clip(self, days: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(days, dtype=np.int64), self.first, self.last).astype(
            "datetime64[D]"
        )

    def add(self, days: np.ndarray, n: np.ndarray | int) -> np.ndarray:
        """add_working_days(a, n): the n-th working day after a (a itself need not work)."""
        out = np.busday_offset(self._clip(days), n, roll="backward", busdaycal=self._cal)
        return out.astype(np.int64)

    def between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """working_days_between(a, b): working days d with a < d <= b (negative if b < a)."""
        a64 = self._clip(np.asarray(a) + 1)
        b64 = self._clip(np.asarray(b) + 1)
        return np.busday_count(a64, b64, busdaycal=self._cal).astype(np.int64)

    def roll_forward(self, days: np.ndarray) -> np.ndarray:
        """The day itself when it is a working day, else the next working day."""
        out = np.busday_offset(self._clip(days), 0, roll="forward", busdaycal=self._cal)
        return out.astype(np.int64)


@lru_cache(maxsize=8)
def calendar(first_year: int, last_year: int) -> WorkCalendar:
    """A cached calendar (building the holiday list is the slow part)."""
    return WorkCalendar(first_year, last_year)
