"""Table-level checks of one night: is every file there, from this night, with its
columns and the rows its manifest declares, not a sharp drop from the previous night,
not a re-sent old extract. They read meta.load_log, the manifest and row counts only
(no values), so they are cheap and run before any value check.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb

from csc_pipeline import warehouse as wh
from csc_pipeline.contract import MANIFEST_NAME, Table
from csc_pipeline.quality.findings import NightChecks
from csc_pipeline.quality.gx_runner import Outcome
from csc_pipeline.quality.rules import CRITICAL, VOLUME_DROP_RATE, VOLUME_MIN_BASELINE


def read_manifest(night_dir: Path | None) -> dict | None:
    if night_dir is None:
        return None
    path = Path(night_dir) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError:
        return None


def load_log(con: duckdb.DuckDBPyConnection, la_code: str, export_date: str) -> tuple[dict, dict]:
    """This night's load_log rows and the previous (not quarantined) night's row counts."""
    if not wh.table_exists(con, "meta", "load_log"):
        return {}, {}
    rows = con.execute(
        "select table_name, manifest_rows, rows_loaded, extra_columns, missing_columns, sha256, "
        "coalesce(status, 'loaded') from meta.load_log where la_code = ? and export_date = ?",
        [la_code, export_date],
    ).fetchall()
    current = {
        r[0]: {
            "manifest_rows": r[1],
            "rows_loaded": r[2],
            "extra": list(r[3] or []),
            "missing": list(r[4] or []),
            "sha256": r[5],
            "status": r[6],
        }
        for r in rows
    }
    quarantined = (
        "and not exists (select 1 from meta.nights n where n.la_code = x.la_code "
        "and n.export_date = x.export_date and n.status = 'quarantined')"
        if wh.table_exists(con, "meta", "nights")
        else ""
    )
    prev = con.execute(
        f"""
        select l.table_name, l.rows_loaded, strftime(l.export_date, '%Y-%m-%d'), l.sha256
        from meta.load_log l
        where l.la_code = ? and l.export_date = (
            select max(x.export_date) from meta.load_log x
            where x.la_code = ? and x.export_date < ?::date {quarantined})
        """,
        [la_code, la_code, export_date],
    ).fetchall()
    previous = {r[0]: {"rows": r[1], "date": r[2], "sha256": r[3]} for r in prev}
    return current, previous


def min_rows(previous_rows: int | None) -> int:
    """The volume floor for a table given its rows on the previous night."""
    if not previous_rows:
        return 0
    if previous_rows < VOLUME_MIN_BASELINE:
        return 1
    return math.ceil(previous_rows * (1 - VOLUME_DROP_RATE))


def columns_present(night: NightChecks, table: Table, o: Outcome) -> None:
    """One run row per column checked; one finding per column missing."""
    missing = set(((o.details or {}).get("mismatched") or {}).get("missing") or [])
    if not o.success and not missing:  # failed without saying which: report them all
        missing = set(o.columns)
    kind = "a key or mandatory column" if o.severity == CRITICAL else "an optional column"
    for column in o.columns:
        if column in missing:
            night.table_finding(
                "column_missing",
                table.name,
                column,
                f"{table.file_name} has no {column} column ({kind})",
                o.severity,
            )
        else:
            night.run("column_missing", table.name, column, "pass", severity=o.severity)


def table_level(night: NightChecks, table: Table, o: Outcome) -> None:
    """Findings of the failed table-level expectations of one table."""
    if o.rule_id == "column_missing":
        columns_present(night, table, o)
        return
    if o.rule_id == "manifest_rows":
        msg = f"{o.observed:,} rows loaded but the manifest declares {night.manifest_rows.get(table.name):,}"
    elif o.rule_id == "volume_drop":
        prev = night.volume.get(table.name, {})
        p = prev.get("rows") or 0
        drop = f"{(p - (o.observed or 0)) / p:.0%} fewer" if p else "fewer"
        msg = (
            f"{o.observed:,} rows against {p:,} on the previous night {prev.get('date')} "
            f"({drop}): a truncated extract?"
        )
    else:
        msg = f"{o.expectation} failed"
    night.table_finding(o.rule_id, table.name, o.column, msg, o.severity)
