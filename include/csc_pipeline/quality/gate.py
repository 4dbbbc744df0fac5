"""The data-quality gate of one night: ``run_gate`` (steps/validate.py calls it).

This module only orchestrates; the jobs live beside it: ``table_checks`` (files,
columns, manifest, volume), ``gx_runner`` (GX on the night's frames), ``sql_checks``
(relational and census checks), ``issues`` (dq tables), ``findings`` (what was found,
escalation, messages).

Order of work (DuckDB allows one writer per file; the gate never holds two
read-write connections):

1. One READ-ONLY connection: parse the night's raw tables once into temp tables
   (``typed``), validate each table's DataFrame with its GX suite (``gx_runner``), run the
   relational and census checks in SQL (``sql_checks``), and turn every offending row into
   an issue row with its person, team and worker (``issues``). Close it.
2. Build the night's GX Data Docs under ``docs_dir/<la_code>/<export_date>/``.
3. Apply the severity policy (``rules``): table-level failures and broken-extract rates
   are critical; everything else is a warning.
4. One READ-WRITE connection, one transaction: replace the night's rows of ``dq.dq_runs``
   and, unless the night is quarantined, update ``dq.dq_issues`` (``issues``).

A Finding names the file, the check (rule id), the column, the count and example rows
(raw ``_source_row`` and record id). Findings, messages and dq tables never contain a
name or a date of birth: descriptions are built from ids, codes' column names and event
dates only.

Run by hand on a landed warehouse::

    python -m csc_pipeline.quality.gate WAREHOUSE LA_CODE EXPORT_DATE NIGHT_DIR [DOCS_DIR]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

from csc_pipeline import warehouse as wh
from csc_pipeline.contract import TABLES, Table
from csc_pipeline.quality import issues as issues_mod
from csc_pipeline.quality import sql_checks, typed
from csc_pipeline.quality.findings import (
    Finding,
    GateResult,
    NightChecks,
    format_critical_message,
    row_findings,
    summary_text,
    table_level_issues,
)
from csc_pipeline.quality.gx_checks import validate_table
from csc_pipeline.quality.gx_runner import GXRunner
from csc_pipeline.quality.rules import CRITICAL, RULES
from csc_pipeline.quality.table_checks import (
    load_log,
    read_manifest,
)

log = logging.getLogger(__name__)

__all__ = ["Finding", "GateResult", "format_critical_message", "run_gate"]


def _collect(
    con, night: NightChecks, runner_factory, manifest: dict | None, tables: list[Table]
) -> tuple[pd.DataFrame, GXRunner]:
    t = time.perf_counter()
    current, previous = load_log(con, night.la_code, night.export_date)
    night.volume = previous
    present, unvalidated = typed.prepare(con, night.export_date)
    for name, problem in unvalidated.items():
        night.table_finding("check_error", name, None, problem)
    t = night.timed("prepare", t)
    runner = runner_factory()
    issues_mod.create_hits(con)
    if {"ssd_involvements", "ssd_professionals"} <= set(present):
        issues_mod.create_allocations(con, night.export_date)
    else:
        con.execute(
            "create or replace temp table cur_alloc (person_id varchar, worker_id varchar, "
            "team_id varchar)"
        )
    t = night.timed("gx_import", t)
    if (
        current
        and previous
        and set(current) == set(previous)
        and all(current[name]["sha256"] == previous[name]["sha256"] for name in current)
    ):
        any_date = next(iter(previous.values()))["date"]
        night.table_finding(
            "stale_extract",
            TABLES[0].name,
            None,
            f"all {len(current)} files are byte-identical to the previous night's ({any_date}): "
            "the case system re-sent an old extract",
            file="all files",
        )
    for table in tables:
        if (current.get(table.name) or {}).get("status") == "not_supplied":
            # an optional feed (case_audits, or a table the council's profile lists as not
            # supplied) that the night does not deliver: not a finding; its figures are
            # "not available" (int_feed_availability reads meta.load_log)
            night.run("file_missing", table.name, None, "skipped", message="not supplied")
            continue
        if table.name not in present:
            night.table_finding(
                "file_missing",
                table.name,
                None,
                f"{table.file_name} was not landed for this night (no raw.{table.name})",
            )
            continue
        if current and table.name not in current:
            night.table_finding(
                "file_missing",
                table.name,
                None,
                f"{table.file_name} is not in the night's load log",
            )
        validate_table(con, night, runner, table, current.get(table.name), manifest)
    t = night.timed("gx_validate", t)
    for check in sql_checks.all_checks(night.export_date):
        if not set(check.requires) <= set(present):
            night.run(
                check.rule_id,
                check.table,
                check.column,
                "skipped",
                message="a table it needs is missing",
            )
            continue
        try:
            failed = sql_checks.run_check(con, check)
        except duckdb.Error as exc:
            night.table_finding(
                "check_error",
                check.table,
                check.column,
                f"check {check.rule_id} could not run: {exc}",
            )
            night.run(
                check.rule_id,
                check.table,
                check.column,
                "error",
                message=str(exc),
                severity=CRITICAL,
            )
            continue
        night.run(check.rule_id, check.table, check.column, "fail" if failed else "pass", failed)
    night.hit_rows = dict(
        ((r, t), n)
        for r, t, n in con.execute(
            "select rule_id, table_name, count(distinct source_row) from dq_hits group by all"
        ).fetchall()
    )
    t = night.timed("sql_checks", t)
    severities = {r.id: r.severity for r in RULES.values()}
    frame = issues_mod.issues_frame(con, night.la_code, present, severities)
    night.timed("issues", t)
    return frame, runner


# --- entry points ------------------------------------------------------------------------
def run_gate(
    warehouse: Path, la_code: str, export_date: str, night_dir: Path, docs_dir: Path
) -> GateResult:
    """Validate the night landed in ``warehouse`` (raw.*) and record the outcome.

    Returns a GateResult; ``is_quarantined`` is True when any finding is critical (the
    caller then quarantines the night and must not build marts from it).
    """
    started = time.perf_counter()
    warehouse = Path(warehouse)
    docs_path = Path(docs_dir) / la_code / export_date if docs_dir is not None else None
    night = NightChecks(la_code, export_date)

    def runner_factory() -> GXRunner:  # imports GX (about 3 s) once DuckDB's work is done
        return GXRunner(docs_path, run_name=f"{la_code}_{export_date}")

    manifest = read_manifest(night_dir)
    with wh.connect(warehouse, read_only=True) as con:
        issues, runner = _collect(con, night, runner_factory, manifest, list(TABLES))
    t = time.perf_counter()
    docs = runner.build_docs()
    t = night.timed("data_docs", t)
    row_findings(night, issues)

    critical = [f for f in night.findings if f.severity == CRITICAL]
    warnings = [f for f in night.findings if f.severity != CRITICAL]
    quarantined = bool(critical)
    runs = pd.DataFrame(
        list(night.runs.values()),
        columns=[
            "rule_id",
            "table_name",
            "column_name",
            "severity",
            "outcome",
            "failed_rows",
            "total_rows",
            "examples",
            "message",
        ],
    )
    ran = runs.loc[runs["outcome"].isin(["pass", "fail"]), ["rule_id", "table_name", "column_name"]]
    table_issues = table_level_issues(night, warnings)
    current = pd.concat([issues, table_issues], ignore_index=True) if len(table_issues) else issues

    with wh.connect(warehouse) as con, wh.transaction(con):
        issues_mod.ensure_dq(con)
        issues_mod.record_runs(con, la_code, export_date, runs)
        stats = (
            {} if quarantined else issues_mod.record_issues(con, la_code, export_date, current, ran)
        )

    night.timed("write", t)
    seconds = time.perf_counter() - started
    summary, counts = summary_text(night, critical, warnings, docs, seconds)
    summary += "\n  timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in night.timings.items())
    if stats:
        summary += (
            f"\n  dq.dq_issues: {stats['new']} new, {stats['reopened']} reopened, "
            f"{stats['resolved']} resolved, {stats['open']} open"
        )
    print(summary)
    if docs:
        print(f"Data Docs for {la_code} {export_date}: {docs}")
    log.info("%s", summary)
    return GateResult(
        la_code,
        export_date,
        critical,
        warnings,
        summary,
        counts,
        docs,
        quarantined,
        seconds,
        stats,
        dict(night.timings),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the data-quality gate on a landed night")
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("la_code")
    parser.add_argument("export_date")
    parser.add_argument("night_dir", type=Path)
    parser.add_argument("docs_dir", type=Path, nargs="?", default=None)
    args = parser.parse_args(argv)
    if args.docs_dir is None:
        from csc_pipeline.config import settings

        args.docs_dir = settings().dq_docs_dir
    result = run_gate(args.warehouse, args.la_code, args.export_date, args.night_dir, args.docs_dir)
    if result.is_quarantined:
        print(format_critical_message(result), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
