"""When a weekly or monthly recipient hears, and what their period summary says.

A weekly recipient (day D) is sent a summary on the first published night on or after
each D; a monthly one (day N) on the first night on or after the N-th of each month
(a missing night, e.g. no export on a bank holiday, moves it to the next night, never
skips the period). A pipeline that starts mid-period waits for the next scheduled day
(no summary of a period it did not watch). The period runs from the previous scheduled day (exclusive) to
tonight (inclusive); the stable alert id of (council, scheduled day, recipient, kind)
sends each period once, however often a night is re-run.

The summary compares the records of the nights kept in alert_log (digest_record):
- still open: tonight's records (each once, as in a nightly digest);
- new: records on a night of the period that were not open on the last night before it;
- fixed: records open before or during the period that are no longer open tonight.
When the kept history starts inside the period, its first night stands for "before"
and the summary says from which night it knows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from csc_pipeline.alerts.routing import Frequency


@dataclass(frozen=True)
class Period:
    key: str  # the scheduled day (YYYY-MM-DD) or, nightly, the night
    start: dt.date  # exclusive: the previous scheduled day
    end: dt.date  # inclusive: tonight
    every: str

    @property
    def label(self) -> str:
        first = self.start + dt.timedelta(days=1)
        if self.every == "nightly":
            return f"as at {self.end.isoformat()}"
        return f"{first.isoformat()} to {self.end.isoformat()}"

    @property
    def kind_word(self) -> str:
        return {"weekly": "week", "monthly": "month"}.get(self.every, "night")


def _minus_month(day: dt.date) -> dt.date:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return dt.date(year, month, day.day)  # day <= 28 always


def scheduled_day(frequency: Frequency, night: dt.date) -> dt.date:
    """The latest scheduled day on or before `night`."""
    if frequency.every == "weekly":
        return night - dt.timedelta(days=(night.weekday() - (frequency.day or 0)) % 7)
    if frequency.every == "monthly":
        day = frequency.day or 1
        this_month = dt.date(night.year, night.month, day)
        return this_month if night >= this_month else _minus_month(this_month)
    return night


def due_period(frequency: Frequency, export_date: str, kept_nights: list[str]) -> Period | None:
    """The period to report tonight, or None (not this recipient's night).

    `kept_nights`: the council's nights already recorded in alert_log (tonight included
    or not): a weekly/monthly summary is due when no earlier night falls between the
    scheduled day and tonight.
    """
    night = dt.date.fromisoformat(export_date)
    if frequency.every == "nightly":
        return Period(export_date, night - dt.timedelta(days=1), night, "nightly")
    sched = scheduled_day(frequency, night)
    if any(sched.isoformat() <= d < export_date for d in kept_nights):
        return None  # already due on an earlier night of this period
    if night != sched and not any(d < sched.isoformat() for d in kept_nights):
        return None  # the pipeline started after the scheduled day: wait for the next
    previous = sched - dt.timedelta(days=7) if frequency.every == "weekly" else _minus_month(sched)
    return Period(sched.isoformat(), previous, night, frequency.every)


@dataclass
class PeriodSummary:
    """New, fixed and still-open records of one team in a period."""

    period: Period
    open: list[dict]  # tonight's records, each with is_new_in_period
    new_keys: set[str]
    fixed: list[dict]  # records no longer open tonight (as last seen), with last_seen
    history_from: str | None = None  # first kept night, when it is inside the period
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # section -> open/new/fixed

    @property
    def is_empty(self) -> bool:
        return not self.open and not self.fixed


def summarise(
    period: Period,
    team_id: str,
    tonight: list[dict],
    kept: dict[str, dict[str, dict[str, dict]]],
    sections: list[str],
) -> PeriodSummary:
    """`kept`: night -> team -> record_key -> record (alert_log.night_records)."""
    start, end = period.start.isoformat(), period.end.isoformat()
    before = [n for n in sorted(kept) if n <= start]
    during = [n for n in sorted(kept) if start < n < end]
    if not before and during:
        # history starts inside the period: its first night is what was open "before"
        before, during = during[:1], during[1:]
    baseline = kept[before[-1]].get(team_id, {}) if before else {}
    seen: dict[str, dict] = dict(baseline)
    last_seen: dict[str, str] = {k: before[-1] for k in baseline} if before else {}
    appeared: set[str] = set()
    for night in during:
        for k, r in kept[night].get(team_id, {}).items():
            seen[k] = r
            last_seen[k] = night
            if k not in baseline:
                appeared.add(k)
    now = {r["key"]: r for r in tonight}
    appeared |= {k for k in now if k not in baseline}
    open_rows = [{**r, "is_new_in_period": r["key"] not in baseline} for r in tonight]
    fixed = [
        {**seen[k], "last_seen": last_seen.get(k)}
        for k in sorted(seen, key=lambda k: (sections.index(seen[k]["section"]), k))
        if k not in now
    ]
    counts = {
        s: {
            "open": sum(1 for r in tonight if r["section"] == s),
            "new": sum(
                1 for k in appeared if (now.get(k) or seen.get(k) or {}).get("section") == s
            ),
            "fixed": sum(1 for r in fixed if r["section"] == s),
        }
        for s in sections
    }
    first = min(kept) if kept else end
    history_from = first if first > start else None
    return PeriodSummary(period, open_rows, appeared, fixed, history_from, counts)
