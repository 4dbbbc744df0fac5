"""The night's data-quality page: one self-contained HTML file anyone can open offline.

Why not Great Expectations' Data Docs: they load bootstrap, jQuery, bootstrap-table and
their fonts from public CDNs, so without internet access (or behind a council proxy) the
page is unstyled and its result tables stay empty; and they are organised by
expectation suite, which a data engineer can read but a team manager cannot. Serving
their assets locally would fix only the first problem. This page is organised the way
both read it: the night's issues by rule and by team, counts first, each record with
its plain-English description (built from ids and codes, never a name or a date of
birth: see quality/issues.py), then the checks that ran and any quarantined nights.
Data Docs are still written for engineers who want the expectation-level detail.

    <var>/dq_reports/<la_code>/<export_date>/index.html   (kept like the Data Docs:
                                                           CSC_KEEP_NIGHTS nights)

Reads the published warehouse read-only. The person id column of dq.dq_issues is never
selected: a team manager finds the record by its record id.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from csc_pipeline.warehouse import Connection, atomic_write_text, connect, table_exists

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_RECORDS_PER_TEAM = 200


def page_path(var_dir: Path, la_code: str, export_date: str) -> Path:
    return var_dir / "dq_reports" / la_code / export_date / "index.html"


def _dicts(cur) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def gather(con: Connection, la_code: str, export_date: str) -> dict:
    """The night's figures for the page (aggregates, and records without personal data)."""
    from csc_pipeline.quality.rules import RULES

    night = dt.date.fromisoformat(export_date)
    teams = {}
    if table_exists(con, "marts", "dim_team"):
        teams = dict(con.execute("select team_id, team_name from marts.dim_team").fetchall())
    issues = []
    if table_exists(con, "dq", "dq_issues"):
        issues = _dicts(
            con.execute(
                """
                select rule_id, severity, table_name, column_name, record_id, team_id,
                       worker_id, description, first_seen, last_seen, resolved_on, reopened_on
                from dq.dq_issues
                where la_code = ?
                  and first_seen <= ?
                  and (resolved_on is null or resolved_on = ?)
                order by team_id nulls last, rule_id, first_seen, record_id
                """,
                [la_code, night, night],
            )
        )
    open_ = [i for i in issues if i["resolved_on"] is None]
    resolved = [i for i in issues if i["resolved_on"] == night]
    by_rule: dict[str, dict] = {}
    for i in issues:
        r = by_rule.setdefault(
            i["rule_id"],
            {
                "rule_id": i["rule_id"],
                "title": RULES[i["rule_id"]].title if i["rule_id"] in RULES else i["rule_id"],
                "severity": i["severity"],
                "open": 0,
                "new": 0,
                "resolved": 0,
                "reopened": 0,
            },
        )
        if i["resolved_on"] is None:
            r["open"] += 1
            r["new"] += i["first_seen"] == night
            r["reopened"] += i["reopened_on"] == night
        else:
            r["resolved"] += 1
    rules = sorted(by_rule.values(), key=lambda r: (-r["open"], r["rule_id"]))
    team_ids = sorted(
        {i["team_id"] for i in open_}, key=lambda t: (t is None, teams.get(t, t or ""))
    )
    by_team = []
    for t in team_ids:
        rows = [i for i in open_ if i["team_id"] == t]
        counts: dict[str, int] = {}
        for i in rows:
            counts[i["rule_id"]] = counts.get(i["rule_id"], 0) + 1
        by_team.append(
            {
                "team_id": t or "",
                "team": teams.get(t, t) if t else "No team recorded",
                "open": len(rows),
                "new": sum(1 for i in rows if i["first_seen"] == night),
                "counts": counts,
                "records": [
                    {
                        **i,
                        "days_open": (night - i["first_seen"]).days,
                        "is_new": i["first_seen"] == night,
                    }
                    for i in rows[:MAX_RECORDS_PER_TEAM]
                ],
                "more": max(0, len(rows) - MAX_RECORDS_PER_TEAM),
            }
        )
    checks = []
    if table_exists(con, "dq", "dq_runs"):
        checks = _dicts(
            con.execute(
                """
                select rule_id, severity, table_name, column_name, outcome, failed_rows, total_rows, message
                from dq.dq_runs where la_code = ? and export_date = ?
                order by outcome = 'pass', severity, rule_id, table_name, column_name
                """,
                [la_code, night],
            )
        )
    status = con.execute(
        "select status from meta.nights where la_code = ? and export_date = ?", [la_code, night]
    ).fetchone()
    return {
        "la_code": la_code,
        "export_date": export_date,
        "status": status[0] if status else "unknown",
        "rules": rules,
        "rule_ids": [r["rule_id"] for r in rules if r["open"]],
        "teams": by_team,
        "resolved": resolved,
        "open": len(open_),
        "new": sum(r["new"] for r in rules),
        "resolved_n": len(resolved),
        "checks_run": len(checks),
        "checks_failed": [c for c in checks if c["outcome"] != "pass"],
    }


def quarantined(var_dir: Path, la_code: str) -> list[dict]:
    """Quarantined nights of the council (their reports), newest first."""
    folder = var_dir / "quarantine" / la_code
    out = []
    for path in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []:
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out.append(
            {
                "export_date": report.get("export_date", path.stem),
                "stage": report.get("stage", ""),
                "message": str(report.get("message", ""))[:2000],
                "path": str(path),
            }
        )
    return out


def render(context: dict) -> str:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("dq/night.html.j2").render(**context)


def write_page(warehouse: Path, la_code: str, export_date: str, var_dir: Path) -> Path:
    """Render the night's data-quality page from a warehouse (the published one; for a
    quarantined night, its working copy before it is discarded); return its path."""
    with connect(warehouse, read_only=True) as con:
        context = gather(con, la_code, export_date)
    context["quarantined"] = quarantined(var_dir, la_code)
    # a quarantined night has a page of its own: what stopped it, then every finding
    this_night = [q for q in context["quarantined"] if q["export_date"] == export_date]
    context["this_night_quarantined"] = this_night[0] if this_night else None
    if this_night:
        context["status"] = "quarantined (nothing published)"
    context["generated"] = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    docs = var_dir / "dq_docs" / la_code / export_date / "index.html"
    context["data_docs"] = str(docs) if docs.exists() else ""
    return atomic_write_text(page_path(var_dir, la_code, export_date), render(context))
