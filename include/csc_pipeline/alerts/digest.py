"""Collect a night's records per team, each record once (the digests' content).

Everything is judged as at the night's export date, never the wall clock, so a re-run
of an old night gives the same digest. Record lines carry the case system's person id,
the record id and the worker's name beside the worker id (what a manager needs to open
the record and knows people by), never a child's name or a date of birth.

Each record once: a data-quality issue on a row that is also an item of work (e.g.
rule 8670Q "assessment open over 45 working days" on an assessment the mart flags
overdue) is the same fact; it is shown once, in the work section, marked as a
data-quality issue too (`dq` on the record), and is not listed again among the
data-quality issues. The counts still say how many data-quality issues are open.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from csc_pipeline.alerts import queries
from csc_pipeline.alerts.settings import AlertSettings
from csc_pipeline.warehouse import connect

log = logging.getLogger(__name__)

NO_TEAM = "(no team)"
NOT_SUPPLIED = "not supplied"
NOT_CHECKED = "not checked"


@dataclass
class TeamDigest:
    team_id: str
    team_name: str | None = None
    service_area: str | None = None
    service_area_name: str | None = None
    records: list[dict] = field(default_factory=list)
    # section -> "not supplied" / "not checked" (the figure is unknown, never 0)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.team_name and self.team_name != self.team_id:
            return f"{self.team_name} ({self.team_id})"
        return self.team_id

    def counts(self) -> dict[str, int | str]:
        """Per section: records listed there (a figure that could not be known is the
        text "not supplied"/"not checked"), plus dq_issue = every open DQ issue of the
        team, dq_issue_new (first seen tonight) and dq_issue_merged (shown with a work
        item, not repeated among the DQ lines)."""
        found = Counter(r["section"] for r in self.records)
        counts: dict[str, int | str] = {
            s: self.missing.get(s, found.get(s, 0)) for s in queries.SECTIONS
        }
        dq = [issue for r in self.records for issue in r["dq"]]
        if "dq_issue" not in self.missing:
            counts["dq_issue"] = len(dq)
        counts["dq_issue_new"] = sum(1 for i in dq if i["is_new"])
        counts["dq_issue_merged"] = sum(
            len(r["dq"]) for r in self.records if r["section"] != "dq_issue"
        )
        return counts

    @property
    def is_empty(self) -> bool:
        return not self.records

    def section_rows(self, section: str) -> list[dict]:
        return [r for r in self.records if r["section"] == section]


@dataclass
class NightRecords:
    la_code: str
    export_date: str
    teams: dict[str, TeamDigest]
    unavailable: dict[str, str]  # query name -> why it could not run
    published_date: str | None
    not_supplied: dict[str, tuple[str, ...]] = field(default_factory=dict)  # query -> tables

    @property
    def is_current(self) -> bool:
        """The published warehouse holds this night (not an older or newer one)."""
        return self.published_date == self.export_date

    def area_teams(self, area: str) -> list[TeamDigest]:
        return [t for _, t in sorted(self.teams.items()) if t.service_area == area]


def _relations(con) -> set[str]:
    return {
        f"{s}.{t}"
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }


def _supplied(con, la_code: str, export_date: str) -> set[str] | None:
    """Tables the night delivered, or None when the warehouse does not record it."""
    try:
        return {
            r[0] for r in con.execute(queries.SUPPLIED_TABLES, [la_code, export_date]).fetchall()
        }
    except duckdb.Error:
        return None


def _record(row: tuple) -> dict:
    record = dict(zip(queries.RECORD_COLUMNS, row, strict=True))
    record["source_keys"] = [k for k in (record["source_keys"] or []) if k]
    record["dq"] = []
    if record["section"] == "dq_issue":
        record["dq"] = [
            {
                "rule_id": record["rule_id"],
                "detail": record["detail"],
                "is_new": bool(record["is_new"]),
            }
        ]
    record["key"] = f"{record['section']}:{record['record_type']}:{record['record_id']}"
    return record


def merge_same_facts(records: list[dict]) -> list[dict]:
    """Fold each data-quality issue into the work item on the same export row (if any).

    Returns the records to show: work items (some now carrying `dq`) and the DQ issues
    that stand alone. A DQ record without a record id never merges.
    """
    work_by_key: dict[str, dict] = {}
    for r in records:
        if r["section"] != "dq_issue":
            for k in r["source_keys"]:
                work_by_key.setdefault(k, r)
    shown: list[dict] = []
    for r in records:
        if r["section"] == "dq_issue" and r["record_id"] and r["source_keys"]:
            target = work_by_key.get(r["source_keys"][0])
            if target is not None:
                target["dq"].extend(r["dq"])
                target["person_id"] = target["person_id"] or r["person_id"]
                continue
        shown.append(r)
    return shown


def collect(warehouse: Path, la_code: str, export_date: str, s: AlertSettings) -> NightRecords:
    """Every record to report for the night, grouped by team, from the published warehouse."""
    as_at = dt.date.fromisoformat(export_date)
    params = {"as_at": as_at, "caseload_limit": float(s.caseload_threshold)}
    with connect(warehouse, read_only=True) as con:
        published = con.execute(queries.PUBLISHED_NIGHT, [la_code]).fetchone()[0]
        relations = _relations(con)
        restricted = {
            name: (name if name in relations else fallback)
            for name, fallback in queries.RESTRICTED_FALLBACK.items()
        }
        if any(name not in relations for name in restricted):
            log.warning(
                "Council %s: no schema `restricted` in the warehouse: digests show no "
                "person ids or worker names",
                la_code,
            )
        teams: dict[str, TeamDigest] = {}
        try:
            for team_id, name, area, area_name in con.execute(queries.TEAMS).fetchall():
                teams[team_id] = TeamDigest(team_id, name, area, area_name)
        except duckdb.Error as exc:
            log.warning("Team names unavailable (%s): digests show team ids only", exc)
        supplied = _supplied(con, la_code, export_date)
        try:
            unavailable_kpis = {
                code: reason
                for code, ok, reason in con.execute(queries.KPI_AVAILABILITY).fetchall()
                if ok is False
            }
        except duckdb.Error:
            unavailable_kpis = {}
        unavailable: dict[str, str] = {}
        not_supplied: dict[str, tuple[str, ...]] = {}
        records: list[dict] = []
        for name, sql in queries.QUERIES.items():
            missing_tables = tuple(
                t for t in queries.SOURCES[name] if supplied is not None and t not in supplied
            )
            kpi = queries.FEED_KPI.get(name)
            if kpi in unavailable_kpis:
                missing_tables = (unavailable_kpis[kpi] or f"{kpi} not available",)
            if missing_tables:
                not_supplied[name] = missing_tables
                log.warning(
                    "Council %s: %s not supplied tonight (%s)",
                    la_code,
                    name,
                    ", ".join(missing_tables),
                )
                continue
            for relation, source in restricted.items():
                sql = sql.replace(f"@{relation}@", source)
            used = {k: v for k, v in params.items() if f"${k}" in sql}
            try:
                rows = con.execute(sql, used).fetchall()
            except (duckdb.CatalogException, duckdb.BinderException) as exc:
                # A model not built (yet) must not stop the other sections: say so instead.
                unavailable[name] = str(exc).splitlines()[0]
                log.warning("Alerts for %s unavailable for council %s: %s", name, la_code, exc)
                continue
            records.extend(_record(row) for row in rows)
    by_team: dict[str, list[dict]] = {}
    for r in records:
        team_id = str(r["team_id"]).strip() if r["team_id"] else NO_TEAM
        by_team.setdefault(team_id, []).append(r)
    order = list(queries.SECTIONS)
    for team_id, team_records in by_team.items():
        digest = teams.setdefault(team_id, TeamDigest(team_id))
        digest.records = sorted(
            merge_same_facts(team_records),
            key=lambda r: (
                order.index(r["section"]),
                r["date_value"] or dt.date.min,
                str(r["record_id"]),
            ),
        )
    for digest in teams.values():
        for section, query in queries.SECTION_QUERY.items():
            if query in not_supplied:
                digest.missing[section] = NOT_SUPPLIED
            elif query in unavailable:
                digest.missing[section] = NOT_CHECKED
    return NightRecords(la_code, export_date, teams, unavailable, published, not_supplied)


def safe_name(text: str) -> str:
    """A file-name-safe version of a team id."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in text.strip())
    return cleaned.strip("._") or "team"


def csv_file_name(la_code: str, team_id: str, export_date: str, kind: str = "") -> str:
    suffix = f"_{kind}" if kind else ""
    return f"csc_digest_{la_code}_{safe_name(team_id)}_{export_date}{suffix}.csv"
