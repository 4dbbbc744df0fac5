"""Collect a night's records per team and render the digest (HTML body + CSV attachment).

Everything is judged as at the night's export date, never the wall clock, so a re-run
of an old night gives the same digest. Record lines carry the case system's person id
and the record id (what a manager needs to open the record) and never a name or a date
of birth.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np

from csc_pipeline.alerts import queries
from csc_pipeline.alerts.settings import AlertSettings

log = logging.getLogger(__name__)

CSV_COLUMNS = (
    "section",
    "record_type",
    "record_id",
    "person_id",
    "worker_id",
    "date_label",
    "date",
    "detail",
    "new_tonight",
)
NO_TEAM = "(no team)"


@lru_cache(maxsize=4)
def _busday_calendar(first_year: int, last_year: int) -> np.busdaycalendar:
    from csc_pipeline.calendar import bank_holidays

    days = [d for d, _ in bank_holidays(first_year, last_year)]
    return np.busdaycalendar(weekmask="1111100", holidays=np.array(days, dtype="datetime64[D]"))


def working_days_threshold(as_at: dt.date, n: int) -> dt.date:
    """The date T such that working_days_between(a, as_at) > n exactly when a < T.

    T is the (n+1)-th working day counting back from as_at (inclusive), so (a, as_at]
    holds more than n working days iff a is before T (kpis.md: working days exclude
    weekends and England bank holidays).
    """
    cal = _busday_calendar(as_at.year - 2 - n // 200, as_at.year)
    day = np.busday_offset(np.datetime64(as_at, "D"), -n, roll="backward", busdaycal=cal)
    return day.astype(dt.date)


@dataclass
class TeamDigest:
    team_id: str
    team_name: str | None = None
    service_area: str | None = None
    records: list[dict] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.team_name and self.team_name != self.team_id:
            return f"{self.team_name} ({self.team_id})"
        return self.team_id

    def counts(self) -> dict[str, int]:
        found = Counter(r["section"] for r in self.records)
        counts = {s: found.get(s, 0) for s in queries.SECTIONS}
        counts["dq_issue_new"] = sum(
            1 for r in self.records if r["section"] == "dq_issue" and r["is_new"]
        )
        return counts

    @property
    def is_empty(self) -> bool:
        return not self.records


@dataclass
class NightRecords:
    la_code: str
    export_date: str
    teams: dict[str, TeamDigest]
    unavailable: dict[str, str]  # query name -> why it could not run
    published_date: str | None

    @property
    def is_current(self) -> bool:
        """The published warehouse holds this night (not an older or newer one)."""
        return self.published_date == self.export_date


def collect(warehouse: Path, la_code: str, export_date: str, s: AlertSettings) -> NightRecords:
    """Every record to report for the night, grouped by team, from the published warehouse."""
    as_at = dt.date.fromisoformat(export_date)
    params = {
        "as_at": as_at,
        "icpc_before": working_days_threshold(as_at, s.icpc_working_days),
        "visit_before": working_days_threshold(as_at, s.cp_visit_working_days),
        "caseload_limit": float(s.caseload_threshold),
    }
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        published = con.execute(queries.PUBLISHED_NIGHT, [la_code]).fetchone()[0]
        teams: dict[str, TeamDigest] = {}
        try:
            for team_id, name, area, _area_name in con.execute(queries.TEAMS).fetchall():
                teams[team_id] = TeamDigest(team_id, name, area)
        except duckdb.Error as exc:
            log.warning("Team names unavailable (%s): digests show team ids only", exc)
        unavailable: dict[str, str] = {}
        for name, sql in queries.QUERIES.items():
            used = {k: v for k, v in params.items() if f"${k}" in sql}
            try:
                rows = con.execute(sql, used).fetchall()
            except (duckdb.CatalogException, duckdb.BinderException) as exc:
                # A model not built (yet) must not stop the other sections: say so instead.
                unavailable[name] = str(exc).splitlines()[0]
                log.warning("Alerts for %s unavailable for council %s: %s", name, la_code, exc)
                continue
            for row in rows:
                record = dict(zip(queries.RECORD_COLUMNS, row, strict=True))
                team_id = str(record["team_id"]).strip() if record["team_id"] else NO_TEAM
                teams.setdefault(team_id, TeamDigest(team_id)).records.append(record)
    finally:
        con.close()
    for digest in teams.values():
        digest.records.sort(
            key=lambda r: (
                list(queries.SECTIONS).index(r["section"]),
                r["date_value"] or dt.date.min,
                str(r["record_id"]),
            )
        )
    return NightRecords(la_code, export_date, teams, unavailable, published)


# --- rendering -------------------------------------------------------------------------


def headings(s: AlertSettings) -> dict[str, str]:
    values = {
        "icpc_days": s.icpc_working_days,
        "visit_days": s.cp_visit_working_days,
        "caseload_limit": s.caseload_threshold,
    }
    return {k: v.format(**values) for k, v in queries.SECTIONS.items()}


def subject(council: str, digest: TeamDigest, export_date: str) -> str:
    n = len(digest.records)
    what = f"{n} item{'s' if n != 1 else ''} to review" if n else "nothing to report"
    return f"CSC nightly digest: {digest.label}, {council}, as at {export_date}: {what}"


def _date(value) -> str:
    return (
        value.isoformat() if isinstance(value, dt.date) else ("" if value is None else str(value))
    )


def render_csv(digest: TeamDigest) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in digest.records:
        writer.writerow(
            (
                r["section"],
                r["record_type"],
                r["record_id"],
                r["person_id"] or "",
                r["worker_id"] or "",
                r["date_label"],
                _date(r["date_value"]),
                r["detail"] or "",
                "Y" if r["is_new"] else "",
            )
        )
    return out.getvalue()


def render_html(
    council: str,
    digest: TeamDigest,
    export_date: str,
    s: AlertSettings,
    unavailable: dict[str, str] | None = None,
    manager_name: str | None = None,
) -> str:
    e = html.escape
    titles = headings(s)
    counts = digest.counts()
    parts = [
        '<html><body style="font-family: Arial, sans-serif; font-size: 14px">',
        f"<h2>{e(digest.label)}: nightly digest as at {e(export_date)}</h2>",
        f"<p>{'Dear ' + e(manager_name) + ',' if manager_name else 'Hello,'}</p>",
        f"<p>From {e(council)}'s case-system export of {e(export_date)}, your team has:</p>",
        '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">',
    ]
    for section, title in titles.items():
        extra = (
            f" ({counts['dq_issue_new']} new tonight)"
            if section == "dq_issue" and counts[section]
            else ""
        )
        parts.append(
            f'<tr><td>{e(title)}</td><td align="right"><b>{counts[section]}</b>{e(extra)}</td></tr>'
        )
    parts.append("</table>")
    if unavailable:
        parts.append(
            "<p><i>Not checked tonight (a data model was missing; see the pipeline's run log): "
            + e(", ".join(sorted(unavailable)))
            + ".</i></p>"
        )
    parts.append(
        "<p>The records are listed below and in the attached CSV. Person ids are the "
        "case system's ids: search for them in the case system.</p>"
    )
    for section, title in titles.items():
        rows = [r for r in digest.records if r["section"] == section]
        if not rows:
            continue
        parts.append(f"<h3>{e(title)}: {len(rows)}</h3>")
        parts.append(
            '<table border="1" cellpadding="3" cellspacing="0" style="border-collapse: collapse">'
            "<tr><th>Record</th><th>Record id</th><th>Person id</th><th>Worker id</th>"
            "<th>Date</th><th>Detail</th></tr>"
        )
        for r in rows:
            new = " <b>(new)</b>" if r["is_new"] else ""
            parts.append(
                f"<tr><td>{e(str(r['record_type']))}</td><td>{e(str(r['record_id']))}</td>"
                f"<td>{e(str(r['person_id'] or ''))}</td><td>{e(str(r['worker_id'] or ''))}</td>"
                f"<td>{e(str(r['date_label']))} {e(_date(r['date_value']))}</td>"
                f"<td>{e(str(r['detail'] or ''))}{new}</td></tr>"
            )
        parts.append("</table>")
    parts.append(
        '<p style="color: #555">Sent automatically by the CSC data pipeline. This email '
        "holds case-system record ids only (no names or dates of birth); keep it within "
        "the council.</p></body></html>"
    )
    return "\n".join(parts)


def csv_file_name(la_code: str, team_id: str, export_date: str) -> str:
    return f"csc_digest_{la_code}_{safe_name(team_id)}_{export_date}.csv"


def safe_name(text: str) -> str:
    """A file-name-safe version of a team id."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in text.strip())
    return cleaned.strip("._") or "team"
