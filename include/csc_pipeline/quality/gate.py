"""The data-quality gate of one night: the DAG's ``validate`` step calls ``run_gate``.

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
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from csc_pipeline.contract import MANIFEST_NAME, TABLES, TABLES_BY_NAME, Table
from csc_pipeline.quality import issues as issues_mod
from csc_pipeline.quality import sql_checks, typed
from csc_pipeline.quality.gx_runner import GXRunner, Outcome, applicable
from csc_pipeline.quality.rules import (
    CRITICAL,
    CRITICAL_MIN_ROWS,
    CRITICAL_ROW_RATE,
    MAX_EXAMPLES,
    RULES,
    VOLUME_DROP_RATE,
    VOLUME_MIN_BASELINE,
    WARNING,
)
from csc_pipeline.quality.suites import load_suite

log = logging.getLogger(__name__)

TABLE_LEVEL_RULES = {
    "file_missing",
    "wrong_night",
    "column_missing",
    "extra_column",
    "manifest_rows",
    "volume_drop",
    "stale_extract",
    "check_error",
}


@dataclass(frozen=True)
class Example:
    source_row: int | None
    record_id: str | None

    def __str__(self) -> str:
        row = f"row {self.source_row}" if self.source_row is not None else "row ?"
        return f"{row} (id {self.record_id})" if self.record_id else row


@dataclass
class Finding:
    """One failed check on one file (and column)."""

    rule_id: str
    severity: str
    table: str
    file: str
    column: str | None
    count: int  # offending rows (1 for a table-level finding)
    total_rows: int | None
    examples: list[Example] = field(default_factory=list)
    message: str = ""

    @property
    def check(self) -> str:
        return self.rule_id

    @property
    def title(self) -> str:
        rule = RULES.get(self.rule_id)
        return rule.title if rule else self.rule_id

    def as_dict(self) -> dict:
        data = asdict(self)
        data["check"] = self.rule_id
        data["row"] = self.examples[0].source_row if self.examples else None
        return data

    def __str__(self) -> str:
        where = self.file + (f", column {self.column}" if self.column else "")
        text = f"{where}: check {self.rule_id} ({self.title})"
        if self.rule_id not in TABLE_LEVEL_RULES:
            share = f" ({self.count / self.total_rows:.1%})" if self.total_rows else ""
            text += f": {self.count:,} of {self.total_rows or 0:,} rows{share}"
        if self.message:
            text += f" - {self.message}"
        if self.examples:
            text += "; e.g. " + ", ".join(str(e) for e in self.examples)
        return text


@dataclass
class GateResult:
    la_code: str
    export_date: str
    critical: list[Finding]
    warnings: list[Finding]
    summary: str  # printable: counts by rule and severity
    counts: dict[str, dict[str, int]]  # severity -> rule_id -> offending rows
    docs_path: Path | None
    is_quarantined: bool
    seconds: float = 0.0
    issue_stats: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.summary


# --- helpers ---------------------------------------------------------------------------
def _manifest(night_dir: Path | None) -> dict | None:
    if night_dir is None:
        return None
    path = Path(night_dir) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError:
        return None


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def _load_log(con, la_code: str, export_date: str) -> tuple[dict, dict]:
    """This night's load_log rows and the previous (not quarantined) night's row counts."""
    if not _exists(con, "meta", "load_log"):
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
        if _exists(con, "meta", "nights")
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


class _Night:
    """Collects what the checks of one night found."""

    def __init__(self, la_code: str, export_date: str) -> None:
        self.la_code = la_code
        self.export_date = export_date
        self.findings: list[Finding] = []
        self.runs: dict[tuple[str, str, str], dict] = {}
        self.table_rows: dict[str, int] = {}
        self.volume: dict[str, dict] = {}
        self.manifest_rows: dict[str, int] = {}
        self.hit_rows: dict[tuple[str, str], int] = {}
        self.timings: dict[str, float] = {}

    def timed(self, step: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[step] = self.timings.get(step, 0.0) + now - since
        return now

    def run(
        self,
        rule_id: str,
        table: str,
        column: str | None,
        outcome: str,
        failed: int = 0,
        message: str = "",
        severity: str | None = None,
    ) -> None:
        key = (rule_id, table, column or "")
        self.runs[key] = {
            "rule_id": rule_id,
            "table_name": table,
            "column_name": column or "",
            "severity": severity or RULES[rule_id].severity,
            "outcome": outcome,
            "failed_rows": int(failed),
            "total_rows": self.table_rows.get(table),
            "examples": "",
            "message": message,
        }

    def table_finding(
        self,
        rule_id: str,
        table: str,
        column: str | None,
        message: str,
        severity: str | None = None,
        file: str | None = None,
    ) -> None:
        severity = severity or RULES[rule_id].severity
        file = file or TABLES_BY_NAME[table].file_name
        self.findings.append(
            Finding(
                rule_id, severity, table, file, column, 1, self.table_rows.get(table), [], message
            )
        )
        self.run(rule_id, table, column, "fail", 1, message, severity)


def _columns_present(night: _Night, table: Table, o: Outcome) -> None:
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


def _table_level(night: _Night, table: Table, o: Outcome) -> None:
    """Findings of the failed table-level expectations of one table."""
    if o.rule_id == "column_missing":
        _columns_present(night, table, o)
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


def _validate_table(
    con, night: _Night, runner: GXRunner, table: Table, logged: dict | None, manifest: dict | None
) -> None:
    """GX validation of one table; row-level failures go to dq_hits."""
    rows = con.execute(f"select count(*) from raw.{typed.q(table.name)}").fetchone()[0]
    night.table_rows[table.name] = rows
    other_nights = con.execute(
        f"select count(*) from raw.{typed.q(table.name)} "
        f"where _export_date is distinct from ?::date",
        [night.export_date],
    ).fetchone()[0]
    if other_nights:
        night.table_finding(
            "wrong_night",
            table.name,
            None,
            f"{other_nights:,} rows of raw.{table.name} are from another night",
        )
    missing = list((logged or {}).get("missing", []))
    extra = list((logged or {}).get("extra", []))
    if extra:
        night.table_finding(
            "extra_column",
            table.name,
            None,
            f"{table.file_name} has unexpected columns (ignored): {', '.join(extra)}",
        )
    declared = None
    if manifest is not None:
        entry = (manifest.get("files") or {}).get(table.file_name)
        if entry is None:
            night.table_finding(
                "file_missing", table.name, None, f"{table.file_name} is not listed in the manifest"
            )
        else:
            declared = entry.get("rows")
    if declared is None and logged:
        declared = logged.get("manifest_rows")
    if declared is None:
        declared = rows  # nothing to compare with: the check passes trivially
    night.manifest_rows[table.name] = int(declared)

    delivered = [c for c in table.warehouse_columns if c not in missing]
    suite, skipped = applicable(load_suite(table.name), set(delivered))
    for exp in skipped:
        cols = exp["meta"].get("columns") or []
        night.run(
            exp["meta"]["rule_id"],
            table.name,
            cols[0] if cols else None,
            "skipped",
            message="column not delivered",
            severity=exp.get("severity"),
        )
    df = typed.frame(con, table, delivered)
    params = {
        "manifest_rows": int(declared),
        "min_rows": min_rows(night.volume.get(table.name, {}).get("rows")),
        # a Timestamp: GX compares datetime64[ns] columns with it vectorised
        "export_date": pd.Timestamp(night.export_date),
    }
    for o in runner.validate(table.name, suite, df, params):
        if o.error:
            night.table_finding(
                "check_error",
                table.name,
                o.column,
                f"check {o.rule_id} ({o.expectation}) could not run: {o.error}",
            )
            night.run(o.rule_id, table.name, o.column, "error", message=o.error, severity=CRITICAL)
            continue
        if o.rule_id == "column_missing":
            _columns_present(night, table, o)
            continue
        if o.rule_id in TABLE_LEVEL_RULES:
            if o.success:
                night.run(o.rule_id, table.name, o.column, "pass", severity=o.severity)
            else:
                _table_level(night, table, o)
            continue
        failed = int(o.unexpected_count or 0)
        night.run(
            o.rule_id,
            table.name,
            o.column,
            "fail" if failed else "pass",
            failed,
            severity=o.severity,
        )
        if failed and len(o.source_rows):
            issues_mod.insert_gx_hits(
                con, table, o.rule_id, o.columns, o.source_rows, night.export_date
            )


def _collect(
    con, night: _Night, runner_factory, manifest: dict | None, tables: list[Table]
) -> tuple[pd.DataFrame, GXRunner]:
    t = time.perf_counter()
    current, previous = _load_log(con, night.la_code, night.export_date)
    night.volume = previous
    present = typed.prepare(con, night.export_date)
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
        if table.optional and (current.get(table.name) or {}).get("status") == "not_supplied":
            # an optional feed (case_audits) the night does not supply: not a finding;
            # its figures are "not available" (stg_ssd__table_availability)
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
        _validate_table(con, night, runner, table, current.get(table.name), manifest)
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


def _row_findings(night: _Night, issues: pd.DataFrame) -> None:
    """Row-level findings per (rule, table, column), escalated at broken-extract rates."""
    escalated = {}
    for (rule_id, table), n in night.hit_rows.items():
        total = night.table_rows.get(table) or 0
        if (
            RULES[rule_id].escalates
            and total
            and n >= CRITICAL_MIN_ROWS
            and n / total > CRITICAL_ROW_RATE
        ):
            escalated[(rule_id, table)] = n / total
    if issues.empty:
        return
    issues["severity"] = [
        CRITICAL if (r, t) in escalated else s
        for r, t, s in zip(issues["rule_id"], issues["table_name"], issues["severity"], strict=True)
    ]
    for (rule_id, table, column), group in issues.groupby(
        ["rule_id", "table_name", issues["column_name"].fillna("")], sort=True
    ):
        group = group.sort_values("first_row")
        examples = [
            Example(int(r.first_row), None if pd.isna(r.record_id) else str(r.record_id))
            for r in group.head(MAX_EXAMPLES).itertuples()
        ]
        count = int(group["row_count"].sum())
        severity = CRITICAL if (rule_id, table) in escalated else RULES[rule_id].severity
        message = str(group["description"].iloc[0])
        if (rule_id, table) in escalated:
            message = (
                f"more than {CRITICAL_ROW_RATE:.0%} of the file's rows "
                f"({escalated[(rule_id, table)]:.1%}): the extract looks broken. "
                f"First: {message}"
            )
        night.findings.append(
            Finding(
                rule_id,
                severity,
                table,
                TABLES_BY_NAME[table].file_name,
                column or None,
                count,
                night.table_rows.get(table),
                examples,
                message,
            )
        )
        run = night.runs.get((rule_id, table, column))
        if run is not None:
            run["severity"] = severity
            run["examples"] = ", ".join(str(e) for e in examples)


def _summary(
    night: _Night,
    critical: list[Finding],
    warnings: list[Finding],
    docs: Path | None,
    seconds: float,
) -> tuple[str, dict[str, dict[str, int]]]:
    counts: dict[str, dict[str, int]] = {CRITICAL: {}, WARNING: {}}
    for f in critical + warnings:
        bucket = counts.setdefault(f.severity, {})
        bucket[f.rule_id] = bucket.get(f.rule_id, 0) + f.count
    state = "QUARANTINED" if critical else "passed"
    lines = [
        f"Data-quality gate {night.la_code} {night.export_date}: {state} - "
        f"{len(critical)} critical, {len(warnings)} warning findings "
        f"({sum(counts[WARNING].values()):,} rows with warnings) in {seconds:.1f}s",
    ]
    if critical or warnings:
        lines.append(f"  {'severity':<9}{'rule':<20}{'rows':>9}")
        for severity in (CRITICAL, WARNING):
            for rule_id, n in sorted(counts.get(severity, {}).items()):
                lines.append(f"  {severity:<9}{rule_id:<20}{n:>9,}")
    if docs:
        lines.append(f"  Data Docs: {docs}")
    return "\n".join(lines), counts


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
    night = _Night(la_code, export_date)

    def runner_factory() -> GXRunner:  # imports GX (about 3 s) once DuckDB's work is done
        return GXRunner(docs_path, run_name=f"{la_code}_{export_date}")

    manifest = _manifest(night_dir)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        issues, runner = _collect(con, night, runner_factory, manifest, list(TABLES))
    finally:
        con.close()
    t = time.perf_counter()
    docs = runner.build_docs()
    t = night.timed("data_docs", t)
    _row_findings(night, issues)

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
    table_issues = _table_issues(night, warnings)
    current = pd.concat([issues, table_issues], ignore_index=True) if len(table_issues) else issues

    con = duckdb.connect(str(warehouse))
    try:
        con.execute("begin transaction")
        try:
            issues_mod.ensure_dq(con)
            issues_mod.record_runs(con, la_code, export_date, runs)
            stats = (
                {}
                if quarantined
                else issues_mod.record_issues(con, la_code, export_date, current, ran)
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.close()

    night.timed("write", t)
    seconds = time.perf_counter() - started
    summary, counts = _summary(night, critical, warnings, docs, seconds)
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


def _table_issues(night: _Night, warnings: list[Finding]) -> pd.DataFrame:
    """Table-level warnings (optional column missing, extra columns) as issues too."""
    import hashlib

    rows = []
    for f in warnings:
        if f.rule_id not in TABLE_LEVEL_RULES:
            continue
        key = "|".join([night.la_code, f.rule_id, f.table, f.column or "", ""])
        rows.append(
            {
                "issue_id": hashlib.sha256(key.encode()).hexdigest()[:24],
                "la_code": night.la_code,
                "rule_id": f.rule_id,
                "severity": f.severity,
                "table_name": f.table,
                "column_name": f.column,
                "record_id": None,
                "person_id": None,
                "team_id": None,
                "worker_id": None,
                "source_rows": None,
                "description": f.message,
            }
        )
    return pd.DataFrame(rows, columns=issues_mod.ISSUE_COLUMNS)


def format_critical_message(result: GateResult) -> str:
    """The DAG's failure message: every critical finding with file, check and example rows."""
    if not result.critical:
        return f"Night {result.la_code} {result.export_date} passed the data-quality gate."
    lines = [
        f"Night {result.la_code} {result.export_date} quarantined by the data-quality gate: "
        f"{len(result.critical)} critical finding(s); the previous night's marts are unchanged.",
    ]
    lines += [f"- {f}" for f in result.critical]
    if result.docs_path:
        lines.append(f"Data Docs: {result.docs_path}")
    return "\n".join(lines)


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
