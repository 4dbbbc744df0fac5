"""Render digests: HTML from the Jinja2 templates in templates/digest/, CSV attachments.

Counts come first, then one line per record (each record once), the worker's name
beside the worker id, and a link to the dashboard's team page when CSC_DASHBOARD_URL
is set. A figure that could not be known (its export table not supplied, its model
missing) is written as text ("not supplied"), never as 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import jinja2

from csc_pipeline.alerts import queries
from csc_pipeline.alerts.digest import NO_TEAM, NightRecords, TeamDigest
from csc_pipeline.alerts.schedule import Period, PeriodSummary
from csc_pipeline.alerts.settings import AlertSettings

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
CSV_COLUMNS = (
    "section", "status", "record_type", "record_id", "person_id", "worker_id", "worker_name",
    "date_label", "date", "detail", "also_data_quality_issue", "new",
)  # fmt: skip


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def headings(s: AlertSettings) -> dict[str, str]:
    """Section headings with the thresholds of the dbt project (the flags' own numbers)."""
    from csc_pipeline import kpi_definitions

    values: dict = {"caseload_limit": s.caseload_threshold}
    try:
        values |= kpi_definitions.thresholds()
    except (OSError, KeyError, ValueError):
        pass
    out = {}
    for key, text in queries.SECTIONS.items():
        try:
            out[key] = text.format(**values)
        except KeyError:  # a threshold missing from the seed: say it without the number
            out[key] = text.split(" (")[0].split(" within ")[0]
    return out


def team_link(base: str | None, team_id: str) -> str | None:
    if not base or team_id == NO_TEAM:
        return None
    return f"{base.rstrip('/')}/team?team={quote(team_id)}"


def area_link(base: str | None, area_id: str) -> str | None:
    return f"{base.rstrip('/')}/team?area={quote(area_id)}" if base else None


def _date(value) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)[:10]


def _view(r: dict) -> dict:
    return {**r, "date_text": _date(r.get("date_value"))}


def _missing_names(night: NightRecords) -> tuple[list[str], list[str]]:
    return sorted(night.not_supplied), sorted(night.unavailable)


def subject(
    council: str, label: str, export_date: str, n: int, period: Period | None = None
) -> str:
    what = f"{n} item{'s' if n != 1 else ''} to review" if n else "nothing to report"
    if period is None or period.every == "nightly":
        return f"CSC nightly digest: {label}, {council}, as at {export_date}: {what}"
    return f"CSC {period.every} summary: {label}, {council}, {period.label}: {what}"


def render_team(
    council: str,
    digest: TeamDigest,
    night: NightRecords,
    s: AlertSettings,
    manager_name: str | None = None,
    summary: PeriodSummary | None = None,
) -> str:
    titles = headings(s)
    counts = digest.counts()
    rows = summary.open if summary else digest.records
    count_rows = []
    for section, heading in titles.items():
        value = counts[section]
        note = ""
        if section == "dq_issue" and not isinstance(value, str) and value:
            note = f"({counts['dq_issue_new']} new tonight"
            if counts["dq_issue_merged"]:
                note += f"; {counts['dq_issue_merged']} shown with the work items below"
            note += ")"
        entry = {"heading": heading, "value": value, "note": note}
        if summary:
            c = summary.counts.get(section, {})
            missing = isinstance(value, str)
            entry["new"] = value if missing else c.get("new", 0)
            entry["fixed"] = value if missing else c.get("fixed", 0)
            entry["value"] = value if missing else c.get("open", 0)
        count_rows.append(entry)
    not_supplied, unavailable = _missing_names(night)
    title = (
        f"{summary.period.every} summary, {summary.period.label}"
        if summary
        else f"nightly digest as at {night.export_date}"
    )
    return (
        environment()
        .get_template("digest/team.html.j2")
        .render(
            team_label=digest.label,
            title=title,
            manager_name=manager_name,
            council=council,
            export_date=night.export_date,
            summary=summary,
            count_rows=count_rows,
            not_supplied=not_supplied,
            unavailable=unavailable,
            dashboard_link=team_link(s.dashboard_url, digest.team_id),
            headings=titles,
            sections=[
                {"heading": h, "rows": [_view(r) for r in rows if r["section"] == sec]}
                for sec, h in titles.items()
            ],
        )
    )


def render_area(
    council: str,
    area_id: str,
    area_name: str | None,
    head_name: str | None,
    teams: list[tuple[TeamDigest, str | None, PeriodSummary | None]],
    night: NightRecords,
    s: AlertSettings,
    period: Period,
) -> str:
    """The head of service's roll-up: one row per team, one column per section."""
    titles = headings(s)
    rows, totals = [], {sec: 0 for sec in titles}
    for digest, manager_name, summary in teams:
        counts = digest.counts()
        cells = []
        for sec in titles:
            value = counts[sec]
            change = ""
            if summary and not isinstance(value, str):
                c = summary.counts.get(sec, {})
                change = f"+{c.get('new', 0)} new, {c.get('fixed', 0)} fixed"
            if isinstance(value, str):
                totals[sec] = value
            elif not isinstance(totals[sec], str):
                totals[sec] += value
            cells.append({"value": value, "change": change})
        rows.append(
            {
                "label": digest.label,
                "manager_name": manager_name,
                "cells": cells,
                "link": team_link(s.dashboard_url, digest.team_id),
            }
        )
    not_supplied, unavailable = _missing_names(night)
    label = f"{area_name} ({area_id})" if area_name and area_name != area_id else area_id
    title = (
        f"service area roll-up as at {night.export_date}"
        if period.every == "nightly"
        else f"service area {period.every} roll-up, {period.label}"
    )
    return (
        environment()
        .get_template("digest/area.html.j2")
        .render(
            area_label=label,
            title=title,
            head_name=head_name,
            council=council,
            export_date=night.export_date,
            period=period,
            headings=titles,
            teams=rows,
            totals=list(totals.values()),
            area_link=area_link(s.dashboard_url, area_id),
            not_supplied=not_supplied,
            unavailable=unavailable,
        )
    )


def render_csv(
    records: list[dict], fixed: list[dict] | None = None, team_column: bool = False
) -> str:
    """One row per record (each once); `fixed` rows (period summaries) have status fixed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow((("team_id",) if team_column else ()) + CSV_COLUMNS)
    for status, rows in (("open", records), ("fixed", fixed or [])):
        for r in rows:
            new = r.get("is_new_in_period", any(i["is_new"] for i in r.get("dq", [])))
            writer.writerow(
                ((r.get("team_id") or "",) if team_column else ())
                + (
                    r["section"],
                    status,
                    r["record_type"],
                    r["record_id"],
                    r["person_id"] or "",
                    r["worker_id"] or "",
                    r.get("worker_name") or "",
                    r["date_label"],
                    _date(r.get("date_value")),
                    r["detail"] or "",
                    "; ".join(f"{i['rule_id']}: {i['detail']}" for i in r.get("dq", []))
                    if r["section"] != "dq_issue"
                    else "",
                    "Y" if new and status == "open" else "",
                )
            )
    return out.getvalue()
